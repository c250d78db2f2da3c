// Refuses to load from inside a bundle, with one error that says what to
// do. The package needs files beside its code: thread/worker.js, which
// each pool thread starts, and its native addon; a bundle that inlines the
// package carries neither. What failed before (a dynamic require of
// node:v8, __dirname in ES module scope, "no native addon") never named
// the bundle. The entries run this first, so it imports nothing at its
// top: inside an ESM bundle every require() throws. Caller's thread
// (index.ts; index.mts through not-bundled-esm.mts). Tests: test/bundlers.ts.

const message = 'reactor-threads cannot be bundled: its threads start its file thread/worker.js and load its native '
  + 'addon from its own folder, which a bundle does not carry. Mark it external when bundling, so that the bundle '
  + "imports it from node_modules: esbuild --external:reactor-threads (or --packages=external), "
  + "Rollup external: ['reactor-threads'], webpack externals: { 'reactor-threads': 'commonjs reactor-threads' } "
  + "('module reactor-threads' for an ES module output).";

/** Throws the bundle error unless the package's worker file was found beside its code. */
export function refuseBundle(workerFound: boolean): void {
  if (!workerFound) throw Object.assign(new Error(message), { code: 'ERR_REACTOR_THREADS_BUNDLED' });
}

/** The CommonJS entry's check: this file must sit in the package's dist/runtime/. */
export function assertNotBundled(): void {
  // An ESM bundle has no __dirname; webpack may make it '/' or relative.
  if (typeof __dirname !== 'string') return refuseBundle(false);
  const { existsSync } = require('node:fs') as typeof import('node:fs');
  const { isAbsolute, join } = require('node:path') as typeof import('node:path');
  refuseBundle(isAbsolute(__dirname) && existsSync(join(__dirname, '..', 'thread', 'worker.js')));
}
