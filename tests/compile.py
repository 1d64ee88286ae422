"""Compile small contracts for tests: Solidity through the project's npm solc wrapper, Vyper
through the pip package. Both offline."""

from __future__ import annotations

import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLC = ROOT / "tools" / "solc" / "bin" / "solc"


@functools.lru_cache(maxsize=None)
def solidity(source: str, name: str) -> tuple[list, str]:
    """(abi, bytecode hex) of contract `name` in `source`."""
    import solcx

    out = solcx.compile_standard(
        {"language": "Solidity", "sources": {"C.sol": {"content": source}},
         "settings": {"evmVersion": "prague", "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}}},
        solc_binary=str(SOLC))
    contract = out["contracts"]["C.sol"][name]
    return contract["abi"], "0x" + contract["evm"]["bytecode"]["object"]


@functools.lru_cache(maxsize=None)
def vyper(source: str) -> tuple[list, str]:
    """(abi, bytecode hex) of a Vyper source."""
    import vyper as vyper_compiler

    out = vyper_compiler.compile_code(source, output_formats=["abi", "bytecode"])
    return out["abi"], out["bytecode"]


STORAGE_SOL = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Storage {
    uint256 public value;
    event ValueChanged(address indexed who, uint256 indexed newValue, string note);
    error TooBig(uint256 given, uint256 limit);
    function set(uint256 v, string calldata note) external {
        if (v > 1000) revert TooBig(v, 1000);
        value = v;
        emit ValueChanged(msg.sender, v, note);
    }
    function fail() external pure { require(false, "storage: always fails"); }
    function divide(uint256 a, uint256 b) external pure returns (uint256) { return a / b; }
}
"""

COUNTER_VY = """
# pragma version ^0.4.0
count: public(uint256)
owner: public(address)

event Bumped:
    by: indexed(address)
    count: uint256

@deploy
def __init__():
    self.owner = msg.sender

@external
def bump(step: uint256):
    assert step > 0, "counter: step must be positive"
    self.count += step
    log Bumped(msg.sender, self.count)
"""
