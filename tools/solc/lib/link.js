'use strict';
/**
 * Library addresses and linking, as the native solc does them (CommandLineParser::
 * parseLibraryOption and CommandLineInterface::link): `--libraries` parsing with EIP-55
 * checksum checks, and replacing both placeholder styles in hex bytecode.
 */

const fs = require('fs');
const { keccak256 } = require('js-sha3');
const { UsageError } = require('./loader');

const PLACEHOLDER_LENGTH = 40;

/** `$<34 hex digits of keccak256(name)>$`: the 0.5+ placeholder body of library `name`. */
function libraryPlaceholder(name) {
  return '$' + keccak256(name).slice(0, 34) + '$';
}

/** The `// $...$ -> name` hint native solc appends to human-readable bytecode. */
function libraryPlaceholderHint(name) {
  return '// ' + libraryPlaceholder(name) + ' -> ' + name;
}

/** EIP-55 checksummed form of a 40-digit hex address (no 0x). */
function checksumAddress(hex) {
  const lower = hex.toLowerCase();
  const hash = keccak256(lower);
  let out = '';
  for (let i = 0; i < lower.length; i++) {
    out += parseInt(hash[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  }
  return out;
}

/** Non-strict EIP-55 check: single-case addresses pass, mixed case must be checksummed. */
function passesChecksum(hex) {
  if (hex === hex.toLowerCase() || hex === hex.toUpperCase()) return true;
  return checksumAddress(hex) === hex;
}

/**
 * Parse --libraries values (each a literal list or the path of a file holding one) into a
 * Map from library name (e.g. `file.sol:Lib`) to a lower-case 40-digit hex address.
 */
function parseLibraries(values) {
  const libraries = new Map();
  for (const value of values) {
    let data = value;
    try {
      if (fs.statSync(value).isFile()) data = fs.readFileSync(value, 'utf8');
    } catch (err) {
      // Not a file: the value itself is the list.
    }
    for (const lib of data.split(/[\s,]+/).filter(Boolean)) {
      let sep = lib.lastIndexOf('=');
      const isEqualSign = sep !== -1;
      if (!isEqualSign) {
        sep = lib.lastIndexOf(':');
        if (sep === -1) {
          throw new UsageError(`Equal sign separator missing in library address specifier "${lib}"`);
        }
      } else if (lib.indexOf('=') !== sep) {
        throw new UsageError(`Only one equal sign "=" is allowed in the address string "${lib}".`);
      }
      const name = lib.slice(0, sep).trim();
      if (libraries.has(name)) {
        throw new UsageError(`Address specified more than once for library "${name}".`);
      }
      let addr = lib.slice(sep + 1).trim();
      if (addr === '') {
        throw new UsageError(
          `Empty address provided for library "${name}".\n` +
          `Note that there should not be any whitespace after the ${isEqualSign ? 'equal sign' : 'colon'}.`);
      }
      if (!addr.startsWith('0x')) {
        throw new UsageError(
          `The address ${addr} is not prefixed with "0x".\nNote that the address must be prefixed with "0x".`);
      }
      addr = addr.slice(2);
      if (addr.length !== 40) {
        throw new UsageError(
          `Invalid length for address for library "${name}": ${addr.length} instead of 40 characters.`);
      }
      if (!/^[0-9a-fA-F]{40}$/.test(addr) || /^0{40}$/.test(addr)) {
        throw new UsageError(`Invalid address for library "${name}": ${addr}`);
      }
      if (!passesChecksum(addr)) {
        throw new UsageError(
          `Invalid checksum on address for library "${name}": ${addr}\n` +
          `The correct checksum is 0x${checksumAddress(addr)}`);
      }
      libraries.set(name, addr.toLowerCase());
    }
  }
  return libraries;
}

/** The standard JSON `settings.libraries` for fully qualified names (`file:Name`). */
function librariesForStandardJson(libraries) {
  const out = {};
  for (const [name, addr] of libraries) {
    const colon = name.lastIndexOf(':');
    // Unqualified names match no contract in 0.8 (native solc ignores them the same way).
    if (colon === -1) continue;
    const file = name.slice(0, colon);
    (out[file] = out[file] || {})[name.slice(colon + 1)] = '0x' + addr;
  }
  return out;
}

/**
 * Link hex bytecode (possibly followed by `// $...$ -> name` hint lines): replace the
 * placeholders of the given libraries, report the others as warnings.
 * Returns {code, warnings}.
 */
function linkHex(source, sourceName, libraries) {
  const replacements = new Map();
  for (const [name, addr] of libraries) {
    replacements.set('__' + libraryPlaceholder(name) + '__', addr);
    const oldStyle = name.slice(0, PLACEHOLDER_LENGTH - 4).padEnd(PLACEHOLDER_LENGTH - 4, '_');
    replacements.set('__' + oldStyle + '__', addr);
  }
  const newline = source.indexOf('\n');
  let code = newline === -1 ? source : source.slice(0, newline);
  let hints = newline === -1 ? '' : source.slice(newline);
  const warnings = [];
  for (let i = code.indexOf('_'); i !== -1; i = code.indexOf('_', i)) {
    const candidate = code.slice(i, i + PLACEHOLDER_LENGTH);
    if (
      candidate.length < PLACEHOLDER_LENGTH || candidate[1] !== '_' ||
      candidate[PLACEHOLDER_LENGTH - 2] !== '_' || candidate[PLACEHOLDER_LENGTH - 1] !== '_'
    ) {
      throw new UsageError(
        `Error in binary object file ${sourceName} at position ${i}\n` +
        `"${candidate}" is not a valid link reference.`);
    }
    if (replacements.has(candidate)) {
      code = code.slice(0, i) + replacements.get(candidate) + code.slice(i + PLACEHOLDER_LENGTH);
    } else {
      warnings.push(`Reference "${candidate}" in file "${sourceName}" still unresolved.`);
    }
    i += PLACEHOLDER_LENGTH;
  }
  for (const name of libraries.keys()) hints = hints.split('\n' + libraryPlaceholderHint(name)).join('');
  return { code: (code + hints).replace(/\n+$/, ''), warnings };
}

module.exports = {
  keccak256, libraryPlaceholder, libraryPlaceholderHint, checksumAddress, parseLibraries,
  librariesForStandardJson, linkHex,
};
