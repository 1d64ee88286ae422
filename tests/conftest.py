"""Shared fixtures: real dev nodes started as `autonomys dev` processes.

`dev_node` (session scope) is one node shared by the client tests; each test file that
needs funds uses its own dev account so tests don't race on nonces. `NodeProcess` starts,
kills (SIGKILL) and restarts a node on a data directory, for the restart tests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from domains.evm.genesis import DEV_CHAIN_ID, dev_accounts
from domains.rpc.testing import free_port  # noqa: F401  (also used by test modules)

ROOT = Path(__file__).resolve().parent.parent
AUTONOMYS = [sys.executable, "-m", "domains.cli"]


def rpc(url: str, method: str, params=None, timeout: float = 30.0):
    """One JSON-RPC call over HTTP with the standard library; returns the whole response."""
    import urllib.request

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


@dataclass
class NodeProcess:
    """An `autonomys dev` process on `base_path`, restartable on the same data."""

    base_path: Path
    extra_args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "NodeProcess":
        self.log_path = self.base_path.parent / f"{self.base_path.name}-node.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            AUTONOMYS + ["dev", "--base-path", str(self.base_path), "--rpc-port", str(self.port), *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}:\n{self.log_path.read_text()[-4000:]}")
            try:
                if rpc(self.url, "eth_chainId", timeout=2).get("result"):
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"node did not answer within {timeout}s:\n{self.log_path.read_text()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as a crash or power cut."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGINT, as Ctrl-C."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class DevNode:
    url: str
    ws_url: str
    chain_id: int
    accounts: list[tuple[str, str]]
    process: NodeProcess


@pytest.fixture(scope="session")
def dev_node():
    """One dev node for the whole session (HTTP + WebSocket, dev signer on)."""
    tmp = Path(tempfile.mkdtemp(prefix="autonomys-test-"))
    node = NodeProcess(base_path=tmp / "dev").start()
    try:
        yield DevNode(url=node.url, ws_url=node.ws_url, chain_id=DEV_CHAIN_ID,
                      accounts=[(a, "0x" + k.hex()) for a, k in dev_accounts()], process=node)
    finally:
        node.stop()
        shutil.rmtree(tmp, ignore_errors=True)
