"""JSON-RPC benchmarks: the `autonomys dev` node against a Hardhat 2 node, same client, same load.

Both nodes are started fresh by this module (loopback only, each on its own free port) with
the same chain id (8701337) and the same 10 funded accounts (mnemonic "test ... junk"):

- `autonomys dev --tmp --rpc-port P`: the consensus-driven dev network in one process (PoT, a
  farmer plotting one DEV sector, the consensus node, the EVM domain operator, the gateway); a
  transaction goes pool -> bundle -> consensus block -> domain block, there is no block timer.
  Its temporary directory is put under the benchmark's scratch directory, which is removed at
  the end whatever happens;
- `hardhat node --hostname 127.0.0.1 --port P` from `benchmarks/hardhat/` (Hardhat 2, pinned by
  its package-lock.json and installed there with `npm ci` on first use), automining one block
  per transaction, per-request logging off.

The measurements (each function takes a node's URL and returns a result dataclass):

- `bench_transfers`: 2,000 value transfers, 200 from each of the 10 dev accounts with
  consecutive nonces, signed before timing. Ten client threads (one per sender, each with one
  keep-alive HTTP/1.1 connection) send their sender's transactions one after another; timing
  runs from the first send to the moment the last receipt is seen (once all sends are done, one
  poller asks for each sender's last receipt every 20 ms). Afterwards all 2,000 receipts are
  fetched (`eth_getTransactionReceipt`, untimed) and must have status 1.
- `bench_eth_call`: p50/p90 latency of `eth_call` of a view function on a small contract
  deployed for the purpose (500 sequential calls on one keep-alive connection; every answer is
  checked).
- `bench_block_number`: `eth_blockNumber` requests per second, sequential, one keep-alive
  connection.

The client (`RpcClient`) writes pre-encoded HTTP/1.1 requests on plain keep-alive sockets
and reads the response framing itself. Its own cost is measured (CPU time of the client
threads, per request) and reported beside the figures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
HARDHAT_DIR = Path(__file__).resolve().parent / "hardhat"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from eth_utils import function_signature_to_4byte_selector, to_checksum_address  # noqa: E402

from domains.evm.genesis import DEV_CHAIN_ID, dev_accounts  # noqa: E402

#: Transactions pay at most this much per gas (the base fee starts at 1 gwei on both nodes).
MAX_FEE = 50 * 10**9
TIP = 10**9
#: How often the transfer benchmark asks for a receipt it is waiting for.
RECEIPT_POLL_SECONDS = 0.02
#: Every wait of the benchmarks is bounded by this.
PHASE_TIMEOUT_SECONDS = 300.0

CALL_TARGET_VY = """
# pragma version ^0.4.0
value: public(uint256)

@deploy
def __init__():
    self.value = 42

@external
@view
def get(x: uint256) -> uint256:
    return self.value + x
"""


class BenchmarkError(RuntimeError):
    """A node failed to start, answered wrongly, or a phase ran out of time."""


class RpcError(BenchmarkError):
    """A JSON-RPC error answer; `code` and `message` are the node's."""

    def __init__(self, method: str, error: dict) -> None:
        self.code = error.get("code")
        self.message = error.get("message")
        super().__init__(f"{method}: error {self.code}: {self.message}")


# -- the client ------------------------------------------------------------------------------

