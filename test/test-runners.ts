// Test files are fine places for threadables (src/identity/unimportable.ts,
// import-bindings.ts, vitest-modules.ts): vitest, jest and node:test each
// run a project under test/_projects/runners whose test file defines
// threadables (one of them using the file's imports), uses one from a
// module (a TypeScript module under vitest, which a thread of Node 20
// loads with tsx: src/identity/typescript.ts), and sends a plain function.
import test from 'ava';
import { join } from 'node:path';
import { copyProject, repo } from './_helpers/project.js';

const bin = (...path: string[]): string => join(repo, 'node_modules', ...path);

test('vitest runs a test file that defines threadables', async (t) => {
  const project = copyProject('runners/vitest', ['vitest', 'tsx']);
  try {
    const { stdout } = await project.run([bin('vitest', 'vitest.mjs'), 'run', '--reporter=json']);
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { numPassedTests: number; numFailedTests: number };
    t.deepEqual([report.numPassedTests, report.numFailedTests], [4, 0]);
  } finally { project.remove(); }
});

test('jest runs a test file that defines threadables', async (t) => {
  const project = copyProject('runners/jest');
  try {
    const { stdout } = await project.run([bin('jest', 'bin', 'jest.js'), '--ci', '--json', '--rootDir', '.']);
    const report = JSON.parse(stdout) as { numPassedTests: number; numFailedTests: number };
    t.deepEqual([report.numPassedTests, report.numFailedTests], [4, 0]);
  } finally { project.remove(); }
});

test('jest with babel (ES module syntax) runs a test file that defines threadables', async (t) => {
  const project = copyProject('runners/jest-babel', ['@babel/core', '@babel/plugin-transform-modules-commonjs']);
  try {
    const { stdout } = await project.run([bin('jest', 'bin', 'jest.js'), '--ci', '--json', '--rootDir', '.']);
    const report = JSON.parse(stdout) as { numPassedTests: number; numFailedTests: number };
    t.deepEqual([report.numPassedTests, report.numFailedTests], [4, 0]);
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
