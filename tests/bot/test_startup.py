"""Starting the product: Redis unreachable, webhook secret, the terminal chat and `eval`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.errors import StoreUnavailableError
from bot.runner import serve
from bot.settings import load_settings
from bot.store import connect_redis
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]


async def test_unreachable_redis_gives_a_clear_message() -> None:
    with pytest.raises(StoreUnavailableError) as info:
        await connect_redis("redis://:hunter2@127.0.0.1:1/0")
    message = str(info.value)
    assert "cannot reach Redis at redis://***@127.0.0.1:1/0" in message
    assert "REDIS__URL" in message and "hunter2" not in message


def _supportbot(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run the ``supportbot`` command line in a fresh interpreter, as a person would."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _offline_env(tmp_path: Path) -> dict[str, str]:
    """This environment without Telegram or Redis settings, caching models under ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM__", "REDIS__"))}
    env["RETRIEVAL__CACHE_DIR"] = str(tmp_path / "cache")
    return env


def test_cli_reports_unreachable_redis_and_exits_2(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEGRAM__TOKEN": DEFAULT_TOKEN,
        "REDIS__URL": "redis://127.0.0.1:1/0",
    }
    proc = _supportbot("run", cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 2
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in proc.stderr
    assert DEFAULT_TOKEN not in proc.stderr + proc.stdout


def test_cli_refuses_bad_settings(tmp_path: Path) -> None:
    env = {**os.environ, "RETRIEVAL__THRESHOLD": "high"}
    proc = _supportbot("chat", cwd=tmp_path, env=env, timeout=60)
    assert proc.returncode == 2
    assert "RETRIEVAL__THRESHOLD: Input should be a valid number" in proc.stderr


def test_kb_commands_load_neither_telegram_nor_the_models() -> None:
    # Importing the assembly point must stay cheap: `supportbot kb …` needs no aiogram, no FAISS
    # and no torch (each costs seconds of start-up on a small box).
    code = (
        "import sys, bot.cli, bot.cli_kb, bot.app\n"
        "print(sorted(m for m in ('aiogram', 'faiss', 'torch') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_terminal_chat_answers_from_the_bundled_kb(tmp_path: Path) -> None:
    env = _offline_env(tmp_path)
    questions = "How long does delivery take?\ncan I talk to a human\n"
    proc = _supportbot("chat", cwd=tmp_path, env=env, input=questions)
    assert proc.returncode == 0, proc.stderr
    assert "Brightcart support bot ready" in proc.stdout
    assert "bot> Standard delivery takes 3–5 business days" in proc.stdout
    assert "ticket #1, reason: asked_for_human" in proc.stdout


def test_terminal_chat_hands_over_known_out_of_scope_questions(tmp_path: Path) -> None:
    env = _offline_env(tmp_path)
    question = "where can I eat near your store\n"
    # Without the list, the physical-store entry answers it.
    proc = _supportbot("chat", cwd=tmp_path, env=env, input=question)
    assert proc.returncode == 0, proc.stderr
    assert "bot> " in proc.stdout and "ticket #" not in proc.stdout
    oos = tmp_path / "out-of-scope.txt"
    env["RETRIEVAL__OUT_OF_SCOPE_PATH"] = str(oos)
    proc = _supportbot("chat", cwd=tmp_path, env=env, input=question)
    assert proc.returncode == 2
    assert f"supportbot: RETRIEVAL__OUT_OF_SCOPE_PATH: {oos}: file not found" in proc.stderr
    oos.write_text(
        "can you recommend a restaurant nearby\nwhat's a good place for dinner tonight\n"
        "where can I get sushi around here\nwho won the football match\n",
        encoding="utf-8",
    )
    # Asked back first ("Did you mean …?" or "could you rephrase"); the second time, a person.
    proc = _supportbot("chat", cwd=tmp_path, env=env, input=question + question)
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.split("ticket #")[0], proc.stdout.split("ticket #")[1]
    assert "bot> " in first and "you> " in first
    assert second.startswith("1, reason: low_confidence")


def test_eval_command_prints_table_and_json(tmp_path: Path) -> None:
    kb = tmp_path / "kb.jsonl"
    kb.write_text(
        "\n".join(
            json.dumps({"id": i, "question": q, "answer": f"[{i}]"})
            for i, q in [
                ("card", "Where is my card?"),
                ("pin", "How do I change my PIN?"),
                ("fee", "Why was I charged a fee?"),
            ]
        )
    )
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        "\n".join(
            json.dumps({"text": t, "faq_id": f})
            for t, f in [
                ("my card has not arrived", "card"),
                ("new pin please", "pin"),
                ("what is this extra charge", "fee"),
                ("best pizza in town", None),
            ]
        )
    )
    proc = _supportbot(
        "eval",
        "--kb",
        str(kb),
        "--queries",
        str(queries),
        "--dev",
        str(queries),
        "--json",
        "--cache-dir",
        str(tmp_path / "c"),
        "--latency-queries",
        "4",
        "--plot",
        str(tmp_path / "curve.png"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Retrieval evaluation" in proc.stdout
    assert "Threshold trade-off" in proc.stdout
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(metrics) == {
        "accuracy_at_1",
        "recall_at_5",
        "mrr",
        "macro_f1",
        "p50_ms",
        "p99_ms",
        "threshold",
        "in_scope_accuracy",
        "oos_precision",
        "oos_recall",
        "oos_f1",
        "auroc",
    }
    assert metrics["accuracy_at_1"] == 1.0
    assert metrics["oos_recall"] == 1.0


def test_eval_with_the_multilingual_embedder_on_a_chinese_file(tmp_path: Path) -> None:
    kb = tmp_path / "kb.jsonl"
    kb.write_text(
        "\n".join(
            json.dumps({"id": i, "question": q, "answer": f"[{i}]"}, ensure_ascii=False)
            for i, q in [
                ("track", "我的订单到哪了？"),
                ("return", "怎么退货？"),
                ("password", "忘记密码怎么办？"),
            ]
        ),
        encoding="utf-8",
    )
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        "\n".join(
            json.dumps({"text": t, "faq_id": f}, ensure_ascii=False)
            for t, f in [
                ("快递什么时候到", "track"),
                ("这个东西我不想要了，可以退吗", "return"),
                ("密码记不起来了", "password"),
            ]
        ),
        encoding="utf-8",
    )
    common = ["--kb", str(kb), "--queries", str(queries), "--json"]
    common += ["--cache-dir", str(tmp_path / "c"), "--latency-queries", "3"]
    proc = _supportbot("eval", *common, "--embedder", "e5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "embedder: multilingual-e5-small" in proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["accuracy_at_1"] == 1.0
    # MiniLM reads no Chinese: the same file shows why e5 serves Chinese questions.
    proc = _supportbot("eval", *common, "--embedder", "minilm", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["accuracy_at_1"] < 1.0


def test_eval_refuses_an_out_of_scope_recall_outside_0_to_1(
    capsys: pytest.CaptureFixture,
) -> None:
    from bot.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["eval", "--kb", "kb.yaml", "--queries", "q.jsonl", "--oos-recall", "90"])
    assert stop.value.code == 2
    assert "--oos-recall: expected a number from 0 to 1, got 90" in capsys.readouterr().err


async def test_webhook_checks_the_secret_token(
    tmp_path: Path, key_prefix: str, redis_client
) -> None:
    async with FakeBotAPI() as api:
        port = _free_port()
        settings = load_settings(
            telegram={
                "token": DEFAULT_TOKEN,
                "api_base": api.base_url,
                "mode": "webhook",
                "webhook_url": f"https://bot.example/hook/{key_prefix}",
                "webhook_secret": "right_secret",
                "webhook_host": "127.0.0.1",
                "webhook_port": port,
            },
            redis={"url": "redis://127.0.0.1:6379/15", "prefix": key_prefix},
            retrieval={"cache_dir": tmp_path / "cache"},
            operators={"ids": [4321]},
            # Verbatim FAQ answers, and no generator trained beside the test.
            generator={"model_path": tmp_path / "no-generator", "auto_train": False},
        )
        stop = asyncio.Event()
        task = asyncio.create_task(serve(settings, stop))
        try:
            set_hook = await api.wait_for("setWebhook", timeout=240)
            assert set_hook.params["secret_token"] == "right_secret"
            menus = [c.params for c in api.calls_of("setMyCommands")]
            operator_menu = [m for m in menus if m.get("scope")]
            assert operator_menu and "4321" in str(operator_menu[0]["scope"])
            assert "kb_help" in str(operator_menu[0]["commands"])
            assert all("kb_" not in str(m["commands"]) for m in menus if not m.get("scope"))
            url = f"http://127.0.0.1:{port}/hook/{key_prefix}"
            update = api.text_update(9001, "How long does delivery take?")
            async with aiohttp.ClientSession() as http:
                wrong = await http.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
                )
                assert wrong.status == 401
                right = await http.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "right_secret"}
                )
                assert right.status == 200
            reply = await api.wait_for("sendMessage", lambda p: p["chat_id"] == 9001, timeout=30)
            assert reply.params["text"].startswith("Standard delivery")
            assert (
                len([c for c in api.calls_of("sendMessage") if c.params["chat_id"] == 9001]) == 1
            )
            # Prometheus scrapes the webhook server too.
            metrics_url = f"http://127.0.0.1:{port}/metrics"
            async with aiohttp.ClientSession() as http, http.get(metrics_url) as scraped:
                assert scraped.status == 200
                assert 'supportbot_answers_total{source="faq"}' in await scraped.text()
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


async def test_workers_without_a_configured_webhook_secret_share_one(stores) -> None:
    from bot.runner import webhook_secret

    settings = load_settings(_env_file=None, telegram={"token": DEFAULT_TOKEN})
    first = await webhook_secret(settings, stores)
    second = await webhook_secret(settings, stores)  # another worker, same Redis
    assert first == second and len(first) >= 32
    configured = load_settings(
        _env_file=None, telegram={"token": DEFAULT_TOKEN, "webhook_secret": "ours_1"}
    )
    assert await webhook_secret(configured, stores) == "ours_1"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_published_generator_folder_without_a_model_is_refused(tmp_path: Path, embedder) -> None:
    """Hot swap of a retrained generator: a folder that holds no model raises, so the watcher
    keeps the generator that is replying now."""
    from bot.app import _load_generator
    from bot.errors import ConfigurationError
    from bot.settings import Settings

    settings = Settings(generator={"model_path": tmp_path / "unused"})
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="not a generator model folder"):
        _load_generator(settings, str(tmp_path / "empty"), embedder)
