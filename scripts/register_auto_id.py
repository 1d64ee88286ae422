"""Register an Auto ID on the predeployed AutoId and link the ape account as its controller.

    ape run register_auto_id --network ethereum:autonomys-dev:node

Makes a key ($AUTO_ID_KEY_TYPE: ed25519 (default), rsa, p256 or secp256k1) and a self-signed
X.509 certificate with `cryptography`, its common name made unique by a random suffix (so the
script can run again on the same network), registers it as a root Auto ID at
0xA070…0001 from dev account 0 (ape's test account 0), and links that account as a controller
with a linkAddress signed by the certificate key. The key and certificate are written to
$AUTO_ID_DIR (default .build/auto-ids) for later `autonomys auto-id` commands.
"""

import os

from scripts._registries import dev_account, network_header, new_auto_id, registry, say


def main() -> None:
    network_header()
    account = dev_account(0)
    key_type = os.environ.get("AUTO_ID_KEY_TYPE", "ed25519")
    auto_id = registry("AutoId")
    say("AutoId", auto_id.address)
    new = new_auto_id(account, "ape-auto-id", key_type)
    status = auto_id.status(new.id)
    say("status", "active" if status == 0 else f"not active (status {status})")
    say("isController", f"{auto_id.isController(new.id, account.address)} ({account.address})")
    say("key", new.key_path)
    say("certificate", new.certificate_path)
