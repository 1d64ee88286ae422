# pragma version ~=0.4.3
"""
@title AutoScore
@notice A composable proof of personhood for Auto IDs (spec domains.md §5.3).

    Verifiers are Auto IDs admitted by governance. A verifier attests a claim for a
    subject Auto ID: (claim type, unique claim id, expiry). Only hashes are stored.

    Claim type: a bytes32 name hash. The documented types are blake2b-256 of the claim
    name, as in the Auto ID SDK (spec §5.2). contracts/interfaces/IAutoScore.sol lists them
    (GoogleEmail, GithubUsername, UberUUID, WorldID, GovRegistry).
    Unique claim id: blake2b-256("serviceId:subUID"), as in the SDK. subUID is the external
    account (uid, username or email), so one external account is one claim id.

    Rules:
    - Sybil deduplication: a claim id belongs to the first Auto ID it is attested for. The
      same claim id for another Auto ID reverts ("claim already used by another Auto ID").
      Re-attesting it for the same Auto ID refreshes the expiry and the verifier. Only a
      revocation frees the claim id; an expired claim keeps it.
    - A claim counts while it is unexpired (expiresAt > block.timestamp) and its verifier
      is still admitted. Removing a verifier stops its claims counting, and re-admitting
      restores them.
    - Score = min(100, sum of the weights of the DISTINCT claim types that have at least
      one counting claim). The score of an Auto ID that is not active in AutoId is 0.
    - A subject holds at most MAX_CLAIMS_PER_SUBJECT (32) claims, counting expired ones.
      This bounds the gas of score() and meets(). Revoking a claim frees its place.
    - Only claim types with a weight > 0 may be attested. Weights are at most MAX_SCORE.

    EIP-712 attestations: a verifier's controller signs off-chain, and anyone submits the
    signature with attestBySig.
      domain: EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
              with name "AutoScore", version "1", the chain id, and this contract's address
      struct: Attestation(bytes32 verifier,bytes32 subject,bytes32 claimType,bytes32 claimId,uint64 expiresAt,uint256 nonce)
    The signer is recovered with ecrecover. It must be a controller of the admitted
    verifier id. A nonce is single-use per verifier and need not be sequential. A verifier
    cancels an unused nonce with invalidateNonce.

    How a verifier acts: msg.sender (or the EIP-712 signer) must be a controller of the
    verifier's Auto ID: AutoId.isController(verifierId, account) and AutoId.isActive(verifierId).
"""

interface IAutoId:
    def isActive(id: bytes32) -> bool: view
    def isController(id: bytes32, account: address) -> bool: view


struct Claim:
    subject: bytes32      # the Auto ID the claim belongs to (empty: no claim)
    claimType: bytes32
    verifier: bytes32     # the verifier Auto ID that last attested it
    expiresAt: uint64     # unix seconds; the claim counts while block.timestamp < expiresAt


event VerifierAdmitted:
    verifier: indexed(bytes32)

event VerifierRemoved:
    verifier: indexed(bytes32)

event WeightSet:
    claimType: indexed(bytes32)
    weight: uint256

event ClaimAttested:
    subject: indexed(bytes32)
    claimType: indexed(bytes32)
    claimId: indexed(bytes32)
    verifier: bytes32
    expiresAt: uint64

event ClaimRevoked:
    subject: indexed(bytes32)
    claimType: indexed(bytes32)
    claimId: indexed(bytes32)
    verifier: bytes32

event NonceInvalidated:
    verifier: indexed(bytes32)
    nonce: uint256

event GovernanceTransferred:
    previous: indexed(address)
    current: indexed(address)


MAX_SCORE: public(constant(uint256)) = 100
MAX_CLAIMS_PER_SUBJECT: public(constant(uint256)) = 32

DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
ATTESTATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Attestation(bytes32 verifier,bytes32 subject,bytes32 claimType,bytes32 claimId,uint64 expiresAt,uint256 nonce)")
NAME_HASH: constant(bytes32) = keccak256("AutoScore")
VERSION_HASH: constant(bytes32) = keccak256("1")
# secp256k1 n / 2: a larger s is the malleable twin of a valid signature (EIP-2).
HALF_CURVE_ORDER: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

autoId: public(immutable(address))
governance: public(address)

isVerifier: public(HashMap[bytes32, bool])
weightOf: public(HashMap[bytes32, uint256])
nonceUsed: public(HashMap[bytes32, HashMap[uint256, bool]])

claims: HashMap[bytes32, Claim]
subjectClaims: HashMap[bytes32, DynArray[bytes32, MAX_CLAIMS_PER_SUBJECT]]

CACHED_CHAIN_ID: immutable(uint256)
CACHED_DOMAIN_SEPARATOR: immutable(bytes32)


@deploy
def __init__(auto_id: address, governance: address):
    assert auto_id != empty(address), "auto score: AutoId address is empty"
    assert governance != empty(address), "auto score: governance address is empty"
    autoId = auto_id
    self.governance = governance
    CACHED_CHAIN_ID = chain.id
    CACHED_DOMAIN_SEPARATOR = self._build_domain_separator()
    log GovernanceTransferred(previous=empty(address), current=governance)


