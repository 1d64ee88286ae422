"""Gas per operation of the four registries (issue 5), measured in process.

One fresh dev-genesis DomainChain with the registries predeployed at 0xA070…0001-0004
(domains/evm/predeploys.py; governance = dev account 0), each transaction in its own block,
`gasUsed` from its receipt (so the 21,000 intrinsic gas and the calldata cost are included).

Rows (unit "gas", no anchor, no target):
  register root (<key>)      AutoId.register of a self-signed certificate, per key type
                             (RSA-2048, P-256, secp256k1, Ed25519)
  register leaf (<key>)      AutoId.register of a certificate issued by that root
  link an address            AutoId.linkAddress (Ed25519 key)
  admit a verifier           AutoScore.admitVerifier (governance)
  set a weight               AutoScore.setWeight (governance)
  attest                     AutoScore.attest: a subject's first claim
  register a contribution    DataCompensation.registerContribution
  fund a round (2 contrib.)  DataCompensation.fundRound over two contributions
  value (post 2 weights)     DataCompensation.postWeights by the admitted valuer
  withdraw                   DataCompensation.withdraw of the contributor's share
  register an agent          AgentRegistry.registerAgent with the agent's signed consent
  grant a permission         AgentRegistry.grantPermission
  check a permission (call)  AgentRegistry.isAllowed as eth_estimateGas of a call to it (what
                             a transaction that only asked would pay)
  check a permission (consume)  AgentRegistry.consume sent by the target (checks and spends)

Certificates have fixed validity around the fixed genesis time; the gas of a signature
verification depends only on the key type, so figures repeat run to run up to the lengths of
the DER ECDSA signatures (a byte or two of calldata). `quick` changes nothing: every row is one
transaction.

Usage: python benchmarks/registry_gas.py [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import print_rows, row  # noqa: E402
from eth_abi import decode, encode  # noqa: E402
from eth_account import Account  # noqa: E402
from eth_account.messages import encode_defunct  # noqa: E402
from eth_utils import function_signature_to_4byte_selector, keccak, to_canonical_address  # noqa: E402

from domains import auto_id as aid  # noqa: E402
from domains.evm.chain import DomainChain  # noqa: E402
from domains.evm.execution import CallRequest, call, estimate_gas  # noqa: E402
from domains.evm.genesis import dev_accounts, dev_genesis  # noqa: E402
from domains.evm.node import DomainNode  # noqa: E402
from domains.evm.predeploys import CONTRACTS_DIR, PREDEPLOYS, compile_contract  # noqa: E402

GENESIS_TIME = 1_700_000_000
BLOCK_INTERVAL = 6
KEY_TYPES = {"RSA-2048": "rsa", "P-256": "p256", "secp256k1": "secp256k1", "Ed25519": "ed25519"}
ZERO32 = bytes(32)
LICENSE = b"CC-BY-4.0".ljust(32, b"\0")
GITHUB_USERNAME = aid.blake2b256(b"GithubUsername")
SWAP = function_signature_to_4byte_selector("swap(uint256,uint256)")
TX_GAS = 3_000_000


class RegistryGasError(Exception):
    """A benchmark transaction failed; the message names it and gives the revert reason."""


def _types(params: list[dict]) -> list[str]:
    def one(p: dict) -> str:
        if p["type"].startswith("tuple"):
            return "(" + ",".join(_types(p["components"])) + ")" + p["type"][5:]
        return p["type"]
    return [one(p) for p in params]


class Registry:
    """A predeployed registry: its address and calldata encoding from the compiled ABI."""

    def __init__(self, name: str) -> None:
        predeploy = next(p for p in PREDEPLOYS if p.name == name)
        self.name = name
        self.address = to_canonical_address(predeploy.address)
        abi = compile_contract(CONTRACTS_DIR / predeploy.source, name).abi
        self.functions = {f["name"]: f for f in abi if f["type"] == "function"}

    def calldata(self, function: str, *args) -> bytes:
        types = _types(self.functions[function]["inputs"])
        return function_signature_to_4byte_selector(f"{function}({','.join(types)})") + encode(types, list(args))

    def decode(self, function: str, output: bytes):
        values = decode(_types(self.functions[function]["outputs"]), output)
        return values[0] if len(values) == 1 else values


class Domain:
    """The in-process dev domain: one transaction per block, its receipt's gas."""

    def __init__(self, path: Path) -> None:
        self.chain = DomainChain.create(path, dev_genesis(timestamp=GENESIS_TIME))
        self.node = DomainNode(self.chain)

    def close(self) -> None:
        self.chain.close()

    def send(self, key: bytes, registry: Registry, function: str, *args, value: int = 0) -> int:
        """Send `registry.function(*args)` from `key` in a block of its own; its gas used."""
        sender = to_canonical_address(Account.from_key(key).address)
        tx = {"chainId": self.chain.chain_id, "nonce": self.node.next_nonce(sender), "to": registry.address,
              "value": value, "gas": TX_GAS, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "type": 2,
              "data": registry.calldata(function, *args)}
        self.node.submit_raw_transaction(Account.sign_transaction(tx, key).raw_transaction)
        built = self.node.produce_block(timestamp=self.chain.head().timestamp + BLOCK_INTERVAL)
        if len(built.receipts) != 1:
            raise RegistryGasError(f"{registry.name}.{function} was not included: {built.dropped}")
        [receipt], [computation] = built.receipts, built.computations
        if computation.is_error:
            reason = aid.decode_revert(bytes(computation.output))
            raise RegistryGasError(f"{registry.name}.{function} failed: {reason}")
        return receipt.gas_used

    def _request(self, registry: Registry, function: str, args: tuple, sender: str | None) -> CallRequest:
        fields = {"to": "0x" + registry.address.hex(), "input": "0x" + registry.calldata(function, *args).hex()}
        if sender:
            fields["from"] = sender
        return CallRequest.from_json(fields)

    def view(self, registry: Registry, function: str, *args):
        result = call(self.chain, self._request(registry, function, args, None), self.chain.head())
        if not result.success:
            raise RegistryGasError(f"{registry.name}.{function} call failed: {aid.decode_revert(result.revert or b'')}")
        return registry.decode(function, result.output)

    def estimate(self, registry: Registry, function: str, *args, sender: str | None = None) -> int:
        return estimate_gas(self.chain, self._request(registry, function, args, sender), self.chain.head())


