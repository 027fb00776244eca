"""How long the README's two set-up commands take on a fresh clone of this repository.

Clones the current commit into a temporary folder and times, there:
  make test   install (venv, CPU torch, the package) + system deps + the whole test suite
  make run    (already installed by then) start-up of the main job, the terminal chat, up to "ready"
A machine that has never downloaded the packages takes longer: pip's download cache is used when present.

Usage: python benchmarks/fresh_setup.py [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], cwd: Path, **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - started, proc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help="keep the clone for inspection")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="supportbot-fresh-"))
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(folder / "repo")], check=True)
        repo = folder / "repo"
        test_s, proc = timed(["make", "test"], repo)
        if proc.returncode != 0:
            raise SystemExit(f"make test failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
        summary = proc.stdout.strip().splitlines()[-1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM__", "REDIS__"))}
        # The chat's answer to "/quit" is fed by the shell, as a person would pipe it.
        run_s, proc = timed(["bash", "-c", "echo /quit | make run"], repo, env=env, timeout=900)
        if proc.returncode != 0 or "ready in" not in proc.stdout:
            raise SystemExit(f"make run failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
        print("fresh clone, README set-up commands")
        print(f"  make test : {test_s:6.0f} s  ({summary})")
        print(
            f"  make run  : {run_s:6.1f} s  to the terminal chat's prompt and /quit (install done)"
        )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
