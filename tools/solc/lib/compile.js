'use strict';
/**
 * Compiler mode of the native solc (`solc [options] file.sol ... [-]`) on top of solc-js:
 * the command line becomes a Standard JSON input, and the Standard JSON output is printed
 * the way the native CLI prints it (--combined-json documents, per-contract sections such as
 * `Binary:` and `Contract JSON ABI`, or files in --output-dir).
 */

const fs = require('fs');
const path = require('path');
const { FileLoader, UsageError } = require('./loader');
const { printJson, removeNullMembers } = require('./json');
const { keccak256, libraryPlaceholderHint, parseLibraries, librariesForStandardJson } = require('./link');
const { jsonIndent, HUMAN_OUTPUTS } = require('./options');

/** --combined-json component -> where it lives in a Standard JSON contract output. */
const COMBINED_JSON_SOURCES = {
  'abi': ['abi'],
  'asm': ['evm', 'legacyAssembly'],
  'bin': ['evm', 'bytecode', 'object'],
  'bin-runtime': ['evm', 'deployedBytecode', 'object'],
  'devdoc': ['devdoc'],
  'function-debug': ['evm', 'bytecode', 'functionDebugData'],
  'function-debug-runtime': ['evm', 'deployedBytecode', 'functionDebugData'],
  'generated-sources': ['evm', 'bytecode', 'generatedSources'],
  'generated-sources-runtime': ['evm', 'deployedBytecode', 'generatedSources'],
  'hashes': ['evm', 'methodIdentifiers'],
  'metadata': ['metadata'],
  'opcodes': ['evm', 'bytecode', 'opcodes'],
  'srcmap': ['evm', 'bytecode', 'sourceMap'],
  'srcmap-runtime': ['evm', 'deployedBytecode', 'sourceMap'],
  'storage-layout': ['storageLayout'],
  'transient-storage-layout': ['transientStorageLayout'],
  'userdoc': ['userdoc'],
};

/** Per-contract CLI output -> Standard JSON output selections it needs. */
const HUMAN_OUTPUT_SELECTIONS = {
  'asm': ['evm.assembly'],
  'asm-json': ['evm.legacyAssembly'],
  'opcodes': ['evm.bytecode.opcodes'],
  'bin': ['evm.bytecode.object', 'evm.bytecode.linkReferences'],
  'bin-runtime': ['evm.deployedBytecode.object', 'evm.deployedBytecode.linkReferences'],
  'ir': ['ir'],
  'ir-optimized': ['irOptimized'],
  'hashes': ['abi', 'evm.methodIdentifiers'],
  'metadata': ['metadata'],
  'abi': ['abi'],
  'storage-layout': ['storageLayout'],
  'transient-storage-layout': ['transientStorageLayout'],
  'devdoc': ['devdoc'],
  'userdoc': ['userdoc'],
};

const get = (obj, keys) => keys.reduce((o, k) => (o == null ? undefined : o[k]), obj);

/** Split positional arguments into remappings, input paths and the stdin marker. */
function classifyPositionals(positionals) {
  const remappings = [];
  const paths = [];
  let stdin = false;
  for (const arg of positionals) {
    if (arg.includes('=')) {
      const eq = arg.indexOf('=');
      const colon = arg.slice(0, eq).indexOf(':');
      const prefix = colon === -1 ? arg.slice(0, eq) : arg.slice(colon + 1, eq);
      if (prefix === '') throw new UsageError(`Invalid remapping: "${arg}".`);
      remappings.push({ text: arg, target: arg.slice(eq + 1) });
    } else if (arg === '-') {
      stdin = true;
    } else if (!paths.includes(arg)) {
      paths.push(arg);
    }
  }
  return { remappings, paths, stdin };
}

/** The directory native solc allows for a remapping target (`/a/b/c` -> `/a/b/`). */
function remappingTargetDirectory(target) {
  if (target.endsWith('/') || path.posix.basename(target) === '..') return target;
  const slash = target.lastIndexOf('/');
  return slash === -1 ? '.' : target.slice(0, slash + 1);
}

