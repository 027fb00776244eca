"""A Redis Cluster of the test's own: three masters (no replicas) on free ports, in a temp folder."""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

MASTERS = 3


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports free for the node and for its cluster bus (the port + 10000)."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(20000, 45000)
        if port not in ports and _free(port) and _free(port + 10000):
            ports.append(port)
    return ports


def _cli(port: int, *args: str, timeout: float = 10) -> str:
    return subprocess.run(
        ["redis-cli", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    ).stdout


class RedisCluster:
    """Three ``redis-server --cluster-enabled yes`` nodes joined by ``redis-cli --cluster create``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ports = _free_ports(MASTERS)
        self.processes: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        for port in self.ports:
            self.processes.append(
                subprocess.Popen(
                    [
                        "redis-server",
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        str(self.folder),
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        f"nodes-{port}.conf",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--daemonize",
                        "no",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in self.ports:
            while not _answers(port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on {port} did not start")
                time.sleep(0.05)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            timeout=max(1.0, deadline - time.monotonic()),
            check=True,
        )
        while not all("cluster_state:ok" in _cli(port, "cluster", "info") for port in self.ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not reach cluster_state:ok")
            time.sleep(0.1)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.processes.clear()


def _answers(port: int) -> bool:
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        return _cli(port, "ping", timeout=2).strip() == "PONG"
    return False


@contextlib.contextmanager
def running_cluster() -> Iterator[RedisCluster]:
    """A started cluster in a temporary folder; its servers are stopped and the folder (node
    configs, logs) removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="redis-cluster-") as folder:
        cluster = RedisCluster(Path(folder))
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()
