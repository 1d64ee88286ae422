"""`make bench`: the project's speed figures beside their anchors, measured in one run.

Starts a fresh `autonomys dev` node (the consensus-driven dev network: PoT, farmer, consensus
node, EVM domain operator, gateway, in one process) and a fresh Hardhat 2 node (same chain id,
same funded accounts, loopback, distinct ports), runs the benchmarks, stops every node it
started (also on failure or Ctrl-C), and prints one table: our figure, the anchor's, the
target, PASS/MISS.

Benchmarks (names for `--only`):
  transfers        2,000 signed transfers (10 senders x 200, consecutive nonces), first send to
                   last receipt, tx/s; ours through pool -> bundle -> consensus block -> domain
                   block. Three trials on the same two nodes (each signs the next nonces); the
                   row is the median of each side. Target: >= 2x Hardhat.
  eth_call         p50 / p90 latency of a view call, 500 sequential calls, one keep-alive
                   client. Target: p50 <= Hardhat's.
  block_number     eth_blockNumber requests/s, 3,000 sequential, one keep-alive client (no
                   target; reported beside Hardhat's).
  block_execution  DomainChain.build_block vs raw py-evm MiningChain.mine_all on the same
                   transactions (benchmarks/block_execution.py). Target: >= 0.9x py-evm.

Consensus benchmarks (each module also runs alone, e.g. `python benchmarks/pot.py`; only devnet starts a node):
  pot              PoT proving vs a chained AES-NI loop in C built by the benchmark; verify / prove.
  pos              PoS table build at K=20 (one core) and K=16.
  archiving        archiving one mainnet-size segment (128 MiB), with stage times.
  farming          audit chunks/s on one core; plotting MiB/s (dev preset, one mainnet-size record).
  devnet           the dev network itself (benchmarks/devnet.py): cold start (first RPC answer,
                   first consensus block, first domain receipt), PoT slot time, consensus block
                   interval, send -> receipt latency (p50 target <= 2 s), block import time.
  precompile       the X.509 precompile's verifySignature per key type against `cryptography` called
                   directly (benchmarks/precompile.py).
  registry_gas     gas per registry operation (benchmarks/registry_gas.py), in-process.

Usage: python benchmarks/run.py [--quick] [--only NAME ...] [--json FILE] [--hardhat-logging]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import block_execution  # noqa: E402
import rpc_vs_hardhat as rpc  # noqa: E402

EVM_NAMES = ("transfers", "eth_call", "block_number", "block_execution")
CONSENSUS_NAMES = ("pot", "pos", "archiving", "farming", "devnet", "precompile", "registry_gas")
NAMES = EVM_NAMES + CONSENSUS_NAMES
TRANSFER_TARGET = 2.0


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does."""

    per_sender: int
    eth_calls: int
    block_numbers: int
    trials: int  # transfer trials (the row is the median)


FULL = Sizes(per_sender=200, eth_calls=500, block_numbers=3000, trials=3)
QUICK = Sizes(per_sender=20, eth_calls=100, block_numbers=300, trials=1)


@dataclass
class Row:
    """One line of the final table."""

    name: str
    unit: str
    ours: float
    anchor: float
    anchor_name: str
    target: str = ""
    verdict: str = ""  # "PASS", "MISS" or "" (no target)

    @property
    def ratio(self) -> float:
        return self.ours / self.anchor if self.anchor else float("nan")


