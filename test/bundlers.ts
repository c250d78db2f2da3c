// Apps bundled into one file (README "Bundlers"): esbuild (ESM and CJS
// output, from ESM and CJS sources), Rollup and webpack bundle the project
// in test/_projects/bundled-app with reactor-threads and acorn external;
// each bundle runs in a child process. Its threadables use the bundle's
// imports, which each thread imports again (src/identity/import-bindings.ts).
// A bundle that inlined a package a threadable uses, or reactor-threads
// itself, is refused when it loads, saying what to mark external
// (src/runtime/not-bundled.ts). A deployment's file tracer (@vercel/nft)
// finds every file the package needs at run time. A bundler that is not
// installed skips its tests, saying so.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { platformTimeout } from './_helpers/wait.js';
import { copyProject, repo } from './_helpers/project.js';

const copy = copyProject('bundled-app', ['acorn']);
test.after.always(() => copy.remove());
const project = copy.dir;

// The bundlers' own types are not needed: the slice the tests call.
interface Esbuild { build(options: Record<string, unknown>): Promise<unknown> }
interface WebpackStats { hasErrors(): boolean; toString(options?: unknown): string }
type Webpack = (config: object, done: (err: Error | null, stats?: WebpackStats) => void) => void;

/** A bundler as the repo's devDependencies install it (or NODE_PATH finds it); undefined if absent. */
function installed(name: string): string | undefined {
  try {
    return require.resolve(`${name}/package.json`, { paths: [repo] });
  } catch {
    return undefined;
  }
}
const esbuildPath = installed('esbuild');
const rollupPath = installed('rollup');
const webpackPath = installed('webpack');
const nftPath = installed('@vercel/nft');

const missing = Object.entries({ esbuild: esbuildPath, rollup: rollupPath, webpack: webpackPath, '@vercel/nft': nftPath })
  .filter(([, path]) => !path).map(([name]) => name);
if (missing.length > 0) {
  test('bundlers that are not installed are named, and their tests skipped', (t) => {
    t.log(`NOT TESTED: ${missing.join(', ')} not installed (devDependencies; run npm install): their tests are skipped`);
    t.pass();
  });
}

/** A test that needs `bundler`, skipped with the reason when it is not installed. */
function testWith(bundler: string, path: string | undefined, title: string, body: (t: ExecutionContext) => Promise<void>): void {
  if (path) test(title, body);
  else test.skip(`${title} (SKIPPED: ${bundler} is not installed)`, () => undefined);
}

/** `esbuild <entry> --bundle --platform=node --outfile=<outfile>` with `options` (format, external…). */
async function esbuild(entry: string, outfile: string, options: Record<string, unknown>): Promise<void> {
  const { build } = require(dirname(esbuildPath!)) as Esbuild;
  await build({
    entryPoints: [join(project, entry)], bundle: true, platform: 'node', outfile: join(project, outfile), logLevel: 'silent',
    ...options,
  });
}
const external = ['reactor-threads', 'acorn'];

async function webpack(config: object): Promise<void> {
  const run = require(dirname(webpackPath!)) as Webpack;
  await new Promise<void>((resolve, reject) => {
    run(config, (err, stats) => {
      if (err) reject(err);
      else if (stats!.hasErrors()) reject(new Error(stats!.toString('errors-only')));
      else resolve();
    });
  });
}

interface Run { code: number; stdout: string; stderr: string }
/** `node ...options file` in the project (`file`: the script, after `-e`). */
async function node(file: string, ...options: string[]): Promise<Run> {
  // The bundle finds its external packages in the project's node_modules alone.
  const { NODE_OPTIONS: _options, NODE_PATH: _path, ...env } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...options, file], {
      cwd: project, env, timeout: platformTimeout(30_000), encoding: 'utf8',
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const { code, stdout, stderr } = e as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

const acornVersion = (require(join(repo, 'node_modules', 'acorn', 'package.json')) as { version: string }).version;
const expected = { digest: ['2cf24dba', '2cf24dba', true], statements: { count: 3, acorn: acornVersion }, product: 42 };

/** The app ran once (one line: no thread started it again) and printed what its tasks returned. */
function ranOnce(t: ExecutionContext, r: Run, printed: unknown = expected): void {
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines.length, 1, r.stdout);
  t.deepEqual(JSON.parse(lines[0]!), printed);
}

testWith('esbuild', esbuildPath, 'an ES module bundle by esbuild (--packages=external) runs threadables that use its imports', async (t) => {
  await esbuild('main.mjs', 'dist/esbuild.mjs', { format: 'esm', packages: 'external' });
  ranOnce(t, await node('dist/esbuild.mjs'));
});

testWith('esbuild', esbuildPath, 'a CommonJS bundle by esbuild (--external:…) runs threadables that use its imports', async (t) => {
  await esbuild('main.mjs', 'dist/esbuild.cjs', { format: 'cjs', external });
  ranOnce(t, await node('dist/esbuild.cjs'));
});

testWith('esbuild', esbuildPath, 'a CommonJS app bundled by esbuild runs threadables that use its require() calls', async (t) => {
  await esbuild('main.cjs', 'dist/esbuild-from-cjs.cjs', { format: 'cjs', external });
  ranOnce(t, await node('dist/esbuild-from-cjs.cjs'), [3, createHash('sha256').update('a + b').digest('hex').slice(0, 8), true]);
});

testWith('esbuild', esbuildPath, 'a minified bundle by esbuild runs threadables that use its imports, through renamed helpers', async (t) => {
  await esbuild('main.mjs', 'dist/esbuild-min.cjs', { format: 'cjs', external, minify: true });
  ranOnce(t, await node('dist/esbuild-min.cjs'));
});

