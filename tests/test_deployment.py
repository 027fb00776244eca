"""The deployment files: docker-compose.yml, the proxy's Caddyfile and the Dockerfile.

Docker cannot run in the test environment, so these check the structure a deployment relies on.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_every_service_has_a_health_check() -> None:
    services = _compose()["services"]
    assert set(services) == {"redis", "bot", "console", "proxy"}
    for name, service in services.items():
        check = service.get("healthcheck", {}).get("test")
        assert check and check[0] == "CMD", f"{name}: no health check"
        assert service.get("restart") == "unless-stopped", name


def test_redis_keeps_its_data_in_an_append_only_file_on_a_volume() -> None:
    compose = _compose()
    redis = compose["services"]["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    volume, target = redis["volumes"][0].split(":")
    assert target == "/data" and volume in compose["volumes"]


def test_several_bot_workers_share_the_updates_through_the_proxy() -> None:
    compose = _compose()
    bot, proxy = compose["services"]["bot"], compose["services"]["proxy"]
    env = bot["environment"]
    assert env["TELEGRAM__MODE"] == "webhook"  # polling allows one consumer only
    assert env["REDIS__URL"].startswith("redis://redis:")
    assert bot["deploy"]["replicas"] == "${BOT_WORKERS:-2}"
    assert "ports" not in bot  # reached through the proxy only
    assert env["TELEGRAM__WEBHOOK_PORT"] in [str(p) for p in bot["expose"]]
    # The secret is the same for every worker: from .env, else shared through Redis by the app.
    assert env["TELEGRAM__WEBHOOK_SECRET"].startswith("${TELEGRAM__WEBHOOK_SECRET")
    mounts = {m.split(":")[1]: m.split(":")[0] for m in proxy["volumes"]}
    caddyfile = (ROOT / mounts["/etc/caddy/Caddyfile"]).read_text(encoding="utf-8")
    assert re.search(rf"dynamic a bot {env['TELEGRAM__WEBHOOK_PORT']}\b", caddyfile)
    assert {"80:80", "443:443"} <= set(proxy["ports"])  # HTTPS, as Telegram requires


def test_the_console_and_workers_wait_for_a_healthy_redis() -> None:
    services = _compose()["services"]
    for name in ("bot", "console"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy", name
        assert services[name]["environment"]["REDIS__URL"] == "redis://redis:6379/0", name
    assert services["console"]["command"] == ["console"]
    assert services["console"]["ports"][0].startswith("127.0.0.1:")  # not open to the world


def test_the_image_carries_no_build_tools_and_a_failed_warm_up_fails_the_build() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]
    assert len(stages) == 2
    build, final = stages
    assert "build-essential" in build and "LLAMA_WHEEL_DIR" in build
    assert "build-essential" not in final and "cmake" not in final
    assert "COPY --from=llama-build /wheels" in final
    warm_up = [line for line in final.splitlines() if "supportbot warm-up" in line]
    assert warm_up == ["RUN supportbot warm-up"]  # no "|| true"
    for package in ("bot", "common", "retrieval", "models", "knowledge_base"):
        assert f"COPY {package} ./{package}" in final