/** Gather the sources named on the command line into the loader and a sources object. */
function readInputs(loader, { paths, stdin }, options, readStdin, report) {
  const sources = {};
  const byName = new Map();
  for (const p of paths) {
    const name = loader.cliPathToSourceUnitName(p);
    const normalized = path.posix.resolve(p);
    if (!byName.has(name)) byName.set(name, new Set());
    byName.get(name).add(normalized);
  }
  const collisions = [...byName].filter(([, set]) => set.size >= 2);
  if (collisions.length) {
    throw new UsageError(
      'Source unit name collision detected. The specified values of base path and/or include paths ' +
      'would result in multiple input files being assigned the same source unit name:\n' +
      collisions.map(([n, set]) => `${n} matches: ${[...set].map((s) => `"${s}"`).join(', ')}\n`).join(''));
  }
  for (const p of paths) {
    let problem = null;
    if (!fs.existsSync(p)) problem = 'is not found';
    else if (!fs.statSync(p).isFile()) problem = 'is not a valid file';
    if (problem) {
      if (!options['ignore-missing']) throw new UsageError(`"${p}" ${problem}.`);
      report(`Info: "${p}" ${problem}. Skipping.`);
      continue;
    }
    sources[loader.cliPathToSourceUnitName(p)] = { content: fs.readFileSync(p, 'utf8') };
    loader.allowDirectory(path.posix.dirname(fs.realpathSync(p)));
  }
  if (stdin) sources['<stdin>'] = { content: readStdin() };
  if (Object.keys(sources).length === 0) {
    throw new UsageError('All specified input files either do not exist or are not regular files.');
  }
  return sources;
}

/** Standard JSON settings equivalent to the compiler-mode options. */
function buildSettings(options, remappings, combined, human) {
  const contractOutputs = new Set(['abi']); // always: it lists the contracts
  let fileOutputs = [];
  for (const c of combined) {
    if (c === 'ast') fileOutputs = ['ast'];
    else contractOutputs.add(COMBINED_JSON_SOURCES[c].join('.'));
  }
  for (const h of human) {
    if (h === 'ast-compact-json') fileOutputs = ['ast'];
    else HUMAN_OUTPUT_SELECTIONS[h].forEach((s) => contractOutputs.add(s));
  }
  const settings = {
    outputSelection: { '*': { '*': [...contractOutputs], '': fileOutputs } },
    optimizer: {
      enabled: Boolean(options.optimize),
      runs: options['optimize-runs'] !== undefined ? Number(options['optimize-runs']) : 200,
    },
  };
  if (options['no-optimize-yul'] || options['yul-optimizations'] !== undefined) {
    settings.optimizer.details = { yul: !options['no-optimize-yul'] };
    if (options['yul-optimizations'] !== undefined) {
      settings.optimizer.details.yulDetails = { optimizerSteps: options['yul-optimizations'] };
    }
  }
  if (remappings.length) settings.remappings = remappings.map((r) => r.text);
  if (options['evm-version'] !== undefined) settings.evmVersion = options['evm-version'];
  if (options['via-ir'] || options['experimental-via-ir']) settings.viaIR = true;
  const metadata = {};
  if (options['metadata-literal']) metadata.useLiteralContent = true;
  if (options['metadata-hash'] !== undefined) metadata.bytecodeHash = options['metadata-hash'];
  if (options['no-cbor-metadata']) metadata.appendCBOR = false;
  if (Object.keys(metadata).length) settings.metadata = metadata;
  const debug = {};
  if (options['revert-strings'] !== undefined) debug.revertStrings = options['revert-strings'];
  if (options['debug-info'] !== undefined) debug.debugInfo = options['debug-info'].split(',');
  if (Object.keys(debug).length) settings.debug = debug;
  if (options.libraries) {
    const libs = librariesForStandardJson(parseLibraries(options.libraries));
    if (Object.keys(libs).length) settings.libraries = libs;
  }
  return settings;
}

/** Turn a settings error of the compiler into the native CLI's option error. */
function optionErrorFor(error, options) {
  const message = error.message || '';
  if (/Invalid EVM version/i.test(message)) {
    return new UsageError(`Invalid option for --evm-version: ${options['evm-version']}`);
  }
  if (/optimizerSteps|optimiser step|Invalid optimizer step/i.test(message)) {
    return new UsageError(`Invalid optimizer step sequence in --yul-optimizations: ${message}`);
  }
  return null;
}

/** `type` of an ABI parameter in canonical form, tuples expanded. */
function canonicalType(param) {
  if (!param.type.startsWith('tuple')) return param.type;
  return '(' + param.components.map(canonicalType).join(',') + ')' + param.type.slice('tuple'.length);
}

const signature = (item) => `${item.name}(${item.inputs.map(canonicalType).join(',')})`;