# -- governance -------------------------------------------------------------------------------

@internal
def _only_governance():
    assert msg.sender == self.governance, "auto score: only governance"


@external
def admitVerifier(verifier: bytes32):
    """
    @notice Admit the Auto ID `verifier` as a verifier. It must be active in AutoId.
    """
    self._only_governance()
    assert not self.isVerifier[verifier], "auto score: verifier already admitted"
    assert staticcall IAutoId(autoId).isActive(verifier), "auto score: verifier is not an active Auto ID"
    self.isVerifier[verifier] = True
    log VerifierAdmitted(verifier=verifier)


@external
def removeVerifier(verifier: bytes32):
    """
    @notice Remove a verifier. Its claims stop counting until it is admitted again.
    """
    self._only_governance()
    assert self.isVerifier[verifier], "auto score: not a verifier"
    self.isVerifier[verifier] = False
    log VerifierRemoved(verifier=verifier)


@external
def setWeight(claimType: bytes32, weight: uint256):
    """
    @notice Set the weight of a claim type (0 to MAX_SCORE). A weight of 0 retires the type:
            it stops counting and cannot be attested.
    """
    self._only_governance()
    assert weight <= MAX_SCORE, "auto score: weight above 100"
    self.weightOf[claimType] = weight
    log WeightSet(claimType=claimType, weight=weight)


@external
def transferGovernance(new_governance: address):
    """
    @notice Hand governance to `new_governance`, in one step.
    """
    self._only_governance()
    assert new_governance != empty(address), "auto score: governance address is empty"
    log GovernanceTransferred(previous=self.governance, current=new_governance)
    self.governance = new_governance


# -- attestations -----------------------------------------------------------------------------

@internal
@view
def _require_acts_for_verifier(verifier: bytes32, account: address):
    """A verifier acts through a controller address of its Auto ID, while admitted and active."""
    assert self.isVerifier[verifier], "auto score: not an admitted verifier"
    assert staticcall IAutoId(autoId).isController(verifier, account), \
        "auto score: account is not a controller of the verifier"
    assert staticcall IAutoId(autoId).isActive(verifier), "auto score: verifier is not an active Auto ID"


@internal
def _attest(verifier: bytes32, subject: bytes32, claimType: bytes32, claimId: bytes32, expiresAt: uint64):
    """Record the claim `claimId` of type `claimType` for `subject` (sybil dedup: one Auto ID per claim id)."""
    assert self.weightOf[claimType] > 0, "auto score: unknown claim type"
    assert convert(expiresAt, uint256) > block.timestamp, "auto score: expiry is in the past"
    assert staticcall IAutoId(autoId).isActive(subject), "auto score: subject is not an active Auto ID"
    owner: bytes32 = self.claims[claimId].subject
    if owner == empty(bytes32):
        assert len(self.subjectClaims[subject]) < MAX_CLAIMS_PER_SUBJECT, "auto score: subject has too many claims"
        self.subjectClaims[subject].append(claimId)
        self.claims[claimId] = Claim(subject=subject, claimType=claimType, verifier=verifier, expiresAt=expiresAt)
    else:
        assert owner == subject, "auto score: claim already used by another Auto ID"
        assert self.claims[claimId].claimType == claimType, "auto score: claim id has another claim type"
        self.claims[claimId].verifier = verifier
        self.claims[claimId].expiresAt = expiresAt
    log ClaimAttested(subject=subject, claimType=claimType, claimId=claimId, verifier=verifier, expiresAt=expiresAt)


@external
def attest(verifier: bytes32, subject: bytes32, claimType: bytes32, claimId: bytes32, expiresAt: uint64):
    """
    @notice Attest, as a controller of the admitted verifier `verifier`, that `subject`
            holds the claim `claimId` of type `claimType` until `expiresAt` (unix seconds).
    """
    self._require_acts_for_verifier(verifier, msg.sender)
    self._attest(verifier, subject, claimType, claimId, expiresAt)


@external
def attestBySig(verifier: bytes32, subject: bytes32, claimType: bytes32, claimId: bytes32, expiresAt: uint64,
                nonce: uint256, signature: Bytes[65]):
    """
    @notice Submit an EIP-712 Attestation signed by a controller of the verifier; anyone may
            submit it. `signature` is r ‖ s ‖ v (65 bytes, v = 27 or 28).
    """
    assert not self.nonceUsed[verifier][nonce], "auto score: nonce already used"
    digest: bytes32 = self._attestation_digest(verifier, subject, claimType, claimId, expiresAt, nonce)
    signer: address = self._recover(digest, signature)
    self._require_acts_for_verifier(verifier, signer)
    self.nonceUsed[verifier][nonce] = True
    self._attest(verifier, subject, claimType, claimId, expiresAt)


@external
def invalidateNonce(verifier: bytes32, nonce: uint256):
    """
    @notice Cancel an unused nonce of `verifier`, so that an attestation signed with it
            can no longer be submitted. Only a controller of the verifier may.
    """
    assert staticcall IAutoId(autoId).isController(verifier, msg.sender), \
        "auto score: account is not a controller of the verifier"
    assert not self.nonceUsed[verifier][nonce], "auto score: nonce already used"
    self.nonceUsed[verifier][nonce] = True
    log NonceInvalidated(verifier=verifier, nonce=nonce)


