"""The terminal chat as a person uses it: `supportbot chat` in a real pseudo-terminal; the
"Did you mean …?" and "People also ask" suggestions numbered, one picked by typing its number,
answers rated with /good and /bad (two disliked in a row: a person), and what they typed wrong."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import pty
import re
import select
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from knowledge_base.loaders import bundled_path, load_knowledge_base

RELATED = r"People also ask \(type a number\):((?:\r?\n {5}\d\) [^\r\n]+)+)"
ANSWERED = r"\[([\w.-]+), confidence (\d\.\d\d)\]"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PseudoTerminal:
    """A process on a pseudo-terminal: what is typed (and echoed) and what it prints, in order."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True
        )
        os.close(slave)
        self.seen, self.mark = "", 0  # everything printed; where the next wait starts looking

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match:
        """The first match of ``pattern`` printed since the last match (waiting for it)."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while (found := regex.search(self.seen, self.mark)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                raise AssertionError(f"no {pattern!r} after:\n{self.seen[self.mark :]}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # the process ended: the other side is closed
                chunk = b""
            if not chunk:
                raise AssertionError(f"chat ended before {pattern!r}:\n{self.seen[self.mark :]}")
            self.seen += chunk.decode(errors="replace")
        self.mark = found.end()
        return found

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def _numbered(block: str) -> dict[int, str]:
    return {int(n): q for n, q in re.findall(r"(\d)\) ([^\r\n]+)", block)}


def _transcript(url: str, user: str, password: str, ticket: str) -> str:
    """The ticket's page in the agents' console, logged in as the chat printed."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    form = urllib.parse.urlencode({"username": user, "password": password}).encode()
    opener.open(f"{url}/login", data=form, timeout=30).read()
    return opener.open(f"{url}/tickets/{ticket}", timeout=30).read().decode()


def test_people_also_ask_is_picked_by_number_and_answers_rated_in_the_terminal(
    tmp_path: Path,
) -> None:
    kb = load_knowledge_base(bundled_path())
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM__", "REDIS__"))}
    env |= {
        "RETRIEVAL__CACHE_DIR": str(tmp_path / "cache"),
        "CONSOLE__PORT": str(port),
        "TERM": "dumb",
    }
    env.pop("CONSOLE__PASSWORD", None)
    terminal = PseudoTerminal([sys.executable, "-m", "bot.cli", "chat"], tmp_path, env)
    try:
        help_line = terminal.wait_for(r"[^\r\n]*/good or /bad[^\r\n]*")[0]
        assert "number" in help_line and "/human" in help_line
        login = terminal.wait_for(r"console is at (\S+) \(user (\S+), password (\S+)\)")
        url, user, password = login[1], login[2], login[3].rstrip(").")
        terminal.wait_for(r"you> ")

        # Nothing to rate or pick yet: said so, and the chat goes on.
        terminal.type("/good")
        terminal.wait_for(r"bot> There is no answer to rate yet")
        terminal.type("2")
        terminal.wait_for(r"bot> There are no numbered suggestions to pick from right now")

        # "Did you mean …?" is numbered too, and a number picks from it.
        terminal.type("card")
        terminal.wait_for(r"bot> I'm not sure I understood\. Did you mean one of these\?")
        meant = _numbered(terminal.wait_for(r"((?:\r?\n {5}\d\) [^\r\n]+)+)")[1])
        terminal.wait_for(r"Type a number to pick one")
        (card,) = [e for e in kb.entries if e.question == meant[2]]
        terminal.type("2")
        terminal.wait_for("bot> " + re.escape(card.answer[:40]))
        assert terminal.wait_for(ANSWERED)[1] == card.id

        terminal.type("How long does delivery take?")
        terminal.wait_for(r"bot> Standard delivery takes")
        first = terminal.wait_for(ANSWERED)[1]
        offered = _numbered(terminal.wait_for(RELATED)[1])
        assert sorted(offered) == [1, 2, 3]
        assert all(kb.get(first).question != q for q in offered.values())

        # Typing a number answers that question, as a press of its button would.
        (entry,) = [e for e in kb.entries if e.question == offered[2]]
        terminal.type("2")
        terminal.wait_for("bot> " + re.escape(entry.answer[:40]))
        assert terminal.wait_for(ANSWERED).groups() == (entry.id, "1.00")
        again = _numbered(terminal.wait_for(RELATED)[1])  # what people ask after that one
        assert offered[2] not in again.values() and kb.get(first).question not in again.values()

        terminal.type("9")
        terminal.wait_for(r"bot> There is no suggestion 9: type a number from 1 to 3")
        terminal.type("/good")
        terminal.wait_for(r"bot> Thanks for the feedback!")
        terminal.type("/bad")  # changed their mind: 👎 on this answer…
        terminal.wait_for(r"bot> Thanks for telling us\. Type /human")
        terminal.type("How do I return an item?")
        terminal.wait_for(ANSWERED)
        terminal.type("/bad")  # …and on the next: two in a row, a person takes over
        ticket = terminal.wait_for(r"ticket #(\d+), reason: repeated_dislikes")[1]

        page = _transcript(url, user, password, ticket)
        assert "under “People also ask”" in page  # the pick, as agents read it
        assert "👎 twice in a row" in page

        terminal.type("/quit")
        terminal.wait_for("Bye!")
        assert terminal.proc.wait(30) == 0
    finally:
        with contextlib.suppress(OSError):
            terminal.close()