class RpcClient:
    """One keep-alive HTTP/1.1 connection to a JSON-RPC endpoint, on a plain socket.

    Requests are encoded up front (`request`), so that the timed loop only writes bytes and
    parses the response framing: this keeps the client's own cost per request small (it is
    measured and reported). Responses framed by Content-Length or chunked encoding are read;
    `Connection: close` from the server is honoured (the next request reconnects).
    `connections` counts the TCP connections opened, so a run can show that keep-alive held."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._timeout = timeout
        self._prefix = (f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
                        "Content-Type: application/json\r\nConnection: keep-alive\r\nContent-Length: ").encode()
        self._sock: socket.socket | None = None
        self._buf = b""
        self._id = 0
        self.connections = 0

    def _socket(self) -> socket.socket:
        if self._sock is None:
            sock = socket.create_connection((self._host, self._port), timeout=self._timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock, self._buf = sock, b""
            self.connections += 1
        return self._sock

    def request(self, method: str, params: list | tuple = ()) -> bytes:
        """The complete HTTP request (head and JSON-RPC body) for one call of `method`."""
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)},
                          separators=(",", ":")).encode()
        return self._prefix + str(len(body)).encode() + b"\r\n\r\n" + body

    def post(self, request: bytes) -> bytes:
        """Send one pre-encoded request, return the response body."""
        sock = self._socket()
        try:
            sock.sendall(request)
            return self._read_response(sock)
        except BaseException:
            self.close()
            raise

    def _recv(self, sock: socket.socket) -> None:
        chunk = sock.recv(262144)
        if not chunk:
            raise BenchmarkError(f"{self._host}:{self._port} closed the connection mid-response")
        self._buf += chunk

    def _read_response(self, sock: socket.socket) -> bytes:
        while (end := self._buf.find(b"\r\n\r\n")) < 0:
            self._recv(sock)
        head, self._buf = self._buf[:end].decode("latin-1").split("\r\n"), self._buf[end + 4:]
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            length = int(headers["content-length"])
            while len(self._buf) < length:
                self._recv(sock)
            body, self._buf = self._buf[:length], self._buf[length:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked(sock)
        else:
            raise BenchmarkError(f"{self._host}:{self._port}: response has neither Content-Length nor chunked body")
        if headers.get("connection", "").lower() == "close":
            self.close()
        if status != 200:
            raise BenchmarkError(f"HTTP {status} from {self._host}:{self._port}: {body[:200]!r}")
        return body

    def _read_chunked(self, sock: socket.socket) -> bytes:
        parts = []
        while True:
            while (eol := self._buf.find(b"\r\n")) < 0:
                self._recv(sock)
            size = int(self._buf[:eol].split(b";")[0], 16)
            while len(self._buf) < eol + 2 + size + 2:
                self._recv(sock)
            parts.append(self._buf[eol + 2:eol + 2 + size])
            self._buf = self._buf[eol + 2 + size + 2:]
            if size == 0:  # no trailers are expected from a JSON-RPC server
                return b"".join(parts)

    def call(self, method: str, params: list | tuple = ()) -> Any:
        """Call `method`; return its result or raise `RpcError`."""
        return self.result(method, self.post(self.request(method, params)))

    @staticmethod
    def result(method: str, raw: bytes) -> Any:
        msg = json.loads(raw)
        if "error" in msg:
            raise RpcError(method, msg["error"])
        return msg["result"]

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def rpc_once(url: str, method: str, params: list | tuple = (), timeout: float = 5.0) -> Any:
    """One call on a fresh connection (start-up probes)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return RpcClient.result(method, resp.read())


