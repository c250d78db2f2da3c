// Refuses to load from inside a bundle, with one error that says what to
// do. The package needs files beside its code: thread/worker.js, which
// each pool thread starts, and its native addon; a bundle that inlines the
// package carries neither. What failed before (a dynamic require of
// node:v8, __dirname in ES module scope, "no native addon") never named
// the bundle. Each entry runs its check first (not-bundled-cjs.ts,
// not-bundled-esm.mts), which ends here. This module uses nothing but
// process.stderr: the build folds it into each check (scripts/bundle.mjs),
// so that the ES module entry imports no CommonJS. Caller's thread.
// Tests: test/bundlers.ts.

const message = 'reactor-threads cannot be bundled: its threads start its file thread/worker.js and load its native '
  + 'addon from its own folder, which a bundle does not carry. Mark it external when bundling, so that the bundle '
  + "imports it from node_modules: esbuild --external:reactor-threads (or --packages=external), "
  + "Rollup external: ['reactor-threads'], webpack externals: { 'reactor-threads': 'commonjs reactor-threads' } "
  + "('module reactor-threads' for an ES module output).";

/**
 * Throws the bundle error unless the package's worker file was found
 * beside its code. It says so on stderr first, in one line: when the
 * error ends the process, Node prints the source line of the throw before
 * the error, and in a minified bundle that line is the whole bundle; on
 * Node 22 and later, writing it to a pipe (a container's log, a CI job)
 * loses what follows past about 146 KB, the error's message included.
 */
export function refuseBundle(workerFound: boolean): void {
  if (workerFound) return;
  const code = 'ERR_REACTOR_THREADS_BUNDLED';
  try { process.stderr.write(`Error [${code}]: ${message}\n`); } catch { /* no stderr: the error says it */ }
  throw Object.assign(new Error(message), { code });
}
