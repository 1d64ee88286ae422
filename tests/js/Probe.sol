// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Probe
/// @notice A minimal contract for the JavaScript client checks (tests/js/*_check.mjs):
///         a read, a write that emits an event, and a call that reverts with a reason.
contract Probe {
    uint256 private value;

    /// @notice Emitted by `set` with the caller and the new value.
    event ValueChanged(address indexed who, uint256 value);

    /// @notice The stored value (0 until `set` is called).
    function get() external view returns (uint256) {
        return value;
    }

    /// @notice Store `newValue` and emit `ValueChanged(msg.sender, newValue)`.
    function set(uint256 newValue) external {
        value = newValue;
        emit ValueChanged(msg.sender, newValue);
    }

    /// @notice Always reverts with the reason string "nope".
    function fail() external pure {
        require(false, "nope");
    }
}
