// The install as a user gets it: `npm pack`, then install the tarball into
// fresh projects whose PATH has node, npm and sh but no compiler, make or
// python, once normally and once with --ignore-scripts. In each, an ES
// module and a CommonJS program call deferToThread and
// blockingCallFromThread, and TypeScript consumers type-check against the
// shipped declarations under moduleResolution node16, nodenext and bundler,
// first with no @types/node and no DOM library, then with @types/node.
// The ES module entry's names are the CommonJS entry's (no __esModule),
// and a copy of the package with no addon fails to import catchably.
// Also checks the tarball's file list, and that each packed prebuild is
// the binary its manifest.json describes, built from the packed native
// sources (scripts/prebuild-manifest.mjs). Run: npm run test:install.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync, existsSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST, compareManifest, describeSources, worktreeSources } from './prebuild-manifest.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'rt-install-'));
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
  if (!ok) failures++;
};

// ---- the tarball ----
const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: repo, encoding: 'utf8' }))[0];
const files = packed.files.map((f) => f.path);
const tarball = join(work, packed.filename);
check(files.includes('dist/index.js') && files.includes('dist/index.mjs') && files.includes('dist/index.d.ts')
  && files.includes('dist/index.d.mts') && files.includes('dist/thread/worker.js'), 'the tarball has the compiled JavaScript and declarations');
check(files.some((f) => /^prebuilds\/linux-x64\/.+\.node$/.test(f)), 'the tarball has the linux-x64 prebuild');
const packedPlatforms = [...new Set(files.filter((f) => /^prebuilds\/[^/]+\/.+\.node$/.test(f)).map((f) => f.split('/')[1]))];
const unlisted = packedPlatforms.filter((p) => !files.includes(`prebuilds/${p}/${MANIFEST}`));
check(unlisted.length === 0, `each packed prebuild has its ${MANIFEST}${unlisted.length ? `; missing for ${unlisted.join(', ')}` : ''}`);
// Every file the fallback build compiles or includes (binding.gyp, native/*.cc, native/*.h).
const unpackedSources = [...worktreeSources().keys()].filter((f) => !files.includes(f));
check(unpackedSources.length === 0,
  `the tarball has binding.gyp and the native sources, for the fallback build${unpackedSources.length ? `; missing ${unpackedSources.join(', ')}` : ''}`);
