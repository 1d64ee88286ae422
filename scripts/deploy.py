"""Deploy the example contracts with the first dev account and print their addresses.

    ape run deploy                                     # the default network: autonomys-dev
    ape run deploy --network ethereum:autonomys-dev:node

Deploys contracts/examples/ExampleStore.sol (Solidity) and
contracts/examples/ExampleCounter.vy (Vyper) from ``accounts.test_accounts[0]``, the first
dev account (0xf39F...2266, funded at genesis), and prints one ``Name: address`` line each.
"""

from ape import accounts, chain, networks, project

STORE_INITIAL_VALUE = 42
COUNTER_START = 0


def main() -> None:
    deployer = accounts.test_accounts[0]
    print(f"network:  {networks.provider.network.choice} (chain id {chain.chain_id})")
    print(f"deployer: {deployer.address} ({deployer.balance / 10**18:.4f} ETH)")

    store = deployer.deploy(project.ExampleStore, STORE_INITIAL_VALUE)
    counter = deployer.deploy(project.ExampleCounter, COUNTER_START)

    # Read back through eth_call so a wrong deployment fails here, not in a later script.
    if store.value() != STORE_INITIAL_VALUE or counter.count() != COUNTER_START:
        raise RuntimeError("deployed contracts do not hold their constructor arguments")
    print(f"ExampleStore: {store.address}")
    print(f"ExampleCounter: {counter.address}")
