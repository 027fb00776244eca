"""Cold start of `supportbot chat`: process start to "ready", with an empty and with a warm index cache.

Usage: python benchmarks/startup.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(cache_dir: Path) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM__", "REDIS__"))}
    env["RETRIEVAL__CACHE_DIR"] = str(cache_dir)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        input="/quit\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=True,
    )
    wall = time.perf_counter() - started
    ready = float(re.search(r"ready in ([\d.]+)s", proc.stdout).group(1))
    return wall, ready


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        cold_wall, cold_ready = run_once(cache)
        warm_wall, warm_ready = run_once(cache)
    print("supportbot chat start-up (bundled knowledge base)")
    print(f"  empty index cache : ready after {cold_ready:.1f}s (process wall {cold_wall:.1f}s)")
    print(f"  warm index cache  : ready after {warm_ready:.1f}s (process wall {warm_wall:.1f}s)")


if __name__ == "__main__":
    main()