# -- the nodes -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class NodeHandle:
    """A node process started by the benchmark; `stop()` ends it and its children."""

    label: str
    url: str
    proc: subprocess.Popen
    log_path: Path

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, grace: float = 15.0) -> None:
        """SIGINT (a clean shutdown, which removes `--tmp` data), then SIGKILL after `grace` s."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        except ProcessLookupError:
            pass


def wait_ready(node: NodeHandle, timeout: float, poll: float = 0.1) -> NodeHandle:
    """Wait until `node` answers `eth_chainId` with the dev chain id (stopping it on failure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.proc.poll() is not None:
            raise BenchmarkError(f"{node.label} exited with {node.proc.returncode} at start-up:\n{node.log_tail()}")
        try:
            chain_id = int(rpc_once(node.url, "eth_chainId", timeout=2), 16)
        except (OSError, ValueError, BenchmarkError):
            time.sleep(poll)
            continue
        if chain_id != DEV_CHAIN_ID:
            node.stop()
            raise BenchmarkError(f"{node.label} answers chain id {chain_id}, expected {DEV_CHAIN_ID}")
        return node
    node.stop()
    raise BenchmarkError(f"{node.label} did not answer within {timeout:.0f} s:\n{node.log_tail()}")


def start_dev_node(scratch: Path, *, log_level: str = "warning", timeout: float = 60.0,
                   wait: bool = True) -> NodeHandle:
    """A fresh `autonomys dev --tmp` node (the consensus-driven dev network) on a free port.

    With `wait` (the default) this returns once the node answers `eth_chainId`; without it,
    right after the process is spawned (`wait_ready` then waits: the cold-start benchmark
    times the two apart)."""
    port = free_port()
    tmp = scratch / f"dev-{port}"
    tmp.mkdir(parents=True)
    log_path = scratch / f"dev-{port}.log"
    cmd = [sys.executable, "-m", "domains.cli", "--log-level", log_level, "dev", "--tmp", "--rpc-port", str(port)]
    env = dict(os.environ, TMPDIR=str(tmp))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    node = NodeHandle("autonomys dev", f"http://127.0.0.1:{port}", proc, log_path)
    return wait_ready(node, timeout) if wait else node


def hardhat_version() -> str | None:
    """The installed Hardhat's version, or None when it is not installed."""
    try:
        return json.loads((HARDHAT_DIR / "node_modules" / "hardhat" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def pinned_hardhat_version() -> str:
    lock = json.loads((HARDHAT_DIR / "package-lock.json").read_text())
    return lock["packages"]["node_modules/hardhat"]["version"]


def ensure_hardhat(timeout: float = 900.0) -> str:
    """Install the pinned Hardhat into benchmarks/hardhat/node_modules (`npm ci`) unless it is
    there already; return its version."""
    pinned = pinned_hardhat_version()
    if hardhat_version() == pinned:
        return pinned
    if shutil.which("npm") is None:
        raise BenchmarkError("npm is not on PATH: it is needed to install the Hardhat anchor (benchmarks/hardhat)")
    print(f"installing hardhat {pinned} into {HARDHAT_DIR / 'node_modules'} (npm ci) ...", flush=True)
    try:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HARDHAT_DIR,
                       check=True, timeout=timeout)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise BenchmarkError(f"npm ci in {HARDHAT_DIR} failed: {exc}") from exc
    installed = hardhat_version()
    if installed != pinned:
        raise BenchmarkError(f"npm ci installed hardhat {installed}, expected {pinned}")
    return installed


def start_hardhat(scratch: Path, *, timeout: float = 120.0) -> NodeHandle:
    """A fresh `hardhat node` (config: benchmarks/hardhat/hardhat.config.js) on a free port."""
    version = ensure_hardhat()
    if shutil.which("node") is None:
        raise BenchmarkError("node is not on PATH: it is needed to run the Hardhat anchor")
    port = free_port()
    log_path = scratch / f"hardhat-{port}.log"
    cmd = ["node", str(HARDHAT_DIR / "node_modules" / "hardhat" / "internal" / "cli" / "bootstrap.js"),
           "node", "--hostname", "127.0.0.1", "--port", str(port)]
    env = dict(os.environ, HARDHAT_DISABLE_TELEMETRY_PROMPT="true", DO_NOT_TRACK="1")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=HARDHAT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    node = NodeHandle(f"Hardhat {version}", f"http://127.0.0.1:{port}", proc, log_path)
    return wait_ready(node, timeout)


# -- signed transactions ---------------------------------------------------------------------

@dataclass(frozen=True)
class SignedTx:
    raw_hex: str
    hash_hex: str


def _sign(key: bytes, tx: dict) -> SignedTx:
    signed = Account.sign_transaction(tx, key)
    return SignedTx("0x" + bytes(signed.raw_transaction).hex(), "0x" + bytes(signed.hash).hex())


def presign_transfers(per_sender: int, senders: int = 10, first_nonce: int = 0) -> list[list[SignedTx]]:
    """Transfers from each of the first `senders` dev accounts, nonces `first_nonce` to
    `first_nonce + per_sender`: the first is `bench_transfers`' untimed warm-up, the
    `per_sender` others are timed (a later trial on the same nodes starts where this one ends).

    Each sender pays its own recipient (a fresh address) 1 gwei per transfer; EIP-1559 fees."""
    out = []
    for s, (_, key) in enumerate(dev_accounts()[:senders]):
        to = to_checksum_address((0xbe00_0000 + s).to_bytes(20, "big"))
        out.append([_sign(key, {"chainId": DEV_CHAIN_ID, "type": 2, "nonce": n, "to": to, "value": 10**9,
                                "gas": 21_000, "maxFeePerGas": MAX_FEE, "maxPriorityFeePerGas": TIP})
                    for n in range(first_nonce, first_nonce + per_sender + 1)])
    return out


# -- 1. transfers ----------------------------------------------------------------------------

@dataclass
class TransferResult:
    transactions: int
    seconds: float
    tx_per_s: float
    send_seconds: float
    blocks: int
    receipts_ok: int
    connections: int
    client_cpu_seconds: float
    client_cpu_us_per_request: float
    requests: int


def _wait_receipt(client: RpcClient, tx_hash: str, deadline: float, interval: float = RECEIPT_POLL_SECONDS) -> dict:
    body = client.request("eth_getTransactionReceipt", [tx_hash])
    while True:
        receipt = client.result("eth_getTransactionReceipt", client.post(body))
        if receipt is not None:
            return receipt
        if time.monotonic() > deadline:
            raise BenchmarkError(f"no receipt for {tx_hash} within the time limit")
        time.sleep(interval)


def bench_transfers(url: str, signed: list[list[SignedTx]], timeout: float = PHASE_TIMEOUT_SECONDS, *,
                    verify: bool = True, on_start=None, on_end=None) -> TransferResult:
    """Send every sender's transactions (one thread and connection per sender), time to the
    last receipt, then (unless `verify` is false) check all receipts (see module docstring).

    The first transaction of each sender is a warm-up: those are sent and mined before the
    timing starts (so both nodes have run the transaction path once); the rest are timed.
    `on_start()` / `on_end()`, if given, are called just before the timed sends are released and
    right after the last receipt is seen (untimed)."""
    deadline = time.monotonic() + timeout
    warm = RpcClient(url)
    for txs in signed:
        warm.call("eth_sendRawTransaction", [txs[0].raw_hex])
    for txs in signed:
        receipt = _wait_receipt(warm, txs[0].hash_hex, deadline)
        if int(receipt["status"], 16) != 1:
            raise BenchmarkError(f"warm-up transaction {txs[0].hash_hex} failed: {receipt}")
    warm.close()
    signed = [txs[1:] for txs in signed]
    clients = [RpcClient(url) for _ in signed]
    bodies = [[c.request("eth_sendRawTransaction", [tx.raw_hex]) for tx in txs] for c, txs in zip(clients, signed)]
    for c in clients:  # open every connection before timing
        c.call("eth_chainId")
    barrier = threading.Barrier(len(signed) + 1, timeout=60)
    errors: list[BaseException] = []
    cpu = [0.0] * len(signed)

    def sender(i: int) -> None:
        client, txs = clients[i], signed[i]
        try:
            barrier.wait()
            start_cpu = time.thread_time()
            for tx, body in zip(txs, bodies[i]):
                got = client.result("eth_sendRawTransaction", client.post(body))
                if got.lower() != tx.hash_hex:
                    raise BenchmarkError(f"eth_sendRawTransaction returned {got}, expected {tx.hash_hex}")
                if errors:
                    return
                if time.monotonic() > deadline:
                    raise BenchmarkError(f"sender {i}: sending did not finish within {timeout:.0f} s")
            cpu[i] = time.thread_time() - start_cpu
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(i,), name=f"sender-{i}", daemon=True) for i in range(len(signed))]
    for t in threads:
        t.start()
    while barrier.n_waiting < len(signed) and not errors:
        time.sleep(0.001)
    if on_start is not None:
        on_start()
    start = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    send_seconds = time.perf_counter() - start
    if errors:
        raise BenchmarkError(f"sending failed: {errors[0]}") from errors[0]
    if any(t.is_alive() for t in threads):
        raise BenchmarkError(f"sending did not finish within {timeout:.0f} s")

    poller = clients[0]
    poll_cpu = time.thread_time()
    for txs in signed:
        _wait_receipt(poller, txs[-1].hash_hex, deadline)
    seconds = time.perf_counter() - start
    poll_cpu = time.thread_time() - poll_cpu
    if on_end is not None:
        on_end()

    n = sum(len(txs) for txs in signed)
    connections = sum(c.connections for c in clients)
    for c in clients:
        c.close()
    ok, blocks = verify_receipts(url, signed) if verify else (0, 0)
    requests = n + len(signed)  # sends + at least one receipt poll per sender
    client_cpu = sum(cpu) + poll_cpu
    return TransferResult(transactions=n, seconds=seconds, tx_per_s=n / seconds, send_seconds=send_seconds,
                          blocks=blocks, receipts_ok=ok, connections=connections,
                          client_cpu_seconds=client_cpu, client_cpu_us_per_request=client_cpu / requests * 1e6,
                          requests=requests)


