"""What the registry scripts share (ape skips files whose name starts with "_" as scripts).

The four registries are predeployed by every dev genesis at fixed addresses
(domains/evm/predeploys.py); `registry(name)` binds the project's compiled contract type to
that address. `new_auto_id` makes a key and a self-signed certificate with `cryptography`
(domains/auto_id.py), registers it on AutoId and links an ape account as its controller, so
that account can act for the Auto ID in the other registries.

Every name a script puts on chain (certificate common names, claim ids, content hashes) has a
random part, so the scripts can be run again and again on the same network.
"""

from __future__ import annotations

import datetime
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ape import accounts, chain, networks, project

from domains import auto_id as aid
from domains.evm.predeploys import predeploy_addresses

ZERO32 = bytes(32)
DAY = 86_400
#: Where `new_auto_id` writes the key and certificate it made (for `autonomys auto-id revoke`,
#: `deactivate`, `renew` later): $AUTO_ID_DIR, else .build/auto-ids in the project.
AUTO_ID_DIR = Path(os.environ.get("AUTO_ID_DIR", ".build/auto-ids"))


def say(label: str, value) -> None:
    """One `label: value` line (the scripts' whole output is made of these)."""
    print(f"{label + ':':<25} {value}")


def dev_account(index: int):
    """Dev account `index` (ape's test accounts: the dev network's funded accounts)."""
    return accounts.test_accounts[index]


def network_header() -> None:
    say("network", f"{networks.provider.network.choice} (chain id {chain.chain_id})")


def registry(name: str):
    """The predeployed registry `name` (AutoId, AutoScore, DataCompensation, AgentRegistry)."""
    address = predeploy_addresses()[name]
    if not chain.provider.get_code(address):
        raise RuntimeError(f"no {name} at {address}: this network's genesis has no registry predeploys")
    return getattr(project, name).at(address)


def unique(label: str) -> str:
    """`label` with a random suffix: a name no earlier run has put on chain."""
    return f"{label}-{secrets.token_hex(4)}"


def head_timestamp() -> int:
    return chain.blocks.head.timestamp


def _valid_from() -> datetime.datetime:
    """The start of a new certificate's validity: an hour before the chain's time. Calls and
    gas estimates run at the latest block's timestamp, which on a dev chain that has been idle
    (blocks are made only for transactions) lags the wall clock, so a certificate valid from
    "now" would be "not yet valid" there."""
    now = min(time.time(), head_timestamp())
    return datetime.datetime.fromtimestamp(now - 3600, datetime.timezone.utc)


@dataclass(frozen=True)
class NewAutoId:
    id: bytes
    common_name: str
    controller: str
    key_path: Path
    certificate_path: Path

    @property
    def hex(self) -> str:
        return "0x" + self.id.hex()


def new_auto_id(controller, label: str, key_type: str = "ed25519", *, role: str = "auto id") -> NewAutoId:
    """Make a `key_type` key and a self-signed (root) certificate with a fresh common name,
    register it on AutoId (sent by `controller`) and link `controller` as its controller (a
    linkAddress signed by the certificate key). Prints the id and both transaction hashes."""
    auto_id = registry("AutoId")
    key = aid.generate_key(key_type)
    common_name = unique(label)
    certificate = aid.self_signed_certificate(key, common_name, not_before=_valid_from())
    parts = aid.certificate_parts(certificate)
    identifier = aid.identifier_of(certificate)

    registered = auto_id.register(ZERO32, parts.tbs, parts.signature_algorithm, parts.signature, sender=controller)
    nonce = auto_id.nonceOf(identifier)
    algorithm, signature = aid.sign_action(key, chain.chain_id, auto_id.address, identifier, nonce,
                                           aid.ActionType.LINK_ADDRESS, controller.address)
    linked = auto_id.linkAddress(identifier, controller.address, nonce, algorithm, signature, sender=controller)
    if not auto_id.isController(identifier, controller.address):
        raise RuntimeError(f"{controller.address} is not a controller of 0x{identifier.hex()} after linkAddress")

    AUTO_ID_DIR.mkdir(parents=True, exist_ok=True)
    key_path, certificate_path = AUTO_ID_DIR / f"{common_name}.key.pem", AUTO_ID_DIR / f"{common_name}.cert.pem"
    aid.write_private_key(key, key_path)
    aid.write_certificate(certificate, certificate_path)

    say(role, f"0x{identifier.hex()} (CN {common_name}, {key_type}, serial {hex(certificate.serial_number)})")
    say(f"{role} register tx", f"{registered.txn_hash} (block {registered.block_number}, gas {registered.gas_used})")
    say(f"{role} link tx", f"{linked.txn_hash} (controller {controller.address})")
    return NewAutoId(identifier, common_name, controller.address, key_path, certificate_path)
