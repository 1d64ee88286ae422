"""Send a value transfer between dev accounts, then call a contract function that emits an
event, read the event back from the chain and print it.

    ape run transfer                                   # the default network: autonomys-dev
    ape run transfer --network ethereum:autonomys-dev:node

Uses the ExampleStore most recently deployed by ``ape run deploy`` on this network, if it is
still on chain (a dev node started with ``--tmp`` forgets it), else deploys a new one.
"""

from ape import accounts, chain, networks, project

AMOUNT_WEI = 10**18  # 1 ETH
NEW_VALUE = 1234
NOTE = "hello from ape"


def example_store(owner):
    """The newest ExampleStore deployment that still has code, or a fresh deployment."""
    for deployed in reversed(project.ExampleStore.deployments):
        if chain.provider.get_code(deployed.address):
            return deployed
    return owner.deploy(project.ExampleStore, 0)


def main() -> None:
    sender, receiver = accounts.test_accounts[0], accounts.test_accounts[1]
    print(f"network: {networks.provider.network.choice} (chain id {chain.chain_id})")

    before = receiver.balance
    receipt = sender.transfer(receiver, AMOUNT_WEI)
    received = receiver.balance - before
    print(f"transfer: {AMOUNT_WEI} wei {sender.address} -> {receiver.address} "
          f"in block {receipt.block_number} (tx {receipt.txn_hash})")
    if received != AMOUNT_WEI:
        raise RuntimeError(f"receiver balance changed by {received} wei, expected {AMOUNT_WEI}")

    store = example_store(sender)
    receipt = store.set(NEW_VALUE, NOTE, sender=sender)
    print(f"ExampleStore({store.address}).set({NEW_VALUE}, {NOTE!r}) in block {receipt.block_number}")

    # The event as decoded from the receipt's logs ...
    from_receipt = receipt.decode_logs(store.ValueChanged)
    # ... and as found again on chain through eth_getLogs over that block.
    from_chain = [
        log for log in store.ValueChanged.range(receipt.block_number, receipt.block_number + 1)
        if log.transaction_hash == receipt.txn_hash
    ]
    for source, logs in (("receipt", from_receipt), ("eth_getLogs", from_chain)):
        if len(logs) != 1:
            raise RuntimeError(f"expected one ValueChanged event in the {source}, found {len(logs)}")
        log = logs[0]
        print(f"ValueChanged ({source}): by={log.by} previous={log.previous} "
              f"value={log.value} note={log.note!r} block={log.block_number} index={log.log_index}")
        if (log.by, log.value, log.note) != (sender.address, NEW_VALUE, NOTE):
            raise RuntimeError(f"event read from the {source} does not match the call")
    print(f"value() = {store.value()}")
