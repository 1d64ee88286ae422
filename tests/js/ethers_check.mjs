/**
 * ethers v6 end-to-end check of an Ethereum JSON-RPC node, using only standard JSON-RPC.
 *
 *   node ethers_check.mjs --rpc-url URL --chain-id N --private-key 0xKEY --artifact probe.json
 *
 * Steps (one JSON line each, see common.mjs): chain_id, balance, transfer, deploy, read,
 * write, revert_call, revert_send, final_balance. Exits non-zero on the first failure.
 */

import { ContractFactory, JsonRpcProvider, NonceManager, Wallet, isError } from "ethers";

import { check, rpcRequests, runChecks } from "./common.mjs";

/** Receipt polling interval (ethers defaults to 4 s, slow for a dev chain). */
const POLLING_INTERVAL_MS = 250;

/**
 * The revert reason ethers decoded from a CALL_EXCEPTION, or fail with what was thrown.
 * ethers puts the decoded `Error(string)` in `error.reason` and `error.revert.args[0]`.
 */
function revertReason(error, what) {
  check(isError(error, "CALL_EXCEPTION"),
    `${what}: expected a CALL_EXCEPTION, got ${error?.code ?? error?.name}: ${error?.shortMessage ?? error?.message}`);
  // Without revert data ethers still sets a placeholder reason ("require(false)"): insist
  // on a decoded Error(string).
  check(error.revert?.name === "Error" && typeof error.reason === "string",
    `${what}: ethers decoded no Error(string) revert (data=${error.data ?? "none"}): ${error.shortMessage}`);
  return {
    reason: error.reason,
    shortMessage: error.shortMessage,
    revertName: error.revert?.name ?? null,
    data: error.data,
  };
}

await runChecks(import.meta.url, async (opts, step) => {
  const provider = new JsonRpcProvider(opts.rpcUrl, undefined, { pollingInterval: POLLING_INTERVAL_MS });
  await provider.on("debug", (info) => {
    if (info.action === "sendRpcPayload") rpcRequests.record(info.payload);
  });
  const wallet = new Wallet(opts.privateKey, provider);
  // ethers caches identical requests for 250 ms, so on a fast chain two sends in a row can
  // read the same `eth_getTransactionCount`; NonceManager hands out nonces locally instead.
  const signer = new NonceManager(wallet);
  const waitFor = async (tx) => {
    const receipt = await tx.wait(1, opts.timeoutMs);
    check(receipt !== null, `no receipt for ${tx.hash}`);
    return receipt;
  };

  await step("chain_id", async () => {
    const { chainId } = await provider.getNetwork();
    check(chainId === BigInt(opts.chainId), `node reports chain id ${chainId}, expected ${opts.chainId}`);
    return { chainId: Number(chainId) };
  });

  const balanceBefore = await step("balance", async () => {
    const balance = await provider.getBalance(wallet.address);
    check(balance > 0n, `sender ${wallet.address} has no funds`);
    return { address: wallet.address, balance };
  }).then((facts) => facts.balance);

  await step("transfer", async () => {
    const recipient = Wallet.createRandom().address;
    const recipientBefore = await provider.getBalance(recipient);
    const tx = await signer.sendTransaction({ to: recipient, value: opts.transferWei, type: 2 });
    check(tx.type === 2 && tx.maxFeePerGas !== null, `ethers did not build an EIP-1559 transaction (type ${tx.type})`);
    const receipt = await waitFor(tx);
    check(receipt.status === 1, `transfer ${tx.hash} has status ${receipt.status}`);
    check(receipt.type === 2, `transfer receipt has type ${receipt.type}, expected 2`);
    const mined = await provider.getTransaction(tx.hash);
    check(mined !== null, `eth_getTransactionByHash(${tx.hash}) returned null`);
    // State at the receipt's block: a distinct request, so ethers' request cache can't answer it.
    const recipientBalance = await provider.getBalance(recipient, receipt.blockNumber);
    check(recipientBalance === opts.transferWei,
      `recipient ${recipient} balance ${recipientBalance}, expected ${opts.transferWei}`);
    return {
      hash: tx.hash,
      recipient,
      value: opts.transferWei,
      recipientBalanceBefore: recipientBefore,
      recipientBalance,
      status: receipt.status,
      type: receipt.type,
      minedType: mined.type,
      maxFeePerGas: mined.maxFeePerGas,
      maxPriorityFeePerGas: mined.maxPriorityFeePerGas,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
      effectiveGasPrice: receipt.gasPrice,
    };
  });

  const factory = new ContractFactory(opts.artifact.abi, opts.artifact.bytecode, signer);
  let probe;
  await step("deploy", async () => {
    const deployed = await factory.deploy();
    const tx = deployed.deploymentTransaction();
    const receipt = await waitFor(tx);
    check(receipt.status === 1, `deployment ${tx.hash} has status ${receipt.status}`);
    const address = await deployed.getAddress();
    check(receipt.contractAddress === address,
      `receipt contractAddress ${receipt.contractAddress} differs from the computed ${address}`);
    const code = await provider.getCode(address);
    check(code !== "0x", `no code at ${address} after deployment`);
    probe = deployed;
    return { hash: tx.hash, address, status: receipt.status, blockNumber: receipt.blockNumber, codeSize: (code.length - 2) / 2 };
  });

  await step("read", async () => ({ value: await probe.get() }));

  const lastBlock = await step("write", async () => {
    const tx = await probe.set(opts.setValue);
    const receipt = await waitFor(tx);
    check(receipt.status === 1, `set(${opts.setValue}) ${tx.hash} has status ${receipt.status}`);
    const events = receipt.logs
      .map((log) => probe.interface.parseLog(log))
      .filter((parsed) => parsed?.name === "ValueChanged");
    check(events.length === 1, `expected one ValueChanged log in ${tx.hash}, found ${events.length}`);
    const [event] = events;
    const readBack = await probe.get({ blockTag: receipt.blockNumber });
    check(readBack === opts.setValue, `get() returned ${readBack} after set(${opts.setValue})`);
    return {
      hash: tx.hash,
      status: receipt.status,
      logCount: receipt.logs.length,
      event: { name: event.name, who: event.args.who, value: event.args.value },
      readBack,
      blockNumber: receipt.blockNumber,
    };
  }).then((facts) => facts.blockNumber);

  await step("revert_call", async () => {
    try {
      await probe.fail.staticCall();
    } catch (error) {
      return { via: "eth_call", ...revertReason(error, "fail() via eth_call") };
    }
    throw new Error("fail() via eth_call did not revert");
  });

  await step("revert_send", async () => {
    try {
      // `fail` is pure, so `probe.fail()` would be an eth_call; `.send` makes a transaction,
      // which estimates gas first: the node must reject that with the revert data.
      const tx = await probe.fail.send();
      await waitFor(tx);
    } catch (error) {
      return { via: "eth_estimateGas", ...revertReason(error, "fail() sent as a transaction") };
    }
    throw new Error("fail() sent as a transaction did not revert");
  });

  await step("final_balance", async () => {
    const balance = await provider.getBalance(wallet.address, lastBlock);
    check(balanceBefore - balance >= opts.transferWei,
      `sender balance fell by ${balanceBefore - balance}, less than the ${opts.transferWei} sent`);
    return { address: wallet.address, blockNumber: lastBlock, balance, spent: balanceBefore - balance };
  });

  provider.destroy();
});
