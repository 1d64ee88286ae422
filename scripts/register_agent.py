"""Register an AI agent owned by an Auto ID and grant it a permission.

    ape run register_agent --network ethereum:autonomys-dev:node

On the predeployed AgentRegistry (0xA070…0004), with the dev accounts (ape's test accounts):
1. the owner (account 6) gets an Auto ID;
2. a new agent key is made (its address is the agent); the agent signs its consent
   (EIP-191 personal-sign over registrationDigest(agent, ownerId)) and the owner registers it
   with a character hash;
3. the owner grants the agent a permission: calling DataCompensation.fundRound with up to
   BUDGET wei, for a day;
4. isAllowed is read back for a value within the budget, one above it, and another function.
Fresh Auto ID and agent each run.
"""

import json

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import function_signature_to_4byte_selector, keccak

from scripts._registries import DAY, dev_account, head_timestamp, network_header, new_auto_id, registry, say

BUDGET = 10**18  # wei
TARGET_FUNCTION = "fundRound(bytes32,address,uint256[])"
OTHER_FUNCTION = "withdraw()"


def main() -> None:
    network_header()
    owner = dev_account(6)
    agents = registry("AgentRegistry")
    target = registry("DataCompensation").address
    say("AgentRegistry", agents.address)

    owner_id = new_auto_id(owner, "ape-agent-owner", role="owner")
    agent = Account.create()
    character = {"name": "ape agent", "agent": agent.address, "owner": owner_id.hex}
    character_hash = keccak(text=json.dumps(character, sort_keys=True))
    digest = agents.registrationDigest(agent.address, owner_id.id)
    consent = Account.sign_message(encode_defunct(primitive=bytes(digest)), agent.key).signature
    registered = agents.registerAgent(agent.address, owner_id.id, character_hash, consent, sender=owner)
    say("agent", f"{agent.address} (character 0x{character_hash.hex()})")
    say("registerAgent tx", f"{registered.txn_hash} (gas {registered.gas_used})")

    selector = function_signature_to_4byte_selector(TARGET_FUNCTION)
    expiry = head_timestamp() + DAY
    granted = agents.grantPermission(agent.address, target, selector, BUDGET, expiry, sender=owner)
    say("permission", f"{target}.{TARGET_FUNCTION} selector 0x{selector.hex()} budget {BUDGET} wei expiry {expiry}")
    say("grantPermission tx", granted.txn_hash)

    within = agents.isAllowed(agent.address, target, selector, BUDGET // 2)
    above = agents.isAllowed(agent.address, target, selector, BUDGET + 1)
    other = agents.isAllowed(agent.address, target, function_signature_to_4byte_selector(OTHER_FUNCTION), 0)
    say("isAllowed", f"{within} (value {BUDGET // 2})")
    say("isAllowed over budget", f"{above} (value {BUDGET + 1})")
    say("isAllowed other fn", f"{other} ({OTHER_FUNCTION})")
    if not within or above or other:
        raise RuntimeError("isAllowed does not match the permission just granted")
