// Module specifiers named on one thread and imported on another: a
// fromModule() reference, or an `import(...)` inside a plain function sent
// as source. Both resolve as an import written in the calling file would,
// so the caller's file is found from the stack, and the specifier is
// turned on the caller into something the thread can import from anywhere.
// Caller side: callerURL, userCallerURL, resolveLater. Thread side:
// importURL, importerFrom. Tests: test/functions.ts, test/plain-imports.ts.
import { existsSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FunctionNotSendableError } from '../errors/errors.js';
import { isOwnFile } from '../base/own-files.js';
import { loadsTypeScript, typeScriptAdvice, typeScriptFile } from './typescript.js';

/**
 * A stack frame's file as a URL, if it is a file at all: a file: URL (an
 * ES module's), or an absolute path of this platform (a CommonJS
 * module's; on Windows also a UNC share's, \\server\share\..., for an app
 * run from a network drive). Exported for its test (test/functions.ts).
 */
export function fileURLOf(file: string | null | undefined): string | undefined {
  if (!file) return undefined;
  if (file.startsWith('file:')) return file;
  return isAbsolute(file) ? pathToFileURL(file).href : undefined;
}

function stackSites(limit: number, below: Function): NodeJS.CallSite[] {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  try {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = (_e, sites) => sites;
    Error.captureStackTrace(holder, below);
    return holder.stack ?? [];
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
}

/**
 * The module whose loading made this call to `callee` (threadable): the
 * file of the nearest frame that is a module's own top-level code, which
 * Node's module loader called; else the file of `callee`'s caller (a call
 * made later than the module's load, or under a loader of a test runner's
 * own). A thread that imports that module makes the same call again, in
 * the same order: so a helper of another module that calls threadable()
 * for it (`export const reg = (f) => threadable(f)`) registers each
 * function under the module that called it, not under the helper's, where
 * the functions of two modules were numbered in whatever order a thread
 * had imported them, and one ran as the other (helper-143).
 */
export function registeringModuleURL(callee: Function): string | undefined {
  const sites = stackSites(64, callee);
  for (let i = 0; i < sites.length; i++) {
    if (!isModuleBody(sites[i]!, sites[i + 1])) continue;
    const url = fileURLOf(sites[i]!.getFileName());
    if (url && !isOwnFile(fileURLToPath(url))) return url;
    break;
  }
  return fileURLOf(sites[0]?.getFileName());
}

/**
 * Whether `site` is a module's own top-level code: called by Node's module
 * loader, or, for an ES module evaluated asynchronously (after a top-level
 * await of its own or of a module it imports), called by Node's microtask
 * loop or by nothing (the last frame), a nameless frame whose code begins
 * at the file's start (a callback of the module's would begin elsewhere:
 * helper-145).
 */
function isModuleBody(site: NodeJS.CallSite, next: NodeJS.CallSite | undefined): boolean {
  if (next?.getFileName()?.startsWith('node:internal/modules/')) return true;
  // (In a worker of Node 22 and later, processTicksAndRejections runs it.)
  if (next && !next.getFileName()?.startsWith('node:')) return false;
  const at = site as NodeJS.CallSite & { getEnclosingLineNumber?(): number | null; getEnclosingColumnNumber?(): number | null };
  return site.getFunctionName() === null && site.getFileName()?.startsWith('file:') === true
    && at.getEnclosingLineNumber?.() === 1 && at.getEnclosingColumnNumber?.() === 1;
}

/** The file of the code that called `callee`, as a URL. */
export function callerURL(callee: Function): string | undefined {
  return fileURLOf(stackSites(1, callee)[0]?.getFileName());
}

/**
 * The file of the nearest caller outside this package (the code that
 * called deferToThread, say, however deep the package's own frames go).
 */
export function userCallerURL(): string | undefined {
  return fileURLOf(userCallerFile(32));
}

/**
 * The file of the nearest caller outside this package as its stack frame
 * names it: a file: URL for an ES module, a path for a CommonJS one;
 * looked for in the nearest `depth` frames (few by default: this runs for
 * each fresh function sent, and the package's own frames above a call
 * are about ten).
 */
export function userCallerFile(depth = 16): string | undefined {
  for (const site of stackSites(depth, userCallerFile)) {
    const file = site.getFileName();
    const url = fileURLOf(file);
    if (url && !isOwnFile(fileURLToPath(url))) return file!;
  }
  return undefined;
}

/**
 * Where the calls outside this package that led here were made, up to
 * `depth` of them (`file:line:column`, nearest first), as one string;
 * undefined when one of them is code an eval made, where the same place
 * may hold other code each time.
 */
export function userCallStack(depth: number): string | undefined {
  const frames: string[] = [];
  for (const site of stackSites(depth + 24, userCallStack)) {
    if (site.isEval()) return undefined;
    const file = site.getFileName();
    const url = fileURLOf(file);
    if (url && isOwnFile(fileURLToPath(url))) continue;
    frames.push(`${file ?? '<native>'}:${site.getLineNumber()}:${site.getColumnNumber()}`);
    if (frames.length === depth) break;
  }
  return frames.length > 0 ? frames.join('\n') : undefined;
}

/**
 * A specifier as the thread will import it: built-ins and absolute URLs as
 * they are; relative ones resolved against the caller's file now (so a
 * loader in the thread, tsx say, still sees the real file); bare ones as
 * `bare:<parent URL>|<specifier>`, resolved in the thread by Node's ESM
 * algorithm from the caller's location. `what` names the import in errors.
 */
export function resolveLater(specifier: string, parentURL: string | undefined, what: string): string {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) {
    return specifier.startsWith('node:') ? specifier : `node:${specifier}`;
  }
  // A path before a URL: on Windows `C:\tasks.js` would read as a URL of scheme `c:`.
  if (isAbsolute(specifier)) return pathToFileURL(specifier).href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) return specifier;
  const relative = relativeForm(specifier);
  if (relative !== undefined) {
    if (!parentURL) throw new FunctionNotSendableError(`${what}: the caller's file is unknown, so a relative specifier cannot be resolved`);
    return new URL(relative, parentURL).href;
  }
  return `bare:${parentURL ?? pathToFileURL(`${process.cwd()}/`).href}|${specifier}`;
}

