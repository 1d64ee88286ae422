'use strict';
/**
 * Command-line parsing for the solc-js wrapper, following the native solc's options
 * (solc/CommandLineParser.cpp) and its error messages, because py-solc-x reads them:
 * `unrecognised option '--x'` becomes solcx.exceptions.UnknownOption and
 * `Invalid option for --x: y` becomes solcx.exceptions.UnknownValue.
 *
 * Options the native compiler has but this wrapper does not implement are rejected with a
 * message that says so, instead of being silently ignored.
 */

const { UsageError } = require('./loader');

/** Per-contract outputs of compiler mode, in the order native solc prints them. */
const HUMAN_OUTPUTS = [
  'ast-compact-json', 'asm', 'asm-json', 'opcodes', 'bin', 'bin-runtime', 'ir', 'ir-optimized',
  'hashes', 'metadata', 'abi', 'storage-layout', 'transient-storage-layout', 'devdoc', 'userdoc',
];

/** Components accepted by --combined-json (native CombinedJsonRequests::componentMap). */
const COMBINED_JSON_COMPONENTS = [
  'abi', 'asm', 'ast', 'bin', 'bin-runtime', 'devdoc', 'function-debug',
  'function-debug-runtime', 'generated-sources', 'generated-sources-runtime', 'hashes',
  'metadata', 'opcodes', 'srcmap', 'srcmap-runtime', 'storage-layout',
  'transient-storage-layout', 'userdoc',
];

/** Options taking a value; `multi` ones may be repeated. */
const VALUE_OPTIONS = {
  'base-path': {}, 'include-path': { multi: true }, 'allow-paths': {},
  'evm-version': {}, 'optimize-runs': {}, 'revert-strings': {}, 'metadata-hash': {},
  'output-dir': {}, 'libraries': { multi: true }, 'combined-json': {},
  'yul-optimizations': {}, 'debug-info': {}, 'json-indent': {},
};

const FLAG_OPTIONS = new Set([
  'help', 'version', 'license', 'standard-json', 'link', 'optimize', 'via-ir',
  'experimental-via-ir', 'metadata-literal', 'no-cbor-metadata', 'overwrite',
  'no-import-callback', 'ignore-missing', 'pretty-json', 'optimize-yul', 'no-optimize-yul',
  'color', 'no-color', 'error-codes', ...HUMAN_OUTPUTS,
]);

/** Native options this wrapper does not implement. */
const UNSUPPORTED_OPTIONS = new Set([
  'ir-ast-json', 'ir-optimized-ast-json', 'yul-cfg-json', 'gas',
  'assemble', 'strict-assembly', 'import-ast', 'import-asm-json', 'lsp', 'machine',
  'yul-dialect', 'stop-after', 'experimental-eof-version', 'model-checker-contracts',
  'model-checker-div-mod-no-slacks', 'model-checker-engine', 'model-checker-ext-calls',
  'model-checker-invariants', 'model-checker-print-query', 'model-checker-show-proved-safe',
  'model-checker-show-unproved', 'model-checker-show-unsupported', 'model-checker-solvers',
  'model-checker-targets', 'model-checker-timeout', 'model-checker-bmc-loop-iterations',
]);

const SHORT_ALIASES = { o: 'output-dir', h: 'help' };

const REVERT_STRINGS = ['default', 'strip', 'debug', 'verboseDebug'];
const METADATA_HASHES = ['ipfs', 'bzzr1', 'none'];

/**
 * Parse argv (without node and script) into {options, positionals}.
 * `options` maps option names to true, a string, or (multi) an array of strings.
 */
