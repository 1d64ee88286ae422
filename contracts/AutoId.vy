# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Auto ID: X.509 identities on an EVM domain (spec/domains.md §5.1)
@notice
    A port of the live `pallet-auto-id`. An Auto ID is an X.509 certificate, either a root
    (self-issued) or a leaf issued by a registered Auto ID. Certificates are parsed and their
    signatures verified by the X.509 precompile at 0x0000000000000000000000000000000000000801
    (the live chain does both in a host function); this contract keeps the data model and rules.

    Identifier: root = blake2b256(subject common name);
                leaf = blake2b256(issuer identifier ‖ subject common name).

    Per Auto ID: issuer identifier (empty for a root), serial, subject common name, DER
    SubjectPublicKeyInfo, validity in unix milliseconds (compared with block.timestamp * 1000),
    keccak256 of the DER TBSCertificate (the TBS itself, signature algorithm and signature are in
    the `NewAutoIdRegistered` / `AutoIdRenewed` events), and a nonce starting at 0.
    Per issuer: the serials it issued (`issued_serials`, a root's own serial included) and its
    certificate revocation list (CRL). A certificate is revoked when its serial is in its
    issuer's CRL (a root's issuer is itself).

    Signed actions. Revoke, deactivate, link and unlink are authorised by a signature of a
    certificate key over this message (all integers fixed width, no padding between fields):

        "AutoId/v1"                    9 bytes, ASCII
        chain id                       32 bytes, big-endian
        this contract's address        20 bytes
        SCALE(CertificateAction):      the live pallet's encoding
          id                           32 bytes (the subject identifier)
          nonce                        32 bytes, little-endian (the signer's current nonce)
          action type                  1 byte: 0 RevokeCertificate, 1 DeactivateAutoId,
                                               2 LinkAddress, 3 UnlinkAddress
        account                        20 bytes, only for LinkAddress and UnlinkAddress

    The signer and its nonce: revoke = the issuer (a root revokes itself) with the issuer's
    nonce; deactivate, link, unlink = the subject with its own nonce. Each accepted action
    increments the signer's nonce, so a signature is good once. `actionMessage` returns the
    exact bytes. The signature is made with the signer's certificate key and the signature
    algorithm passed alongside it (a DER AlgorithmIdentifier: sha256WithRSAEncryption,
    ecdsa-with-SHA256 for P-256 and secp256k1, Ed25519).

    Beyond the live pallet:
    - Controllers: `linkAddress` links an EVM account to an Auto ID with a signature by the
      certificate key; `isController(id, account)` is true while the link stands and the Auto ID
      is active, so contracts can check that msg.sender acts for an Auto ID.
    - Cascade: an Auto ID is active only when its whole issuer chain is (registered, not
      deactivated, not revoked, within validity), so deactivating, revoking or letting expire a
      certificate makes everything it issued, transitively, inactive. `isActive` walks the
      chain; its length is bounded by MAX_CHAIN_LENGTH (a root plus 7 levels of leaves),
      checked at registration, so `isActive` costs at most 8 steps of a few storage reads.
    - Deactivation keeps a tombstone instead of deleting the entry (the live pallet deletes).
      The identifier can be registered again; each registration is a new `generation`, and
      what was issued under an earlier generation of its issuer stays inactive (and its
      identifier may be registered again). Nonces, issued serials and CRLs are never reset,
      so old signatures stay spent.
    - The actions take the nonce explicitly, so a replay is reported as such.
    - A certificate's issuer name must match: a root names itself, a leaf names its issuer's
      common name ("wrong issuer" otherwise; the live pallet only checks the signature).
    - Links belong to one generation: renewing keeps them, registering again drops them.

    Limits (calldata bounds): TBS 4,096 bytes, whole certificate 6,144, SPKI 1,100 (RSA keys up
    to 8,192 bits, the precompile's limit), signature 1,024, AlgorithmIdentifier 128, common
    name 256 bytes (UTF-8).

    Every rejection reverts with a reason in plain words; the precompile's own reason (for
    example "malformed DER: ...") is passed through unchanged.
"""

X509: constant(address) = 0x0000000000000000000000000000000000000801

MAX_TBS: constant(uint256) = 4096
MAX_SPKI: constant(uint256) = 1100
MAX_ALGORITHM: constant(uint256) = 128
MAX_SIGNATURE: constant(uint256) = 1024
MAX_CN: constant(uint256) = 256
MAX_CERTIFICATE: constant(uint256) = 6144
MAX_ACTION_MESSAGE: constant(uint256) = 146
# the largest precompile call, verifySignature(spki, algorithm, tbs, signature), ABI-encoded
MAX_PRECOMPILE_INPUT: constant(uint256) = 6628
# the largest answer but splitCertificate's: parseTbsCertificate's, or an Error(string)
MAX_PRECOMPILE_OUTPUT: constant(uint256) = 2048
#: A root and at most 7 levels of leaves below it.
MAX_CHAIN_LENGTH: constant(uint256) = 8

ACTION_TAG: constant(Bytes[9]) = b"AutoId/v1"
REVOKE_CERTIFICATE: constant(uint8) = 0
DEACTIVATE_AUTO_ID: constant(uint8) = 1
LINK_ADDRESS: constant(uint8) = 2
UNLINK_ADDRESS: constant(uint8) = 3

# `status(id)` codes
ACTIVE: constant(uint8) = 0
NOT_REGISTERED: constant(uint8) = 1
DEACTIVATED: constant(uint8) = 2
REVOKED: constant(uint8) = 3
EXPIRED: constant(uint8) = 4
NOT_YET_VALID: constant(uint8) = 5
ISSUER_INACTIVE: constant(uint8) = 6


struct Certificate:
    issuer_id: bytes32
    # the issuer's generation when this certificate was registered (0 for a root)
    issuer_generation: uint256
    serial: uint256
    not_before_ms: uint64
    not_after_ms: uint64
    # 0 for a root, issuer depth + 1 for a leaf
    depth: uint256
    # how many times the identifier was registered; 0 = never
    generation: uint256
    deactivated: bool
    nonce: uint256
    tbs_hash: bytes32
    subject_common_name: Bytes[MAX_CN]
    subject_public_key_info: Bytes[MAX_SPKI]


struct Tbs:
    serial: uint256
    subject_common_name: Bytes[MAX_CN]
    subject_public_key_info: Bytes[MAX_SPKI]
    not_before_ms: uint64
    not_after_ms: uint64
    issuer_common_name: Bytes[MAX_CN]


event NewAutoIdRegistered:
    id: indexed(bytes32)
    issuerId: indexed(bytes32)
    serial: uint256
    subjectCommonName: Bytes[MAX_CN]
    tbsCertificate: Bytes[MAX_TBS]
    signatureAlgorithm: Bytes[MAX_ALGORITHM]
    signature: Bytes[MAX_SIGNATURE]

event CertificateRevoked:
    id: indexed(bytes32)
    issuerId: indexed(bytes32)
    serial: uint256
    nonce: uint256

event AutoIdDeactivated:
    id: indexed(bytes32)
    nonce: uint256

event AutoIdRenewed:
    id: indexed(bytes32)
    issuerId: indexed(bytes32)
    oldSerial: uint256
    newSerial: uint256
    tbsCertificate: Bytes[MAX_TBS]
    signatureAlgorithm: Bytes[MAX_ALGORITHM]
    signature: Bytes[MAX_SIGNATURE]

event AddressLinked:
    id: indexed(bytes32)
    account: indexed(address)
    nonce: uint256

event AddressUnlinked:
    id: indexed(bytes32)
    account: indexed(address)


auto_ids: HashMap[bytes32, Certificate]
# issuer id -> serial -> issued
issued_serials: HashMap[bytes32, HashMap[uint256, bool]]
# issuer id -> serial -> revoked
revocation_list: HashMap[bytes32, HashMap[uint256, bool]]
# id -> account -> generation of the id when linked (0 = not linked)
controllers: HashMap[bytes32, HashMap[address, uint256]]


# -- the precompile ---------------------------------------------------------------------------

@internal
def _x509(data: Bytes[MAX_PRECOMPILE_INPUT]) -> Bytes[MAX_PRECOMPILE_OUTPUT]:
    """Call the X.509 precompile; on failure revert with its reason (Error(string)) unchanged."""
    success: bool = False
    response: Bytes[MAX_PRECOMPILE_OUTPUT] = b""
    success, response = raw_call(X509, data, max_outsize=MAX_PRECOMPILE_OUTPUT, revert_on_failure=False)
    if not success:
        if len(response) == 0:
            raise "X.509 precompile failed without a reason (is 0x0801 installed?)"
        raw_revert(response)
    return response


@internal
@view
def _x509_view(data: Bytes[512]) -> Bytes[MAX_PRECOMPILE_OUTPUT]:
    success: bool = False
    response: Bytes[MAX_PRECOMPILE_OUTPUT] = b""
    success, response = raw_call(X509, data, max_outsize=MAX_PRECOMPILE_OUTPUT, is_static_call=True, revert_on_failure=False)
    if not success:
        if len(response) == 0:
            raise "X.509 precompile failed without a reason (is 0x0801 installed?)"
        raw_revert(response)
    return response


@internal
def _parse_tbs(tbs: Bytes[MAX_TBS]) -> Tbs:
    """The fields of a DER TBSCertificate (precompile `parseTbsCertificate`)."""
    response: Bytes[MAX_PRECOMPILE_OUTPUT] = self._x509(abi_encode(tbs, method_id=method_id("parseTbsCertificate(bytes)")))
    serial: uint256 = 0
    subject_cn: Bytes[MAX_CN] = b""
    spki: Bytes[MAX_SPKI] = b""
    not_before: uint64 = 0
    not_after: uint64 = 0
    issuer_cn: Bytes[MAX_CN] = b""
    serial, subject_cn, spki, not_before, not_after, issuer_cn = abi_decode(
        response, (uint256, Bytes[MAX_CN], Bytes[MAX_SPKI], uint64, uint64, Bytes[MAX_CN]))
    return Tbs(serial=serial, subject_common_name=subject_cn, subject_public_key_info=spki,
               not_before_ms=not_before, not_after_ms=not_after, issuer_common_name=issuer_cn)


@internal
def _verify(spki: Bytes[MAX_SPKI], algorithm: Bytes[MAX_ALGORITHM], data: Bytes[MAX_TBS],
            signature: Bytes[MAX_SIGNATURE]) -> bool:
    """Whether `signature` by the key `spki` over `data` is valid (precompile `verifySignature`)."""
    response: Bytes[MAX_PRECOMPILE_OUTPUT] = self._x509(abi_encode(
        spki, algorithm, data, signature, method_id=method_id("verifySignature(bytes,bytes,bytes,bytes)")))
    return abi_decode(response, bool)


@internal
@view
def _blake2b256(data: Bytes[288]) -> bytes32:
    response: Bytes[MAX_PRECOMPILE_OUTPUT] = self._x509_view(abi_encode(data, method_id=method_id("blake2b256(bytes)")))
    return abi_decode(response, bytes32)


@internal
@view
def _identifier(issuer_id: bytes32, common_name: Bytes[MAX_CN]) -> bytes32:
    """Root: blake2b256(CN); leaf: blake2b256(issuer id ‖ CN)."""
    if issuer_id == empty(bytes32):
        return self._blake2b256(common_name)
    return self._blake2b256(concat(issuer_id, common_name))


# -- status and the cascade -------------------------------------------------------------------

@internal
@view
def _own_status(id: bytes32) -> uint8:
    """The status of one certificate by itself, its issuers not considered."""
    generation: uint256 = self.auto_ids[id].generation
    if generation == 0:
        return NOT_REGISTERED
    if self.auto_ids[id].deactivated:
        return DEACTIVATED
    issuer_id: bytes32 = self.auto_ids[id].issuer_id
    if issuer_id == empty(bytes32):
        issuer_id = id
    elif self.auto_ids[issuer_id].generation != self.auto_ids[id].issuer_generation:
        # issued under an earlier registration of the issuer identifier
        return ISSUER_INACTIVE
    if self.revocation_list[issuer_id][self.auto_ids[id].serial]:
        return REVOKED
    now_ms: uint256 = block.timestamp * 1000
    if now_ms < convert(self.auto_ids[id].not_before_ms, uint256):
        return NOT_YET_VALID
    if now_ms > convert(self.auto_ids[id].not_after_ms, uint256):
        return EXPIRED
    return ACTIVE


@internal
@view
def _status(id: bytes32) -> uint8:
    """ACTIVE when the certificate and every issuer above it are active (the cascade); else the
    certificate's own status, or ISSUER_INACTIVE when it is fine but an issuer is not."""
    own: uint8 = self._own_status(id)
    if own != ACTIVE:
        return own
    current: bytes32 = self.auto_ids[id].issuer_id
    # depth < MAX_CHAIN_LENGTH is enforced at registration, so the loop reaches the root
    for _: uint256 in range(MAX_CHAIN_LENGTH):
        if current == empty(bytes32):
            return ACTIVE
        if self._own_status(current) != ACTIVE:
            return ISSUER_INACTIVE
        current = self.auto_ids[current].issuer_id
    return ISSUER_INACTIVE


@internal
@view
def _is_vacant(id: bytes32) -> bool:
    """An identifier may be registered when it never was, was deactivated, or was issued under
    an earlier registration of its issuer."""
    status: uint8 = self._own_status(id)
    return status == NOT_REGISTERED or status == DEACTIVATED or status == ISSUER_INACTIVE


@internal
@view
def _require_active_issuer(issuer_id: bytes32):
    status: uint8 = self._status(issuer_id)
    assert status != NOT_REGISTERED, "wrong issuer: the issuer identifier is not registered"
    assert status != DEACTIVATED, "issuer deactivated"
    assert status != REVOKED, "issuer revoked"
    assert status != EXPIRED, "issuer expired"
    assert status != NOT_YET_VALID, "issuer not yet valid"
    assert status == ACTIVE, "issuer inactive: a certificate above it is deactivated, revoked or expired"


@internal
@view
def _require_registered(id: bytes32):
    status: uint8 = self._own_status(id)
    assert status != NOT_REGISTERED, "auto id not registered"
    assert status != DEACTIVATED, "auto id deactivated"
    assert status != ISSUER_INACTIVE, "auto id not registered: its issuer was registered again since"


@internal
@view
def _require_current_validity(tbs: Tbs):
    now_ms: uint256 = block.timestamp * 1000
    assert now_ms >= convert(tbs.not_before_ms, uint256), "certificate not yet valid"
    assert now_ms <= convert(tbs.not_after_ms, uint256), "certificate expired"


# -- signed actions ---------------------------------------------------------------------------

@internal
@pure
def _le32(number: uint256) -> bytes32:
    """`number` as 32 little-endian bytes (SCALE U256)."""
    result: uint256 = 0
    remaining: uint256 = number
    for _: uint256 in range(32):
        result = (result << 8) | (remaining & 255)
        remaining = remaining >> 8
    return convert(result, bytes32)


@internal
@view
def _action_message(id: bytes32, nonce: uint256, action_type: uint8, account: address) -> Bytes[MAX_ACTION_MESSAGE]:
    """The bytes a certificate key signs for an action (see the module docstring)."""
    action: Bytes[65] = concat(id, self._le32(nonce), convert(action_type, bytes1))
    header: Bytes[61] = concat(ACTION_TAG, convert(chain.id, bytes32), convert(self, bytes20))
    if action_type == LINK_ADDRESS or action_type == UNLINK_ADDRESS:
        return concat(header, action, convert(account, bytes20))
    return concat(header, action)


@internal
def _require_signed_action(signer: bytes32, id: bytes32, nonce: uint256, action_type: uint8, account: address,
                           algorithm: Bytes[MAX_ALGORITHM], signature: Bytes[MAX_SIGNATURE]):
    """The signer's key signed the action at the signer's current nonce; the nonce is then spent."""
    current: uint256 = self.auto_ids[signer].nonce
    assert nonce >= current, "replayed nonce: that nonce was already used"
    assert nonce == current, "wrong nonce: not the signer's current nonce"
    message: Bytes[MAX_ACTION_MESSAGE] = self._action_message(id, nonce, action_type, account)
    assert self._verify(self.auto_ids[signer].subject_public_key_info, algorithm, message, signature), \
        "bad signature: the action is not signed by the certificate key"
    self.auto_ids[signer].nonce = current + 1


# -- register ---------------------------------------------------------------------------------

@external
def register(issuerId: bytes32, tbsCertificate: Bytes[MAX_TBS], signatureAlgorithm: Bytes[MAX_ALGORITHM],
             signature: Bytes[MAX_SIGNATURE]) -> bytes32:
    """
    @notice Register a certificate: a root (issuerId = 0x00…00), self-signed, or a leaf signed
            by the active Auto ID `issuerId`. Returns the new identifier.
    @param tbsCertificate the DER TBSCertificate; signatureAlgorithm the DER AlgorithmIdentifier
           and signature the signature bytes of the certificate.
    """
    return self._register(issuerId, tbsCertificate, signatureAlgorithm, signature)


@external
def registerCertificate(issuerId: bytes32, certificate: Bytes[MAX_CERTIFICATE]) -> bytes32:
    """@notice `register` with a whole DER certificate, split by the precompile."""
    success: bool = False
    # (tbs, algorithm, signature) ABI-encoded at their bounds: 3 heads + 3 lengths + data
    response: Bytes[5440] = b""
    success, response = raw_call(X509, abi_encode(certificate, method_id=method_id("splitCertificate(bytes)")),
                                 max_outsize=5440, revert_on_failure=False)
    if not success:
        raw_revert(response)
    tbs: Bytes[MAX_TBS] = b""
    algorithm: Bytes[MAX_ALGORITHM] = b""
    signature: Bytes[MAX_SIGNATURE] = b""
    tbs, algorithm, signature = abi_decode(response, (Bytes[MAX_TBS], Bytes[MAX_ALGORITHM], Bytes[MAX_SIGNATURE]))
    return self._register(issuerId, tbs, algorithm, signature)


@internal
def _register(issuer_id: bytes32, tbs_der: Bytes[MAX_TBS], algorithm: Bytes[MAX_ALGORITHM],
              signature: Bytes[MAX_SIGNATURE]) -> bytes32:
    tbs: Tbs = self._parse_tbs(tbs_der)
    assert len(tbs.subject_common_name) > 0, "malformed certificate: the subject has no common name"
    id: bytes32 = self._identifier(issuer_id, tbs.subject_common_name)
    assert self._is_vacant(id), "identifier exists"

    signer_key: Bytes[MAX_SPKI] = tbs.subject_public_key_info
    depth: uint256 = 0
    issuer_generation: uint256 = 0
    crl_owner: bytes32 = id
    if issuer_id == empty(bytes32):
        assert tbs.issuer_common_name == tbs.subject_common_name, \
            "wrong issuer: a root certificate must name itself as its issuer"
        assert self._verify(signer_key, algorithm, tbs_der, signature), \
            "bad signature: a root certificate must be signed by its own key"
    else:
        self._require_active_issuer(issuer_id)
        assert tbs.issuer_common_name == self.auto_ids[issuer_id].subject_common_name, \
            "wrong issuer: the certificate names another issuer"
        signer_key = self.auto_ids[issuer_id].subject_public_key_info
        assert self._verify(signer_key, algorithm, tbs_der, signature), \
            "bad signature: the issuer's key did not sign the certificate"
        depth = self.auto_ids[issuer_id].depth + 1
        assert depth < MAX_CHAIN_LENGTH, "chain too long: at most 8 certificates from the root"
        issuer_generation = self.auto_ids[issuer_id].generation
        crl_owner = issuer_id
    self._require_current_validity(tbs)
    assert not self.revocation_list[crl_owner][tbs.serial], "serial revoked: it is in the issuer's revocation list"
    if issuer_id != empty(bytes32):
        assert not self.issued_serials[issuer_id][tbs.serial], \
            "duplicate serial: the issuer already issued this serial number"
    self.issued_serials[crl_owner][tbs.serial] = True

    generation: uint256 = self.auto_ids[id].generation + 1
    self.auto_ids[id] = Certificate(
        issuer_id=issuer_id, issuer_generation=issuer_generation, serial=tbs.serial,
        not_before_ms=tbs.not_before_ms, not_after_ms=tbs.not_after_ms, depth=depth,
        generation=generation, deactivated=False, nonce=self.auto_ids[id].nonce,
        tbs_hash=keccak256(tbs_der), subject_common_name=tbs.subject_common_name,
        subject_public_key_info=tbs.subject_public_key_info)
    log NewAutoIdRegistered(id=id, issuerId=issuer_id, serial=tbs.serial, subjectCommonName=tbs.subject_common_name,
                            tbsCertificate=tbs_der, signatureAlgorithm=algorithm, signature=signature)
    return id


# -- revoke, deactivate, renew ----------------------------------------------------------------

@external
def revoke(id: bytes32, nonce: uint256, signatureAlgorithm: Bytes[MAX_ALGORITHM],
           signature: Bytes[MAX_SIGNATURE]):
    """
    @notice Revoke the certificate of `id`: its issuer (a root: itself) signs the
            RevokeCertificate action at the issuer's nonce. The serial goes into the issuer's CRL.
    """
    self._require_registered(id)
    issuer_id: bytes32 = self.auto_ids[id].issuer_id
    if issuer_id == empty(bytes32):
        issuer_id = id
    else:
        self._require_registered(issuer_id)
    serial: uint256 = self.auto_ids[id].serial
    assert not self.revocation_list[issuer_id][serial], "already revoked"
    self._require_signed_action(issuer_id, id, nonce, REVOKE_CERTIFICATE, empty(address), signatureAlgorithm,
                                signature)
    self.revocation_list[issuer_id][serial] = True
    log CertificateRevoked(id=id, issuerId=issuer_id, serial=serial, nonce=nonce)


@external
def deactivate(id: bytes32, nonce: uint256, signatureAlgorithm: Bytes[MAX_ALGORITHM],
               signature: Bytes[MAX_SIGNATURE]):
    """
    @notice Deactivate `id`: the subject signs the DeactivateAutoId action at its own nonce.
            Everything it issued becomes inactive (the cascade).
    """
    self._require_registered(id)
    self._require_signed_action(id, id, nonce, DEACTIVATE_AUTO_ID, empty(address), signatureAlgorithm, signature)
    self.auto_ids[id].deactivated = True
    log AutoIdDeactivated(id=id, nonce=nonce)


@external
def renew(id: bytes32, tbsCertificate: Bytes[MAX_TBS], signatureAlgorithm: Bytes[MAX_ALGORITHM],
          signature: Bytes[MAX_SIGNATURE]):
    """
    @notice Replace the certificate of `id` by a new one with the same public key and common
            name (so the same identifier), signed by the issuer (a root: itself) and currently
            valid. The old serial goes into the issuer's CRL; nonce and issued serials carry over.
            An expired certificate may be renewed, a revoked one may not.
    """
    self._require_registered(id)
    issuer_id: bytes32 = self.auto_ids[id].issuer_id
    crl_owner: bytes32 = id
    if issuer_id != empty(bytes32):
        crl_owner = issuer_id
    old_serial: uint256 = self.auto_ids[id].serial
    assert not self.revocation_list[crl_owner][old_serial], "certificate revoked: a revoked certificate cannot be renewed"

    tbs: Tbs = self._parse_tbs(tbsCertificate)
    assert self._identifier(issuer_id, tbs.subject_common_name) == id, \
        "wrong common name: the renewed certificate derives another identifier"
    assert keccak256(tbs.subject_public_key_info) == keccak256(self.auto_ids[id].subject_public_key_info), \
        "public key differs: a renewed certificate must keep the subject public key"
    if issuer_id == empty(bytes32):
        assert tbs.issuer_common_name == tbs.subject_common_name, \
            "wrong issuer: a root certificate must name itself as its issuer"
        assert self._verify(tbs.subject_public_key_info, signatureAlgorithm, tbsCertificate, signature), \
            "bad signature: a root certificate must be signed by its own key"
    else:
        self._require_active_issuer(issuer_id)
        assert tbs.issuer_common_name == self.auto_ids[issuer_id].subject_common_name, \
            "wrong issuer: the certificate names another issuer"
        assert self._verify(self.auto_ids[issuer_id].subject_public_key_info, signatureAlgorithm, tbsCertificate,
                            signature), "bad signature: the issuer's key did not sign the certificate"
    self._require_current_validity(tbs)
    assert not self.revocation_list[crl_owner][tbs.serial], "serial revoked: it is in the issuer's revocation list"
    assert not self.issued_serials[crl_owner][tbs.serial], \
        "duplicate serial: the issuer already issued this serial number"

    self.revocation_list[crl_owner][old_serial] = True
    self.issued_serials[crl_owner][tbs.serial] = True
    self.auto_ids[id].serial = tbs.serial
    self.auto_ids[id].not_before_ms = tbs.not_before_ms
    self.auto_ids[id].not_after_ms = tbs.not_after_ms
    self.auto_ids[id].tbs_hash = keccak256(tbsCertificate)
    log AutoIdRenewed(id=id, issuerId=issuer_id, oldSerial=old_serial, newSerial=tbs.serial,
                      tbsCertificate=tbsCertificate, signatureAlgorithm=signatureAlgorithm, signature=signature)


# -- controllers ------------------------------------------------------------------------------

@external
def linkAddress(id: bytes32, account: address, nonce: uint256, signatureAlgorithm: Bytes[MAX_ALGORITHM],
                signature: Bytes[MAX_SIGNATURE]):
    """
    @notice Link the EVM `account` to `id` as a controller: the certificate key of `id` signs
            the LinkAddress action for `account` at the id's nonce. Anyone may submit it.
    """
    assert account != empty(address), "cannot link the zero address"
    status: uint8 = self._status(id)
    assert status != NOT_REGISTERED and status != DEACTIVATED, "auto id not registered"
    assert status == ACTIVE, "auto id inactive: revoked, expired or under an inactive issuer"
    generation: uint256 = self.auto_ids[id].generation
    assert self.controllers[id][account] != generation, "account already linked"
    self._require_signed_action(id, id, nonce, LINK_ADDRESS, account, signatureAlgorithm, signature)
    self.controllers[id][account] = generation
    log AddressLinked(id=id, account=account, nonce=nonce)


@external
def unlinkAddress(id: bytes32, account: address, nonce: uint256, signatureAlgorithm: Bytes[MAX_ALGORITHM],
                  signature: Bytes[MAX_SIGNATURE]):
    """
    @notice Remove the link of `account` to `id`. The linked account itself may unlink without a
            signature (nonce and signature are then ignored); anyone else submits the
            UnlinkAddress action signed by the certificate key of `id` at the id's nonce.
    """
    self._require_registered(id)
    assert self.controllers[id][account] == self.auto_ids[id].generation, "account not linked"
    if msg.sender != account:
        self._require_signed_action(id, id, nonce, UNLINK_ADDRESS, account, signatureAlgorithm, signature)
    self.controllers[id][account] = 0
    log AddressUnlinked(id=id, account=account)


# -- views ------------------------------------------------------------------------------------

@external
@view
def isActive(id: bytes32) -> bool:
    """@notice Registered, not deactivated, not revoked, within validity at block.timestamp, and
               so is every issuer above it."""
    return self._status(id) == ACTIVE


@external
@view
def isController(id: bytes32, account: address) -> bool:
    """@notice `account` was linked to `id` by its certificate key and `id` is active."""
    generation: uint256 = self.controllers[id][account]
    return generation != 0 and generation == self.auto_ids[id].generation and self._status(id) == ACTIVE


@external
@view
def status(id: bytes32) -> uint8:
    """@notice 0 active, 1 not registered, 2 deactivated, 3 revoked, 4 expired, 5 not yet valid,
               6 an issuer above it is inactive (or it was issued under an earlier registration
               of its issuer)."""
    return self._status(id)


@external
@view
def getAutoId(id: bytes32) -> (bytes32, uint256, Bytes[MAX_CN], Bytes[MAX_SPKI], uint64, uint64, uint256, bytes32,
                               uint256, uint256):
    """@notice (issuerId, serial, subjectCommonName, subjectPublicKeyInfo, notBeforeMs, notAfterMs,
               nonce, tbsHash, depth, generation) of the latest registration of `id`; generation 0
               means never registered."""
    c: Certificate = self.auto_ids[id]
    return (c.issuer_id, c.serial, c.subject_common_name, c.subject_public_key_info, c.not_before_ms,
            c.not_after_ms, c.nonce, c.tbs_hash, c.depth, c.generation)


@external
@view
def nonceOf(id: bytes32) -> uint256:
    return self.auto_ids[id].nonce


@external
@view
def isSerialRevoked(issuerId: bytes32, serial: uint256) -> bool:
    """@notice Whether `serial` is in the CRL of `issuerId` (a root's own serials are in its own)."""
    return self.revocation_list[issuerId][serial]


@external
@view
def isSerialIssued(issuerId: bytes32, serial: uint256) -> bool:
    return self.issued_serials[issuerId][serial]


@external
@view
def identifierOf(issuerId: bytes32, commonName: Bytes[MAX_CN]) -> bytes32:
    """@notice The identifier a certificate with `commonName` gets under `issuerId` (0 = root)."""
    return self._identifier(issuerId, commonName)


@external
@view
def actionMessage(id: bytes32, nonce: uint256, actionType: uint8, account: address) -> Bytes[MAX_ACTION_MESSAGE]:
    """@notice The exact bytes to sign for an action (0 revoke, 1 deactivate, 2 link, 3 unlink)."""
    assert actionType <= UNLINK_ADDRESS, "unknown action type"
    return self._action_message(id, nonce, actionType, account)
