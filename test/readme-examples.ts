// The README's examples are files the tests run: each file below, less
// its opening comment, appears in the README as it is (the TypeScript,
// Bundlers, Test runners and Scaling out sections), so the two cannot
// drift apart. examples/scale-out runs in test/bullmq-example.ts,
// examples/eslint-rule in test/blocking-call-in-thread.ts.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(__dirname, '..');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');

const examples = [
  ...['typescript/tasks.ts', 'typescript/readme.ts',
    'bundled-app/rollup.config.mjs', 'bundled-app/webpack.config.cjs',
    'runners/vitest/threadables.test.ts'].map((p) => `test/_projects/${p}`),
  'examples/scale-out/caller.mjs', 'examples/scale-out/worker.mjs',
  'examples/eslint-rule/load-config.mjs', 'examples/eslint-rule/rule.mjs',
];

for (const example of examples) {
  test(`the README shows ${example} as the tests run it`, (t) => {
    const text = readFileSync(join(repo, example), 'utf8');
    const body = text.replace(/^(\/\/[^\n]*\n)+/, '').trimEnd();
    t.true(readme.includes(body), `README.md lacks the body of ${example}:\n${body}`);
  });
}