function parseArgs(argv) {
  const options = {};
  const positionals = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    let name;
    let inlineValue;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inlineValue = eq === -1 ? undefined : arg.slice(eq + 1);
    } else {
      name = SHORT_ALIASES[arg.slice(1, 2)];
      if (!name) throw new UsageError(`unrecognised option '${arg}'`);
      inlineValue = arg.length > 2 ? arg.slice(2) : undefined;
    }
    if (UNSUPPORTED_OPTIONS.has(name)) {
      throw new UsageError(
        `Option --${name} is not supported by this solc-js based solc (tools/solc/bin/solc). ` +
        'Use --standard-json with the matching outputSelection/settings, or a native solc binary.');
    }
    if (name in VALUE_OPTIONS) {
      let value = inlineValue;
      if (value === undefined) {
        if (i + 1 >= argv.length) {
          throw new UsageError(`the required argument for option '--${name}' is missing`);
        }
        value = argv[++i];
      }
      if (VALUE_OPTIONS[name].multi) (options[name] = options[name] || []).push(value);
      else if (name in options) {
        throw new UsageError(`option '--${name}' cannot be specified more than once`);
      } else options[name] = value;
    } else if (FLAG_OPTIONS.has(name)) {
      if (inlineValue !== undefined) {
        throw new UsageError(`option '--${name}' does not take any arguments`);
      }
      options[name] = true;
    } else {
      throw new UsageError(`unrecognised option '${arg.split('=')[0]}'`);
    }
  }
  return { options, positionals };
}

/** Which mode the arguments select, checking that exclusive modes are not mixed. */
function selectMode(options) {
  const exclusive = ['help', 'license', 'version', 'standard-json', 'link'];
  const given = exclusive.filter((m) => options[m]);
  if (given.length > 1) {
    throw new UsageError(
      `The following options are mutually exclusive: ${given.map((m) => '--' + m).join(', ')}. ` +
      'Select at most one.');
  }
  return given[0] || 'compile';
}

/** Checks of option values shared by the modes that compile. */
function validateValues(options) {
  if (options['revert-strings'] !== undefined) {
    const v = options['revert-strings'];
    if (!REVERT_STRINGS.includes(v)) throw new UsageError(`Invalid option for --revert-strings: ${v}`);
    if (v === 'verboseDebug') {
      throw new UsageError('Only "default", "strip" and "debug" are implemented for --revert-strings for now.');
    }
  }
  if (options['metadata-hash'] !== undefined && !METADATA_HASHES.includes(options['metadata-hash'])) {
    throw new UsageError(`Invalid option for --metadata-hash: ${options['metadata-hash']}`);
  }
  if (options['optimize-runs'] !== undefined && !/^\d+$/.test(options['optimize-runs'])) {
    throw new UsageError(`the argument ('${options['optimize-runs']}') for option '--optimize-runs' is invalid`);
  }
  if (options['json-indent'] !== undefined && !/^\d+$/.test(options['json-indent'])) {
    throw new UsageError(`the argument ('${options['json-indent']}') for option '--json-indent' is invalid`);
  }
  if (options['include-path'] && !options['base-path']) {
    throw new UsageError('--include-path option requires a non-empty base path.');
  }
  for (const p of options['include-path'] || []) {
    if (p === '') throw new UsageError('Empty values are not allowed in --include-path.');
  }
  if (options['no-import-callback'] && options['allow-paths'] !== undefined) {
    throw new UsageError(
      'The following options are mutually exclusive: --no-import-callback, --allow-paths. Select at most one.');
  }
  if (options['combined-json'] !== undefined) {
    for (const item of options['combined-json'].split(',')) {
      if (!COMBINED_JSON_COMPONENTS.includes(item)) {
        throw new UsageError(`Invalid option to --combined-json: ${item}`);
      }
    }
  }
}

/** Indentation for JSON output: null for compact. */
function jsonIndent(options) {
  if (options['json-indent'] !== undefined) return Number(options['json-indent']);
  return options['pretty-json'] ? 2 : null;
}

