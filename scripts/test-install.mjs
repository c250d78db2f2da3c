// The install as a user gets it: `npm pack`, then install the tarball into
// fresh projects whose PATH has node, npm and sh but no compiler, make or
// python, once normally and once with --ignore-scripts. In each, an ES
// module and a CommonJS program call deferToThread and
// blockingCallFromThread, and TypeScript consumers type-check against the
// shipped declarations under moduleResolution node16, nodenext and bundler,
// first with no @types/node and no DOM library, then with @types/node.
// The ES module entry's names are the CommonJS entry's (no __esModule),
// and a copy of the package with no addon fails to import catchably.
// reactor-threads/bullmq: without bullmq installed, the core works and
// the adapter says how to install it; with bullmq and ioredis installed
// (from the registry, at the versions of the lockfile), it imports and
// requires, its entries name the same exports, its types check, and the
// reactor-threads-worker bin prints its usage. Then the same programs, and
// a pool given execArgv, installed with pnpm and with Yarn Plug'n'Play
// (their CLIs fetched from the registry, at pinned versions).
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
for (const platform of ['linux-x64', 'linux-arm64', 'win32-x64']) {
  check(files.some((f) => f.startsWith(`prebuilds/${platform}/`) && f.endsWith('.node')), `the tarball has the ${platform} prebuild`);
}
// Nothing of a build beside them (an import library, objects, a log).
const strayPrebuildFiles = files.filter((f) => f.startsWith('prebuilds/') && !/^prebuilds\/[^/]+\/([^/]+\.node|manifest\.json)$/.test(f));
check(strayPrebuildFiles.length === 0,
  `prebuilds/ holds a binary and its manifest per platform, nothing else${strayPrebuildFiles.length ? `; also ${strayPrebuildFiles.join(', ')}` : ''}`);
const packedPlatforms = [...new Set(files.filter((f) => /^prebuilds\/[^/]+\/.+\.node$/.test(f)).map((f) => f.split('/')[1]))];
const unlisted = packedPlatforms.filter((p) => !files.includes(`prebuilds/${p}/${MANIFEST}`));
check(unlisted.length === 0, `each packed prebuild has its ${MANIFEST}${unlisted.length ? `; missing for ${unlisted.join(', ')}` : ''}`);
// Every file the fallback build compiles or includes (binding.gyp, native/*.cc, native/*.h).
const unpackedSources = [...worktreeSources().keys()].filter((f) => !files.includes(f));
check(unpackedSources.length === 0,
  `the tarball has binding.gyp and the native sources, for the fallback build${unpackedSources.length ? `; missing ${unpackedSources.join(', ')}` : ''}`);
check(files.includes('README.md') && files.includes('LICENSE'), 'the tarball has README.md and LICENSE');
// reactor-threads/bullmq: each module of src/bullmq compiled and declared, and nothing else (no stale output).
const bullmqExpected = readdirSync(join(repo, 'src', 'bullmq')).filter((f) => /\.m?ts$/.test(f)).flatMap((f) => {
  const base = `dist/bullmq/${f.replace(/\.m?ts$/, '')}`;
  return f.endsWith('.mts') ? [`${base}.mjs`, `${base}.d.mts`] : [`${base}.js`, `${base}.d.ts`];
}).sort();
const bullmqPacked = files.filter((f) => f.startsWith('dist/bullmq/')).sort();
const bullmqOdd = [...bullmqExpected.filter((f) => !bullmqPacked.includes(f)).map((f) => `missing ${f}`),
  ...bullmqPacked.filter((f) => !bullmqExpected.includes(f)).map((f) => `unexpected ${f}`)];
check(bullmqOdd.length === 0 && bullmqExpected.includes('dist/bullmq/index.mjs'),
  `the tarball has reactor-threads/bullmq: each module of src/bullmq as .js and .d.ts (.mjs and .d.mts)${
    bullmqOdd.length ? `; ${bullmqOdd.join(', ')}` : ''}`);
