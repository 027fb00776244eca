"""A headless bot process for hot-reload tests and benchmarks: the product's Core, no Telegram.

``python -m tests.support.kb_process`` builds the Core exactly as ``supportbot run`` does (live
knowledge base from Redis, watcher running), prints ``{"ready": version}``, then answers each stdin
line ``{"id", "q"}`` with ``{"id", "text", "entry_id", "version"}`` — one fresh chat per question.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


async def main() -> None:
    from bot.app import build_core
    from bot.services.answering import Answer
    from bot.settings import load_settings

    core = await build_core(load_settings(), require_redis=True)
    chats = itertools.count(10_000_000 + os.getpid() * 1000)
    print(json.dumps({"ready": core.watcher.loaded_version}), flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            request = json.loads(line)
            result = await core.answering.answer(next(chats), request["q"])
            answered = isinstance(result, Answer)
            print(
                json.dumps(
                    {
                        "id": request.get("id"),
                        "text": result.text if answered else None,
                        "entry_id": result.entry_id if answered else None,
                        "version": core.watcher.loaded_version,
                    }
                ),
                flush=True,
            )
    finally:
        await core.close()


if __name__ == "__main__":
    asyncio.run(main())
