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
import { loaderModules, preloadedModules } from '../identity/loaders.js';
import type { ThreadPreload } from '../base/pool-thread-data.js';

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
  const modules = execArgv ? preloadedModules(execArgv) : loaderModules();
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
