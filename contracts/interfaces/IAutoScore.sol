// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// Claim types: blake2b-256 of the claim name, as in the Auto ID SDK (spec domains.md §5.2).
// The three SDK types come first, then two more evidence kinds from spec §5.3. Governance gives
// each type a weight with setWeight; only a type with a weight > 0 can be attested.
// A unique claim id is blake2b-256("serviceId:subUID"), as in the SDK. subUID is the uid,
// username or email, so one external account is one claim id.
bytes32 constant CLAIM_GOOGLE_EMAIL = 0xb1783c7989cbeb63de1767705043c67c7e365ee483990f77a0e48c3229878625;    // "GoogleEmail"
bytes32 constant CLAIM_GITHUB_USERNAME = 0x4a33942a0fa8e1672be8822fca9d67c86d7eb4d484c23687fa6001a3a504404b; // "GithubUsername"
bytes32 constant CLAIM_UBER_UUID = 0x4dc236d6a12027cdf9724e486a4b4083893a159b85238ffe746c86b8554b6006;       // "UberUUID"
bytes32 constant CLAIM_WORLD_ID = 0x76c722b899475e476e74a72f15d21aa9bcb9290a620488bbfbcbb673848f2813;        // "WorldID"
bytes32 constant CLAIM_GOV_REGISTRY = 0x056ab539e07aba250f798e0bfe27d8aef026242ea23cd6bc6d6a1078b5f58904;    // "GovRegistry"

/// @title IAutoScore
/// @notice Auto Score (contracts/AutoScore.vy), a composable proof of personhood for Auto IDs.
///         It is predeployed at 0xA070000000000000000000000000000000000002 on every EVM domain.
///
///         Verifiers are Auto IDs admitted by governance. One acts through an address that is
///         a controller of its Auto ID (AutoId.isController). A verifier attests that a subject
///         Auto ID holds a claim: a claim type, a unique claim id and an expiry. Only hashes are
///         stored.
///
///         Rules:
///         - Sybil deduplication: a claim id belongs to the first Auto ID it is attested for.
///           Attesting it for another Auto ID reverts "auto score: claim already used by another
///           Auto ID". Re-attesting it for the same Auto ID refreshes its expiry. Only a
///           revocation frees it.
///         - score(id) = min(100, the sum of the weights of the DISTINCT claim types that have at
///           least one unexpired claim from a currently admitted verifier). It is 0 for an Auto ID
///           that is not active in AutoId.
///         - A subject holds at most 32 claims, expired ones included. This bounds the gas of
///           score() and meets(); revoking a claim frees its place.
///
///         EIP-712 attestations: a verifier's controller signs, and anyone submits.
///           domain: EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
///                   name "AutoScore", version "1", the chain id, verifyingContract = the AutoScore address
///           type:   Attestation(bytes32 verifier,bytes32 subject,bytes32 claimType,bytes32 claimId,uint64 expiresAt,uint256 nonce)
///           signature: 65 bytes r ‖ s ‖ v (v = 27 or 28, low s). Nonces are single-use per
///           verifier and need not be sequential.
///
///         Reverts carry reasons that start with "auto score: ".
interface IAutoScore {
    /// A stored claim. An all-zero value means there is no claim.
    struct Claim {
        bytes32 subject;
        bytes32 claimType;
        bytes32 verifier;
        uint64 expiresAt;
    }

    event VerifierAdmitted(bytes32 indexed verifier);
    event VerifierRemoved(bytes32 indexed verifier);
    event WeightSet(bytes32 indexed claimType, uint256 weight);
    event ClaimAttested(bytes32 indexed subject, bytes32 indexed claimType, bytes32 indexed claimId,
                        bytes32 verifier, uint64 expiresAt);
    event ClaimRevoked(bytes32 indexed subject, bytes32 indexed claimType, bytes32 indexed claimId,
                       bytes32 verifier);
    event NonceInvalidated(bytes32 indexed verifier, uint256 nonce);
    event GovernanceTransferred(address indexed previous, address indexed current);

    // -- the score -----------------------------------------------------------------------------

    /// The Auto Score of `subject`, from 0 to 100.
    function score(bytes32 subject) external view returns (uint256);

    /// Whether score(subject) >= threshold. A threshold of 0 is always met, and one above 100
    /// never is.
    function meets(bytes32 subject, uint256 threshold) external view returns (bool);

    // -- attestations (a controller of an admitted verifier) -----------------------------------

    /// Attest that `subject` holds `claimId` of type `claimType` until `expiresAt` (unix seconds).
    function attest(bytes32 verifier, bytes32 subject, bytes32 claimType, bytes32 claimId, uint64 expiresAt) external;

    /// Submit an EIP-712 Attestation signed by a controller of `verifier`. Anyone may submit it.
    function attestBySig(bytes32 verifier, bytes32 subject, bytes32 claimType, bytes32 claimId, uint64 expiresAt,
                         uint256 nonce, bytes calldata signature) external;

    /// Cancel an unused EIP-712 nonce of `verifier`. Only a controller of the verifier may call it.
    function invalidateNonce(bytes32 verifier, uint256 nonce) external;

    /// Revoke a claim. The verifier that last attested it (through a controller) may, and so
    /// may governance.
    function revoke(bytes32 claimId) external;

    // -- governance ----------------------------------------------------------------------------

    function admitVerifier(bytes32 verifier) external;
    function removeVerifier(bytes32 verifier) external;
    /// Set a weight from 0 to 100. A weight of 0 retires the type.
    function setWeight(bytes32 claimType, uint256 weight) external;
    function transferGovernance(address newGovernance) external;

    // -- views ---------------------------------------------------------------------------------

    function claimOf(bytes32 claimId) external view returns (Claim memory);
    function claimsOf(bytes32 subject) external view returns (bytes32[] memory);
    function isVerifier(bytes32 verifier) external view returns (bool);
    function weightOf(bytes32 claimType) external view returns (uint256);
    function nonceUsed(bytes32 verifier, uint256 nonce) external view returns (bool);
    function domainSeparator() external view returns (bytes32);
    function attestationDigest(bytes32 verifier, bytes32 subject, bytes32 claimType, bytes32 claimId,
                               uint64 expiresAt, uint256 nonce) external view returns (bytes32);
    function governance() external view returns (address);
    function autoId() external view returns (address);
    function MAX_SCORE() external view returns (uint256);
    function MAX_CLAIMS_PER_SUBJECT() external view returns (uint256);
    function ATTESTATION_TYPEHASH() external view returns (bytes32);
}