def say(msg: str) -> None:
    print(msg, flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small counts (a smoke run, figures not meaningful)")
    p.add_argument("--only", action="append", choices=NAMES, metavar="NAME",
                   help=f"run only this benchmark (repeatable): {', '.join(NAMES)}")
    p.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    p.add_argument("--hardhat-logging", action="store_true",
                   help="run Hardhat with its per-request console logging on (`hardhat node`'s default)")
    return p


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    selected = tuple(args.only) if args.only else NAMES
    if args.hardhat_logging:
        os.environ["HARDHAT_BENCH_LOGGING"] = "1"
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)

    say(f"autonomys benchmarks{' (quick: small counts, figures not meaningful)' if args.quick else ''}")
    say(f"  machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    load = os.getloadavg()[0]
    say(f"  load average before the run: {load:.2f}"
        + ("  (other work is running: figures will be noisy)" if load > 0.5 else ""))
    report: dict = {"quick": args.quick, "cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "load_before": load}
    rows: list[Row] = []
    notes: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="autonomys-bench-"))
    nodes = rpc.Nodes()
    failed = False
    try:
        if "block_execution" in selected:
            _run_block_execution(args.quick, rows, notes, report)
        for name in CONSENSUS_NAMES:
            if name in selected:
                _run_consensus(name, args.quick, rows, report)
        rpc_selected = [n for n in selected if n in EVM_NAMES and n != "block_execution"]
        if rpc_selected:
            _run_rpc(rpc_selected, sizes, scratch, nodes, rows, notes, report)
    except (rpc.BenchmarkError, block_execution.BenchmarkError) as exc:
        failed = True
        say(f"\nerror: {exc}")
        for node in nodes.started:  # what the nodes said last (Hardhat's only if it died)
            if node.label.startswith("autonomys") or node.proc.poll() is not None:
                say(f"--- last lines of {node.label}'s log ---\n{node.log_tail(2000)}")
    finally:
        nodes.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)

    report["load_after"] = os.getloadavg()[0]
    notes.append(f"load average before / after: {report['load_before']:.2f} / {report['load_after']:.2f} "
                 f"(the benchmark itself adds load; before-load above ~0.5 means other work shared the cores)")
    if rows:
        say("\n" + table(rows))
    if notes:
        say("\nNotes:")
        for note in notes:
            say(f"  - {note}")
    report["rows"] = [asdict(r) | {"ratio": r.ratio} for r in rows]
    report["notes"] = notes
    report["failed"] = failed
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
        say(f"\nresults written to {args.json}")
    return 1 if failed else 0


# -- block execution ---------------------------------------------------------------------------

def _run_block_execution(quick: bool, rows: list[Row], notes: list[str], report: dict) -> None:
    say("\n[block execution] DomainChain.build_block vs py-evm MiningChain.mine_all ...")
    results = block_execution.run(quick=quick)
    say(block_execution.table(results))
    report["block_execution"] = [asdict(r) | {"passed": r.passed} for r in results]
    for r in results:
        rows.append(Row(f"block execution, {r.workload} ({r.transactions} txs)", "tx/s", r.ours_tx_per_s,
                        r.raw_tx_per_s, "py-evm raw", f">= {r.target:g}x", "PASS" if r.passed else "MISS"))
    bad = [r.workload for r in results if not r.roots_match]
    if bad:
        raise block_execution.BenchmarkError(f"state roots differ from raw py-evm's for: {', '.join(bad)}")
    notes.append("block execution: state, transaction and receipt roots equal to raw py-evm's for every workload "
                 "(ours includes the durable LMDB commit; py-evm's runs on an in-memory AtomicDB)")


# -- consensus primitives ----------------------------------------------------------------------

def _run_consensus(name: str, quick: bool, rows: list[Row], report: dict) -> None:
    """Run benchmarks/<name>.py's `run(quick)`; its rows carry their own anchors and targets."""
    import importlib

    say(f"\n[{name}] benchmarks/{name}.py ...")
    module = importlib.import_module(name)
    results = module.run(quick=quick)
    report[name] = results
    for r in results:
        rows.append(Row(r["name"], r["unit"], float(r["ours"]), float(r["anchor"] or 0.0), r["anchor_name"],
                        r.get("target", ""), r.get("verdict", "")))


# -- JSON-RPC --------------------------------------------------------------------------------

