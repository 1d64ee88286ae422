"""The offline compilers: Solidity through the solc-js wrapper (tools/solc/bin/solc) as
py-solc-x and ape-solidity use it, Vyper through the pip package, and `ape compile` of this
repository's ape project. No test needs a running node or the internet.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import solcx
from packaging.version import Version
from solcx.exceptions import SolcError, UnknownOption, UnknownValue

ROOT = Path(__file__).resolve().parent.parent
SOLC_DIR = ROOT / "tools" / "solc"
SOLC = SOLC_DIR / "bin" / "solc"
INSTALL_FOR_SOLCX = SOLC_DIR / "install_for_solcx.py"
EXAMPLES = ROOT / "contracts" / "examples"
STORE_SOL = EXAMPLES / "ExampleStore.sol"
COUNTER_VY = EXAMPLES / "ExampleCounter.vy"
PINNED = json.loads((SOLC_DIR / "package.json").read_text())["dependencies"]["solc"]
BIN_DIR = Path(sys.executable).parent


@pytest.fixture(scope="module", autouse=True)
def solc_js_installed():
    """The wrapper needs `npm ci` in tools/solc (make setup); say so instead of a node trace."""
    assert (SOLC_DIR / "node_modules" / "solc" / "package.json").is_file(), (
        "tools/solc/node_modules is missing: run `make setup` (cd tools/solc && npm ci)")


def standard_input(sources: dict[str, str], outputs=("abi", "evm.bytecode", "evm.deployedBytecode"),
                   **settings) -> dict:
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {"outputSelection": {"*": {"*": list(outputs)}}, **settings},
    }


def abi_entry(abi: list, kind: str, name: str | None = None) -> dict:
    matches = [e for e in abi if e["type"] == kind and e.get("name") == name]
    assert len(matches) == 1, f"{kind} {name} not in ABI: {abi}"
    return matches[0]


# --- the wrapper as a native solc ------------------------------------------------------------


def test_version_output_has_the_native_format():
    out = subprocess.run([SOLC, "--version"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert lines[0] == "solc, the solidity compiler commandline interface"
    assert re.fullmatch(rf"Version: {re.escape(PINNED)}\+commit\.[0-9a-f]{{8}}\.Linux\.g\+\+", lines[1])
    assert solcx.wrapper.get_solc_version(SOLC) == Version(PINNED)


def test_help_lists_the_combined_json_components_like_native_solc():
    out = subprocess.run([SOLC, "--help", "-"], capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("  --combined-json"))
    components = line.split(" ")[-1].split(",")
    assert {"abi", "bin", "bin-runtime", "ast", "srcmap", "devdoc", "userdoc", "hashes"} <= set(components)


def test_unknown_option_and_bad_values_raise_solcx_errors():
    with pytest.raises(UnknownOption):
        solcx.compile_source("contract A {}", solc_binary=SOLC, frobnicate=True)
    with pytest.raises(UnknownValue):
        solcx.compile_source("contract A {}", solc_binary=SOLC, evm_version="no-such-fork")
    # Native options the wrapper does not implement fail loudly instead of being ignored.
    result = subprocess.run([SOLC, "--gas", "-"], input="contract A {}", capture_output=True, text=True)
    assert result.returncode == 1
    assert "--gas is not supported" in result.stderr


# --- (a) Solidity through py-solc-x -----------------------------------------------------------


def test_compile_standard_of_the_solidity_example():
    out = solcx.compile_standard(
        standard_input({"ExampleStore.sol": STORE_SOL.read_text()},
                       outputs=("abi", "metadata", "evm.bytecode", "evm.deployedBytecode"),
                       evmVersion="prague"),
        solc_binary=SOLC)
    contract = out["contracts"]["ExampleStore.sol"]["ExampleStore"]
    abi = contract["abi"]
    assert [i["type"] for i in abi_entry(abi, "constructor")["inputs"]] == ["uint256"]
    assert [i["type"] for i in abi_entry(abi, "function", "set")["inputs"]] == ["uint256", "string"]
    assert abi_entry(abi, "function", "reset")["inputs"] == []
    assert abi_entry(abi, "function", "value")["stateMutability"] == "view"
    event = abi_entry(abi, "event", "ValueChanged")
    assert [(i["name"], i["indexed"]) for i in event["inputs"]] == [
        ("by", True), ("previous", True), ("value", False), ("note", False)]
    assert [i["type"] for i in abi_entry(abi, "error", "ValueTooLarge")["inputs"]] == ["uint256", "uint256"]

    creation = contract["evm"]["bytecode"]["object"]
    runtime = contract["evm"]["deployedBytecode"]["object"]
    assert re.fullmatch(r"(?:[0-9a-f]{2})+", creation) and re.fullmatch(r"(?:[0-9a-f]{2})+", runtime)
    # Both end in the CBOR metadata: ... "solc" <major minor patch> (0x0033 = its length).
    solc_tag = "64736f6c6343" + "".join(f"{int(p):02x}" for p in PINNED.split(".")) + "0033"
    assert creation.endswith(solc_tag) and runtime.endswith(solc_tag)
    assert len(runtime) < len(creation)
    # The creation code returns the runtime code (immutables are zero until deployment).
    assert runtime in creation
    metadata = json.loads(contract["metadata"])
    assert metadata["compiler"]["version"].startswith(PINNED + "+commit.")
    assert metadata["settings"]["evmVersion"] == "prague"


def test_prague_target_avoids_osaka_opcodes():
    """py-evm runs Prague: code compiled for it must not contain CLZ (Osaka's new opcode)."""
    source = """
    // SPDX-License-Identifier: MIT
    pragma solidity ^0.8.24;
    contract Bits {
        function highest(uint256 x) external pure returns (uint256 n) {
            while (x > 1) { x >>= 1; n++; }
        }
    }
    """
    out = solcx.compile_standard(
        standard_input({"Bits.sol": source}, outputs=("evm.deployedBytecode.opcodes",),
                       evmVersion="prague", optimizer={"enabled": True, "runs": 200}),
        solc_binary=SOLC)
    opcodes = out["contracts"]["Bits.sol"]["Bits"]["evm"]["deployedBytecode"]["opcodes"].split()
    assert "CLZ" not in opcodes and "PUSH0" in opcodes


def test_compile_errors_are_reported_as_errors():
    with pytest.raises(SolcError) as syntax:
        solcx.compile_standard(standard_input({"Bad.sol": "contract Bad { function f( }"}),
                               solc_binary=SOLC)
    assert "ParserError" in str(syntax.value)
    assert syntax.value.error_dict and syntax.value.error_dict[0]["severity"] == "error"

    with pytest.raises(SolcError) as typing:
        solcx.compile_standard(
            standard_input({"T.sol": "contract T { function f() external pure returns (uint) { return true; } }"}),
            solc_binary=SOLC)
    assert "TypeError" in str(typing.value)

    # The command-line compiler mode exits non-zero and prints the error on stderr.
    result = subprocess.run([SOLC, "--bin", "-"], input="contract {", capture_output=True, text=True)
    assert result.returncode == 1 and "ParserError" in result.stderr and result.stdout == ""


def test_compile_source_combined_json_as_ape_solidity_uses_it():
    """ape-solidity's compile_code: compile_source with every --combined-json output."""
    out = solcx.compile_source(STORE_SOL.read_text(), solc_binary=SOLC, evm_version="prague",
                               allow_empty=True)
    contract = out["<stdin>:ExampleStore"]
    assert {"abi", "ast", "bin", "bin-runtime", "devdoc", "userdoc", "srcmap", "hashes"} <= set(contract)
    assert contract["hashes"]["set(uint256,string)"] == "64371977"
    assert contract["hashes"]["reset()"] == "d826f88f"
    assert contract["ast"]["nodeType"] == "SourceUnit"
    assert contract["devdoc"]["title"] == "ExampleStore"
    assert "ValueTooLarge" in contract["userdoc"]["methods"]["set(uint256,string)"]["notice"]
    assert contract["bin-runtime"] in contract["bin"]


def test_error_and_event_hashes_in_human_output():
    result = subprocess.run([SOLC, "--hashes", str(STORE_SOL)], capture_output=True, text=True, check=True)
    assert "64371977: set(uint256,string)" in result.stdout
    assert "Error signatures:" in result.stdout and ": ValueTooLarge(uint256,uint256)" in result.stdout
    assert "Event signatures:" in result.stdout and ": ValueChanged(address,uint256,uint256,string)" in result.stdout


def write_tree(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


LIB = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\nlibrary Twice { function double(uint x) public pure returns (uint) { return 2 * x; } }\n"
BASE = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\ncontract Base { uint public b = 7; }\n"
MAIN = ("// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\nimport \"./lib/Twice.sol\";\n"
        "import \"@dep/Base.sol\";\ncontract Main is Base { function g(uint x) external pure returns (uint) "
        "{ return Twice.double(x); } }\n")


def test_imports_resolve_from_base_and_include_paths(tmp_path):
    project, deps = tmp_path / "project", tmp_path / "deps"
    write_tree(project, {"contracts/Main.sol": MAIN, "contracts/lib/Twice.sol": LIB})
    write_tree(deps, {"@dep/Base.sol": BASE})
    source_input = standard_input({"contracts/Main.sol": MAIN}, outputs=("abi", "evm.bytecode"))

    # Relative import from the base path; "@dep/..." is found nowhere yet.
    with pytest.raises(SolcError) as missing:
        solcx.compile_standard(source_input, base_path=project, solc_binary=SOLC)
    assert 'Source "@dep/Base.sol" not found: File not found.' in str(missing.value)

    # An include path makes it resolvable, as with the native solc.
    stdout, _, _, _ = solcx.wrapper.solc_wrapper(
        solc_binary=SOLC, stdin=json.dumps(source_input), standard_json=True,
        base_path=project, include_path=deps)
    out = json.loads(stdout)
    assert not [e for e in out.get("errors", []) if e["severity"] == "error"]
    assert set(out["sources"]) == {"contracts/Main.sol", "contracts/lib/Twice.sol", "@dep/Base.sol"}
    main = out["contracts"]["contracts/Main.sol"]["Main"]
    # The library is external (public function): its address is a link reference.
    assert main["evm"]["bytecode"]["linkReferences"] == {
        "contracts/lib/Twice.sol": {"Twice": [main["evm"]["bytecode"]["linkReferences"]["contracts/lib/Twice.sol"]["Twice"][0]]}}

    # The same file under the base path and an include path is ambiguous.
    write_tree(project, {"@dep/Base.sol": BASE})
    stdout, _, _, _ = solcx.wrapper.solc_wrapper(
        solc_binary=SOLC, stdin=json.dumps(source_input), standard_json=True,
        base_path=project, include_path=deps)
    messages = [e["message"] for e in json.loads(stdout)["errors"]]
    assert any("Ambiguous import" in m for m in messages), messages


def test_files_outside_allowed_directories_are_refused(tmp_path):
    project, outside = tmp_path / "project", tmp_path / "outside"
    write_tree(project, {"contracts/Main.sol": MAIN, "contracts/lib/Twice.sol": LIB})
    write_tree(outside, {"Base.sol": BASE})
    (project / "@dep").symlink_to(outside, target_is_directory=True)
    source_input = standard_input({"contracts/Main.sol": MAIN}, outputs=("abi",))
    with pytest.raises(SolcError) as refused:
        solcx.compile_standard(source_input, base_path=project, solc_binary=SOLC)
    assert "File outside of allowed directories" in str(refused.value)
    out = solcx.compile_standard(source_input, base_path=project, allow_paths=[outside], solc_binary=SOLC)
    assert "Base" in out["contracts"]["@dep/Base.sol"]


def test_compile_files_with_remapping_and_link_code(tmp_path):
    project, deps = tmp_path / "project", tmp_path / "project" / "node_modules" / "dep"
    write_tree(project, {"contracts/Main.sol": MAIN, "contracts/lib/Twice.sol": LIB})
    write_tree(deps, {"Base.sol": BASE})
    out = solcx.compile_files([project / "contracts" / "Main.sol"], output_values=["abi", "bin"],
                              import_remappings={"@dep/": "node_modules/dep/"}, base_path=project,
                              solc_binary=SOLC)
    assert set(out) == {"contracts/Main.sol:Main", "contracts/lib/Twice.sol:Twice",
                        "node_modules/dep/Base.sol:Base"}
    unlinked = out["contracts/Main.sol:Main"]["bin"]
    assert "__$" in unlinked
    library = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    linked = solcx.link_code(unlinked, {"contracts/lib/Twice.sol:Twice": library}, solc_binary=SOLC)
    assert "_" not in linked and len(linked) == len(unlinked)
    assert library[2:].lower() in linked


# --- registration with py-solc-x --------------------------------------------------------------


def test_install_for_solcx_registers_the_wrapper(tmp_path, monkeypatch):
    monkeypatch.delenv("SOLCX_BINARY_PATH", raising=False)  # py-solc-x would prefer it to `folder`
    folder = tmp_path / "solcx"
    stale = folder / "solc-v0.8.1"
    folder.mkdir()
    stale.symlink_to(tmp_path / "gone" / "tools" / "solc" / "bin" / "solc")
    run = lambda: subprocess.run([sys.executable, INSTALL_FOR_SOLCX, "--solcx-folder", folder, "--quiet"],
                                 capture_output=True, text=True)
    first = run()
    assert first.returncode == 0, first.stderr
    link = folder / f"solc-v{PINNED}"
    assert link.is_symlink() and link.resolve() == SOLC.resolve()
    assert not stale.is_symlink(), "a link to a deleted checkout must be removed"
    assert solcx.get_installed_solc_versions(folder) == [Version(PINNED)]
    assert solcx.wrapper.get_solc_version(link) == Version(PINNED)
    second = run()
    assert second.returncode == 0 and second.stdout == "", "a second run changes nothing"


# --- (b) Vyper through the pip package --------------------------------------------------------


def test_vyper_example_compiles():
    import vyper
    from vyper.compiler.settings import Settings

    out = vyper.compile_code(COUNTER_VY.read_text(), output_formats=["abi", "bytecode", "bytecode_runtime"],
                             settings=Settings(evm_version="prague"))
    abi = out["abi"]
    assert [i["type"] for i in abi_entry(abi, "function", "increment")["inputs"]] == ["uint256"]
    assert abi_entry(abi, "function", "increment")["outputs"][0]["type"] == "uint256"
    assert [i["name"] for i in abi_entry(abi, "event", "Incremented")["inputs"]] == ["by", "step", "count"]
    assert abi_entry(abi, "event", "Reset")["inputs"][0]["indexed"] is True
    assert [i["type"] for i in abi_entry(abi, "constructor")["inputs"]] == ["uint256"]
    assert out["bytecode"].startswith("0x") and len(out["bytecode"]) > len(out["bytecode_runtime"]) > 2


def test_vyper_errors_are_raised():
    import vyper
    from vyper.exceptions import VyperException

    broken = COUNTER_VY.read_text().replace("self.count += step", "self.count += undefined_name")
    with pytest.raises(VyperException):
        vyper.compile_code(broken, output_formats=["bytecode"])


# --- (c) ape compile, offline, in a copy of the project ---------------------------------------


def ape_env(tmp_path: Path) -> dict:
    """Environment for ape in a throw-away home: nothing is read from or left in ~."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "APE_DATA_FOLDER": str(home / ".ape"),
        "SOLCX_BINARY_PATH": str(home / ".solcx"),
        "VVM_BINARY_PATH": str(home / ".vvm"),
        "PATH": os.pathsep.join([str(BIN_DIR), str(SOLC.parent), os.environ.get("PATH", "")]),
    }
    (home / ".solcx").mkdir()
    (home / ".vvm").mkdir()
    registered = subprocess.run([sys.executable, INSTALL_FOR_SOLCX], env=env, capture_output=True, text=True)
    assert registered.returncode == 0, registered.stderr
    return env


def ape_project_copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "ape-config.yaml", project)
    shutil.copytree(ROOT / "contracts", project / "contracts")
    return project


def run_ape_compile(project: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([BIN_DIR / "ape", "compile", "--force"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


def test_ape_compile_builds_both_examples(tmp_path):
    project = ape_project_copy(tmp_path)
    result = run_ape_compile(project, ape_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((project / ".build" / "__local__.json").read_text())
    types = manifest["contractTypes"]
    for name in ("ExampleStore", "ExampleCounter"):
        assert name in types, sorted(types)
        creation = types[name]["deploymentBytecode"]["bytecode"]
        runtime = types[name]["runtimeBytecode"]["bytecode"]
        assert re.fullmatch(r"0x(?:[0-9a-f]{2})+", creation) and re.fullmatch(r"0x(?:[0-9a-f]{2})+", runtime)
        assert len(runtime) < len(creation)
        assert any(e.get("name") for e in types[name]["abi"] if e["type"] == "event")
    compilers = {c["name"]: c for c in manifest["compilers"]}
    assert compilers["solidity"]["version"].startswith(PINNED + "+commit.")
    assert compilers["vyper"]["version"] == "0.4.3"
    for compiler in compilers.values():
        assert compiler["settings"]["evmVersion"] == "prague"


def test_ape_compile_reports_a_broken_contract(tmp_path):
    project = ape_project_copy(tmp_path)
    (project / "contracts" / "examples" / "Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract Broken { function f( }\n")
    result = run_ape_compile(project, ape_env(tmp_path))
    assert result.returncode != 0
    assert "ParserError" in result.stdout + result.stderr
