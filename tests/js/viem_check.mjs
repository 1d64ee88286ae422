/**
 * viem 2.x end-to-end check of an Ethereum JSON-RPC node, using only standard JSON-RPC.
 *
 *   node viem_check.mjs --rpc-url URL --chain-id N --private-key 0xKEY --artifact probe.json
 *
 * Steps (one JSON line each, see common.mjs): chain_id, balance, transfer, deploy, read,
 * write, revert_call, revert_send, final_balance. Exits non-zero on the first failure.
 */

import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseEventLogs,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { check, rpcRequests, runChecks } from "./common.mjs";

/** viem receipt status as the JSON-RPC number (1 success, 0 reverted). */
const statusCode = (receipt) => (receipt.status === "success" ? 1 : 0);

/** Receipt polling interval (viem derives 4 s from its default 12 s block time). */
const POLLING_INTERVAL_MS = 250;

/**
 * The revert reason viem decoded, or fail with what was thrown. viem wraps the node's error
 * in a `ContractFunctionExecutionError` whose cause chain holds a
 * `ContractFunctionRevertedError` carrying the decoded `Error(string)` as `reason`.
 */
function revertReason(error, what) {
  check(error instanceof BaseError, `${what}: expected a viem error, got ${error?.name}: ${error?.message}`);
  const reverted = error.walk((cause) => cause instanceof ContractFunctionRevertedError);
  check(reverted instanceof ContractFunctionRevertedError,
    `${what}: no ContractFunctionRevertedError in the cause chain of ${error.name}: ${error.shortMessage}`);
  // Without revert data viem still sets a placeholder reason ("execution reverted"): insist
  // on a decoded Error(string).
  check(reverted.data?.errorName === "Error" && typeof reverted.reason === "string",
    `${what}: viem decoded no Error(string) revert (raw=${reverted.raw ?? "none"}): ${reverted.shortMessage}`);
  return {
    reason: reverted.reason,
    shortMessage: reverted.shortMessage,
    errorName: error.name,
    revertName: reverted.data?.errorName ?? null,
    data: reverted.raw ?? null,
  };
}