def _run_transfers(sizes: Sizes, hardhat: rpc.NodeHandle, hh_name: str, dev_node, rows: list[Row],
                   notes: list[str], report: dict) -> None:
    """`sizes.trials` trials of the transfer benchmark on the same two nodes, Hardhat then ours in
    each (every trial signs the next nonces); the row is the median of each side."""
    n = sizes.per_sender * 10
    hh_runs, our_runs, flows = [], [], []
    for trial in range(sizes.trials):
        first_nonce = trial * (sizes.per_sender + 1)
        say(f"[transfers] trial {trial + 1}/{sizes.trials}: signing {n} transfers (10 senders x "
            f"{sizes.per_sender}, plus 10 warm-up, nonces from {first_nonce}) ...")
        signed = rpc.presign_transfers(sizes.per_sender, first_nonce=first_nonce)
        hh = rpc.bench_transfers(hardhat.url, signed)
        say(f"  {hh_name}: {hh.tx_per_s:,.0f} tx/s ({hh.seconds:.2f} s, {hh.blocks} blocks)")
        node = dev_node()
        window = []  # the node's log at the start of the timed sends and at the last receipt

        def mark() -> None:
            window.append(len(node.log_tail(10**9)))

        ours = rpc.bench_transfers(node.url, signed, on_start=mark, on_end=mark)
        flow = rpc.dev_block_flow(node.log_tail(10**9)[window[0]:window[1]])
        say(f"  autonomys dev: {ours.tx_per_s:,.0f} tx/s ({ours.seconds:.2f} s, sends done after "
            f"{ours.send_seconds:.2f} s, {ours.blocks} domain blocks)")
        hh_runs.append(hh)
        our_runs.append(ours)
        flows.append(flow)

    ours_tps = statistics.median([r.tx_per_s for r in our_runs])
    hh_tps = statistics.median([r.tx_per_s for r in hh_runs])
    ratio = ours_tps / hh_tps
    label = f"median of {sizes.trials}" if sizes.trials > 1 else "one trial"
    rows.append(Row(f"transfers, {n:,} signed, send to last receipt (consensus-driven, {label})", "tx/s",
                    ours_tps, hh_tps, "Hardhat", f">= {TRANSFER_TARGET:g}x",
                    "PASS" if ratio >= TRANSFER_TARGET else "MISS"))
    report["transfers"] = {"hardhat": asdict(hh_runs[-1]), "ours": asdict(our_runs[-1]),
                           "ours_block_flow": flows[-1],
                           "trials": [{"hardhat": asdict(h), "ours": asdict(o), "ours_block_flow": f}
                                      for h, o, f in zip(hh_runs, our_runs, flows)],
                           "median_tx_per_s": {"ours": ours_tps, "hardhat": hh_tps}}
    if sizes.trials > 1:
        notes.append("transfers, per trial (ours / Hardhat): "
                     + "; ".join(f"{o.tx_per_s:,.0f} / {h.tx_per_s:,.0f} tx/s (our sends done after "
                                 f"{o.send_seconds:.2f} s)" for o, h in zip(our_runs, hh_runs)))
    flow = flows[-1]
    if flow["domain_blocks"]:
        notes.append(
            f"transfers, ours, last trial: consensus blocks {flow['consensus_blocks']} (slots {flow['first_slot']}-"
            f"{flow['last_slot']}), bundles they carried {flow['bundles']}; transactions per domain block: "
            f"{', '.join(str(c) for c in flow['transactions_per_domain_block'])} "
            f"(at most one bundle per consensus block: a sender with a transaction in an in-flight bundle "
            f"is left out of the next one, and a bundle holds at most "
            f"{flow['max_bundle_transfers']} transfers, the DEV bundle weight limit)")
    ours, hh = our_runs[-1], hh_runs[-1]
    notes.append(f"transfers: all {n:,} receipts of every trial have status 1 on both nodes (checked after "
                 f"timing); client CPU {ours.client_cpu_us_per_request:.0f} us/request on ours, "
                 f"{hh.client_cpu_us_per_request:.0f} on Hardhat ({hh.client_cpu_seconds / hh.seconds:.0%} of one "
                 f"core over Hardhat's run); {ours.connections} and {hh.connections} TCP connections")