def verify_receipts(url: str, signed: list[list[SignedTx]], timeout: float = PHASE_TIMEOUT_SECONDS) -> tuple[int, int]:
    """Fetch the receipt of every transaction in `signed`; each must exist with status 1.
    Returns (receipts checked, distinct blocks they are in)."""
    deadline = time.monotonic() + timeout
    client = RpcClient(url)
    blocks, ok = set(), 0
    try:
        for txs in signed:
            if time.monotonic() > deadline:
                raise BenchmarkError(f"checking the receipts took more than {timeout:.0f} s ({ok} checked)")
            for tx in txs:
                receipt = client.call("eth_getTransactionReceipt", [tx.hash_hex])
                if receipt is None or int(receipt["status"], 16) != 1:
                    raise BenchmarkError(f"transaction {tx.hash_hex} has receipt {receipt}")
                ok += 1
                blocks.add(receipt["blockNumber"])
    finally:
        client.close()
    return ok, len(blocks)


_CONSENSUS_LINE = re.compile(r"^consensus #(\d+) \S+\s+slot (\d+) .*bundles (\d+)\s*$")
_DOMAIN_LINE = re.compile(r"^\s+domain #(\d+) \S+\s+(\d+) transactions")


def max_bundle_transfers() -> int:
    """How many 21,000-gas transfers fit in one bundle of the dev domain: its bundle weight
    limit (DEV `max_domain_block_weight` / expected bundles per consensus block, spec §1.2)
    over `WEIGHT_PER_GAS`, the way `Operator._select_transactions` counts it."""
    from domains.bundles import WEIGHT_PER_GAS
    from domains.runtime.params import DEV, calculate_max_bundle_weight_and_size

    _, weight = calculate_max_bundle_weight_and_size(DEV, (1, 1))
    return weight.ref_time // WEIGHT_PER_GAS // 21_000


