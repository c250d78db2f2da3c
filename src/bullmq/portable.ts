// Module identity that survives a move to another machine. A thread of
// this process names a module by its absolute URL; a worker elsewhere has
// the same code at another path. So a remote call names it portably:
//   node:zlib                 a built-in
//   app:dist/tasks.js         a file under the app root (posix separators)
//   pkg:lodash/lodash.js      a file inside an installed package, by the
//                             package's name and the path within it
//   spec:lodash/fp            a bare specifier (fromModule('lodash/fp', ...)),
//                             resolved by the worker's threads from its root
// The caller turns URLs into these (toPortable); the worker turns them back
// into its own URLs (PortableResolver) and checks them against its `allow`
// list (AllowList) before any of its threads imports anything.
// Caller's thread and the worker's main thread. Tests: test/bullmq-identity.ts.
import { existsSync, realpathSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FunctionNotSendableError, ModuleNotAllowedError } from '../errors/errors.js';

/** Module names a resolver remembers. */
const MAX_REMEMBERED = 10_000;

/** `<portable module>#<name>`, as registered class keys and threadables cross machines. */
const KEY_SEPARATOR = '#';

/**
 * Where the name part of a portable key begins (its separator): the first
 * `#` after the module name's last `/` (not one that begins the name
 * after its `app:`, `pkg:` or `spec:`, a subpath import's). A portable
 * module name is a path, which may hold a `#` in a folder's name
 * (`app:c#lib/cls.mjs#Tag`: helper-160 found its class refused, the key
 * cut at that first `#`); a class's name may hold one too (`Name#2`, a
 * second class of one name: src/base/registry.ts); a file: URL escapes
 * the path's.
 */
function nameAt(key: string): number {
  const prefix = /^(app|pkg|spec):#?/.exec(key)?.[0].length ?? 0;
  const from = Math.max(key.lastIndexOf('/') + 1, prefix);
  return key.indexOf(KEY_SEPARATOR, from);
}

/** The package a path inside node_modules belongs to, and the path within it. */
function inPackage(file: string): { name: string; path: string } | undefined {
  const parts = file.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  const scoped = parts[at + 1]!.startsWith('@');
  const nameParts = parts.slice(at + 1, at + (scoped ? 3 : 2));
  const rest = parts.slice(at + (scoped ? 3 : 2));
  if (rest.length === 0) return undefined;
  return { name: nameParts.join('/'), path: rest.join('/') };
}

/**
 * Whether a '/'-separated path inside a root or package stays inside it:
 * no '.', '..' or empty segment, and no backslash (a separator on
 * Windows). A specifier, which Node resolves as a URL (`%2e%2e` is `..`
 * there), may not have a '%' either.
 */