#: Certificates are valid from a day before the genesis for ten years.
VALID_FROM = datetime.datetime.fromtimestamp(GENESIS_TIME - 86_400, datetime.timezone.utc)


def _root(key_type: str, common_name: str):
    key = aid.generate_key(key_type)
    return key, aid.self_signed_certificate(key, common_name, not_before=VALID_FROM, days=3650)


def _leaf(issuer_key, issuer, key_type: str, common_name: str):
    key = aid.generate_key(key_type)
    return aid.issue_certificate(issuer_key, issuer, key.public_key(), common_name, not_before=VALID_FROM, days=3650)


def measure(path: Path) -> list[tuple[str, int]]:
    """(operation, gas) for every row, on a fresh dev domain at `path`."""
    accounts = dev_accounts()
    (_, gov_key), (user, user_key), (valuer, valuer_key), (_, consumer_key), (target, target_key) = accounts[:5]
    domain = Domain(path)
    try:
        auto_id, score, data, agents = (Registry(p.name) for p in PREDEPLOYS)
        chain_id = domain.chain.chain_id
        gas: list[tuple[str, int]] = []

        # AutoId: a root and a leaf per key type
        for label, key_type in KEY_TYPES.items():
            root_key, root = _root(key_type, f"gas root {key_type}")
            leaf = _leaf(root_key, root, key_type, f"gas leaf {key_type}")
            root_id = aid.identifier_of(root)
            for kind, certificate, issuer in (("root", root, ZERO32), ("leaf", leaf, root_id)):
                parts = aid.certificate_parts(certificate)
                used = domain.send(user_key, auto_id, "register", issuer, parts.tbs, parts.signature_algorithm,
                                   parts.signature)
                gas.append((f"register {kind} ({label})", used))

        def controlled_auto_id(controller: str, controller_key: bytes, name: str, record: bool = False) -> bytes:
            """A new Ed25519 root Auto ID with `controller` linked."""
            key, certificate = _root("ed25519", name)
            parts = aid.certificate_parts(certificate)
            identifier = aid.identifier_of(certificate)
            domain.send(controller_key, auto_id, "register", ZERO32, parts.tbs, parts.signature_algorithm,
                        parts.signature)
            nonce = domain.view(auto_id, "nonceOf", identifier)
            algorithm, signature = aid.sign_action(key, chain_id, auto_id.address, identifier, nonce,
                                                   aid.ActionType.LINK_ADDRESS, controller)
            used = domain.send(controller_key, auto_id, "linkAddress", identifier, controller, nonce, algorithm,
                               signature)
            if record:
                gas.append(("link an address", used))
            return identifier

        verifier_id = controlled_auto_id(valuer, valuer_key, "gas verifier", record=True)
        user_id = controlled_auto_id(user, user_key, "gas contributor")

        # AutoScore
        gas.append(("admit a verifier", domain.send(gov_key, score, "admitVerifier", verifier_id)))
        gas.append(("set a weight", domain.send(gov_key, score, "setWeight", GITHUB_USERNAME, 40)))
        expires = domain.chain.head().timestamp + 30 * 86_400
        gas.append(("attest", domain.send(valuer_key, score, "attest", verifier_id, user_id, GITHUB_USERNAME,
                                          aid.blake2b256(b"github:gas-user"), expires)))
        if domain.view(score, "score", user_id) != 40:
            raise RegistryGasError("the attested subject's score is not the claim type's weight")

        # DataCompensation
        contributions = []
        for n in range(2):
            content = keccak(text=f"gas content {n}")
            used = domain.send(user_key, data, "registerContribution", user_id, content, LICENSE,
                               keccak(text=f"gas metadata {n}"), 0)
            if n == 0:
                gas.append(("register a contribution", used))
            contributions.append(domain.view(data, "contributionOfContent", content))
        domain.send(gov_key, data, "setValuer", valuer, True)
        funded = 10**18 + 1
        gas.append(("fund a round (2 contributions)",
                    domain.send(consumer_key, data, "fundRound", ZERO32, valuer, contributions, value=funded)))
        round_id = domain.view(data, "roundCount")
        gas.append(("value (post 2 weights)", domain.send(valuer_key, data, "postWeights", round_id, [2, 1])))
        if domain.view(data, "owed", user) != funded - 1:
            raise RegistryGasError("the contributor is not owed the funded amount minus the dust")
        gas.append(("withdraw", domain.send(user_key, data, "withdraw")))

        # AgentRegistry
        agent = Account.from_key(keccak(text="registry gas agent"))
        digest = domain.view(agents, "registrationDigest", agent.address, user_id)
        consent = Account.sign_message(encode_defunct(primitive=digest), agent.key).signature
        gas.append(("register an agent", domain.send(user_key, agents, "registerAgent", agent.address, user_id,
                                                     keccak(text="gas character"), consent)))
        expiry = domain.chain.head().timestamp + 86_400
        gas.append(("grant a permission",
                    domain.send(user_key, agents, "grantPermission", agent.address, target, SWAP, 10**18, expiry)))
        if not domain.view(agents, "isAllowed", agent.address, target, SWAP, 10**17):
            raise RegistryGasError("isAllowed is false right after the grant")
        gas.append(("check a permission (isAllowed call)",
                    domain.estimate(agents, "isAllowed", agent.address, target, SWAP, 10**17)))
        gas.append(("check a permission (consume tx)",
                    domain.send(target_key, agents, "consume", agent.address, SWAP, 10**17)))
        return gas
    finally:
        domain.close()


def run(quick: bool = False) -> list[dict]:
    """One row per registry operation: its gas on a fresh dev domain (`quick` is accepted for
    benchmarks/run.py; every row is one transaction either way)."""
    with tempfile.TemporaryDirectory(prefix="registry-gas-") as tmp:
        return [row(name, "gas", used, None, "", "") for name, used in measure(Path(tmp) / "domain")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="accepted for symmetry; changes nothing")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = run(quick=args.quick)
    print_rows(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