function helpText(version) {
  return `solc, the Solidity commandline compiler.

This program comes with ABSOLUTELY NO WARRANTY. This is free software, and you
are welcome to redistribute it under certain conditions. See 'solc --license'
for details.

This build (tools/solc/bin/solc) runs the solc-js compiler ${version}
from the npm package "solc" behind the native command line interface.

Usage: solc [options] [input_file...]
Compiles the given Solidity input files (or the standard input if none given or
"-" is used as a file name) and outputs the components specified in the options
at standard output or in files in the output directory, if specified.
Imports are automatically read from the filesystem, but it is also possible to
remap paths using the context:prefix=path syntax.
Example:
solc --bin -o /tmp/solcoutput dapp-bin=/usr/local/lib/dapp-bin contract.sol

General Information:
  --help               Show help message and exit.
  --version            Show version and exit.
  --license            Show licensing information and exit.

Input Options:
  --base-path path     Use the given path as the root of the source tree
                       instead of the root of the filesystem.
  --include-path path  Make an additional source directory available to the
                       default import callback. Use this option if you want to
                       import contracts whose location is not fixed in relation
                       to your main source tree, e.g. third-party libraries
                       installed using a package manager. Can be used multiple
                       times. Can only be used if base path has a non-empty
                       value.
  --allow-paths path(s)
                       Allow a given path for imports. A list of paths can be
                       supplied by separating them with a comma.
  --ignore-missing     Ignore missing files.
  --no-import-callback Disable the default import callback.

Output Options:
  -o [ --output-dir ] path
                       If given, creates one file per output component and
                       contract/file at the specified directory.
  --overwrite          Overwrite existing files (used together with -o).
  --evm-version version
                       Select desired EVM version (default: the compiler's).
                       Either homestead, tangerineWhistle, spuriousDragon,
                       byzantium, constantinople, petersburg, istanbul,
                       berlin, london, paris, shanghai, cancun, prague or
                       osaka.
  --via-ir             Turn on compilation mode via the IR.
  --revert-strings debug,default,strip,verboseDebug
                       Strip revert (and require) reason strings or add
                       additional debugging information.
  --debug-info arg     Debug info components to be included in the produced
                       EVM assembly and Yul code.
  --stop-after stage   (not supported by this build)

Alternative Input Modes:
  --standard-json      Switch to Standard JSON input / output mode, ignoring
                       all options. It reads from standard input, if no input
                       file was given, otherwise it reads from the provided
                       input file. The result will be written to standard
                       output.
  --link               Switch to linker mode, ignoring all options apart from
                       --libraries and modify binaries in place.

Output Formatting:
  --pretty-json        Pretty-print all JSON output, using the default
                       indentation level (2).
  --json-indent N      Indent pretty-printed JSON with N spaces. Enables
                       '--pretty-json' automatically.
  --color              Force colored output. (ignored by this build)
  --no-color           Explicitly disable colored output.
  --error-codes        Output error codes. (ignored by this build)

Output Components:
  --ast-compact-json   AST of all source files in a compact JSON format.
  --asm                EVM assembly of the contracts.
  --asm-json           EVM assembly of the contracts in JSON format.
  --opcodes            Opcodes of the contracts.
  --bin                Binary of the contracts in hex.
  --bin-runtime        Binary of the runtime part of the contracts in hex.
  --abi                ABI specification of the contracts.
  --ir                 Intermediate Representation (IR) of all contracts.
  --ir-optimized       Optimized Intermediate Representation (IR) of all
                       contracts.
  --hashes             Function signature hashes of the contracts.
  --userdoc            Natspec user documentation of all contracts.
  --devdoc             Natspec developer documentation of all contracts.
  --metadata           Combined Metadata JSON whose IPFS hash is stored
                       on-chain.
  --storage-layout     Slots, offsets and types of the contract's state
                       variables located in storage.
  --transient-storage-layout
                       Slots, offsets and types of the contract's state
                       variables located in transient storage.

Extra Output:
  --combined-json ${COMBINED_JSON_COMPONENTS.join(',')}
                       Output a single json document containing the specified
                       information.

Metadata Options:
  --no-cbor-metadata   Do not append CBOR metadata to the end of the bytecode.
  --metadata-hash ${METADATA_HASHES.join(',')}
                       Choose hash method for the bytecode metadata or disable
                       it.
  --metadata-literal   Store referenced sources as literal data in the metadata
                       output.

Linker Options:
  --libraries libs     Direct string or file containing library addresses.
                       Syntax: <libraryName>=<address> [, or whitespace] ...
                       Address is interpreted as a hex string prefixed by 0x.

Optimizer Options:
  --optimize           Enable optimizer.
  --optimize-runs n (=200)
                       The number of runs specifies roughly how often each
                       opcode of the deployed code will be executed across the
                       lifetime of the contract.
  --optimize-yul       Legacy option, ignored. Use the general --optimize to
                       enable Yul optimizer.
  --no-optimize-yul    Disable Yul optimizer in Solidity.
  --yul-optimizations steps
                       Forces yul optimizer to use the specified sequence of
                       optimization steps instead of the built-in one.
`;
}

module.exports = {
  parseArgs, selectMode, validateValues, jsonIndent, helpText,
  HUMAN_OUTPUTS, COMBINED_JSON_COMPONENTS,
};
