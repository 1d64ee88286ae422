'use strict';
/**
 * JSON printing the way the native solc prints it.
 *
 * The native compiler stores JSON in ordered maps, so object keys always come out sorted
 * byte-wise; `JSON.stringify` would keep insertion order and put integer-like keys (such as
 * AST ids in `immutableReferences`) first. Compact output has no whitespace; pretty output
 * indents by `indent` spaces with `"key": value` pairs, like nlohmann::json::dump(indent).
 */

/**
 * Serialise `value` with sorted object keys.
 * @param {*} value any JSON value (objects, arrays, strings, numbers, booleans, null)
 * @param {number|null} indent null for compact output, else the number of spaces per level
 * @returns {string}
 */
function printJson(value, indent = null) {
  const pretty = indent !== null && indent !== undefined;
  const unit = pretty ? ' '.repeat(indent) : '';

  function write(v, depth) {
    if (v === null || typeof v !== 'object') {
      // Strings, numbers, booleans and null print the same in both worlds.
      return v === undefined ? 'null' : JSON.stringify(v);
    }
    const inner = pretty ? '\n' + unit.repeat(depth + 1) : '';
    const outer = pretty ? '\n' + unit.repeat(depth) : '';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return '[' + inner + v.map((x) => write(x, depth + 1)).join(',' + inner) + outer + ']';
    }
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort(compareBytes);
    if (keys.length === 0) return '{}';
    const sep = pretty ? ': ' : ':';
    const items = keys.map((k) => JSON.stringify(k) + sep + write(v[k], depth + 1));
    return '{' + inner + items.join(',' + inner) + outer + '}';
  }

  return write(value, 0);
}

/** Byte-wise (UTF-8) string order, as std::map<std::string, ...> sorts. */
function compareBytes(a, b) {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

/** Drop `null` members recursively, like solidity's removeNullMembers. */
function removeNullMembers(value) {
  if (Array.isArray(value)) return value.map(removeNullMembers);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== null) out[k] = removeNullMembers(v);
    }
    return out;
  }
  return value;
}

module.exports = { printJson, removeNullMembers };