const binFile = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).bin?.['reactor-threads-worker'];
check(binFile === 'dist/bullmq/bin.js' && files.includes(binFile), `the tarball has the reactor-threads-worker bin (${binFile})`);
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
const entries = (specifier) => `const esm = Object.keys(await import('${specifier}')).sort();
const cjs = Object.keys((await import('node:module')).createRequire(import.meta.url)('${specifier}')).sort();
console.log(JSON.stringify({ esm, cjs }));
`;
// reactor-threads/bullmq, before bullmq is installed: the core runs, and
// the adapter imports but fails with how to install what it needs.
const withoutBullmq = `import { deferToThreadPool, reactor } from 'reactor-threads';
import { BullMQThreadPool, serveBullMQ } from 'reactor-threads/bullmq';
import { total } from './tasks.mjs';
const pool = new BullMQThreadPool({ queueName: 'q', connection: { host: '127.0.0.1', port: 6379 } });
pool.start();
console.log(await deferToThreadPool(reactor, pool, total, [1]).then(() => 'called', (e) => e.message));
await pool.stop();
try { serveBullMQ({ queueName: 'q', connection: {}, allow: ['./tasks.mjs'] }); console.log('served'); } catch (e) { console.log(e.message); }
`;
// ... and after: neither the core nor the adapter's import loads bullmq
// (the probe sees it once loaded); one instance for import and require.
const withBullmq = `import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { deferToThread } from 'reactor-threads';
import { total } from './tasks.mjs';
const require = createRequire(import.meta.url);
const bullmqLoaded = () => Object.keys(require.cache).some((p) => p.includes(\`\${sep}node_modules\${sep}bullmq\${sep}\`));
await deferToThread(total, [1]);
const core = bullmqLoaded();
const { BullMQThreadPool } = await import('reactor-threads/bullmq');
const adapter = bullmqLoaded();
require('bullmq');
const probe = bullmqLoaded();
console.log(JSON.stringify({ core, adapter, probe, same: BullMQThreadPool === require('reactor-threads/bullmq').BullMQThreadPool }));
`;
const withBullmqCjs = `const { BullMQThreadPool, serveBullMQ } = require('reactor-threads/bullmq');
console.log(typeof BullMQThreadPool, typeof serveBullMQ, typeof require('bullmq').Queue);
`;
const bullmqConsumer = `import { deferToThreadPool, reactor } from 'reactor-threads';
import { BullMQThreadPool, serveBullMQ, type BullMQServer, type BullMQThreadPoolOptions } from 'reactor-threads/bullmq';
const add = (a: number, b: number): number => a + b;
export const options: BullMQThreadPoolOptions = { queueName: 'q', connection: { host: '127.0.0.1', port: 6379 } };
export const pool: BullMQThreadPool = new BullMQThreadPool(options);
export const sum: Promise<number> = deferToThreadPool.with({ attempts: 2 })(reactor, pool, add, 1, 2);
// @ts-expect-error wrong argument type
deferToThreadPool(reactor, pool, add, 1, 'x');
export const server: BullMQServer = serveBullMQ({ ...options, allow: ['./tasks.js'], threads: 2 });
`;
/** Runs an installed program; its stdout, or what it wrote to stderr when it failed. */
function output(app, file, args = []) {
  try {
    return execFileSync(file, args, { cwd: app, env, encoding: 'utf8', timeout: 30_000 }).trim();
  } catch (e) {
    return `failed (${e.status ?? e.signal}): ${String(e.stderr || e.stdout || e).slice(0, 1500)}`;
  }
}
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
function typeCheck(app, types, lib, source = consumer, name = 'consumer') {
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const what = `${types.length ? `with @types/${types.join(', @types/')}` : 'without @types/node'}, ${lib ? 'without' : 'with'} the DOM library`;
  for (const [resolution, module, ext] of [['node16', 'node16', 'mts'], ['node16', 'node16', 'cts'], ['nodenext', 'nodenext', 'mts'],
    ['nodenext', 'nodenext', 'cts'], ['bundler', 'esnext', 'ts']]) {
    const dir = join(app, `${name}-${types.join('-') || 'none'}-${lib ? 'nodom' : 'dom'}-${resolution}-${ext}`);
    mkdirSync(dir);
    symlinkSync(join(app, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, `consumer.${ext}`), source);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module, moduleResolution: resolution, target: 'es2022', lib, strict: true, noEmit: true, skipLibCheck: false, types },
      files: [`consumer.${ext}`],
    }));
    let out = '';
    try { execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' }); } catch (e) { out = String(e.stdout ?? e); }
    check(out === '', `a TypeScript ${name} (.${ext}, moduleResolution ${resolution}) type-checks ${what}${out ? `:\n${out.slice(0, 1500)}` : ''}`);
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
  writeFileSync(join(app, 'entries.mjs'), entries('reactor-threads'));
  let names = { esm: [], cjs: [] };
  try { names = JSON.parse(execFileSync(process.execPath, ['entries.mjs'], { cwd: app, env, encoding: 'utf8', timeout: 30_000 })); } catch {}
  check(names.esm.length > 0 && !names.esm.includes('__esModule') && JSON.stringify(names.esm) === JSON.stringify(names.cjs),
    `the ES module entry exports the CommonJS entry's names, and no __esModule (ESM: ${names.esm.length} names${
      names.esm.includes('__esModule') ? ', __esModule among them' : ''})`);
  // Without bullmq (main.mjs above ran the core without it).
  const installBullmq = 'reactor-threads/bullmq needs the bullmq package: npm install bullmq ioredis';
  writeFileSync(join(app, 'without-bullmq.mjs'), withoutBullmq);
  const without = output(app, process.execPath, ['without-bullmq.mjs']);
  const saysHow = without === `${installBullmq}\n${installBullmq}`;
  check(saysHow, `without bullmq installed, a BullMQThreadPool's call rejects and serveBullMQ throws "${installBullmq}", `
    + `and the program exits by itself${saysHow ? '' : ` (got '${without}')`}`);
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
  // With bullmq and ioredis, as the adapter's users install them.
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')).packages;
  const peers = ['bullmq', 'ioredis'].map((name) => `${name}@${lock[`node_modules/${name}`].version}`);
  try {
    execFileSync('npm', ['install', '--no-audit', '--no-fund', ...peers], { cwd: app, env, stdio: 'pipe' });
    check(true, `npm install ${peers.join(' ')}`);
  } catch (e) {
    check(false, `npm install ${peers.join(' ')}: ${e.stderr?.toString().slice(-800)}`);
    continue;
  }
  writeFileSync(join(app, 'bullmq-entries.mjs'), entries('reactor-threads/bullmq'));
  let adapterNames = { esm: [], cjs: [] };
  try { adapterNames = JSON.parse(output(app, process.execPath, ['bullmq-entries.mjs'])); } catch {}
  check(adapterNames.esm.includes('BullMQThreadPool') && !adapterNames.esm.includes('__esModule')
    && JSON.stringify(adapterNames.esm) === JSON.stringify(adapterNames.cjs),
  `reactor-threads/bullmq's ES module entry exports its CommonJS entry's names, and no __esModule (${adapterNames.esm.join(', ')})`);
  writeFileSync(join(app, 'with-bullmq.mjs'), withBullmq);
  const withOut = output(app, process.execPath, ['with-bullmq.mjs']);
  check(withOut === JSON.stringify({ core: false, adapter: false, probe: true, same: true }), 'neither import \'reactor-threads\' nor '
    + `import 'reactor-threads/bullmq' loads bullmq; its import and require give one instance (got ${withOut})`);
  writeFileSync(join(app, 'with-bullmq.cjs'), withBullmqCjs);
  const withCjs = output(app, process.execPath, ['with-bullmq.cjs']);
  check(withCjs === 'function function function', `require('reactor-threads/bullmq') works (got '${withCjs}')`);
  typeCheck(app, ['node'], undefined, bullmqConsumer, 'bullmq-consumer');
  const usage = output(app, join(app, 'node_modules', '.bin', 'reactor-threads-worker'), ['--help']);
  const usageOk = usage.startsWith('usage: reactor-threads-worker --queue NAME');
  check(usageOk, `node_modules/.bin/reactor-threads-worker --help prints its usage and exits 0${usageOk ? '' : ` (got '${usage}')`}`);
}

