"""Smoke test of the block-execution benchmark: it runs, prints its table, and the domain's
block has the same state root as raw py-evm's on the same transactions. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "block_execution.py"


def test_block_execution_quick_prints_table_and_roots_match(tmp_path):
    out_json = tmp_path / "block_execution.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out_json)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("workload"))
    for column in ("ours tx/s", "py-evm tx/s", "ratio", "state roots"):
        assert column in lines[header]
    rows = {line.split()[0]: line for line in lines[header + 2:] if line.strip()}
    assert set(rows) == {"transfers", "mix"}
    for row in rows.values():
        assert " match 0x" in row and "DIFFER" not in row

    results = json.loads(out_json.read_text())
    assert {r["workload"] for r in results} == {"transfers", "mix"}
    for r in results:
        assert r["roots_match"] is True
        assert r["state_root_ours"] == r["state_root_raw"]
        assert len(r["state_root_ours"]) == 66
        assert r["transactions"] > 0 and r["gas_used"] >= 21_000 * r["transactions"]
        assert r["ours_tx_per_s"] > 0 and r["raw_tx_per_s"] > 0


def test_consensus_benchmarks_quick_print_every_row(tmp_path):
    """`benchmarks/run.py --quick --only pot/pos/archiving/farming` runs each consensus benchmark
    and puts its rows in the final table and the JSON report (figures not asserted)."""
    out_json = tmp_path / "consensus.json"
    args = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out_json)]
    for name in ("pot", "pos", "archiving", "farming"):
        args += ["--only", name]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out_json.read_text())
    names = [r["name"] for r in report["rows"]]
    for expected in ("PoT prove", "PoS table K=20", "PoS table K=16", "Archiving one DEV segment",
                     "Audit (1 core", "Plotting, dev preset", "Plotting, one mainnet-size record"):
        assert any(n.startswith(expected) for n in names), (expected, names)
        assert expected.split(" (")[0] in proc.stdout
    for r in report["rows"]:
        assert r["ours"] > 0, r
        assert r["verdict"] in ("PASS", "MISS", ""), r


def test_devnet_benchmark_quick_prints_every_row(tmp_path):
    """`benchmarks/devnet.py --quick` starts a fresh `autonomys dev`, measures it, imports a
    small DEV chain into a second node, and prints every row (figures not asserted)."""
    out_json = tmp_path / "devnet.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "devnet.py"), "--quick", "--json", str(out_json)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out_json.read_text())
    names = [r["name"] for r in report["rows"]]
    for expected in ("Dev cold start: first RPC answer", "Dev cold start: first consensus block",
                     "Dev cold start: first domain receipt", "PoT slot time", "Consensus block interval",
                     "Domain block latency p50", "Domain block latency p95", "Block import, DEV"):
        assert any(n.startswith(expected) for n in names), (expected, names)
        assert expected in proc.stdout
    for r in report["rows"]:
        assert r["ours"] > 0, r
        assert r["verdict"] in ("PASS", "MISS", ""), r
    details = report["details"]
    assert len(details["network"]["latency_s"]) == 15
    assert details["block_import"]["blocks"] + details["block_import"]["skipped_future_slot"] == 4
