"""ape end to end: compile the project and run its scripts against a dev node the test starts.

The project is copied to a temporary folder whose ape-config points the `autonomys-dev`
network at the test node's port, with ape's data in a throw-away home (offline)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import NodeProcess, rpc
from tests.test_compilers import BIN_DIR, ROOT, ape_env, ape_project_copy


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    process = NodeProcess(base_path=tmp_path_factory.mktemp("ape") / "node").start()
    yield process
    process.stop()


def run_ape(project, env, *args):
    result = subprocess.run([BIN_DIR / "ape", *args], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"ape {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_ape_compile_and_run_scripts_against_the_dev_node(tmp_path, node):
    env = ape_env(tmp_path)
    project = ape_project_copy(tmp_path)
    shutil.copytree(ROOT / "scripts", project / "scripts")
    config = project / "ape-config.yaml"
    config.write_text(config.read_text().replace("http://127.0.0.1:8545", node.url))

    run_ape(project, env, "compile")
    out = run_ape(project, env, "run", "deploy", "--network", "ethereum:autonomys-dev:node")
    addresses = dict(re.findall(r"^(ExampleStore|ExampleCounter): (0x[0-9a-fA-F]{40})$", out, re.M))
    assert set(addresses) == {"ExampleStore", "ExampleCounter"}, out
    for address in addresses.values():
        code = rpc(node.url, "eth_getCode", [address, "latest"])["result"]
        assert len(code) > 2, f"no code at {address}"

    out = run_ape(project, env, "run", "transfer", "--network", "ethereum:autonomys-dev:node")
    assert "ValueChanged" in out, out