def dev_block_flow(log_text: str) -> dict:
    """What the `autonomys dev` block lines in `log_text` say: consensus blocks (and their slots),
    bundles they carried, domain blocks and their transaction counts."""
    consensus, bundles, domain = [], 0, []
    for line in log_text.splitlines():
        if m := _CONSENSUS_LINE.match(line):
            consensus.append((int(m[1]), int(m[2])))
            bundles += int(m[3])
        elif m := _DOMAIN_LINE.match(line):
            domain.append(int(m[2]))
    return {"consensus_blocks": len(consensus), "first_slot": consensus[0][1] if consensus else None,
            "last_slot": consensus[-1][1] if consensus else None, "bundles": bundles,
            "domain_blocks": sum(1 for c in domain if c), "transactions_per_domain_block": [c for c in domain if c],
            "empty_domain_blocks": sum(1 for c in domain if not c), "max_bundle_transfers": max_bundle_transfers()}


# -- 2. eth_call -----------------------------------------------------------------------------

@dataclass
class LatencyResult:
    requests: int
    seconds: float
    per_second: float
    p50_ms: float
    p90_ms: float
    mean_ms: float
    client_cpu_us_per_request: float
    connections: int


def _latency(samples: list[float], seconds: float, cpu: float, connections: int) -> LatencyResult:
    q = statistics.quantiles(samples, n=10, method="inclusive")
    return LatencyResult(requests=len(samples), seconds=seconds, per_second=len(samples) / seconds,
                         p50_ms=statistics.median(samples) * 1e3, p90_ms=q[8] * 1e3,
                         mean_ms=statistics.fmean(samples) * 1e3,
                         client_cpu_us_per_request=cpu / len(samples) * 1e6, connections=connections)


def call_target_bytecode() -> str:
    """Init code of the eth_call target contract (Vyper, compiled here)."""
    import vyper

    return vyper.compile_code(CALL_TARGET_VY, output_formats=["bytecode"])["bytecode"]


def deploy_call_target(url: str, bytecode: str, account: int = 0, timeout: float = 60.0) -> str:
    """Deploy the eth_call target from dev account `account`; return its address."""
    address, key = dev_accounts()[account]
    client = RpcClient(url)
    try:
        nonce = int(client.call("eth_getTransactionCount", [address, "pending"]), 16)
        tx = _sign(key, {"chainId": DEV_CHAIN_ID, "type": 2, "nonce": nonce, "value": 0,
                         "data": bytecode, "gas": 1_000_000, "maxFeePerGas": MAX_FEE, "maxPriorityFeePerGas": TIP})
        client.call("eth_sendRawTransaction", [tx.raw_hex])
        receipt = _wait_receipt(client, tx.hash_hex, time.monotonic() + timeout)
    finally:
        client.close()
    if int(receipt["status"], 16) != 1 or not receipt.get("contractAddress"):
        raise BenchmarkError(f"deploying the eth_call target failed: {receipt}")
    return receipt["contractAddress"]