testWith('rollup', rollupPath, 'an ES module bundle by Rollup runs threadables that use its imports', async (t) => {
  const cli = join(dirname(rollupPath!), 'dist', 'bin', 'rollup');
  // (The suite's NODE_OPTIONS may name its own helpers by relative path: not the project's.)
  const { NODE_OPTIONS: _options, ...env } = process.env;
  await promisify(execFile)(process.execPath, [cli, '-c', '--silent'], { cwd: project, env, timeout: platformTimeout(60_000) });
  ranOnce(t, await node('dist/rollup.mjs'));
});

testWith('webpack', webpackPath, 'a bundle by webpack (production mode, target node, minified) runs threadables that use its imports', async (t) => {
  await webpack(require(join(project, 'webpack.config.cjs')) as object);
  ranOnce(t, await node('dist/webpack.cjs'));
});

testWith('esbuild', esbuildPath, 'a threadable using a package the bundle inlined is refused, naming the package to mark external', async (t) => {
  await esbuild('main.mjs', 'dist/inlined.mjs', { format: 'esm', external: ['reactor-threads'] });
  const r = await node('dist/inlined.mjs');
  t.not(r.code, 0);
  t.regex(r.stderr, /FunctionNotSendableError: statements\d* uses 'parse\d*'.*the bundle inlined it from the package 'acorn'.*--external:acorn/);
});

testWith('esbuild', esbuildPath, 'a threadable using a value of the bundle is refused, naming it and what to do', async (t) => {
  await esbuild('closure.mjs', 'dist/closure.mjs', { format: 'esm', external: ['reactor-threads'] });
  const r = await node('dist/closure.mjs');
  t.not(r.code, 0);
  t.regex(r.stderr, /remember\d* uses 'seen'.*'seen' is a \w+ of .*closure\.mjs, not an import\. .*only imports.*out of the bundle/);
});

/**
 * The refusal, as the package writes it on stderr before it throws: Node
 * prints the error after the source line of the throw, which in a
 * minified bundle is all of it, and on Node 22 and later a pipe loses
 * what follows past about 146 KB (src/runtime/not-bundled.ts).
 */
const bundledError = /^Error \[ERR_REACTOR_THREADS_BUNDLED\]: reactor-threads cannot be bundled.*--external:reactor-threads/m;

/** What importing the bundle `file` threw, as its importer catches it: the typed error itself. */
async function importError(file: string): Promise<{ name?: string; code?: string; message?: string } | 'loaded'> {
  const script = `import(${JSON.stringify(`./${file}`)}).then(() => console.log('"loaded"'), `
    + '(e) => console.log(JSON.stringify({ name: e?.name, code: e?.code, message: e?.message })))';
  const r = await node(script, '--input-type=module', '-e');
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { name?: string; code?: string; message?: string } | 'loaded';
}

/** The refusal as the process shows it, and as an importer catches it. */
async function refusedAsBundled(t: ExecutionContext, file: string): Promise<void> {
  const r = await node(file);
  t.not(r.code, 0);
  t.regex(r.stderr, bundledError);
  const caught = await importError(file);
  t.like(caught, { name: 'Error', code: 'ERR_REACTOR_THREADS_BUNDLED' });
  t.regex((caught as { message: string }).message, /^reactor-threads cannot be bundled.*--external:reactor-threads/);
}

for (const format of ['esm', 'cjs'] as const) {
  testWith('esbuild', esbuildPath, `reactor-threads bundled by esbuild (${format}) fails at once, saying to mark it external`, async (t) => {
    const out = `dist/package-inside.${format === 'esm' ? 'mjs' : 'cjs'}`;
    await esbuild('main.mjs', out, { format, external: ['acorn'] });
    await refusedAsBundled(t, out);
  });
}

for (const format of ['esm', 'cjs'] as const) {
  testWith('esbuild', esbuildPath, `reactor-threads/bullmq bundled by esbuild (${format}) fails at once, saying to mark it external`, async (t) => {
    const out = `dist/bullmq-inside.${format === 'esm' ? 'mjs' : 'cjs'}`;
    await esbuild('bullmq-main.mjs', out, { format, external: ['acorn', 'bullmq', 'ioredis'] });
    await refusedAsBundled(t, out);
  });
}

testWith('webpack', webpackPath, 'reactor-threads bundled by webpack fails at once, saying to mark it external', async (t) => {
  const config = require(join(project, 'webpack.config.cjs')) as { output: object };
  await webpack({ ...config, output: { ...config.output, filename: 'package-inside.cjs' }, externals: { acorn: 'commonjs acorn' },
    // (The package's dynamic require() and import() are what it warns of.)
    ignoreWarnings: [() => true] });
  await refusedAsBundled(t, 'dist/package-inside.cjs');
});

testWith('@vercel/nft', nftPath, 'a file tracer (@vercel/nft, as Vercel and Next.js standalone use) ships the addon, the thread entry and its preload', async (t) => {
  // (It reads the package's own paths: scripts/bundle.mjs keeps the modules that make them files of their own.)
  const { nodeFileTrace } = require(dirname(nftPath!)) as
    { nodeFileTrace(files: string[], options: { base: string }): Promise<{ fileList: Set<string> }> };
  const { fileList } = await nodeFileTrace([join(repo, 'dist', 'index.js')], { base: repo });
  const files = [...fileList].map((f) => f.split('\\').join('/'));
  const prebuild = `prebuilds/${process.platform}-${process.arch}/`;
  t.true(files.some((f) => f.startsWith(prebuild) && f.endsWith('.node')), `no ${prebuild}*.node among ${files.join(', ')}`);
  for (const f of ['dist/reactor-threads.js', 'dist/thread/worker.js', 'dist/thread/starting.js', 'dist/reactor/native.js']) {
    t.true(files.includes(f), `${f} is not among ${files.join(', ')}`);
  }
});
