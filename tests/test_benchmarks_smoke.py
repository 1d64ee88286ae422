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