@external
def revoke(claimId: bytes32):
    """
    @notice Revoke a claim. The verifier that last attested it may revoke it through a
            controller, and so may governance. The claim id is freed for any Auto ID.
    """
    claim: Claim = self.claims[claimId]
    assert claim.subject != empty(bytes32), "auto score: no such claim"
    if msg.sender != self.governance:
        assert staticcall IAutoId(autoId).isController(claim.verifier, msg.sender), \
            "auto score: only the claim's verifier or governance"
    held: uint256 = len(self.subjectClaims[claim.subject])
    for i: uint256 in range(held, bound=MAX_CLAIMS_PER_SUBJECT):
        if self.subjectClaims[claim.subject][i] == claimId:
            if i != held - 1:
                self.subjectClaims[claim.subject][i] = self.subjectClaims[claim.subject][held - 1]
            self.subjectClaims[claim.subject].pop()
            break
    self.claims[claimId] = empty(Claim)
    log ClaimRevoked(subject=claim.subject, claimType=claim.claimType, claimId=claimId, verifier=claim.verifier)


# -- score ------------------------------------------------------------------------------------

@internal
@view
def _score(subject: bytes32, enough: uint256) -> uint256:
    """min(100, Σ weights of distinct claim types with a counting claim); it stops adding
    once the sum reaches `enough`."""
    if not staticcall IAutoId(autoId).isActive(subject):
        return 0
    seen: DynArray[bytes32, MAX_CLAIMS_PER_SUBJECT] = []
    total: uint256 = 0
    for claimId: bytes32 in self.subjectClaims[subject]:
        # Read a claim's fields one at a time, cheapest rejection first.
        if convert(self.claims[claimId].expiresAt, uint256) <= block.timestamp:
            continue
        claimType: bytes32 = self.claims[claimId].claimType
        if claimType in seen:
            continue
        if not self.isVerifier[self.claims[claimId].verifier]:
            continue
        seen.append(claimType)
        total += self.weightOf[claimType]
        if total >= enough:
            break
    return min(total, MAX_SCORE)


@external
@view
def score(subject: bytes32) -> uint256:
    """
    @notice The Auto Score of `subject`, 0 to 100.
    """
    return self._score(subject, MAX_SCORE)


@external
@view
def meets(subject: bytes32, threshold: uint256) -> bool:
    """
    @notice Whether score(subject) >= threshold. A threshold of 0 is always met; one above
            100 never is.
    """
    if threshold == 0:
        return True
    if threshold > MAX_SCORE:
        return False
    return self._score(subject, threshold) >= threshold


@external
@view
def claimOf(claimId: bytes32) -> Claim:
    """
    @notice The stored claim under `claimId` (all zero when there is none).
    """
    return self.claims[claimId]


@external
@view
def claimsOf(subject: bytes32) -> DynArray[bytes32, MAX_CLAIMS_PER_SUBJECT]:
    """
    @notice The claim ids held by `subject`, expired ones included.
    """
    return self.subjectClaims[subject]


# -- EIP-712 ----------------------------------------------------------------------------------

@internal
@view
def _build_domain_separator() -> bytes32:
    return keccak256(abi_encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chain.id, self))


@internal
@view
def _domain_separator() -> bytes32:
    if chain.id == CACHED_CHAIN_ID:
        return CACHED_DOMAIN_SEPARATOR
    return self._build_domain_separator()


@internal
@view
def _attestation_digest(verifier: bytes32, subject: bytes32, claimType: bytes32, claimId: bytes32,
                        expiresAt: uint64, nonce: uint256) -> bytes32:
    struct_hash: bytes32 = keccak256(abi_encode(ATTESTATION_TYPEHASH, verifier, subject, claimType, claimId,
                                                expiresAt, nonce))
    return keccak256(concat(b"\x19\x01", self._domain_separator(), struct_hash))


@internal
@pure
def _recover(digest: bytes32, signature: Bytes[65]) -> address:
    assert len(signature) == 65, "auto score: signature must be 65 bytes"
    r: uint256 = convert(extract32(signature, 0), uint256)
    s: uint256 = convert(extract32(signature, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    assert v == 27 or v == 28, "auto score: bad signature v"
    assert s <= HALF_CURVE_ORDER, "auto score: bad signature s"
    signer: address = ecrecover(digest, v, r, s)
    assert signer != empty(address), "auto score: bad signature"
    return signer


@external
@view
def domainSeparator() -> bytes32:
    """
    @notice The EIP-712 domain separator (name "AutoScore", version "1").
    """
    return self._domain_separator()


@external
@view
def attestationDigest(verifier: bytes32, subject: bytes32, claimType: bytes32, claimId: bytes32,
                      expiresAt: uint64, nonce: uint256) -> bytes32:
    """
    @notice The EIP-712 digest a verifier's controller signs for attestBySig.
    """
    return self._attestation_digest(verifier, subject, claimType, claimId, expiresAt, nonce)