def _run_rpc(selected, sizes: Sizes, scratch: Path, nodes: rpc.Nodes, rows: list[Row], notes: list[str],
             report: dict) -> None:
    say("\n[json-rpc] installing / starting Hardhat (benchmarks/hardhat) ...")
    hardhat = nodes.add(rpc.start_hardhat(scratch))
    hh_name = hardhat.label + (" (logging on)" if os.environ.get("HARDHAT_BENCH_LOGGING") == "1" else "")
    say(f"  {hh_name} at {hardhat.url}")
    report["hardhat"] = hh_name
    ours_node = None

    def dev_node() -> rpc.NodeHandle:
        """The one `autonomys dev` node of the run (transfers, then eth_call and eth_blockNumber)."""
        nonlocal ours_node
        if ours_node is None:
            ours_node = nodes.add(rpc.start_dev_node(scratch))
            say(f"  autonomys dev (consensus-driven) at {ours_node.url}")
        return ours_node

    if "transfers" in selected:
        _run_transfers(sizes, hardhat, hh_name, dev_node, rows, notes, report)

    if "eth_call" in selected or "block_number" in selected:
        ceiling = rpc.client_ceiling(sizes.block_numbers, scratch)
        report["client_ceiling"] = asdict(ceiling)
        say(f"[client] against a null server: {ceiling.per_second:,.0f} req/s sequential, p50 {ceiling.p50_ms:.3f} ms")
        notes.append(f"client ceiling: the same client against a do-nothing server (canned answer, asyncio) does "
                     f"{ceiling.per_second:,.0f} sequential req/s (p50 {ceiling.p50_ms:.3f} ms, client CPU "
                     f"{ceiling.client_cpu_us_per_request:.0f} us/request): the client is not what limits the figures")
        dev_node()
        notes.append("eth_call / eth_blockNumber: ours is the same consensus-driven node as the transfers "
                     "(its PoT worker keeps one core busy proving slots while it answers)")
        if "eth_call" in selected:
            bytecode = rpc.call_target_bytecode()
            hh_contract = rpc.deploy_call_target(hardhat.url, bytecode)
            ours_contract = rpc.deploy_call_target(ours_node.url, bytecode)
            hh = rpc.bench_eth_call(hardhat.url, hh_contract, sizes.eth_calls)
            ours = rpc.bench_eth_call(ours_node.url, ours_contract, sizes.eth_calls)
            say(f"[eth_call] p50 ours {ours.p50_ms:.2f} ms, Hardhat {hh.p50_ms:.2f} ms")
            rows.append(Row(f"eth_call p50 ({sizes.eth_calls} sequential)", "ms", ours.p50_ms, hh.p50_ms,
                            "Hardhat", "<= 1x", "PASS" if ours.p50_ms <= hh.p50_ms else "MISS"))
            rows.append(Row(f"eth_call p90 ({sizes.eth_calls} sequential)", "ms", ours.p90_ms, hh.p90_ms, "Hardhat"))
            report["eth_call"] = {"ours": asdict(ours), "hardhat": asdict(hh)}
            notes.append(f"eth_call: every answer checked; client CPU {ours.client_cpu_us_per_request:.0f} us/call "
                         f"(ours) and {hh.client_cpu_us_per_request:.0f} (Hardhat), inside the latencies above")
        if "block_number" in selected:
            hh = rpc.bench_block_number(hardhat.url, sizes.block_numbers)
            ours = rpc.bench_block_number(ours_node.url, sizes.block_numbers)
            say(f"[eth_blockNumber] ours {ours.per_second:,.0f} req/s, Hardhat {hh.per_second:,.0f} req/s")
            rows.append(Row(f"eth_blockNumber ({sizes.block_numbers:,} sequential)", "req/s", ours.per_second,
                            hh.per_second, "Hardhat"))
            report["block_number"] = {"ours": asdict(ours), "hardhat": asdict(hh)}
            notes.append(f"eth_blockNumber: client CPU {ours.client_cpu_us_per_request:.0f} us/request "
                         f"(= {ours.client_cpu_us_per_request / (1e6 / ours.per_second):.0%} of ours' time per "
                         f"request, {hh.client_cpu_us_per_request / (1e6 / hh.per_second):.0%} of Hardhat's); "
                         f"p50 latency ours {ours.p50_ms:.2f} ms, Hardhat {hh.p50_ms:.2f} ms")


def table(rows: list[Row]) -> str:
    """The final table: benchmark, ours, anchor, ours/anchor, target, verdict."""
    name_w = max(len(r.name) for r in rows)
    head = f"{'benchmark':<{name_w}}  {'unit':<5} {'ours':>10} {'anchor':>10}  {'anchor is':<11} {'ours/anchor':>11}  {'target':<7} verdict"
    lines = [head, "-" * len(head)]
    for r in rows:
        fmt = ",.0f" if r.ours >= 100 and r.unit not in ("ms", "s") else ",.3g" if r.ours < 10 else ",.2f"
        anchor = format(r.anchor, fmt) if r.anchor else "-"
        ratio = f"{r.ratio:>10.2f}x" if r.anchor else f"{'-':>11}"
        lines.append(f"{r.name:<{name_w}}  {r.unit:<5} {format(r.ours, fmt):>10} {anchor:>10}  "
                     f"{r.anchor_name:<11} {ratio}  {r.target:<7} {r.verdict}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