def bench_eth_call(url: str, contract: str, count: int, warmup: int = 20) -> LatencyResult:
    """`count` sequential `eth_call`s of `get(i)` on `contract`, each answer checked (= 42 + i)."""
    selector = function_signature_to_4byte_selector("get(uint256)").hex()
    client = RpcClient(url)
    try:
        bodies = [client.request("eth_call", [{"to": contract, "data": "0x" + selector + i.to_bytes(32, "big").hex()},
                                           "latest"]) for i in range(warmup + count)]
        for body in bodies[:warmup]:
            client.post(body)
        samples = []
        cpu = time.thread_time()
        start = time.perf_counter()
        for i, body in enumerate(bodies[warmup:]):
            t0 = time.perf_counter()
            raw = client.post(body)
            samples.append(time.perf_counter() - t0)
            result = client.result("eth_call", raw)
            if int(result, 16) != 42 + warmup + i:
                raise BenchmarkError(f"eth_call returned {result}, expected {42 + warmup + i}")
        seconds = time.perf_counter() - start
        cpu = time.thread_time() - cpu
        return _latency(samples, seconds, cpu, client.connections)
    finally:
        client.close()


# -- 3. eth_blockNumber ----------------------------------------------------------------------

def bench_block_number(url: str, count: int, warmup: int = 50) -> LatencyResult:
    """`count` sequential `eth_blockNumber` requests on one keep-alive connection."""
    client = RpcClient(url)
    try:
        body = client.request("eth_blockNumber")
        for _ in range(warmup):
            client.post(body)
        samples = []
        cpu = time.thread_time()
        start = time.perf_counter()
        for _ in range(count):
            t0 = time.perf_counter()
            raw = client.post(body)
            samples.append(time.perf_counter() - t0)
            client.result("eth_blockNumber", raw)
        seconds = time.perf_counter() - start
        cpu = time.thread_time() - cpu
        # `samples` excludes JSON decoding, `seconds` includes it: the rate is the client's view.
        return _latency(samples, seconds, cpu, client.connections)
    finally:
        client.close()


# -- the client's own ceiling ---------------------------------------------------------------

NULL_RESULT = b'{"jsonrpc":"2.0","id":1,"result":"0x0"}'


def serve_null(port: int) -> None:
    """A JSON-RPC server that does nothing: every POST gets the same canned answer at once.

    Run in its own process (`python rpc_vs_hardhat.py --null-server PORT`), it shows how fast
    the client alone can go: the ceiling of `bench_block_number`'s figure on this machine."""
    import asyncio

    response = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(NULL_RESULT)).encode() + b"\r\n\r\n" + NULL_RESULT)

    class NullProtocol(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport, self.buf = transport, b""

        def data_received(self, data):
            self.buf += data
            while (end := self.buf.find(b"\r\n\r\n")) >= 0:
                head = self.buf[:end].lower()
                at = head.find(b"content-length:")
                length = int(head[at + 15:].split(b"\r\n", 1)[0]) if at >= 0 else 0
                if len(self.buf) < end + 4 + length:
                    return
                self.buf = self.buf[end + 4 + length:]
                self.transport.write(response)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(NullProtocol, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def client_ceiling(count: int, scratch: Path) -> LatencyResult:
    """`bench_block_number` against the null server (in a child process, stopped after)."""
    port = free_port()
    log_path = scratch / f"null-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--null-server", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    node = NodeHandle("null server", f"http://127.0.0.1:{port}", proc, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchmarkError(f"the null server did not start:\n{node.log_tail()}") from None
                time.sleep(0.05)
        return bench_block_number(node.url, count)
    finally:
        node.stop(grace=5)


@dataclass
class Nodes:
    """The nodes started in a run, so that they can all be stopped whatever happens."""

    started: list[NodeHandle] = field(default_factory=list)

    def add(self, node: NodeHandle) -> NodeHandle:
        self.started.append(node)
        return node

    def stop_all(self) -> None:
        for node in reversed(self.started):
            try:
                node.stop()
            except Exception as exc:  # keep stopping the others
                print(f"warning: stopping {node.label}: {exc}", file=sys.stderr)
        self.started.clear()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--null-server":
        serve_null(int(sys.argv[2]))
    else:
        print("this module is run by benchmarks/run.py; "
              "`python rpc_vs_hardhat.py --null-server PORT` runs the client-ceiling server", file=sys.stderr)
        sys.exit(2)
