"""Register data contributions, fund a round, post the valuer's weights, withdraw the share.

    ape run fund_round --network ethereum:autonomys-dev:node

On the predeployed DataCompensation (0xA070…0003), with the dev accounts (ape's test accounts):
1. the contributor (account 3) gets an Auto ID and registers two contributions (random content
   hashes, license CC-BY-4.0);
2. governance (account 0) admits account 4 as a valuer (once per network);
3. the consumer (account 5) funds a round of FUNDED wei over both contributions;
4. the valuer posts the weights 2 and 1: the shares are floor(amount · w / Σw), the rounding
   dust goes to the funder;
5. the contributor withdraws what it is owed.
Prints every transaction and the amounts. Fresh Auto ID and content each run.
"""

from eth_utils import keccak

from scripts._registries import ZERO32, dev_account, network_header, new_auto_id, registry, say, unique

FUNDED = 10**18 + 1  # wei; not divisible by 3, so the weights 2 and 1 leave 1 wei of dust
WEIGHTS = [2, 1]
LICENSE = b"CC-BY-4.0".ljust(32, b"\0")


def main() -> None:
    network_header()
    governance, contributor, valuer, consumer = dev_account(0), dev_account(3), dev_account(4), dev_account(5)
    data = registry("DataCompensation")
    say("DataCompensation", data.address)

    contributor_id = new_auto_id(contributor, "ape-contributor", role="contributor")
    contributions = []
    for n in range(len(WEIGHTS)):
        content = keccak(text=unique(f"ape-dataset-{n}"))
        registered = data.registerContribution(contributor_id.id, content, LICENSE, keccak(text=f"metadata {n}"), 0,
                                               sender=contributor)
        contribution = data.contributionOfContent(content)
        contributions.append(contribution)
        say("contribution", f"{contribution} content 0x{content.hex()} tx {registered.txn_hash}")

    if not data.isValuer(valuer.address):
        admitted = data.setValuer(valuer.address, True, sender=governance)
        say("setValuer tx", f"{admitted.txn_hash} (valuer {valuer.address})")
    say("valuer", valuer.address)

    funded = data.fundRound(ZERO32, valuer.address, contributions, value=FUNDED, sender=consumer)
    [event] = funded.decode_logs(data.RoundFunded)
    round_id = event.roundId
    say("round", f"{round_id} funded with {FUNDED} wei by {consumer.address} tx {funded.txn_hash}")

    owed_before = data.owed(contributor.address)
    valued = data.postWeights(round_id, WEIGHTS, sender=valuer)
    shares = [(log.contributionId, log.weight, log.amount) for log in valued.decode_logs(data.ShareCredited)]
    [round_valued] = valued.decode_logs(data.RoundValued)
    say("postWeights tx", f"{valued.txn_hash} (weights {WEIGHTS})")
    for contribution, weight, amount in shares:
        say("share", f"contribution {contribution} weight {weight}: {amount} wei")
    say("dust", f"{round_valued.dust} wei (to the funder {consumer.address})")
    if sum(amount for *_, amount in shares) + round_valued.dust != FUNDED:
        raise RuntimeError("the shares and the dust do not add up to the funded amount")

    owed = data.owed(contributor.address)
    say("owed", f"{owed} wei to {contributor.address} ({owed - owed_before} from this round)")
    withdrawn = data.withdraw(sender=contributor)
    [event] = withdrawn.decode_logs(data.Withdrawn)
    say("withdraw tx", f"{withdrawn.txn_hash}")
    say("withdrawn", f"{event.amount} wei to {event.account}")
    if event.amount != owed or data.owed(contributor.address) != 0:
        raise RuntimeError(f"withdrew {event.amount} wei of {owed} owed")
