"""Block execution: the domain's block builder against raw py-evm on the same transactions.

Each workload is a list of signed transactions on the dev genesis (Prague, chain id
8701337, the 10 dev accounts funded). The same raw transactions go through:

- ours:   `DomainChain.build_block` on a fresh data directory (LMDB), which validates,
          applies, seals and durably commits the block in one store transaction;
- anchor: py-evm's `MiningChain.mine_all` on a fresh in-memory `AtomicDB`, from the same
          genesis, with the same header fields (timestamp, coinbase, gas limit).

Both are timed from the decoded transactions to the sealed, persisted block (genesis
creation and transaction decoding are outside the timing; each run decodes its own fresh
transaction objects and starts with py-evm's in-process caches emptied, so nothing computed by
one side is reused by the other). Runs of the two
alternate, and the best of `--repeat` runs of each is kept. The state roots (and the
transaction and receipt roots) of the two blocks must be equal: the same transactions on the
same state give the same state, or one of the two is wrong.

Workloads:
- `transfers`: value transfers from the 10 dev accounts to fresh addresses;
- `mix`: two thirds transfers, one third calls of a small Vyper contract (present at genesis)
  that updates a mapping and a counter and emits a log.

Run `python benchmarks/block_execution.py [--quick] [--repeat N] [--json FILE]`.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import eth.db.chain as eth_db_chain  # noqa: E402
import eth.db.header as eth_db_header  # noqa: E402
import eth.db.trie as eth_db_trie  # noqa: E402
import eth.vm.base as eth_vm_base  # noqa: E402
from eth.chains.base import MiningChain  # noqa: E402
from eth.db.atomic import AtomicDB  # noqa: E402
from eth.vm.forks import PragueVM  # noqa: E402
from eth_account import Account  # noqa: E402
from eth_utils import function_signature_to_4byte_selector, to_canonical_address  # noqa: E402

from domains.evm.chain import DomainChain  # noqa: E402
from domains.evm.genesis import DEV_CHAIN_ID, Genesis, dev_accounts, dev_genesis  # noqa: E402

#: Anchor of this benchmark: the domain builder should reach this share of raw py-evm's speed.
TARGET_RATIO = 0.9

#: The genesis timestamp of every workload (fixed, so that runs are reproducible).
GENESIS_TIMESTAMP = 1_700_000_000
#: Where the small contract of the `mix` workload lives at genesis.
BUMPER_ADDRESS = to_canonical_address("0x" + "b0" * 20)
BUMPER_VY = """
# pragma version ^0.4.0
counts: public(HashMap[address, uint256])
total: public(uint256)

event Bumped:
    who: indexed(address)
    count: uint256

@external
def bump(step: uint256):
    self.counts[msg.sender] += step
    self.total += step
    log Bumped(who=msg.sender, count=self.counts[msg.sender])
"""
TRANSFER_GAS = 21_000
CALL_GAS = 100_000
MAX_FEE = 10 * 10**9
TIP = 10**9


class BenchmarkError(RuntimeError):
    """The two executions disagree, or a workload did not run as built."""


@dataclass(frozen=True)
class Workload:
    """Signed transactions for one block on `genesis`."""

    name: str
    genesis: Genesis
    raw_transactions: tuple[bytes, ...]
    timestamp: int


@dataclass
class Result:
    """One workload's figures: best seconds of each side, rates, ratio, and the roots."""

    workload: str
    transactions: int
    gas_used: int
    ours_seconds: float
    raw_seconds: float
    ours_tx_per_s: float
    raw_tx_per_s: float
    ratio: float
    state_root_ours: str
    state_root_raw: str
    roots_match: bool
    target: float = TARGET_RATIO

    @property
    def passed(self) -> bool:
        return self.ratio >= self.target


# -- workloads -------------------------------------------------------------------------------

def bumper_runtime_code() -> bytes:
    """The `mix` workload contract's runtime bytecode, compiled with the Vyper package."""
    import vyper

    out = vyper.compile_code(BUMPER_VY, output_formats=["bytecode_runtime"])
    return bytes.fromhex(out["bytecode_runtime"].removeprefix("0x"))


def _sign(key: bytes, nonce: int, to: bytes, *, value: int = 0, data: bytes = b"", gas: int) -> bytes:
    tx = {"chainId": DEV_CHAIN_ID, "type": 2, "nonce": nonce, "to": to, "value": value, "data": data,
          "gas": gas, "maxFeePerGas": MAX_FEE, "maxPriorityFeePerGas": TIP}
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