check(files.includes('README.md') && files.includes('LICENSE'), 'the tarball has README.md and LICENSE');
const stray = files.filter((f) => /^(test|dist-test|bench|build|examples|scripts|\.ci)\//.test(f) || f.endsWith('.map'));
check(stray.length === 0, `the tarball has no tests, benchmarks, build folders or source maps${stray.length ? `: ${stray.join(', ')}` : ''}`);

// ---- a PATH with node and npm only ----
const bin = join(work, 'bin');
mkdirSync(bin);
const which = (cmd) => execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
symlinkSync(process.execPath, join(bin, 'node'));
symlinkSync(which('npm'), join(bin, 'npm'));
symlinkSync(which('sh'), join(bin, 'sh'));  // npm runs install scripts with sh
const env = { ...process.env, PATH: bin };
for (const tool of ['g++', 'gcc', 'cc', 'make', 'python3']) {
  let found = true;
  try { execFileSync('sh', ['-c', `command -v ${tool}`], { env, stdio: 'ignore' }); } catch { found = false; }
  check(!found, `${tool} is not on the install's PATH`);
}

const esm = `import { deferToThread, blockingCallFromThread, reactor, threadable } from 'reactor-threads';
import { total } from './tasks.mjs';
console.log(await deferToThread((a, b) => a + b, 2, 3), await deferToThread(total, [1, 2, 3]));
`;
const tasks = `import { blockingCallFromThread, reactor, threadable } from 'reactor-threads';
export const priceOf = threadable(function priceOf(n) { return n * 10; });
export const total = threadable(function total(items) {
  return items.reduce((sum, n) => sum + blockingCallFromThread(reactor, priceOf, n), 0);
});
`;
const cjs = `const { deferToThread, blockingCallFromThread, reactor, threadable } = require('reactor-threads');
const { total } = require('./tasks.cjs');
deferToThread((a, b) => a + b, 2, 3).then(async (sum) => console.log(sum, await deferToThread(total, [1, 2, 3])));
`;
const tasksCjs = `const { blockingCallFromThread, reactor, threadable } = require('reactor-threads');
const priceOf = threadable(function priceOf(n) { return n * 10; });
exports.total = threadable(function total(items) {
  return items.reduce((sum, n) => sum + blockingCallFromThread(reactor, priceOf, n), 0);
});
`;
const consumer = `import { currentTask, deferToThread, ThreadPool, type ThreadPoolOptions, type ThreadPoolWithOptions } from 'reactor-threads';
const add = (a: number, b: number): number => a + b;
export const sum: Promise<number> = deferToThread(add, 1, 2);
// @ts-expect-error wrong argument type
deferToThread(add, 1, 'x');
export const options: ThreadPoolOptions = { maxThreads: 2 };
export const pool: ThreadPool = new ThreadPool(options);
export const receivesOptions: ThreadPoolWithOptions = pool;
pool.on('error', (error) => { void error; });
pool.callInThreadWithCallback((ok, result) => { if (ok) { const n: number = result; void n; } }, add, 1, 2);
export const aborted = (): boolean => currentTask().signal.aborted;
`;
const entries = `const esm = Object.keys(await import('reactor-threads')).sort();
const cjs = Object.keys((await import('node:module')).createRequire(import.meta.url)('reactor-threads')).sort();
console.log(JSON.stringify({ esm, cjs }));
`;
const importWithoutAddon = `try {
  await import('reactor-threads');
  console.log('imported');
} catch (e) {
  console.log(e.message);
}
`;

/**
 * Type-checks the consumer against the installed package, per module
 * resolution; `types` and `lib` as tsconfig's (lib undefined: the
 * target's default, which has the DOM library).
 */
function typeCheck(app, types, lib) {
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const what = `${types.length ? `with @types/${types.join(', @types/')}` : 'without @types/node'}, ${lib ? 'without' : 'with'} the DOM library`;
  for (const [resolution, module, ext] of [['node16', 'node16', 'mts'], ['node16', 'node16', 'cts'], ['nodenext', 'nodenext', 'mts'],
    ['nodenext', 'nodenext', 'cts'], ['bundler', 'esnext', 'ts']]) {
    const dir = join(app, `types-${types.join('-') || 'none'}-${lib ? 'nodom' : 'dom'}-${resolution}-${ext}`);
    mkdirSync(dir);
    symlinkSync(join(app, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, `consumer.${ext}`), consumer);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module, moduleResolution: resolution, target: 'es2022', lib, strict: true, noEmit: true, skipLibCheck: false, types },
      files: [`consumer.${ext}`],
    }));
    let out = '';
    try { execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' }); } catch (e) { out = String(e.stdout ?? e); }
    check(out === '', `a TypeScript consumer (.${ext}, moduleResolution ${resolution}) type-checks ${what}${out ? `:\n${out.slice(0, 1500)}` : ''}`);
  }
}

