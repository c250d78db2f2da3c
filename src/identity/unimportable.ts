// Modules a thread must never import, because importing one runs what it
// is for a second time: the program's entry script (it would start the
// program again) and a test file under a test runner (it would declare its
// tests again, outside the runner: vitest throws "failed to find the
// current suite", jest "test is not defined"). A threadable defined in one
// travels as source instead (src/identity/functions.ts). Caller's thread.
// Tests: test/esm-and-cjs-callers.ts, test/test-runners.ts; mocha's test files: mocha-files.ts.
import { realpathSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { declaresMochaTests, underMocha } from './mocha-files.js';

let entryURLs: Set<string> | undefined;
function isEntryScript(url: string): boolean {
  if (!isMainThread) return false;
  if (!entryURLs) {
    entryURLs = new Set();
    const main = process.argv[1];
    if (main) {
      for (const candidate of [main, `${main}.js`, `${main}.mjs`, `${main}.cjs`]) {
        try { entryURLs.add(pathToFileURL(realpathSync(candidate)).href); } catch { /* absent */ }
      }
    }
  }
  try { return entryURLs.has(pathToFileURL(realpathSync(fileURLToPath(url))).href); } catch { return false; }
}

/** What the runners leave on the global object of the code they test. */
interface RunnerGlobals {
  /** vitest's worker state: the test file it runs. */
  __vitest_worker__?: { filepath?: string };
  /** jest's `expect`: its state names the test file it runs. */
  expect?: { getState?: () => { testPath?: string } };
}

/** Names of test files by the runners' conventions. */
const testFileName = /[._-](test|spec)\.[cm]?[jt]sx?$|[\\/]__tests__[\\/]/;

function isTestFile(url: string): boolean {
  const file = fileURLToPath(url);
  const g = globalThis as RunnerGlobals;
  if (g.__vitest_worker__?.filepath === file) return true;
  try {
    if (g.expect?.getState?.().testPath === file) return true;
  } catch { /* not jest's expect */ }
  // Under a runner, other files named as tests are tests too.
  const underRunner = g.__vitest_worker__ !== undefined || process.env.JEST_WORKER_ID !== undefined
    || process.env.NODE_TEST_CONTEXT !== undefined || process.execArgv.includes('--test') || underMocha;
  // (Under mocha, whose default spec is test/*.js, also a file that declares its suites at its top level.)
  return underRunner && (testFileName.test(file) || (underMocha && declaresMochaTests(file)));
}

/** Why a thread must never import the module at `url` (a file: URL), or undefined if it may. */
export function neverImported(url: string): string | undefined {
  if (!url.startsWith('file:')) return undefined;
  if (isEntryScript(url)) return 'the entry script (in a bundle, every function is), which a thread never imports (it would start the program again)';
  if (isTestFile(url)) return 'a test file, which a thread never imports (it would declare its tests again)';
  return undefined;
}