// ---- other package managers: Yarn Plug'n'Play and pnpm ----
// Yarn resolves every require through its .pnp.cjs (no node_modules; the
// package, holding an addon, is unpacked into .yarn/unplugged), and pnpm
// links the package into an isolated .pnpm store, where only its declared
// dependencies are found. Both block install scripts by default, as npm
// may: the prebuild loads at run time. A pool given execArgv (which
// replaces the inherited flags) is run too, with currentTask() in its task.
const poolTasks = `const { currentTask, threadable } = require('reactor-threads');
exports.inThread = threadable(function inThread(n) { return \`\${n * 2} \${typeof currentTask().id}\`; });
`;
const poolMain = `const { ThreadPool, deferToThreadPool, reactor } = require('reactor-threads');
const { inThread } = require('./pool-tasks.cjs');
const pool = new ThreadPool({ maxThreads: 1, execArgv: ['--no-deprecation'] });
pool.start();
deferToThreadPool(reactor, pool, inThread, 2).then((r) => { console.log(r); return pool.stop(); });
`;
/** A package manager's published CLI, unpacked from the registry: its entry script. */
function fetchTool(spec, entry) {
  const dir = join(work, `tool-${spec.replace(/[^\w.-]/g, '_')}`);
  mkdirSync(dir);
  const [{ filename }] = JSON.parse(execFileSync('npm', ['pack', '--json', spec, '--pack-destination', dir], { encoding: 'utf8' }));
  execFileSync('tar', ['xzf', filename], { cwd: dir });
  return join(dir, 'package', entry);
}
const managers = [
  {
    name: 'Yarn 4 (Plug\'n\'Play)', tool: ['@yarnpkg/cli-dist@4.18.1', 'bin/yarn.js'],
    files: {
      'package.json': JSON.stringify({ name: 'app-yarn-pnp', version: '1.0.0', private: true, dependencies: { 'reactor-threads': `file:${tarball}` } }),
      // (Not immutable, as Yarn makes installs under CI=true: the lockfile is made here.)
      '.yarnrc.yml': 'nodeLinker: pnp\nnpmRegistryServer: "https://registry.npmjs.org"\nenableGlobalCache: false\nenableTelemetry: false\n'
        + 'enableImmutableInstalls: false\n',
      'yarn.lock': '',
    },
    install: ['install'],
    // (yarn node: node with the project's .pnp.cjs and its ES module loader.)
    run: (cli, program) => [process.execPath, [cli, 'node', program]],
    layout: (app) => existsSync(join(app, '.pnp.cjs')) && !existsSync(join(app, 'node_modules', 'reactor-threads')),
  },
  {
    name: 'pnpm 10', tool: ['pnpm@10.34.8', 'bin/pnpm.cjs'],
    files: { 'package.json': JSON.stringify({ name: 'app-pnpm', version: '1.0.0', private: true }) },
    install: ['add', tarball],
    run: (cli, program) => [process.execPath, [program]],
    layout: (app) => existsSync(join(app, 'node_modules', '.pnpm')) && !existsSync(join(app, 'node_modules', 'acorn')),
  },
];
for (const m of managers) {
  let cli;
  try {
    cli = fetchTool(...m.tool);
  } catch (e) {
    check(false, `${m.name}: fetching ${m.tool[0]} from the registry: ${String(e.stderr ?? e).slice(-800)}`);
    continue;
  }
  const app = join(work, `app-${m.tool[0].replace(/[^\w.-]/g, '_')}`);
  mkdirSync(app);
  for (const [file, text] of Object.entries({ ...m.files, 'main.mjs': esm, 'tasks.mjs': tasks, 'main.cjs': cjs, 'tasks.cjs': tasksCjs,
    'pool-main.cjs': poolMain, 'pool-tasks.cjs': poolTasks })) {
    writeFileSync(join(app, file), text);
  }
  try {
    execFileSync(process.execPath, [cli, ...m.install], { cwd: app, env, stdio: 'pipe', timeout: 300_000 });
    check(m.layout(app), `${m.name} installs the package without a compiler, in its own layout`);
  } catch (e) {
    check(false, `${m.name} installs the package without a compiler: ${String(e.stdout ?? '').slice(-800)}${String(e.stderr ?? e).slice(-800)}`);
    continue;
  }
  for (const [program, expected] of [['main.mjs', '5 60'], ['main.cjs', '5 60'], ['pool-main.cjs', '4 number']]) {
    const out = output(app, ...m.run(cli, program));
    check(out === expected, `(${m.name}) ${program} runs (got '${out.slice(0, 300)}')`);
  }
}

rmSync(work, { recursive: true, force: true });
console.log(failures === 0 ? 'install checks: all passed' : `install checks: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
