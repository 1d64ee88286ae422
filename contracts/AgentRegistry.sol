// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// The AutoId views this contract relies on (contracts/interfaces/IAutoId.sol has them all).
interface IAgentAutoId {
    function isActive(bytes32 id) external view returns (bool);
    function isController(bytes32 id, address account) external view returns (bool);
}

/// @title AgentRegistry
/// @notice AI agents owned by Auto IDs, their permissions, their memory chains, and a registry of
///         agent tools (issue 5, spec domains.md §5.4; predeployed at 0xA070…0004).
///
/// Agents. An agent is an EVM address (the account the agent signs with). A controller of an Auto
///   ID registers it with a character (metadata) hash; "the owner" below means any current
///   controller of that Auto ID. So that nobody can claim an address they do not hold, the agent
///   either registers itself (msg.sender == agent, which must then also control the owner id) or
///   signs its consent: an EIP-191 personal-sign signature over
///   keccak256(abi.encode("autonomys:agent-registry:register", chainid, this, agent, ownerId)).
///
/// Permissions. The owner grants (agent, target contract, function selector) a spending budget
///   in wei and an expiry (unix seconds). A dApp asks `isAllowed(agent, target, selector, value)`:
///   true while the agent is registered, its owner Auto ID is active, the grant is unexpired and
///   `value` fits the remaining budget. A target that wants the budget to be cumulative calls
///   `consume(agent, selector, value)` itself (msg.sender is the target), which reverts when not
///   allowed and otherwise lowers the budget. The owner revokes one grant, or all of an agent's
///   grants at once (an epoch counter), at any time.
///
/// Memory. Each agent has a hash-linked chain of memory hashes (e.g. the Blake3 digest inside an
///   Auto Drive CID, whose JSON header links the previous CID off-chain too). The agent or its
///   owner appends with the hash it believes is the last one (a compare-and-swap, so two writers
///   cannot fork the chain); the chain can be walked back on-chain with `previousMemory`.
///
/// Tools. A tool is keyed by keccak256(name), owned by the address that registered it; its
///   versions are semver triples, strictly increasing, each with a CID hash and a metadata hash.
///   The owner publishes versions and may transfer ownership.
contract AgentRegistry {
    // -- storage ------------------------------------------------------------------------------

    struct Agent {
        bytes32 ownerId; // the owning Auto ID (zero = not registered)
        bytes32 characterHash; // hash of the agent's character / metadata document
        uint64 registeredAt;
        uint64 permissionEpoch; // bumping it revokes every grant at once
    }

    struct Permission {
        uint128 budget; // wei the agent may still send to `target` through `selector`
        uint64 expiry; // unix seconds; the grant is void from this time on
        uint64 epoch; // the agent's permissionEpoch when granted
    }

    struct Memory {
        bytes32 last; // the newest memory hash (zero = none)
        bytes32 first; // the oldest memory hash
        uint64 count;
    }

    struct Version {
        uint64 major;
        uint64 minor;
        uint64 patch;
        uint64 publishedAt;
        bytes32 cidHash;
        bytes32 metadataHash;
    }

    struct Tool {
        address owner; // zero = not registered
        uint64 registeredAt;
        string name;
    }

    bytes32 public constant REGISTER_TYPEHASH = keccak256("autonomys:agent-registry:register");
    uint256 private constant HALF_CURVE_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    address public immutable autoId;

    mapping(address => Agent) private _agents;
    mapping(address => mapping(bytes32 => Permission)) private _permissions; // agent -> key -> grant
    mapping(address => Memory) private _memories;
    mapping(address => mapping(bytes32 => bytes32)) private _previousMemory; // agent -> hash -> previous
    mapping(bytes32 => Tool) private _tools;
    mapping(bytes32 => Version[]) private _versions;
    bytes32[] private _toolIds;

    // -- events -------------------------------------------------------------------------------

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

    // -- errors -------------------------------------------------------------------------------

    error ZeroAddress();
    error NotController(bytes32 id, address account);
    error AgentAlreadyRegistered(address agent, bytes32 ownerId);
    error AgentNotRegistered(address agent);
    error BadAgentSignature(address agent);
    error ExpiryInThePast(uint64 expiry, uint256 now_);
    error BudgetTooLarge(uint256 budget);
    error NoSuchPermission(address agent, address target, bytes4 selector);
    error NotAllowed(address agent, address target, bytes4 selector, uint256 value);
    error NotAgentOrOwner(address agent, address account);
    error EmptyMemoryHash();
    error StaleMemoryHead(bytes32 expectedPrevious, bytes32 actualLast);
    error MemoryAlreadyInChain(bytes32 memoryHash);
    error EmptyToolName();
    error ToolAlreadyRegistered(bytes32 toolId, address owner);
    error ToolNotRegistered(bytes32 toolId);
    error NotToolOwner(bytes32 toolId, address account);
    error VersionNotIncreasing(uint64 major, uint64 minor, uint64 patch);
    error NoVersions(bytes32 toolId);
    error VersionIndexOutOfRange(uint256 index, uint256 count);

    constructor(address autoId_) {
        if (autoId_ == address(0)) revert ZeroAddress();
        autoId = autoId_;
    }

    // -- agents -------------------------------------------------------------------------------

    /// @notice Register `agent` as owned by Auto ID `ownerId` (the caller controls `ownerId`).
    ///         `agentSignature` is empty when the agent registers itself, else its consent
    ///         signature (see the contract notice; `registrationDigest` gives the signed hash).
    function registerAgent(address agent, bytes32 ownerId, bytes32 characterHash, bytes calldata agentSignature)
        external
    {
        if (agent == address(0)) revert ZeroAddress();
        _requireController(ownerId);
        Agent storage a = _agents[agent];
        if (a.ownerId != bytes32(0)) revert AgentAlreadyRegistered(agent, a.ownerId);
        if (msg.sender != agent && _recover(registrationDigest(agent, ownerId), agentSignature) != agent) {
            revert BadAgentSignature(agent);
        }
        a.ownerId = ownerId;
        a.characterHash = characterHash;
        a.registeredAt = uint64(block.timestamp);
        // permissionEpoch is kept across re-registrations, so grants made before never revive
        emit AgentRegistered(agent, ownerId, characterHash);
    }

    function setCharacterHash(address agent, bytes32 characterHash) external {
        _requireOwner(agent);
        _agents[agent].characterHash = characterHash;
        emit AgentCharacterUpdated(agent, characterHash);
    }

    /// @notice Remove the agent (its grants die with it; its memory chain stays readable).
    function deregisterAgent(address agent) external {
        bytes32 ownerId = _requireOwner(agent);
        Agent storage a = _agents[agent];
        a.ownerId = bytes32(0);
        a.characterHash = bytes32(0);
        a.registeredAt = 0;
        a.permissionEpoch += 1;
        emit AgentDeregistered(agent, ownerId);
    }

    /// @notice The hash an agent signs (EIP-191 personal sign of this 32-byte value) to consent
    ///         to registration under `ownerId`.
    function registrationDigest(address agent, bytes32 ownerId) public view returns (bytes32) {
        return keccak256(abi.encode(REGISTER_TYPEHASH, block.chainid, address(this), agent, ownerId));
    }

    // -- permissions --------------------------------------------------------------------------

    /// @notice Let `agent` call `selector` on `target`, sending up to `budget` wei in total,
    ///         until `expiry` (unix seconds). Replaces an earlier grant of the same triple.
    function grantPermission(address agent, address target, bytes4 selector, uint256 budget, uint64 expiry)
        external
    {
        _requireOwner(agent);
        if (target == address(0)) revert ZeroAddress();
        if (expiry <= block.timestamp) revert ExpiryInThePast(expiry, block.timestamp);
        if (budget > type(uint128).max) revert BudgetTooLarge(budget);
        _permissions[agent][_permissionKey(target, selector)] =
            Permission({budget: uint128(budget), expiry: expiry, epoch: _agents[agent].permissionEpoch});
        emit PermissionGranted(agent, target, selector, budget, expiry);
    }

    function revokePermission(address agent, address target, bytes4 selector) external {
        _requireOwner(agent);
        bytes32 key = _permissionKey(target, selector);
        if (_permissions[agent][key].expiry == 0) revert NoSuchPermission(agent, target, selector);
        delete _permissions[agent][key];
        emit PermissionRevoked(agent, target, selector);
    }

    function revokeAllPermissions(address agent) external {
        _requireOwner(agent);
        uint64 epoch = ++_agents[agent].permissionEpoch;
        emit AllPermissionsRevoked(agent, epoch);
    }

    /// @notice Whether `agent` may call `selector` on `target` sending `value` wei now.
    function isAllowed(address agent, address target, bytes4 selector, uint256 value) public view returns (bool) {
        Agent storage a = _agents[agent];
        bytes32 ownerId = a.ownerId;
        if (ownerId == bytes32(0)) return false;
        Permission storage p = _permissions[agent][_permissionKey(target, selector)];
        if (p.epoch != a.permissionEpoch || block.timestamp >= p.expiry || value > p.budget) return false;
        return IAgentAutoId(autoId).isActive(ownerId);
    }

    /// @notice Called by a target contract itself (msg.sender is the target): require the
    ///         permission and spend `value` of its budget.
    function consume(address agent, bytes4 selector, uint256 value) external {
        if (!isAllowed(agent, msg.sender, selector, value)) revert NotAllowed(agent, msg.sender, selector, value);
        Permission storage p = _permissions[agent][_permissionKey(msg.sender, selector)];
        uint128 left = p.budget - uint128(value); // value <= budget < 2**128
        p.budget = left;
        emit PermissionConsumed(agent, msg.sender, selector, value, left);
    }

    /// @notice The grant as stored; `active` says whether it is still in force (not revoked by epoch).
    function getPermission(address agent, address target, bytes4 selector)
        external view returns (uint256 budget, uint64 expiry, bool active)
    {
        Permission memory p = _permissions[agent][_permissionKey(target, selector)];
        Agent storage a = _agents[agent];
        active = a.ownerId != bytes32(0) && p.expiry != 0 && p.epoch == a.permissionEpoch;
        return (p.budget, p.expiry, active);
    }

    // -- memory -------------------------------------------------------------------------------

    /// @notice Append `memoryHash` to the agent's chain; `previousHash` must be the current last
    ///         hash (zero for the first memory). The agent itself or its owner may append.
    function appendMemory(address agent, bytes32 memoryHash, bytes32 previousHash) external {
        if (msg.sender != agent) {
            bytes32 ownerId = _agents[agent].ownerId;
            if (ownerId == bytes32(0) || !IAgentAutoId(autoId).isController(ownerId, msg.sender)) {
                revert NotAgentOrOwner(agent, msg.sender);
            }
        } else if (_agents[agent].ownerId == bytes32(0)) {
            revert AgentNotRegistered(agent);
        }
        if (memoryHash == bytes32(0)) revert EmptyMemoryHash();
        Memory storage m = _memories[agent];
        if (previousHash != m.last) revert StaleMemoryHead(previousHash, m.last);
        if (memoryHash == m.first || _previousMemory[agent][memoryHash] != bytes32(0)) {
            revert MemoryAlreadyInChain(memoryHash);
        }
        if (m.count == 0) m.first = memoryHash;
        else _previousMemory[agent][memoryHash] = previousHash;
        m.last = memoryHash;
        uint256 index = m.count++;
        emit MemoryAppended(agent, index, memoryHash, previousHash);
    }

    function getLastMemoryHash(address agent) external view returns (bytes32) {
        return _memories[agent].last;
    }

    function memoryCount(address agent) external view returns (uint256) {
        return _memories[agent].count;
    }

    /// @notice The memory before `memoryHash` in the agent's chain (zero for the first one or an
    ///         unknown hash).
    function previousMemory(address agent, bytes32 memoryHash) external view returns (bytes32) {
        return _previousMemory[agent][memoryHash];
    }

    // -- tools --------------------------------------------------------------------------------

    function toolIdOf(string calldata name) public pure returns (bytes32) {
        return keccak256(bytes(name));
    }

    /// @notice Register tool `name` with its first version; the caller becomes its owner.
    function registerTool(string calldata name, uint64 major, uint64 minor, uint64 patch,
                          bytes32 cidHash, bytes32 metadataHash) external returns (bytes32 toolId)
    {
        if (bytes(name).length == 0) revert EmptyToolName();
        toolId = toolIdOf(name);
        Tool storage t = _tools[toolId];
        if (t.owner != address(0)) revert ToolAlreadyRegistered(toolId, t.owner);
        t.owner = msg.sender;
        t.registeredAt = uint64(block.timestamp);
        t.name = name;
        _toolIds.push(toolId);
        emit ToolRegistered(toolId, name, msg.sender);
        _publish(toolId, major, minor, patch, cidHash, metadataHash);
    }

    /// @notice Publish a new version, strictly greater than the latest (owner only).
    function publishVersion(bytes32 toolId, uint64 major, uint64 minor, uint64 patch,
                            bytes32 cidHash, bytes32 metadataHash) external
    {
        _requireToolOwner(toolId);
        _publish(toolId, major, minor, patch, cidHash, metadataHash);
    }

    function transferToolOwnership(bytes32 toolId, address newOwner) external {
        _requireToolOwner(toolId);
        if (newOwner == address(0)) revert ZeroAddress();
        emit ToolOwnershipTransferred(toolId, msg.sender, newOwner);
        _tools[toolId].owner = newOwner;
    }

    function getTool(bytes32 toolId)
        external view returns (address owner, string memory name, uint64 registeredAt, uint256 versionCount)
    {
        Tool storage t = _tools[toolId];
        if (t.owner == address(0)) revert ToolNotRegistered(toolId);
        return (t.owner, t.name, t.registeredAt, _versions[toolId].length);
    }

    function getLatestVersion(bytes32 toolId) external view returns (Version memory) {
        Version[] storage versions = _versions[toolId];
        if (versions.length == 0) revert NoVersions(toolId);
        return versions[versions.length - 1];
    }

    function getVersion(bytes32 toolId, uint256 index) external view returns (Version memory) {
        Version[] storage versions = _versions[toolId];
        if (index >= versions.length) revert VersionIndexOutOfRange(index, versions.length);
        return versions[index];
    }

    function toolCount() external view returns (uint256) {
        return _toolIds.length;
    }

    /// @notice Tool ids in registration order, `limit` from `offset` (fewer at the end).
    function listTools(uint256 offset, uint256 limit) external view returns (bytes32[] memory ids) {
        uint256 total = _toolIds.length;
        uint256 end = offset >= total ? offset : (limit > total - offset ? total : offset + limit);
        ids = new bytes32[](end - offset);
        for (uint256 i = offset; i < end; ++i) ids[i - offset] = _toolIds[i];
    }

    function getAgent(address agent) external view returns (Agent memory) {
        return _agents[agent];
    }

    // -- internals ----------------------------------------------------------------------------

    function _publish(bytes32 toolId, uint64 major, uint64 minor, uint64 patch, bytes32 cidHash, bytes32 metadataHash)
        private
    {
        Version[] storage versions = _versions[toolId];
        if (versions.length != 0) {
            Version storage last = versions[versions.length - 1];
            if (_semver(major, minor, patch) <= _semver(last.major, last.minor, last.patch)) {
                revert VersionNotIncreasing(major, minor, patch);
            }
        }
        versions.push(Version({major: major, minor: minor, patch: patch, publishedAt: uint64(block.timestamp),
                               cidHash: cidHash, metadataHash: metadataHash}));
        emit ToolVersionPublished(toolId, major, minor, patch, cidHash, metadataHash);
    }

    /// major.minor.patch as one number that orders like semver precedence (without pre-releases).
    function _semver(uint64 major, uint64 minor, uint64 patch) private pure returns (uint256) {
        return (uint256(major) << 128) | (uint256(minor) << 64) | uint256(patch);
    }

    function _permissionKey(address target, bytes4 selector) private pure returns (bytes32) {
        return bytes32(uint256(uint160(target)) << 96 | uint256(uint32(selector)));
    }

    function _requireController(bytes32 id) private view {
        if (!IAgentAutoId(autoId).isController(id, msg.sender)) revert NotController(id, msg.sender);
    }

    /// The caller controls the agent's owner Auto ID; returns that id.
    function _requireOwner(address agent) private view returns (bytes32 ownerId) {
        ownerId = _agents[agent].ownerId;
        if (ownerId == bytes32(0)) revert AgentNotRegistered(agent);
        _requireController(ownerId);
    }

    function _requireToolOwner(bytes32 toolId) private view {
        address owner = _tools[toolId].owner;
        if (owner == address(0)) revert ToolNotRegistered(toolId);
        if (owner != msg.sender) revert NotToolOwner(toolId, msg.sender);
    }

    /// The signer of an EIP-191 personal-sign signature (r ‖ s ‖ v, 65 bytes) over `digest`;
    /// zero for a malformed or malleable (high-s) signature.
    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if (uint256(s) > HALF_CURVE_ORDER || (v != 27 && v != 28)) return address(0);
        bytes32 message = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", digest));
        return ecrecover(message, v, r, s);
    }
}