def transfer_workload(count: int) -> Workload:
    """`count` transfers, round-robin over the 10 dev accounts, each to a new address."""
    keys = [key for _, key in dev_accounts()]
    nonces = [0] * len(keys)
    raws = []
    for i in range(count):
        s = i % len(keys)
        to = (0x1000_0000 + i).to_bytes(20, "big")
        raws.append(_sign(keys[s], nonces[s], to, value=10**15 + i, gas=TRANSFER_GAS))
        nonces[s] += 1
    genesis = dev_genesis(timestamp=GENESIS_TIMESTAMP)
    return Workload("transfers", genesis, tuple(raws), GENESIS_TIMESTAMP + 12)


def mix_workload(count: int) -> Workload:
    """`count` transactions: every third one calls `bump(step)` on the genesis contract."""
    keys = [key for _, key in dev_accounts()]
    nonces = [0] * len(keys)
    selector = function_signature_to_4byte_selector("bump(uint256)")
    raws = []
    for i in range(count):
        s = i % len(keys)
        if i % 3 == 2:
            data = selector + (i + 1).to_bytes(32, "big")
            raws.append(_sign(keys[s], nonces[s], BUMPER_ADDRESS, data=data, gas=CALL_GAS))
        else:
            to = (0x2000_0000 + i).to_bytes(20, "big")
            raws.append(_sign(keys[s], nonces[s], to, value=10**15 + i, gas=TRANSFER_GAS))
        nonces[s] += 1
    alloc = {BUMPER_ADDRESS: {"balance": 0, "nonce": 1, "code": bumper_runtime_code(), "storage": {}}}
    genesis = dev_genesis(timestamp=GENESIS_TIMESTAMP, extra_alloc=alloc)
    return Workload("mix", genesis, tuple(raws), GENESIS_TIMESTAMP + 12)


def workloads(quick: bool) -> list[Workload]:
    """The transfer and mix workloads, sized to fit one block of the dev gas limit (30M)."""
    if quick:
        return [transfer_workload(100), mix_workload(90)]
    # 1,400 x 21,000 = 29.4M gas; the mix: 400 transfers + 200 calls at 100,000 gas = 28.4M.
    return [transfer_workload(1_400), mix_workload(600)]


def _check_fits(w: Workload) -> None:
    total_gas_limit = sum(tx.gas for tx in _decode(w.raw_transactions))
    if total_gas_limit > w.genesis.header["gas_limit"]:
        raise BenchmarkError(f"{w.name}: transactions ask for more gas than one block holds")


# -- the two executions ----------------------------------------------------------------------

def _clear_process_caches() -> None:
    """Empty py-evm's module-level caches before a timed run.

    `_make_trie_root_and_nodes` (transaction, receipt and withdrawal roots) is an LRU cache
    keyed by the encoded items: without this, whichever side runs second would get the
    other's transaction and receipt tries for free. Header decoding is cached the same way."""
    eth_db_trie._make_trie_root_and_nodes.cache_clear()
    eth_db_header._decode_block_header.cache_clear()


def _decode(raw_transactions) -> list:
    builder = PragueVM.get_transaction_builder()
    return [builder.decode(raw) for raw in raw_transactions]


def run_ours(w: Workload, scratch: Path):
    """Build the workload's block with the domain's `DomainChain.build_block`.

    Returns (seconds, sealed block, receipts)."""
    path = Path(tempfile.mkdtemp(prefix="bench-domain-", dir=scratch))
    chain = DomainChain.create(path, w.genesis)
    try:
        txs = _decode(w.raw_transactions)
        _clear_process_caches()
        gc.collect()
        start = time.perf_counter()
        built = chain.build_block(txs, timestamp=w.timestamp)
        seconds = time.perf_counter() - start
        if built.dropped or built.deferred or len(built.block.transactions) != len(txs):
            raise BenchmarkError(f"{w.name}: the domain left out transactions: dropped {built.dropped[:3]}, "
                                 f"deferred {len(built.deferred)}")
        return seconds, built.block, built.receipts
    finally:
        chain.close()
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _py_evm_own_trie_roots():
    """py-evm's own `make_trie_root_and_nodes` for the anchor: importing the domain chain
    replaced it process-wide with the one-pass builder (`domains.evm.chain`)."""
    replaced = eth_vm_base.make_trie_root_and_nodes, eth_db_chain.make_trie_root_and_nodes
    eth_vm_base.make_trie_root_and_nodes = eth_db_chain.make_trie_root_and_nodes = eth_db_trie.make_trie_root_and_nodes
    try:
        yield
    finally:
        eth_vm_base.make_trie_root_and_nodes, eth_db_chain.make_trie_root_and_nodes = replaced


