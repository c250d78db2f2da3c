// What each pool thread imports before its first task: the modules named
// by the pool's `preload` option, and the module hooks (loaders) of this
// process that would not apply in a thread by themselves.
//
// A Worker gets its parent's execArgv, so `--import`, `--require` and
// `--loader` preloads run in every thread; whether the hooks they register
// apply there depends on Node and on the loader. tsx registers its ESM
// hooks in a Worker only on Node 22.22.3, 24.11.1, 25.1 and later (before
// those, hooks registered in a Worker misbehaved: nodejs/node#47747,
// #52706, #53182); on older Nodes (Node 20 among them) a thread of a tsx
// process could not import a `.ts` module. There a thread registers tsx
// itself, through tsx's own API (`register()` of `tsx/esm/api` and
// `tsx/cjs/api`), which works in a Worker on those Nodes.
// Owner thread. Tests: test/typescript-loaders.ts.
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolveLater } from '../identity/specifiers.js';
import type { ThreadPreload } from '../base/pool-thread-data.js';

/** Flags whose value names a module that registers hooks or runs first. */
const loaderFlags = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/** The modules that this process's options preload, in order. */
export function preloadedModules(execArgv: readonly string[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const eq = arg.indexOf('=');
    if (eq > 0 && loaderFlags.has(arg.slice(0, eq))) found.push(arg.slice(eq + 1));
    else if (loaderFlags.has(arg) && i + 1 < execArgv.length) found.push(execArgv[++i]!);
  }
  return found;
}

/**
 * NODE_OPTIONS as arguments, split as Node splits it: spaces outside
 * double quotes separate, quotes group anywhere in an argument, and a
 * backslash inside quotes escapes the next character.
 */
export function nodeOptionsArgs(value: string | undefined): string[] {
  const args: string[] = [];
  let arg: string | undefined;
  let quoted = false;
  for (let i = 0; i < (value?.length ?? 0); i++) {
    const c = value![i]!;
    if (quoted && c === '\\' && i + 1 < value!.length) arg = (arg ?? '') + value![++i];
    else if (c === '"') { quoted = !quoted; arg ??= ''; }
    else if (c === ' ' && !quoted) { if (arg !== undefined) args.push(arg); arg = undefined; }
    else arg = (arg ?? '') + c;
  }
  if (arg !== undefined) args.push(arg);
  return args;
}

/** The directory of the tsx package a preload names, if it names one. */
function tsxRoot(specifier: string): string | undefined {
  const path = specifier.startsWith('file:') ? fileURLToPath(specifier) : specifier;
  const marker = `${sep}node_modules${sep}tsx${sep}`;
  const at = path.indexOf(marker);
  if (at >= 0) return path.slice(0, at + marker.length - 1);
  if (specifier === 'tsx' || specifier.startsWith('tsx/')) {
    // A bare name resolves from the working directory, as Node resolved it.
    for (let dir = process.cwd(); ; dir = join(dir, '..')) {
      const root = join(dir, 'node_modules', 'tsx');
      if (existsSync(join(root, 'package.json'))) return root;
      if (join(dir, '..') === dir) return undefined;
    }
  }
  return undefined;
}

/** Whether tsx registers its hooks in a Worker by itself on this Node (see above). */
export function tsxRegistersInThreads(version = process.versions.node): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  const since: Record<number, [number, number]> = { 22: [22, 3], 24: [11, 1], 25: [1, 0] };
  if (major >= 26) return true;
  const from = since[major];
  if (!from) return false;
  return minor > from[0] || (minor === from[0] && patch >= from[1]);
}

/**
 * The hooks a thread must register itself, for threads started with
 * `execArgv` (this process's when undefined, NODE_OPTIONS included).
 */
export function loaderPreloads(execArgv: readonly string[] | undefined): ThreadPreload[] {
  const modules = execArgv
    ? preloadedModules(execArgv)
    : [...preloadedModules(process.execArgv), ...preloadedModules(nodeOptionsArgs(process.env.NODE_OPTIONS))];
  if (tsxRegistersInThreads()) return [];
  for (const m of modules) {
    const root = tsxRoot(m);
    if (!root) continue;
    const base = pathToFileURL(join(root, 'package.json')).href;
    // Through tsx's exports, from its own directory: the tsx this process runs.
    return ['tsx/esm/api', 'tsx/cjs/api'].map((api) => ({ url: resolveLater(api, base, 'tsx'), register: true }));
  }
  return [];
}

/** The pool's `preload` modules, resolved as imports in the file that created the pool. */
export function userPreloads(specifiers: readonly string[], base: string | undefined): ThreadPreload[] {
  return specifiers.map((s) => ({ url: resolveLater(s, base, `preload '${s}'`), register: false }));
}
