"""Attest an Auto Score claim: governance admits a verifier, sets a weight, the verifier attests.

    ape run attest_score --network ethereum:autonomys-dev:node

On the predeployed AutoScore (0xA070…0002), with the dev accounts (ape's test accounts):
1. a verifier Auto ID (controller: account 1) and a subject Auto ID (controller: account 2)
   are registered on AutoId with fresh certificates;
2. governance (account 0, the dev network's AutoScore governance) admits the verifier and gives
   the claim type GithubUsername (blake2b-256 of the name, as in the Auto ID SDK) a weight;
3. the verifier, through account 1, attests that the subject holds a GitHub-username claim
   (claim id blake2b-256("github:<random user>"), valid for 30 days);
4. the subject's score and `meets(subject, weight)` are read back.
Fresh Auto IDs and claim ids each run, so the script can be run again on the same network.
"""

from domains.auto_id import blake2b256
from scripts._registries import DAY, dev_account, head_timestamp, network_header, new_auto_id, registry, say, unique

CLAIM_TYPE_NAME = "GithubUsername"
CLAIM_TYPE = blake2b256(CLAIM_TYPE_NAME.encode())
WEIGHT = 40


def main() -> None:
    network_header()
    governance, verifier_controller, subject_controller = dev_account(0), dev_account(1), dev_account(2)
    score = registry("AutoScore")
    say("AutoScore", score.address)
    if score.governance() != governance.address:
        raise RuntimeError(f"AutoScore governance is {score.governance()}, not dev account 0 ({governance.address})")

    verifier = new_auto_id(verifier_controller, "ape-verifier", role="verifier")
    subject = new_auto_id(subject_controller, "ape-subject", role="subject")

    admitted = score.admitVerifier(verifier.id, sender=governance)
    say("admitVerifier tx", f"{admitted.txn_hash} (by governance {governance.address})")
    if score.weightOf(CLAIM_TYPE) != WEIGHT:
        weighted = score.setWeight(CLAIM_TYPE, WEIGHT, sender=governance)
        say("setWeight tx", weighted.txn_hash)
    say("claim type", f"{CLAIM_TYPE_NAME} 0x{CLAIM_TYPE.hex()} weight {score.weightOf(CLAIM_TYPE)}")

    claim_id = blake2b256(f"github:{unique('ape-user')}".encode())
    expires_at = head_timestamp() + 30 * DAY
    attested = score.attest(verifier.id, subject.id, CLAIM_TYPE, claim_id, expires_at, sender=verifier_controller)
    say("attest tx", f"{attested.txn_hash} (by {verifier_controller.address}, gas {attested.gas_used})")
    say("claim id", f"0x{claim_id.hex()} (expires at {expires_at})")

    subject_score = score.score(subject.id)
    say("score", f"{subject_score} (subject {subject.hex})")
    say("meets", f"{score.meets(subject.id, WEIGHT)} (threshold {WEIGHT})")
    if subject_score < WEIGHT:
        raise RuntimeError(f"score {subject_score} after a claim of weight {WEIGHT}")
