'use strict';
/**
 * The host filesystem loader of the native solc (libsolidity/interface/FileReader.cpp),
 * re-implemented for solc-js: path normalisation, source unit names of command-line files,
 * and the import callback that looks a source unit name up under the base path and the
 * include paths, refusing files outside the allowed directories.
 *
 * Semantics follow the "Import Path Resolution" chapter of the Solidity docs:
 * - the base path (empty by default) and each include path are prepended to the source unit
 *   name; an empty base path leaves the name as it is, so relative names resolve against the
 *   working directory and absolute names are absolute paths;
 * - exactly one candidate may exist, else the import is ambiguous;
 * - the file must lie inside the base path (or `.` when it is empty), an include path, an
 *   `--allow-paths` directory, the directory of a command-line input file, or the directory of
 *   a remapping target.
 */

const fs = require('fs');
const path = require('path');

/** Lexically normalise `p` to an absolute POSIX path (no symlink resolution except the cwd). */
function normalizePath(p) {
  return path.posix.resolve(process.cwd(), p);
}

/**
 * Absolute path with symlinks resolved in the part of it that exists, like
 * boost::filesystem::weakly_canonical.
 */
function weaklyCanonical(p) {
  const abs = normalizePath(p);
  let existing = abs;
  const rest = [];
  for (;;) {
    try {
      const real = fs.realpathSync(existing);
      return rest.length ? path.posix.join(real, ...rest.reverse()) : real;
    } catch (err) {
      const parent = path.posix.dirname(existing);
      if (parent === existing) return abs;
      rest.push(path.posix.basename(existing));
      existing = parent;
    }
  }
}

/** True when `prefix` is `p` itself or one of its parent directories (both normalised). */
function isPathPrefix(prefix, p) {
  if (prefix === '/') return true;
  const pre = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return p === pre || p.startsWith(pre + '/');
}

/** `prefix / name` with boost::filesystem (v3) semantics: an absolute name is appended too. */
function joinUnder(prefix, name) {
  if (prefix === '') return name;
  if (prefix.endsWith('/') || name.startsWith('/')) return prefix + name;
  return prefix + '/' + name;
}

const quoted = (s) => '"' + s + '"';

class FileLoader {
  /**
   * @param {object} opts
   * @param {string} opts.basePath '' for none
   * @param {string[]} opts.includePaths
   * @param {string[]} opts.allowedDirectories raw --allow-paths entries and remapping targets
   */
  constructor({ basePath = '', includePaths = [], allowedDirectories = [] } = {}) {
    this.basePath = basePath === '' ? '' : normalizePath(basePath);
    this.includePaths = includePaths.map(normalizePath);
    this.allowedDirectories = [...allowedDirectories];
    /** Source unit name -> contents of every file this loader has read. */
    this.sources = new Map();
  }

  /** Throw a usage error unless the base path is an existing directory. */
  checkBasePath() {
    if (this.basePath === '') return;
    if (!fs.existsSync(this.basePath)) {
      throw new UsageError(`Base path does not exist: "${this.basePath}"`);
    }
    if (!fs.statSync(this.basePath).isDirectory()) {
      throw new UsageError(`Base path is not a directory: "${this.basePath}"`);
    }
  }

  allowDirectory(dir) {
    this.allowedDirectories.push(dir);
  }

  /** Source unit name of a path given on the command line. */
  cliPathToSourceUnitName(cliPath) {
    const prefixes = [this.basePath === '' ? normalizePath('.') : this.basePath, ...this.includePaths];
    const normalized = normalizePath(cliPath);
    for (const prefix of prefixes) {
      if (isPathPrefix(prefix, normalized) && normalized !== prefix) {
        return path.posix.relative(prefix, normalized);
      }
    }
    return normalized;
  }

  /**
   * The import callback: contents of source unit `name`, or an error message.
   * @returns {{contents: string} | {error: string}}
   */
  readFile(name) {
    try {
      const stripped = name.startsWith('file://') ? name.slice('file://'.length) : name;
      const prefixes = [this.basePath, ...this.includePaths];
      const candidates = [];
      for (const prefix of prefixes) {
        const candidate = weaklyCanonical(joinUnder(prefix, stripped));
        if (fs.existsSync(candidate)) candidates.push(candidate);
      }
      if (candidates.length === 0) {
        return {
          error: 'File not found. Searched the following locations: ' +
            prefixes.map(quoted).join(', ') + '.',
        };
      }
      if (candidates.length >= 2) {
        return {
          error: 'Ambiguous import. Multiple matching files found inside base path and/or include paths: ' +
            candidates.map(quoted).join(', ') + '.',
        };
      }
      const allowed = [
        ...this.allowedDirectories,
        this.basePath === '' ? '.' : this.basePath,
        ...this.includePaths,
      ];
      const file = candidates[0];
      if (!allowed.some((dir) => isPathPrefix(weaklyCanonical(dir), file))) {
        return {
          error: 'File outside of allowed directories. The following are allowed: ' +
            allowed.map(quoted).join(', ') + '.',
        };
      }
      if (!fs.statSync(file).isFile()) return { error: 'Not a valid file.' };
      const contents = fs.readFileSync(file, 'utf8');
      this.sources.set(name, contents);
      return { contents };
    } catch (err) {
      return { error: 'Exception in read callback: ' + err.message };
    }
  }

  /** The callback object solc-js expects, bound to this loader. */
  callbacks() {
    return { import: (name) => this.readFile(name) };
  }
}

/** A command-line usage error: printed as `Error: <message>`, exit code 1. */
class UsageError extends Error {}

module.exports = { FileLoader, UsageError, normalizePath, weaklyCanonical, isPathPrefix };