/** The `--hashes` text: functions, then errors and events when the contract has any. */
function signatureHashesText(contract) {
  const sortedEntries = (obj) => Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let out = 'Function signatures:\n';
  for (const [sig, hash] of sortedEntries(contract.evm.methodIdentifiers || {})) out += `${hash}: ${sig}\n`;
  const errors = {};
  const events = {};
  for (const item of contract.abi || []) {
    if (item.type === 'error') errors[signature(item)] = keccak256(signature(item)).slice(0, 8);
    if (item.type === 'event' && !item.anonymous) events[signature(item)] = keccak256(signature(item));
  }
  if (Object.keys(errors).length) {
    out += '\nError signatures:\n';
    for (const [sig, hash] of sortedEntries(errors)) out += `${hash}: ${sig}\n`;
  }
  if (Object.keys(events).length) {
    out += '\nEvent signatures:\n';
    for (const [sig, hash] of sortedEntries(events)) out += `${hash}: ${sig}\n`;
  }
  return out;
}

/** Hex bytecode with the `// $...$ -> lib` hints native solc adds for unlinked libraries. */
function bytecodeWithHints(bytecode) {
  let out = bytecode.object;
  const names = [];
  for (const [file, libs] of Object.entries(bytecode.linkReferences || {})) {
    for (const lib of Object.keys(libs)) names.push(`${file}:${lib}`);
  }
  if (names.length) out += '\n' + names.sort().map((n) => '\n' + libraryPlaceholderHint(n)).join('');
  return out;
}

/**
 * Run compiler mode.
 * @param {object} solc the solc-js module
 * @param {object} options parsed options
 * @param {string[]} positionals
 * @param {object} io {stdout(str), stderr(str), readStdin() -> str, version}
 * @returns {number} exit code
 */
function runCompiler(solc, options, positionals, io) {
  const indent = jsonIndent(options);
  const classified = classifyPositionals(positionals);
  if (classified.paths.length === 0 && !classified.stdin) {
    throw new UsageError(
      'No input files given. If you wish to use the standard input please specify "-" explicitly.');
  }
  const allowPaths = (options['allow-paths'] || '').split(',').filter(Boolean);
  const loader = new FileLoader({
    basePath: options['base-path'] || '',
    includePaths: options['include-path'] || [],
    allowedDirectories: [
      ...allowPaths,
      ...classified.remappings
        .filter((r) => r.target !== '')
        .map((r) => remappingTargetDirectory(r.target)),
    ],
  });
  loader.checkBasePath();
  let hasOutput = false;
  const report = (line) => { hasOutput = true; io.stderr(line + '\n'); };
  const sources = readInputs(loader, classified, options, io.readStdin, report);

  const combined = options['combined-json'] !== undefined ? options['combined-json'].split(',') : [];
  const human = HUMAN_OUTPUTS.filter((o) => options[o]);
  const settings = buildSettings(options, classified.remappings, combined, human);
  const input = { language: 'Solidity', sources, settings };
  const callbacks = options['no-import-callback'] ? undefined : loader.callbacks();
  const output = JSON.parse(solc.compile(JSON.stringify(input), callbacks));

  let failed = false;
  for (const error of output.errors || []) {
    if (error.severity === 'error' && !error.sourceLocation) {
      const optionError = optionErrorFor(error, options);
      if (optionError) throw optionError;
    }
    report((error.formattedMessage || `${error.type}: ${error.message}`).replace(/\n+$/, '\n'));
    if (error.severity === 'error') failed = true;
  }
  if (failed) return 1;

  const contracts = [];
  for (const file of Object.keys(output.contracts || {}).sort()) {
    for (const name of Object.keys(output.contracts[file]).sort()) {
      contracts.push({ file, name, fq: `${file}:${name}`, data: output.contracts[file][name] });
    }
  }
  contracts.sort((a, b) => (a.fq < b.fq ? -1 : a.fq > b.fq ? 1 : 0));
  const outputDir = options['output-dir'];
  const writer = new OutputWriter(outputDir, options.overwrite);
  const say = (text) => { hasOutput = true; io.stdout(text); };

  if (options['combined-json'] !== undefined) {
    const json = printJson(combinedJson(output, contracts, combined, io.version), indent);
    if (outputDir) writer.create('combined.json', json);
    else say(json + '\n');
  }

  if (options['ast-compact-json']) {
    const names = Object.keys(output.sources || {}).sort();
    if (outputDir) {
      for (const name of names) {
        writer.create(path.posix.basename(name) + '_json.ast', printJson(output.sources[name].ast, indent));
      }
    } else {
      say('JSON AST (compact format):\n\n');
      for (const name of names) say(`\n======= ${name} =======\n` + printJson(output.sources[name].ast, indent));
    }
  }

  const perContract = human.filter((h) => h !== 'ast-compact-json');
  if (perContract.length) {
    const shortNames = contracts.map((c) => c.name);
    for (const c of contracts) {
      // Like CompilerStack::filesystemFriendlyName: the short name unless it is ambiguous.
      const unique = shortNames.filter((n) => n === c.name).length === 1;
      const friendly = unique ? c.name : c.fq.replace(/[/:.]/g, '_');
      if (!outputDir) say(`\n======= ${c.fq} =======\n`);
      for (const [title, file, text] of humanSections(c.data, options, indent)) {
        if (outputDir) writer.create(friendly + file, text);
        else say(title + '\n' + text + (text.endsWith('\n') ? '' : '\n'));
      }
    }
  }

  if (!hasOutput) {
    if (outputDir) say(`Compiler run successful. Artifact(s) can be found in directory ${outputDir}.\n`);
    else if (contracts.length === 0) say('Compiler run successful. No contracts to compile.\n');
    else say('Compiler run successful. No output generated.\n');
  }
  return 0;
}

