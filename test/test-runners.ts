// Test files are fine places for threadables (src/identity/unimportable.ts,
// import-bindings.ts, vitest-modules.ts, jest-modules.ts): vitest, jest
// (with and without babel, and ts-jest), node:test and mocha each run a project
// under test/_projects/runners whose test file defines threadables (one of
// them using the file's imports), uses one from a module (a TypeScript
// module under vitest and ts-jest, which a thread of Node 20 loads with
// tsx: src/identity/typescript.ts), and sends a plain function.
import test from 'ava';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { copyProject, repo, type LinkedPackage } from './_helpers/project.js';

const bin = (...path: string[]): string => join(repo, 'node_modules', ...path);

/** Runs a runner with a JSON reporter (vitest's and jest's share its counts) in a copy of the project: [passed, failed]. */
async function jsonCounts(name: string, packages: LinkedPackage[], args: string[]): Promise<[number, number]> {
  const project = copyProject(name, packages);
  try {
    const { stdout } = await project.run(args);
    // (vitest may print before its report.)
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { numPassedTests: number; numFailedTests: number };
    return [report.numPassedTests, report.numFailedTests];
  } finally { project.remove(); }
}

// (A thread's first task may take seconds under AddressSanitizer: the runners' own 5 s limit is raised.)
const runnerTimeout = '--testTimeout=60000';
const jest = [bin('jest', 'bin', 'jest.js'), '--ci', '--json', '--rootDir', '.', runnerTimeout];

test('vitest runs a test file that defines threadables', async (t) => {
  t.deepEqual(await jsonCounts('runners/vitest', ['vitest', 'tsx'], [bin('vitest', 'vitest.mjs'), 'run', '--reporter=json', runnerTimeout]), [4, 0]);
});

test('jest runs a test file that defines threadables, and a second test file in the same process', async (t) => {
  // (--runInBand: one process runs both files, each with its own copy of the package.)
  t.deepEqual(await jsonCounts('runners/jest', [], [...jest, '--runInBand']), [6, 0]);
});

test('jest with babel (ES module syntax) runs a test file that defines threadables', async (t) => {
  t.deepEqual(await jsonCounts('runners/jest-babel', ['@babel/core', '@babel/plugin-transform-modules-commonjs'], jest), [4, 0]);
});

// ts-jest needs a TypeScript with its compiler API (below 7), so it lives
// in a folder of its own, which .ci/run installs.
const tsJestModules = join(repo, '.cache', 'ts-jest', 'node_modules');
const hasTsJest = existsSync(join(tsJestModules, 'ts-jest', 'package.json'));
if (!hasTsJest) {
  process.stderr.write('\n*** test-runners: SKIPPED \'ts-jest runs a TypeScript test file that defines threadables\': '
    + 'ts-jest and TypeScript 5 are not installed here. Install them with: npm run setup:ts-jest ***\n\n');
}

(hasTsJest ? test : test.skip)('ts-jest runs a TypeScript test file that defines threadables', async (t) => {
  const fromCache = (name: string): LinkedPackage => ({ name, from: tsJestModules });
  const packages = [fromCache('ts-jest'), fromCache('typescript'), '@types/node', 'tsx'];
  t.deepEqual(await jsonCounts('runners/ts-jest', packages, [join(tsJestModules, 'jest', 'bin', 'jest.js'), '--ci', '--json', '--rootDir', '.', runnerTimeout]), [4, 0]);
});

// (A thread imported mocha's test files, whose top level then ran again
// there: `describe is not defined`, helper-152's trial.)
// Run as npx and npm test run it too, through node_modules/.bin/mocha, a
// link (helper-153: mocha went unseen there); a module whose comment names
// a test is no test file, and a file whose suites are declared in a loop is one.
test('mocha runs test files that define threadables, named *.spec.* or found in its test folder', async (t) => {
  const project = copyProject('runners/mocha', ['mocha', 'tsx']);
  try {
    const link = join(project.dir, 'node_modules', '.bin', 'mocha');
    mkdirSync(dirname(link));
    symlinkSync(bin('mocha', 'bin', 'mocha.js'), link);
    for (const command of [bin('mocha', 'bin', 'mocha.js'), link]) {
      const { stdout } = await project.run([command, '--reporter', 'tap', 'test/*.js', 'test/*.mjs']);
      t.regex(stdout, /^# pass 7$/m, command);
      t.regex(stdout, /^# fail 0$/m, command);
    }
    // TypeScript, which acorn cannot read: a comment naming a test makes no module a test file.
    const { stdout } = await project.run([link, '--import=tsx', '--reporter', 'tap', 'test/*.ts']);
    t.regex(stdout, /^# pass 1$/m);
    t.regex(stdout, /^# fail 0$/m);
  } finally { project.remove(); }
});

test('node:test runs a test file that defines threadables', async (t) => {
  const project = copyProject('runners/node-test');
  try {
    const { stdout } = await project.run(['--test', '--test-reporter=tap', 'threadables.test.mjs']);
    t.regex(stdout, /^# pass 4$/m);
    t.regex(stdout, /^# fail 0$/m);
  } finally { project.remove(); }
});
