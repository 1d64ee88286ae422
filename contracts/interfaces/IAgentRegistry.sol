// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IAgentRegistry
/// @notice The agent registry (contracts/AgentRegistry.sol), predeployed at
///         0xA070000000000000000000000000000000000004 on every EVM domain: agents (EVM addresses)
///         owned by Auto IDs, per-(target, selector) permissions with a wei budget and an expiry,
///         a hash-linked memory chain per agent, and a semver tool registry.
///
/// A dApp gating an agent's call checks, e.g. in a modifier:
///     require(IAgentRegistry(0xA070000000000000000000000000000000000004)
///                 .isAllowed(msg.sender, address(this), msg.sig, msg.value), "agent not allowed");
/// or, to make the budget cumulative, calls `consume(msg.sender, msg.sig, msg.value)` (reverts
/// when not allowed).
interface IAgentRegistry {
    struct Agent {
        bytes32 ownerId;
        bytes32 characterHash;
        uint64 registeredAt;
        uint64 permissionEpoch;
    }

    struct Version {
        uint64 major;
        uint64 minor;
        uint64 patch;
        uint64 publishedAt;
        bytes32 cidHash;
        bytes32 metadataHash;
    }

    event AgentRegistered(address indexed agent, bytes32 indexed ownerId, bytes32 characterHash);
    event AgentCharacterUpdated(address indexed agent, bytes32 characterHash);
    event AgentDeregistered(address indexed agent, bytes32 indexed ownerId);
    event PermissionGranted(address indexed agent, address indexed target, bytes4 indexed selector,
                            uint256 budget, uint64 expiry);
    event PermissionRevoked(address indexed agent, address indexed target, bytes4 indexed selector);
    event AllPermissionsRevoked(address indexed agent, uint64 newEpoch);
    event PermissionConsumed(address indexed agent, address indexed target, bytes4 indexed selector,
                             uint256 value, uint256 budgetLeft);
    event MemoryAppended(address indexed agent, uint256 indexed index, bytes32 indexed memoryHash,
                         bytes32 previousHash);
    event ToolRegistered(bytes32 indexed toolId, string name, address indexed owner);
    event ToolVersionPublished(bytes32 indexed toolId, uint64 major, uint64 minor, uint64 patch,
                               bytes32 cidHash, bytes32 metadataHash);
    event ToolOwnershipTransferred(bytes32 indexed toolId, address indexed previousOwner, address indexed newOwner);

    // agents
    function registerAgent(address agent, bytes32 ownerId, bytes32 characterHash, bytes calldata agentSignature) external;
    function setCharacterHash(address agent, bytes32 characterHash) external;
    function deregisterAgent(address agent) external;
    function registrationDigest(address agent, bytes32 ownerId) external view returns (bytes32);
    function getAgent(address agent) external view returns (Agent memory);

    // permissions
    function grantPermission(address agent, address target, bytes4 selector, uint256 budget, uint64 expiry) external;
    function revokePermission(address agent, address target, bytes4 selector) external;
    function revokeAllPermissions(address agent) external;
    function isAllowed(address agent, address target, bytes4 selector, uint256 value) external view returns (bool);
    function consume(address agent, bytes4 selector, uint256 value) external;
    function getPermission(address agent, address target, bytes4 selector)
        external view returns (uint256 budget, uint64 expiry, bool active);

    // memory
    function appendMemory(address agent, bytes32 memoryHash, bytes32 previousHash) external;
    function getLastMemoryHash(address agent) external view returns (bytes32);
    function memoryCount(address agent) external view returns (uint256);
    function previousMemory(address agent, bytes32 memoryHash) external view returns (bytes32);

    // tools
    function toolIdOf(string calldata name) external pure returns (bytes32);
    function registerTool(string calldata name, uint64 major, uint64 minor, uint64 patch,
                          bytes32 cidHash, bytes32 metadataHash) external returns (bytes32 toolId);
    function publishVersion(bytes32 toolId, uint64 major, uint64 minor, uint64 patch,
                            bytes32 cidHash, bytes32 metadataHash) external;
    function transferToolOwnership(bytes32 toolId, address newOwner) external;
    function getTool(bytes32 toolId)
        external view returns (address owner, string memory name, uint64 registeredAt, uint256 versionCount);
    function getLatestVersion(bytes32 toolId) external view returns (Version memory);
    function getVersion(bytes32 toolId, uint256 index) external view returns (Version memory);
    function toolCount() external view returns (uint256);
    function listTools(uint256 offset, uint256 limit) external view returns (bytes32[] memory ids);

    function autoId() external view returns (address);
    function REGISTER_TYPEHASH() external view returns (bytes32);
}