await runChecks(import.meta.url, async (opts, step) => {
  const chain = defineChain({
    id: opts.chainId,
    name: "Autonomys dev",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [opts.rpcUrl] } },
  });
  const transport = http(opts.rpcUrl, {
    onFetchRequest: (_request, init) => {
      rpcRequests.record(JSON.parse(init.body));
    },
  });
  const account = privateKeyToAccount(opts.privateKey);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: POLLING_INTERVAL_MS });
  const walletClient = createWalletClient({ account, chain, transport, pollingInterval: POLLING_INTERVAL_MS });
  const waitFor = (hash) => publicClient.waitForTransactionReceipt({ hash, timeout: opts.timeoutMs });

  await step("chain_id", async () => {
    const chainId = await publicClient.getChainId();
    check(chainId === opts.chainId, `node reports chain id ${chainId}, expected ${opts.chainId}`);
    return { chainId };
  });

  const balanceBefore = await step("balance", async () => {
    const balance = await publicClient.getBalance({ address: account.address });
    check(balance > 0n, `sender ${account.address} has no funds`);
    return { address: account.address, balance };
  }).then((facts) => facts.balance);

  await step("transfer", async () => {
    const recipient = privateKeyToAccount(generatePrivateKey()).address;
    const recipientBefore = await publicClient.getBalance({ address: recipient });
    const hash = await walletClient.sendTransaction({ to: recipient, value: opts.transferWei, type: "eip1559" });
    const receipt = await waitFor(hash);
    check(receipt.status === "success", `transfer ${hash} has status ${receipt.status}`);
    check(receipt.type === "eip1559", `transfer receipt has type ${receipt.type}, expected eip1559`);
    const mined = await publicClient.getTransaction({ hash });
    check(mined.type === "eip1559", `eth_getTransactionByHash(${hash}) has type ${mined.type}, expected eip1559`);
    const recipientBalance = await publicClient.getBalance({ address: recipient, blockNumber: receipt.blockNumber });
    check(recipientBalance === opts.transferWei,
      `recipient ${recipient} balance ${recipientBalance}, expected ${opts.transferWei}`);
    return {
      hash,
      recipient,
      value: opts.transferWei,
      recipientBalanceBefore: recipientBefore,
      recipientBalance,
      status: statusCode(receipt),
      type: receipt.type,
      minedType: mined.type,
      maxFeePerGas: mined.maxFeePerGas,
      maxPriorityFeePerGas: mined.maxPriorityFeePerGas,
      blockNumber: Number(receipt.blockNumber),
      gasUsed: receipt.gasUsed,
      effectiveGasPrice: receipt.effectiveGasPrice,
    };
  });

  const { abi, bytecode } = opts.artifact;
  const address = await step("deploy", async () => {
    const hash = await walletClient.deployContract({ abi, bytecode });
    const receipt = await waitFor(hash);
    check(receipt.status === "success", `deployment ${hash} has status ${receipt.status}`);
    check(receipt.contractAddress, `deployment receipt ${hash} has no contractAddress`);
    const code = await publicClient.getCode({ address: receipt.contractAddress });
    check(code !== undefined && code !== "0x", `no code at ${receipt.contractAddress} after deployment`);
    return {
      hash,
      address: receipt.contractAddress,
      status: statusCode(receipt),
      blockNumber: Number(receipt.blockNumber),
      codeSize: (code.length - 2) / 2,
    };
  }).then((facts) => facts.address);
  const probe = { abi, address };

  await step("read", async () => ({
    value: await publicClient.readContract({ ...probe, functionName: "get" }),
  }));

  const lastBlock = await step("write", async () => {
    const hash = await walletClient.writeContract({ ...probe, functionName: "set", args: [opts.setValue] });
    const receipt = await waitFor(hash);
    check(receipt.status === "success", `set(${opts.setValue}) ${hash} has status ${receipt.status}`);
    const events = parseEventLogs({ abi, logs: receipt.logs, eventName: "ValueChanged" });
    check(events.length === 1, `expected one ValueChanged log in ${hash}, found ${events.length}`);
    const [event] = events;
    check(event.address.toLowerCase() === address.toLowerCase(), `ValueChanged came from ${event.address}, not ${address}`);
    const readBack = await publicClient.readContract({ ...probe, functionName: "get", blockNumber: receipt.blockNumber });
    check(readBack === opts.setValue, `get() returned ${readBack} after set(${opts.setValue})`);
    return {
      hash,
      status: statusCode(receipt),
      logCount: receipt.logs.length,
      event: { name: event.eventName, who: event.args.who, value: event.args.value },
      readBack,
      blockNumber: Number(receipt.blockNumber),
    };
  }).then((facts) => BigInt(facts.blockNumber));

  await step("revert_call", async () => {
    try {
      await publicClient.simulateContract({ ...probe, account, functionName: "fail" });
    } catch (error) {
      return { via: "eth_call", ...revertReason(error, "fail() via eth_call") };
    }
    throw new Error("fail() via eth_call did not revert");
  });

  await step("revert_send", async () => {
    try {
      // Sending estimates gas first; the node must reject it with the revert data.
      const hash = await walletClient.writeContract({ ...probe, functionName: "fail" });
      await waitFor(hash);
    } catch (error) {
      return { via: "eth_estimateGas", ...revertReason(error, "fail() sent as a transaction") };
    }
    throw new Error("fail() sent as a transaction did not revert");
  });

  await step("final_balance", async () => {
    const balance = await publicClient.getBalance({ address: account.address, blockNumber: lastBlock });
    check(balanceBefore - balance >= opts.transferWei,
      `sender balance fell by ${balanceBefore - balance}, less than the ${opts.transferWei} sent`);
    return { address: account.address, blockNumber: Number(lastBlock), balance, spent: balanceBefore - balance };
  });
});
