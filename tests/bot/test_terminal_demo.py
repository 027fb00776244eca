"""The embedded demo, as a newcomer tries it: `supportbot chat` in a terminal, the question handed
over, answered by an agent in the console (a real headless Chromium) and read in the terminal."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Terminal:
    """`supportbot chat` with its input and output, read as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc, self.seen = proc, ""

    async def type(self, line: str) -> None:
        self.proc.stdin.write((line + "\n").encode())
        await self.proc.stdin.drain()

    async def wait_for(self, pattern: str, timeout: float = 120) -> re.Match:
        async def read() -> re.Match:
            while (found := re.search(pattern, self.seen)) is None:
                chunk = await self.proc.stdout.read(4096)
                if not chunk:
                    raise AssertionError(f"chat ended before {pattern!r}:\n{self.seen}")
                self.seen += chunk.decode()
            return found

        return await asyncio.wait_for(read(), timeout)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
async def test_a_handed_over_question_is_answered_in_the_console_and_read_in_the_terminal(
    tmp_path: Path,
) -> None:
    from playwright.async_api import async_playwright, expect

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM__", "REDIS__"))}
    env |= {"RETRIEVAL__CACHE_DIR": str(tmp_path / "cache"), "CONSOLE__PORT": str(port)}
    env.pop("CONSOLE__PASSWORD", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "chat",
        cwd=tmp_path, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    terminal = Terminal(proc)
    try:
        login = await terminal.wait_for(r"console is at (\S+) \(user (\S+), password (\S+)\)")
        url, user, password = login[1], login[2], login[3].rstrip(").")
        assert url == f"http://127.0.0.1:{port}"
        await terminal.type("I want to talk to a human about my order")
        ticket = (await terminal.wait_for(r"ticket #(\d+), reason: asked_for_human"))[1]

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
            )
            try:
                page = await browser.new_page()
                page.set_default_timeout(20_000)
                await page.goto(f"{url}/login")
                await page.fill("#username", user)
                await page.fill("#password", password)
                await page.click("#login")
                await page.goto(f"{url}/tickets/{ticket}")
                await expect(page.locator("#transcript")).to_contain_text("about my order")
                await page.click("#claim")
                await terminal.wait_for(r"agent> .+")  # told a person has joined
                await page.fill("#reply", "Hello! Your order ships tomorrow.")
                await page.click("#send")
                await terminal.wait_for(r"agent> Hello! Your order ships tomorrow\.")
                # While the ticket is open the customer's lines go to the agent, not the bot.
                await terminal.type("great, thank you")
                await expect(page.locator("#transcript")).to_contain_text(
                    "great, thank you", timeout=15_000
                )
                await page.reload()
                await page.click("#close")
                await terminal.wait_for(rf"agent> .*#{ticket}")  # the closing note
            finally:
                await browser.close()
        # Back with the bot: it answers again.
        await terminal.type("How long does delivery take?")
        await terminal.wait_for(r"bot> Standard delivery takes")
        await terminal.type("/quit")
        await terminal.wait_for("Bye!")
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