for (const mode of ['normal', 'ignore-scripts']) {
  const app = join(work, `app-${mode}`);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `app-${mode}`, version: '1.0.0', private: true }));
  const args = ['install', '--no-audit', '--no-fund', tarball, ...(mode === 'ignore-scripts' ? ['--ignore-scripts'] : [])];
  try {
    execFileSync('npm', args, { cwd: app, env, stdio: 'pipe' });
    check(true, `npm install (${mode}) without a compiler`);
  } catch (e) {
    check(false, `npm install (${mode}) without a compiler: ${e.stderr?.toString().slice(-800)}`);
    continue;
  }
  check(!existsSync(join(app, 'node_modules/reactor-threads/build')), `(${mode}) nothing was compiled`);
  if (mode === 'normal') {
    // What a user can verify: the binaries were built from the sources
    // shipped beside them (node-addon-api as the manifest says; the
    // lockfile's version is npm run test:prebuilds' business).
    const pkg = join(app, 'node_modules/reactor-threads');
    for (const platform of readdirSync(join(pkg, 'prebuilds'))) {
      const dir = join(pkg, 'prebuilds', platform);
      const binaries = new Map(readdirSync(dir).filter((f) => f.endsWith('.node')).map((f) => [f, readFileSync(join(dir, f))]));
      const text = existsSync(join(dir, MANIFEST)) ? readFileSync(join(dir, MANIFEST), 'utf8') : null;
      let addonApi = null;
      try { addonApi = JSON.parse(text)?.sources?.['node-addon-api'] ?? null; } catch {}
      const { problems } = compareManifest(platform, text, binaries, describeSources(worktreeSources(pkg), addonApi));
      check(problems.length === 0, `prebuilds/${platform} is the binary its manifest describes, built from the packed sources`
        + `${problems.length ? `:\n    ${problems.join('\n    ')}` : ''}`);
    }
  }
  writeFileSync(join(app, 'main.mjs'), esm);
  writeFileSync(join(app, 'tasks.mjs'), tasks);
  writeFileSync(join(app, 'main.cjs'), cjs);
  writeFileSync(join(app, 'tasks.cjs'), tasksCjs);
  for (const program of ['main.mjs', 'main.cjs']) {
    let out = '';
    try { out = execFileSync(process.execPath, [program], { cwd: app, env, encoding: 'utf8', timeout: 30_000 }).trim(); } catch (e) { out = String(e.stderr ?? e); }
    check(out === '5 60', `(${mode}) ${program} runs deferToThread and blockingCallFromThread (got '${out.slice(0, 200)}')`);
  }
  if (mode !== 'normal') continue;
  writeFileSync(join(app, 'entries.mjs'), entries);
  let names = { esm: [], cjs: [] };
  try { names = JSON.parse(execFileSync(process.execPath, ['entries.mjs'], { cwd: app, env, encoding: 'utf8', timeout: 30_000 })); } catch {}
  check(names.esm.length > 0 && !names.esm.includes('__esModule') && JSON.stringify(names.esm) === JSON.stringify(names.cjs),
    `the ES module entry exports the CommonJS entry's names, and no __esModule (ESM: ${names.esm.length} names${
      names.esm.includes('__esModule') ? ', __esModule among them' : ''})`);
  // The package where no addon loads: neither its prebuild nor a build.
  const bare = join(work, 'app-without-addon');
  mkdirSync(join(bare, 'node_modules'), { recursive: true });
  cpSync(join(app, 'node_modules', 'reactor-threads'), join(bare, 'node_modules', 'reactor-threads'), { recursive: true });
  rmSync(join(bare, 'node_modules', 'reactor-threads', 'prebuilds'), { recursive: true });
  writeFileSync(join(bare, 'main.mjs'), importWithoutAddon);
  const failed = spawnSync(process.execPath, ['main.mjs'], { cwd: bare, env, encoding: 'utf8', timeout: 30_000 });
  const caught = failed.status === 0 && failed.stderr === '' && /no native addon/.test(failed.stdout);
  check(caught, `a failed import of the package (no addon) is caught and the process exits 0${caught ? ''
    : ` (exit ${failed.status}: ${(failed.stdout + failed.stderr).slice(0, 1500)})`}`);
  check(failed.stdout.includes(join(bare, 'node_modules', 'reactor-threads', 'prebuilds', `${process.platform}-${process.arch}`)),
    'its error lists prebuilds/ among the places it looked');
  // Type-checking consumers against the shipped declarations: a consumer
  // needs neither @types/node nor the DOM library, and one with
  // @types/node (as most Node programs have) sees no conflict.
  typeCheck(app, [], ['es2022']);
  typeCheck(app, [], undefined);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '@types/node@20'], { cwd: app, env, stdio: 'pipe' });
  typeCheck(app, ['node'], ['es2022']);
  typeCheck(app, ['node'], undefined);
}

rmSync(work, { recursive: true, force: true });
console.log(failures === 0 ? 'install checks: all passed' : `install checks: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
