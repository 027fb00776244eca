"""A headless bot process for hot-reload tests and benchmarks: the product's App, no Telegram.

``python -m tests.support.kb_process`` opens the App exactly as ``supportbot run`` does (live
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
    from bot.app import open_app
    from bot.runner import NEEDS_REDIS
    from bot.services.answering import Answer
    from bot.settings import load_settings

    async with open_app(load_settings(), needs_redis=NEEDS_REDIS) as app:
        chats = itertools.count(10_000_000 + os.getpid() * 1000)
        print(json.dumps({"ready": app.live.version}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            request = json.loads(line)
            result = await app.answering.answer(next(chats), request["q"])
            answered = isinstance(result, Answer)
            print(
                json.dumps(
                    {
                        "id": request.get("id"),
                        "text": result.text if answered else None,
                        "entry_id": result.entry_id if answered else None,
                        "version": app.live.version,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
