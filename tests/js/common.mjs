/**
 * Shared plumbing for the client check scripts (`ethers_check.mjs`, `viem_check.mjs`):
 * command-line parsing, loading the compiled contract, and the one-JSON-object-per-line
 * step protocol that `tests/test_js_clients.py` reads.
 *
 * Protocol: every finished step prints `{"step": NAME, "ok": true, ...facts, "requests": {...}}`
 * on stdout, where `requests` counts the JSON-RPC requests (by method) the client sent
 * during that step, as recorded through `rpcRequests`.
 * The first failing step prints `{"step": NAME, "ok": false, "error": MESSAGE}` on stdout,
 * a readable message on stderr, and the process exits with status 1. Bad command-line
 * input exits with status 2. BigInt values are printed as decimal strings.
 */

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";

/** Thrown for bad command-line input or a malformed contract artifact. */
export class UsageError extends Error {
  name = "UsageError";
}

/** Thrown when the node's behaviour differs from what the check expects. */
export class CheckFailed extends Error {
  name = "CheckFailed";
}

/** Throw `CheckFailed(message)` unless `condition` holds. */
export function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

const USAGE = `usage: node SCRIPT --rpc-url URL --chain-id N --private-key 0xKEY --artifact FILE.json
                   [--transfer-wei WEI] [--set-value N] [--timeout-ms MS]

  --rpc-url       HTTP JSON-RPC endpoint of the node
  --chain-id      chain id the node must report (decimal)
  --private-key   funded account's secp256k1 key, 0x-prefixed hex
  --artifact      JSON file {"abi": [...], "bytecode": "0x..."} of the Probe contract
  --transfer-wei  value of the EIP-1559 transfer to a fresh address (default 1000000000000000)
  --set-value     value passed to Probe.set(uint256) (default 42)
  --timeout-ms    how long to wait for each receipt (default 60000)`;

const DECIMAL = /^[0-9]+$/;

/** Parse and validate the command line; throws `UsageError` on bad input. */
export function parseCommandLine(argv = process.argv.slice(2)) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        "rpc-url": { type: "string" },
        "chain-id": { type: "string" },
        "private-key": { type: "string" },
        artifact: { type: "string" },
        "transfer-wei": { type: "string", default: "1000000000000000" },
        "set-value": { type: "string", default: "42" },
        "timeout-ms": { type: "string", default: "60000" },
      },
    }));
  } catch (error) {
    throw new UsageError(`${error.message}\n${USAGE}`);
  }
  for (const name of ["rpc-url", "chain-id", "private-key", "artifact"]) {
    if (values[name] === undefined) throw new UsageError(`missing --${name}\n${USAGE}`);
  }
  for (const name of ["chain-id", "transfer-wei", "set-value", "timeout-ms"]) {
    if (!DECIMAL.test(values[name])) throw new UsageError(`--${name} must be a decimal integer, got ${JSON.stringify(values[name])}`);
  }
  let url;
  try {
    url = new URL(values["rpc-url"]);
  } catch {
    throw new UsageError(`--rpc-url is not a URL: ${JSON.stringify(values["rpc-url"])}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--rpc-url must be http(s), got ${url.protocol}`);
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(values["private-key"])) {
    throw new UsageError("--private-key must be 0x followed by 64 hex digits");
  }
  const transferWei = BigInt(values["transfer-wei"]);
  if (transferWei === 0n) throw new UsageError("--transfer-wei must be positive");
  return {
    rpcUrl: values["rpc-url"],
    chainId: Number(values["chain-id"]),
    privateKey: values["private-key"],
    artifact: loadArtifact(values.artifact),
    transferWei,
    setValue: BigInt(values["set-value"]),
    timeoutMs: Number(values["timeout-ms"]),
  };
}

/** Read `{"abi": [...], "bytecode": "0x..."}` from `path`; throws `UsageError` if malformed. */
export function loadArtifact(path) {
  let data;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read artifact ${path}: ${error.message}`);
  }
  if (!Array.isArray(data?.abi)) throw new UsageError(`artifact ${path}: "abi" must be a list`);
  let bytecode = data.bytecode;
  if (typeof bytecode !== "string") throw new UsageError(`artifact ${path}: "bytecode" must be a hex string`);
  if (!bytecode.startsWith("0x")) bytecode = `0x${bytecode}`;
  if (!/^0x([0-9a-fA-F]{2})+$/.test(bytecode)) throw new UsageError(`artifact ${path}: "bytecode" is not even-length hex`);
  return { abi: data.abi, bytecode };
}

/** Counts JSON-RPC requests by method; the scripts feed it from their library's hooks. */
export class RequestCounter {
  #counts = {};

  /** Record one JSON-RPC payload: a request object or a batch (array) of them. */
  record(payload) {
    for (const request of Array.isArray(payload) ? payload : [payload]) {
      const method = request?.method ?? "?";
      this.#counts[method] = (this.#counts[method] ?? 0) + 1;
    }
  }

  /** The counts since the last call, then start again from zero. */
  take() {
    const counts = this.#counts;
    this.#counts = {};
    return counts;
  }
}

/** The requests of the running script, attached to each step's line by `runChecks`. */
export const rpcRequests = new RequestCounter();

/** JSON with BigInt values as decimal strings. */
export function toJson(value) {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}

/**
 * Run `main(options, step)` for the script at `scriptUrl` (pass `import.meta.url`).
 * `step(name, fn)` awaits `fn()`, which returns the facts to print for that step.
 */
export async function runChecks(scriptUrl, main) {
  const script = basename(new URL(scriptUrl).pathname);
  let options;
  try {
    options = parseCommandLine();
  } catch (error) {
    process.stderr.write(`${script}: ${error.message}\n`);
    process.exit(2);
  }
  let current = "setup";
  const step = async (name, fn) => {
    current = name;
    rpcRequests.take();
    const facts = await fn();
    process.stdout.write(`${toJson({ step: name, ok: true, ...facts, requests: rpcRequests.take() })}\n`);
    return facts;
  };
  try {
    await main(options, step);
  } catch (error) {
    const message = describeError(error);
    process.stdout.write(`${toJson({ step: current, ok: false, error: message })}\n`);
    process.stderr.write(`${script}: step "${current}" failed: ${message}\n`);
    if (!(error instanceof CheckFailed) && error?.stack) process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  }
  process.exit(0);
}

/** One-line description of any thrown value, preferring the libraries' short messages. */
export function describeError(error) {
  if (error instanceof CheckFailed) return error.message;
  const name = error?.name ?? typeof error;
  const message = error?.shortMessage ?? error?.message ?? String(error);
  // viem keeps the underlying cause (e.g. "fetch failed") in `details`.
  const details = typeof error?.details === "string" && !message.includes(error.details) ? ` (${error.details})` : "";
  return `${name}: ${message}${details}`;
}