/** [title, file suffix, text] of each requested per-contract output, in native order. */
function humanSections(data, options, indent) {
  const sections = [];
  const json = (v) => printJson(removeNullMembers(v), indent);
  if (options['asm-json']) sections.push(['EVM assembly:', '_evm.json', json(data.evm.legacyAssembly)]);
  else if (options.asm) sections.push(['EVM assembly:', '.evm', data.evm.assembly || '']);
  if (options.opcodes) sections.push(['Opcodes:', '.opcode', data.evm.bytecode.opcodes]);
  if (options.bin) sections.push(['Binary:', '.bin', bytecodeWithHints(data.evm.bytecode)]);
  if (options['bin-runtime']) {
    const runtime = bytecodeWithHints(data.evm.deployedBytecode);
    sections.push(['Binary of the runtime part:', '.bin-runtime', runtime]);
  }
  if (options.ir) sections.push(['IR:', '.yul', data.ir || '']);
  if (options['ir-optimized']) sections.push(['Optimized IR:', '_opt.yul', data.irOptimized || '']);
  if (options.hashes) {
    const text = signatureHashesText(data);
    sections.push([text.slice(0, text.indexOf('\n')), '.signatures', text.slice(text.indexOf('\n') + 1)]);
  }
  if (options.metadata) sections.push(['Metadata:', '_meta.json', data.metadata]);
  if (options.abi) sections.push(['Contract JSON ABI', '.abi', json(data.abi)]);
  if (options['storage-layout']) {
    sections.push(['Contract Storage Layout:', '_storage.json', json(data.storageLayout)]);
  }
  if (options['transient-storage-layout']) {
    const layout = json(data.transientStorageLayout);
    sections.push(['Contract Transient Storage Layout:', '_transient_storage.json', layout]);
  }
  if (options.devdoc) sections.push(['Developer Documentation', '.docdev', json(data.devdoc)]);
  if (options.userdoc) sections.push(['User Documentation', '.docuser', json(data.userdoc)]);
  return sections;
}

/** The --combined-json document (native CommandLineInterface::handleCombinedJSON). */
function combinedJson(output, contracts, components, version) {
  const doc = { version, contracts: {} };
  for (const c of contracts) {
    const entry = {};
    for (const component of components) {
      if (component === 'ast') continue;
      let value = get(c.data, COMBINED_JSON_SOURCES[component]);
      if ((component === 'srcmap' || component === 'srcmap-runtime') && value === undefined) value = '';
      if (value !== undefined) entry[component] = value;
    }
    doc.contracts[c.fq] = entry;
  }
  if (contracts.length === 0) delete doc.contracts;
  const sources = output.sources || {};
  const sourceNames = Object.keys(sources).sort((a, b) => sources[a].id - sources[b].id);
  if (components.some((c) => c === 'ast' || c === 'srcmap' || c === 'srcmap-runtime')) {
    doc.sourceList = sourceNames;
  }
  if (components.includes('ast')) {
    doc.sources = {};
    for (const name of sourceNames) doc.sources[name] = { AST: sources[name].ast, id: sources[name].id };
  }
  return removeNullMembers(doc);
}

/** Files in --output-dir, refusing to overwrite without --overwrite like native solc. */
class OutputWriter {
  constructor(dir, overwrite) {
    this.dir = dir;
    this.overwrite = Boolean(overwrite);
  }

  create(fileName, data) {
    fs.mkdirSync(path.resolve(this.dir), { recursive: true });
    const target = path.join(this.dir, fileName);
    if (fs.existsSync(target) && !this.overwrite) {
      throw new UsageError(`Refusing to overwrite existing file "${target}" (use --overwrite to force).`);
    }
    fs.writeFileSync(target, data);
  }
}

module.exports = { runCompiler };
