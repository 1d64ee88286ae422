// The Hardhat 2 node that `benchmarks/run.py` measures the autonomys dev node against.
// Same chain id and the same 10 funded accounts (mnemonic "test ... junk", 10,000 ETH each)
// as `autonomys dev`; Prague rules; automine (one block per transaction, Hardhat's default).
// Per-request console logging (on by default in `hardhat node`) is off unless
// HARDHAT_BENCH_LOGGING=1: off, the anchor runs at its fastest.
module.exports = {
  // Nothing is compiled here; keep Hardhat's scratch directories out of the source tree.
  paths: { cache: "../.hardhat/cache", artifacts: "../.hardhat/artifacts" },
  networks: {
    hardhat: {
      chainId: 8701337,
      hardfork: "prague",
      initialBaseFeePerGas: 1000000000,
      loggingEnabled: process.env.HARDHAT_BENCH_LOGGING === "1",
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: 10,
        accountsBalance: "10000000000000000000000",
      },
      mining: { auto: true },
    },
  },
};
