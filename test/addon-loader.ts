// Importing the package where no addon loads (no prebuild for the
// platform, no compiler): the import fails with an error that lists where
// the loader looked, and a program that catches it goes on.
import test, { type ExecutionContext } from 'ava';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, runChild } from './_helpers/child.js';
import { platformTimeout } from './_helpers/wait.js';

/** The package as installed with neither a prebuild nor a build: its package.json and dist/. */
function packageWithoutAddon(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'rt-no-addon-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pkg = join(dir, 'node_modules', 'reactor-threads');
  const repo = join(__dirname, '..');
  cpSync(join(repo, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(repo, 'dist'), join(pkg, 'dist'), { recursive: true });
  return pkg;
}

async function importWithoutAddon(t: ExecutionContext): Promise<{ pkg: string; code: number | null; stderr: string; caught?: string }> {
  const pkg = packageWithoutAddon(t);
  // (Without the sanitizer legs' explicit addon, which would load whatever the package holds.)
  const { REACTOR_THREADS_ADDON: _explicit, ...env } = process.env;
  const r = await runChild(fixture('import-without-addon.mjs'), [join(pkg, 'dist', 'index.mjs')], 10_000, env);
  const out = JSON.parse(r.stdout || '{}') as { caught?: string };
  return { pkg, code: r.code, stderr: r.stderr, ...out };
}

test('a failed import of the ES module entry can be caught, and the process exits 0', async (t) => {
  const r = await importWithoutAddon(t);
  t.regex(r.caught ?? '', /no native addon/);
  t.is(r.stderr, '');
  t.is(r.code, 0);
});

test('the error of a failed import lists every place the loader looked, prebuilds included', async (t) => {
  const { pkg, caught } = await importWithoutAddon(t);
  const looked = (caught ?? '').split('\n').filter((line) => line.startsWith('  ')).map((line) => line.trim());
  t.deepEqual(looked, [
    `${join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, '*.node')} (absent)`,
    `${join(pkg, 'build', 'Release', 'reactor_threads.node')} (absent)`,
    `${join(pkg, 'build', 'Debug', 'reactor_threads.node')} (absent)`,
  ]);
});

/** The package copy with a prebuild for this platform that is no binary at all (a broken download, say). */
function packageWithBrokenPrebuild(t: ExecutionContext): { pkg: string; prebuild: string } {
  const pkg = packageWithoutAddon(t);
  const dir = join(pkg, 'prebuilds', `${process.platform}-${process.arch}`);
  mkdirSync(dir, { recursive: true });
  const prebuild = join(dir, 'reactor-threads.node');
  writeFileSync(prebuild, 'not a binary');
  return { pkg, prebuild };
}

async function importEntry(pkg: string): Promise<{ code: number | null; stderr: string; imported?: boolean; caught?: string }> {
  const { REACTOR_THREADS_ADDON: _explicit, ...env } = process.env;
  const r = await runChild(fixture('import-without-addon.mjs'), [join(pkg, 'dist', 'index.mjs')], platformTimeout(10_000), env);
  return { code: r.code, stderr: r.stderr, ...JSON.parse(r.stdout || '{}') as { imported?: boolean; caught?: string } };
}

test('a prebuild that exists but does not load is named with its reason, on one line of the error', async (t) => {
  const { pkg, prebuild } = packageWithBrokenPrebuild(t);
  const { caught } = await importEntry(pkg);
  const looked = (caught ?? '').split('\n').filter((line) => line.startsWith('  '));
  t.true(looked[0]?.startsWith(`  ${prebuild} (`), looked[0]);
  t.true(looked[0]?.endsWith(')'), JSON.stringify(looked[0]));
  // (Windows ends its loader's messages with \r\n: a \r left in would send the console's cursor back over the line.)
  t.false((caught ?? '').includes('\r'), JSON.stringify(caught));
});

test('a prebuild that exists but does not load falls back to a build', async (t) => {
  const { pkg } = packageWithBrokenPrebuild(t);
  // This platform's real binary, as a node-gyp build would leave it.
  const real = join(__dirname, '..', 'prebuilds', `${process.platform}-${process.arch}`, 'reactor-threads.node');
  if (!existsSync(real)) { t.pass(`no prebuild for ${process.platform}-${process.arch} to stand in for a build`); return; }
  mkdirSync(join(pkg, 'build', 'Release'), { recursive: true });
  copyFileSync(real, join(pkg, 'build', 'Release', 'reactor_threads.node'));
  const r = await importEntry(pkg);
  t.true(r.imported, r.caught ?? r.stderr);
  t.is(r.code, 0);
});