def run_raw(w: Workload):
    """Mine the workload's block with py-evm's `MiningChain.mine_all` on an in-memory AtomicDB,
    with py-evm's own trie-root function (`_py_evm_own_trie_roots`).

    Returns (seconds, sealed block, receipts)."""
    with _py_evm_own_trie_roots():
        return _run_raw(w)


def _run_raw(w: Workload):
    chain_class = MiningChain.configure(__name__="RawPragueChain", vm_configuration=((0, PragueVM),),
                                        chain_id=w.genesis.chain_id)
    chain = chain_class.from_genesis(AtomicDB(), dict(w.genesis.header), w.genesis.alloc)
    genesis_header = chain.get_canonical_head()
    # The same header the domain builds on the genesis: its timestamp, coinbase, gas limit.
    chain.header = chain.create_header_from_parent(genesis_header, timestamp=w.timestamp,
                                                   gas_limit=genesis_header.gas_limit,
                                                   coinbase=genesis_header.coinbase)
    txs = _decode(w.raw_transactions)
    _clear_process_caches()
    gc.collect()
    start = time.perf_counter()
    result, receipts, _ = chain.mine_all(txs)
    seconds = time.perf_counter() - start
    return seconds, result.imported_block, receipts


def measure(w: Workload, repeat: int, scratch: Path) -> Result:
    """Run both sides `repeat` times, alternating; keep each side's best time; compare roots."""
    _check_fits(w)
    ours_times, raw_times = [], []
    ours_block = raw_block = None
    ours_receipts = raw_receipts = ()
    for _ in range(repeat):
        seconds, ours_block, ours_receipts = run_ours(w, scratch)
        ours_times.append(seconds)
        seconds, raw_block, raw_receipts = run_raw(w)
        raw_times.append(seconds)
    n = len(w.raw_transactions)
    failed = [i for i, r in enumerate(ours_receipts) if not r.state_root == b"\x01"]
    if failed:
        raise BenchmarkError(f"{w.name}: {len(failed)} transactions failed in the domain's block (first: #{failed[0]})")
    oh, rh = ours_block.header, raw_block.header
    roots_match = (oh.state_root == rh.state_root and oh.transaction_root == rh.transaction_root
                   and oh.receipt_root == rh.receipt_root and oh.gas_used == rh.gas_used
                   and len(raw_receipts) == len(ours_receipts))
    best_ours, best_raw = min(ours_times), min(raw_times)
    return Result(workload=w.name, transactions=n, gas_used=oh.gas_used,
                  ours_seconds=best_ours, raw_seconds=best_raw,
                  ours_tx_per_s=n / best_ours, raw_tx_per_s=n / best_raw, ratio=best_raw / best_ours,
                  state_root_ours="0x" + oh.state_root.hex(), state_root_raw="0x" + rh.state_root.hex(),
                  roots_match=roots_match)


def run(quick: bool = False, repeat: int | None = None) -> list[Result]:
    """All workloads; `repeat` defaults to 1 run each in quick mode, 3 otherwise."""
    repeat = repeat or (1 if quick else 3)
    scratch = Path(tempfile.mkdtemp(prefix="autonomys-bench-"))
    try:
        return [measure(w, repeat, scratch) for w in workloads(quick)]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def table(results: list[Result]) -> str:
    """The results as a fixed-width table (one row per workload)."""
    head = (f"{'workload':<10} {'txs':>5} {'gas':>11} {'ours tx/s':>10} {'py-evm tx/s':>12} "
            f"{'ratio':>6} {'target':>7} {'':>4}  state roots")
    lines = [head, "-" * len(head)]
    for r in results:
        verdict = "PASS" if r.passed else "MISS"
        roots = f"match {r.state_root_ours[:18]}..." if r.roots_match else \
            f"DIFFER ours {r.state_root_ours[:18]} raw {r.state_root_raw[:18]}"
        lines.append(f"{r.workload:<10} {r.transactions:>5} {r.gas_used:>11,} {r.ours_tx_per_s:>10,.0f} "
                     f"{r.raw_tx_per_s:>12,.0f} {r.ratio:>5.2f}x {'>=' + format(r.target, 'g') + 'x':>7} "
                     f"{verdict:>4}  {roots}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small workloads, one run each (a smoke run)")
    parser.add_argument("--repeat", type=int, help="runs per side (best kept; default 3, or 1 with --quick)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    results = run(quick=args.quick, repeat=args.repeat)
    print("Block execution: DomainChain.build_block (LMDB, durable commit) vs py-evm MiningChain.mine_all (AtomicDB)")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) | {"passed": r.passed} for r in results], indent=2))
    if not all(r.roots_match for r in results):
        print("error: state roots differ between the domain and raw py-evm", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
