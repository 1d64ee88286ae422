// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Auto ID: X.509 identities on an EVM domain (contracts/AutoId.vy)
/// @notice Predeployed on every EVM domain at 0xA070000000000000000000000000000000000001.
/// A port of the live pallet-auto-id (spec/domains.md §5.1): an Auto ID is an X.509 certificate,
/// a root (self-issued) or a leaf issued by a registered Auto ID. Certificates are parsed and
/// signatures verified by the X.509 precompile at 0x0000000000000000000000000000000000000801.
///
/// Identifier: root = blake2b256(subject common name); leaf = blake2b256(issuerId ‖ common name).
/// Validity is in unix milliseconds, compared with block.timestamp * 1000. Serials are unique
/// per issuer; each issuer has a certificate revocation list (a root's issuer is itself).
///
/// Signed actions (revoke, deactivate, linkAddress, unlinkAddress) carry a signature by a
/// certificate key, with the DER AlgorithmIdentifier it used (sha256WithRSAEncryption,
/// ecdsa-with-SHA256 for P-256 or secp256k1, Ed25519), over these bytes, concatenated:
///
///     "AutoId/v1"                      9 bytes, ASCII
///     block.chainid                    32 bytes, big-endian
///     address of the AutoId contract   20 bytes
///     id                               32 bytes (the subject Auto ID)
///     nonce                            32 bytes, little-endian (SCALE U256: the signer's nonce)
///     action type                      1 byte: 0 RevokeCertificate, 1 DeactivateAutoId,
///                                              2 LinkAddress, 3 UnlinkAddress
///     account                          20 bytes, LinkAddress and UnlinkAddress only
///
/// The id ‖ nonce ‖ action-type part is the live pallet's SCALE(CertificateAction). Signer:
/// revoke = the issuer (a root revokes itself) at the issuer's nonce; deactivate, link and unlink
/// = the subject at its own nonce. Each accepted action increments the signer's nonce.
/// `actionMessage` returns the exact bytes.
///
/// Cascade: an Auto ID is active only while its whole issuer chain is (registered, not
/// deactivated, not revoked, within validity). A chain holds at most 8 certificates (a root and 7
/// levels of leaves, enforced at registration), so isActive reads a bounded number of slots.
///
/// Every rejection reverts with Error(string) in plain words, e.g. "identifier exists",
/// "bad signature: the issuer's key did not sign the certificate", "wrong issuer: ...",
/// "issuer revoked", "issuer expired", "duplicate serial: ...", "replayed nonce: ...",
/// "wrong common name: ...", "certificate expired"; the precompile's reasons ("malformed DER: ...",
/// "unsupported algorithm: ...", "key/algorithm mismatch: ...") pass through unchanged.
interface IAutoId {
    /// A certificate was registered; the event carries the whole certificate.
    event NewAutoIdRegistered(bytes32 indexed id, bytes32 indexed issuerId, uint256 serial,
        bytes subjectCommonName, bytes tbsCertificate, bytes signatureAlgorithm, bytes signature);
    event CertificateRevoked(bytes32 indexed id, bytes32 indexed issuerId, uint256 serial, uint256 nonce);
    event AutoIdDeactivated(bytes32 indexed id, uint256 nonce);
    event AutoIdRenewed(bytes32 indexed id, bytes32 indexed issuerId, uint256 oldSerial, uint256 newSerial,
        bytes tbsCertificate, bytes signatureAlgorithm, bytes signature);
    event AddressLinked(bytes32 indexed id, address indexed account, uint256 nonce);
    event AddressUnlinked(bytes32 indexed id, address indexed account);

    // -- actions ----------------------------------------------------------------------------

    /// Register a root (issuerId = bytes32(0): self-signed, self-issued) or a leaf signed by the
    /// active Auto ID issuerId. The certificate must be valid now; the serial new for the issuer
    /// and not in its revocation list. Returns the new identifier.
    function register(bytes32 issuerId, bytes calldata tbsCertificate, bytes calldata signatureAlgorithm,
        bytes calldata signature) external returns (bytes32 id);

    /// `register` with a whole DER certificate (split by the precompile).
    function registerCertificate(bytes32 issuerId, bytes calldata certificate) external returns (bytes32 id);

    /// Revoke `id`: signed by its issuer (a root: itself) at the issuer's nonce.
    function revoke(bytes32 id, uint256 nonce, bytes calldata signatureAlgorithm, bytes calldata signature)
        external;

    /// Deactivate `id`: signed by its own key at its nonce. What it issued becomes inactive.
    function deactivate(bytes32 id, uint256 nonce, bytes calldata signatureAlgorithm, bytes calldata signature)
        external;

    /// Replace the certificate of `id`: same public key and common name, signed by the issuer (a
    /// root: itself), valid now. The old serial is revoked; nonce, links and issued serials carry
    /// over. Expired certificates may be renewed, revoked ones may not.
    function renew(bytes32 id, bytes calldata tbsCertificate, bytes calldata signatureAlgorithm,
        bytes calldata signature) external;

    /// Link `account` as a controller of `id`: signed by the key of `id` at its nonce.
    function linkAddress(bytes32 id, address account, uint256 nonce, bytes calldata signatureAlgorithm,
        bytes calldata signature) external;

    /// Unlink `account`: by `account` itself (nonce and signature ignored) or signed by the key
    /// of `id` at its nonce.
    function unlinkAddress(bytes32 id, address account, uint256 nonce, bytes calldata signatureAlgorithm,
        bytes calldata signature) external;

    // -- views ------------------------------------------------------------------------------

    /// Registered, not deactivated, not revoked, within validity at block.timestamp, and so is
    /// every issuer above it.
    function isActive(bytes32 id) external view returns (bool);

    /// `account` was linked to `id` (linkAddress) and `id` is active: msg.sender acts for `id`.
    function isController(bytes32 id, address account) external view returns (bool);

    /// 0 active, 1 not registered, 2 deactivated, 3 revoked, 4 expired, 5 not yet valid,
    /// 6 an issuer above it is inactive (or it was issued under an earlier registration of its issuer).
    function status(bytes32 id) external view returns (uint8);

    /// The latest registration of `id`; generation 0 = never registered, depth 0 = a root.
    function getAutoId(bytes32 id) external view returns (bytes32 issuerId, uint256 serial,
        bytes memory subjectCommonName, bytes memory subjectPublicKeyInfo, uint64 notBeforeMs, uint64 notAfterMs,
        uint256 nonce, bytes32 tbsHash, uint256 depth, uint256 generation);

    function nonceOf(bytes32 id) external view returns (uint256);

    /// Whether `serial` is in the revocation list of `issuerId` (a root's own serials in its own).
    function isSerialRevoked(bytes32 issuerId, uint256 serial) external view returns (bool);

    /// Whether `issuerId` issued `serial` (a root's own serial included).
    function isSerialIssued(bytes32 issuerId, uint256 serial) external view returns (bool);

    /// The identifier of `commonName` under `issuerId` (bytes32(0) for a root).
    function identifierOf(bytes32 issuerId, bytes calldata commonName) external view returns (bytes32);

    /// The exact bytes to sign for an action (0 revoke, 1 deactivate, 2 link, 3 unlink).
    function actionMessage(bytes32 id, uint256 nonce, uint8 actionType, address account)
        external view returns (bytes memory);
}