function staysInside(path: string, url = false): boolean {
  return !(url ? /[\\%]/ : /\\/).test(path) && path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

function realOrSame(path: string): string {
  try { return realpathSync(path); } catch { return path; }
}

/**
 * Caller: the portable name of the module at `url`, or a
 * FunctionNotSendableError saying why it has none. `root` is the caller's
 * app root (absolute). Bare specifiers (`bare:<parent>|<specifier>`, as
 * fromModule leaves them) are resolved here first, as the caller would.
 */
export function toPortable(url: string, root: string): string {
  if (url.startsWith('node:')) return url;
  // (Memoized: naming a file reads the disk, and a caller names the same few modules on every call.)
  const key = `${root}\0${url}`;
  let portable = named.get(key);
  if (portable === undefined) {
    portable = nameOf(url, root);
    named.set(key, portable);
  }
  return portable;
}

/** toPortable's memo. */
const named = new Map<string, string>();

function nameOf(url: string, root: string): string {
  if (url.startsWith('bare:')) {
    const specifier = url.slice(url.indexOf('|') + 1);
    return builtinModules.includes(specifier) ? `node:${specifier}` : `spec:${specifier}`;
  }
  if (!url.startsWith('file:')) {
    throw new FunctionNotSendableError(`${url} is not a file: only modules on disk can be named on another machine`);
  }
  const file = realOrSame(fileURLToPath(url));
  const pkg = inPackage(file);
  if (pkg) return `pkg:${pkg.name}/${pkg.path}`;
  const rel = relative(realOrSame(root), file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new FunctionNotSendableError(
      `${file} is outside the app root ${root}: a remote worker finds modules relative to its root (set the pool's root option)`);
  }
  return `app:${rel.split(sep).join('/')}`;
}

/** Caller: a registered class's key, `<url>#<name>`, with its module made portable; as it is when it has no portable name. */
export function keyToPortable(key: string, root: string): string {
  const at = key.indexOf(KEY_SEPARATOR);
  try {
    return toPortable(key.slice(0, at), root) + key.slice(at);
  } catch {
    // (Its class will arrive as a RemoteError of the same name, or be refused by name.)
    return key;
  }
}

/**
 * Worker: portable module names back into this machine's URLs, relative
 * to the worker's app root. Memoized: a queue names few modules.
 */
export class PortableResolver {
  readonly root: string;
  readonly #urls = new Map<string, string>();
  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The local URL of a portable module name; a ModuleNotAllowedError when it names nothing here. */
  url(portable: string): string {
    let url = this.#urls.get(portable);
    if (url === undefined) {
      url = this.#resolve(portable);
      // (Bounded: jobs may name ever new modules of an allowed package.)
      if (this.#urls.size >= MAX_REMEMBERED) this.#urls.clear();
      this.#urls.set(portable, url);
    }
    return url;
  }

  /** A registered class's key, portable, back into `<local url>#<name>`; as it is when it is not portable. */
  key(key: string): string {
    const at = nameAt(key);
    const module = key.slice(0, at);
    if (!/^(app|pkg|spec):/.test(module)) return key;
    try {
      return this.url(module) + key.slice(at);
    } catch {
      return key;
    }
  }

  #resolve(portable: string): string {
    if (portable.startsWith('node:')) return portable;
    if (portable.startsWith('app:')) {
      const path = portable.slice(4);
      if (!staysInside(path)) throw notHere(portable, 'it climbs out of the app root');
      return pathToFileURL(realOrSame(join(this.root, ...path.split('/')))).href;
    }
    if (portable.startsWith('pkg:')) {
      const rest = portable.slice(4);
      const name = packageName(rest);
      const inner = rest.slice(name.length + 1).split('/');
      if (!staysInside(name) || !staysInside(inner.join('/'))) throw notHere(portable, 'it is not a file inside a package');
      const lookIn = createRequire(join(this.root, 'package.json')).resolve.paths(name) ?? [];
      for (const dir of lookIn) {
        const base = join(dir, name);
        if (existsSync(join(base, 'package.json'))) return pathToFileURL(realOrSame(join(base, ...inner))).href;
      }
      throw notHere(portable, `package '${name}' is not installed under ${this.root}`);
    }
    if (portable.startsWith('spec:')) {
      // (Node's resolver, given `lodash/../x`, leaves the package: the allow list names packages.)
      if (!staysInside(portable.slice(5), true)) throw notHere(portable, 'it is not a plain specifier of a package');
      // (The thread that imports it resolves it, as an import in a file at the root would.)
      return `bare:${pathToFileURL(join(this.root, '/')).href}|${portable.slice(5)}`;
    }
    throw notHere(portable, 'it is not a module name this worker reads');
  }
}

/**
 * Whether a package path or specifier (`lodash/fp`) goes on into a
 * node_modules folder inside the package: a package the allow list does
 * not name (pkg:allowed/node_modules/other/index.js loaded `other`; a
 * caller names a nested package's file by that package, toPortable's
 * inPackage). Any case: a case-insensitive disk finds Node_Modules too.
 */
function nestsPackage(path: string): boolean {
  return path.split('/').some((s) => s.toLowerCase() === 'node_modules');
}

/** `lodash` of `lodash/fp`, `@scope/name` of `@scope/name/x`. */
function packageName(specifier: string): string {
  return specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
}

function notHere(portable: string, why: string): ModuleNotAllowedError {
  return new ModuleNotAllowedError(portable, `this worker cannot load ${portable}: ${why}`);
}

/**
 * Worker: which modules its threads may load. Entries: a built-in
 * (`node:zlib`, or `zlib`), a package by name (`lodash`, `@scope/name`:
 * any file in it), a file (`./dist/tasks.js`), or a folder and everything
 * under it (`./dist/tasks/`), relative to the app root.
 */
export class AllowList {
  readonly #builtins = new Set<string>();
  readonly #packages = new Set<string>();
  readonly #files = new Set<string>();
  readonly #folders: string[] = [];

  constructor(entries: readonly string[], root: string) {
    if (!Array.isArray(entries) || entries.some((e) => typeof e !== 'string' || e === '')) {
      throw new TypeError('allow must be an array of module names: node:zlib, a package name, ./file.js or ./folder/');
    }
    for (const entry of entries) {
      if (entry.startsWith('node:') || builtinModules.includes(entry)) {
        this.#builtins.add(entry.startsWith('node:') ? entry : `node:${entry}`);
      } else if (entry.startsWith('./') || entry.startsWith('../') || isAbsolute(entry)) {
        const rel = relative(resolve(root), resolve(root, entry)).split(sep).join('/');
        if (rel.startsWith('..')) throw new RangeError(`allow: ${entry} is outside the app root ${root}`);
        if (entry.endsWith('/')) this.#folders.push(rel === '' ? '' : `${rel}/`);
        else this.#files.add(rel);
      } else {
        this.#packages.add(entry);
      }
    }
  }

  /** Throws a ModuleNotAllowedError unless `portable` is allowed. */
  check(portable: string): void {
    if (/^(pkg|spec):/.test(portable) && nestsPackage(portable.slice(portable.indexOf(':') + 1))) {
      throw new ModuleNotAllowedError(portable, `this worker does not allow ${portable}: it names a file in a package's`
        + ' own node_modules, another package, which the allow list must name itself');
    }
    if (this.#allows(portable)) return;
    throw new ModuleNotAllowedError(portable, `this worker does not allow ${portable}: add it to serveBullMQ's allow list`
      + ' if its functions may run here');
  }

  #allows(portable: string): boolean {
    if (portable.startsWith('node:')) return this.#builtins.has(portable);
    if (portable.startsWith('app:')) {
      const path = portable.slice(4);
      return this.#files.has(path) || this.#folders.some((f) => path.startsWith(f));
    }
    if (portable.startsWith('pkg:') || portable.startsWith('spec:')) {
      return this.#packages.has(packageName(portable.slice(portable.indexOf(':') + 1)));
    }
    return false;
  }
}