/**
 * A relative specifier with forward slashes (`./x`, `../x`; on Windows
 * `.\x` and `..\x` too, as require() takes them, while a URL has no
 * backslashes), or undefined for any other.
 */
function relativeForm(specifier: string): string | undefined {
  const relative = sep === '\\' ? specifier.replace(/\\/g, '/') : specifier;
  return relative.startsWith('./') || relative.startsWith('../') ? relative : undefined;
}

/** TypeScript's names for a file a relative specifier may mean, by the extension written. */
const typeScriptNames: Record<string, string[]> = { '': ['.ts', '.tsx', '.cts', '.mts'], '.js': ['.ts', '.tsx'], '.cjs': ['.cts'], '.mjs': ['.mts'] };

/**
 * A relative require() specifier of the module `parentURL` as the thread
 * will require it: as it is where it means a JavaScript file, else the
 * TypeScript file it means (`./tasks` or `./tasks.js` for tasks.ts), as an
 * absolute path, which Node's require() in the thread finds: a test file
 * ts-jest compiled requires it so. The caller's require() resolves it
 * first (under jest, jest's own, which knows the project's extensions and
 * module mappings), then TypeScript's names. On Windows `.\tasks.js` too.
 * Caller's thread. Exported for test/functions.ts too.
 */
export function requireSpecifier(specifier: string, parentURL: string): string {
  if (relativeForm(specifier) === undefined) return specifier;
  const parent = fileURLToPath(parentURL);
  try {
    const file = createRequire(parent).resolve(specifier);
    return typeScriptFile.test(file) ? file : specifier;
  } catch { /* no file Node knows: TypeScript's names follow */ }
  const base = resolve(dirname(parent), specifier);
  const written = /\.[cm]?js$/.exec(base)?.[0] ?? '';
  const stem = base.slice(0, base.length - written.length);
  const candidates = typeScriptNames[written]!.map((ext) => stem + ext);
  if (written === '') candidates.push(join(base, 'index.ts'), join(base, 'index.tsx'));
  return candidates.find((file) => existsSync(file)) ?? specifier;
}

/** Thread: imports what resolveLater() made of a specifier. */
export async function importURL(url: string, options?: ImportCallOptions): Promise<Record<string, unknown>> {
  if (url.startsWith('bare:')) {
    const bar = url.indexOf('|');
    const parent = url.slice(5, bar);
    const specifier = url.slice(bar + 1);
    const { resolve } = await import('import-meta-resolve');
    url = resolve(specifier, parent);
  }
  await loadsTypeScript(url);
  try {
    return await import(url, options) as Record<string, unknown>;
  } catch (e) {
    const advice = typeScriptAdvice(e);
    if (advice && e instanceof Error) e.message = advice;
    throw e;
  }
}

/**
 * Thread: what a sent function's `import(specifier, options)` calls: an
 * import as the caller's file `base` would make it.
 */
export function importerFrom(base: string | undefined): (specifier: unknown, options?: ImportCallOptions) => Promise<unknown> {
  return async (specifier, options) => {
    const s = String(specifier);
    try {
      return await importURL(resolveLater(s, base, `import('${s}')`), options);
    } catch (e) {
      // The import is made from this module: a missing file would be
      // reported as imported from here, not from the caller's file.
      if (base && (e as { code?: unknown })?.code === 'ERR_MODULE_NOT_FOUND' && e instanceof Error) {
        e.message = e.message.replace(/ imported from .*$/, ` imported from ${fileURLToPath(base)}`);
      }
      throw e;
    }
  };
}
