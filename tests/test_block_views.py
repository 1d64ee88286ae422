"""The gateway's block-view cache: one decode per block hash, bounded, and the same answers."""

from __future__ import annotations

from eth_account import Account

from domains.evm.chain import DomainChain
from domains.evm.genesis import dev_accounts, dev_genesis
from domains.evm.node import DomainNode
from domains.rpc.blocks import BlockView, BlockViews, find_transaction


def _chain_with_blocks(tmp_path, blocks: int) -> tuple[DomainChain, list[bytes]]:
    chain = DomainChain.create(tmp_path / "domain", dev_genesis())
    node = DomainNode(chain)
    (_, key), = dev_accounts()[:1]
    hashes = []
    for nonce in range(blocks):
        signed = Account.sign_transaction({"chainId": chain.chain_id, "nonce": nonce, "to": "0x" + "11" * 20,
                                           "value": nonce + 1, "gas": 21000, "gasPrice": 10**10}, key)
        hashes.append(node.submit_raw_transaction(bytes(signed.raw_transaction)))
        node.produce_block()
    return chain, hashes


def test_a_block_is_loaded_once_per_hash_and_answers_as_uncached(tmp_path):
    chain, hashes = _chain_with_blocks(tmp_path, 2)
    views = BlockViews(size=4)
    try:
        first = views.load(chain, chain.header_by_number(1))
        assert views.load(chain, chain.header_by_number(1)) is first
        view, index = find_transaction(chain, hashes[0], views)
        assert view is first
        plain, plain_index = find_transaction(chain, hashes[0])
        assert plain is not first and plain_index == index
        assert view.receipts_json(chain, only=index) == plain.receipts_json(chain, only=index)
        assert view.transaction_json(index) == plain.transaction_json(index)
        assert view.sender(index) == bytes.fromhex(dev_accounts()[0][0][2:])
    finally:
        chain.close()


def test_the_cache_keeps_only_the_most_recent_blocks(tmp_path):
    chain, _ = _chain_with_blocks(tmp_path, 3)
    views = BlockViews(size=2)
    try:
        one = views.load(chain, chain.header_by_number(1))
        views.load(chain, chain.header_by_number(2))
        views.load(chain, chain.header_by_number(1))  # block 1 is now the most recent
        views.load(chain, chain.header_by_number(3))  # evicts block 2
        assert views.load(chain, chain.header_by_number(1)) is one
        assert len(views) == 2 and chain.header_by_number(2).hash not in views
        assert isinstance(views.load(chain, chain.header_by_number(2)), BlockView)
    finally:
        chain.close()
