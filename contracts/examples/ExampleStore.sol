// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ExampleStore
/// @notice A small value store used by the ape scripts (scripts/) and the compiler tests.
///         It shows storage, an event, a custom error and a revert with a reason string.
contract ExampleStore {
    /// @notice Largest value `set` accepts.
    uint256 public constant LIMIT = 1_000_000;

    /// @notice The deployer; the only account that may `reset`.
    address public immutable owner;

    /// @notice The stored value.
    uint256 public value;

    /// @notice The last note each account sent with `set`.
    mapping(address => string) public notes;

    /// @notice Emitted by `set` and `reset`.
    event ValueChanged(address indexed by, uint256 indexed previous, uint256 value, string note);

    /// @notice `set` was called with a value above `LIMIT`.
    error ValueTooLarge(uint256 given, uint256 limit);

    constructor(uint256 initial) {
        if (initial > LIMIT) revert ValueTooLarge(initial, LIMIT);
        owner = msg.sender;
        value = initial;
    }

    /// @notice Store `newValue` with a note; reverts with `ValueTooLarge` above `LIMIT`.
    function set(uint256 newValue, string calldata note) external {
        if (newValue > LIMIT) revert ValueTooLarge(newValue, LIMIT);
        uint256 previous = value;
        value = newValue;
        notes[msg.sender] = note;
        emit ValueChanged(msg.sender, previous, newValue, note);
    }

    /// @notice Set the value back to zero; only the owner may, others get a reason string.
    function reset() external {
        require(msg.sender == owner, "ExampleStore: only the owner can reset");
        uint256 previous = value;
        value = 0;
        emit ValueChanged(msg.sender, previous, 0, "reset");
    }
}
