// Fails when a committed prebuild does not match the native sources it
// ships with: each prebuilds/<platform>-<arch>/manifest.json (written by
// scripts/prebuild-manifest.mjs) must name the binary beside it by its
// hash, and list the hashes of today's native/*.cc, native/*.h and
// binding.gyp and the node-addon-api version package-lock.json pins.
//
//   npm run test:prebuilds       the prebuilds committed in HEAD against
//                                the sources on disk (CI; before a commit)
//   node scripts/check-prebuilds.mjs --ref <rev>   both as committed in <rev>
//   node scripts/check-prebuilds.mjs --worktree    both as on disk
//
// The prebuilds are read from git, not from disk: `npm install` (its
// prepare step) rebuilds prebuilds/linux-x64 from the sources, so on disk
// it always looks fresh. In CI the sources on disk are the commit's.
// Needs git and Node only, no node_modules: works in a fresh clone, and
// .ci/run runs it before npm install. Fix: npm run prebuild:all.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MANIFEST, addonApiFromLock, compareManifest, describeSources, isNativeSource, repo, worktreeSources,
} from './prebuild-manifest.mjs';

const args = process.argv.slice(2);
const worktree = args.includes('--worktree');
const ref = args.includes('--ref') ? args[args.indexOf('--ref') + 1] : null;
const fail = (msg) => { console.error(`check-prebuilds: ${msg}`); process.exit(1); };

const git = (...a) => execFileSync('git', ['-C', repo, ...a], { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });

/** Map platform -> Map file -> contents, from prebuilds/<platform>/<file>. */
function group(entries) {
  const out = new Map();
  for (const [path, contents] of entries) {
    const [, platform, file] = path.split('/');
    if (!out.has(platform)) out.set(platform, new Map());
    out.get(platform).set(file, contents);
  }
  return out;
}

function fromDisk() {
  const dir = join(repo, 'prebuilds');
  const entries = [];
  for (const p of existsSync(dir) ? readdirSync(dir) : []) {
    for (const f of readdirSync(join(dir, p))) entries.push([`prebuilds/${p}/${f}`, readFileSync(join(dir, p, f))]);
  }
  const lock = join(repo, 'package-lock.json');
  return { sources: worktreeSources(), lock: existsSync(lock) ? readFileSync(lock, 'utf8') : null, prebuilds: group(entries) };
}

function fromGit(rev) {
  let commit;
  try { commit = git('rev-parse', '--verify', '--short', `${rev}^{commit}`).toString().trim(); } catch (e) {
    fail(`cannot read ${rev} from git (${String(e.stderr ?? e.message).trim()}); outside a git checkout use --worktree`);
  }
  const blob = (path) => git('cat-file', 'blob', `${commit}:./${path}`);
  const paths = git('ls-tree', '-r', '-z', '--name-only', commit, '--', 'native', 'binding.gyp', 'prebuilds', 'package-lock.json')
    .toString().split('\0').filter(Boolean);
  return {
    commit,
    sources: new Map(paths.filter(isNativeSource).map((p) => [p, blob(p)])),
    lock: paths.includes('package-lock.json') ? blob('package-lock.json').toString() : null,
    prebuilds: group(paths.filter((p) => /^prebuilds\/[^/]+\/[^/]+$/.test(p)).map((p) => [p, blob(p)])),
  };
}

let prebuilds, src, what;
if (worktree) {
  ({ prebuilds, ...src } = fromDisk());
  what = `the prebuilds on disk against the sources on disk (${repo})`;
} else if (ref) {
  const snap = fromGit(ref);
  ({ prebuilds, ...src } = snap);
  what = `the prebuilds committed in ${snap.commit} (${ref}) against its sources`;
} else {
  const snap = fromGit('HEAD');
  prebuilds = snap.prebuilds;
  src = fromDisk();
  what = `the prebuilds committed in ${snap.commit} (HEAD) against the sources on disk`;
}
const addonApi = addonApiFromLock(src.lock);
if (!addonApi) fail('package-lock.json does not pin node-addon-api: cannot tell which version the prebuilds should use');
const sources = describeSources(src.sources, addonApi);
console.log(`check-prebuilds: ${what} (${src.sources.size} files, node-addon-api ${addonApi}, digest ${sources.sha256.slice(0, 12)})`);

const bad = [];
for (const [platform, files] of [...prebuilds].sort(([a], [b]) => a.localeCompare(b))) {
  const binaries = new Map([...files].filter(([f]) => f.endsWith('.node')));
  const { problems } = compareManifest(platform, files.get(MANIFEST), binaries, sources);
  if (problems.length === 0) {
    console.log(`ok - ${platform}: ${[...binaries.keys()].join(', ')} is the binary its manifest describes, built from these sources`);
  } else {
    bad.push(platform);
    console.log(`not ok - ${platform}: prebuilds/${platform}/ does not match the sources it ships with`);
    for (const p of problems) console.log(`    ${p}`);
  }
}
if (prebuilds.size === 0) {
  bad.push('(none)');
  console.log('not ok - no prebuilds/<platform>-<arch>/ at all');
}

if (!worktree && !ref) {
  // What on disk differs from HEAD: uncommitted sources were checked,
  // uncommitted prebuilds were not.
  const dirty = git('status', '--porcelain', '--', 'native', 'binding.gyp', 'package-lock.json', 'prebuilds').toString()
    .split('\n').map((l) => l.slice(3)).filter(Boolean);
  const dirtySources = dirty.filter((p) => isNativeSource(p) || p === 'package-lock.json');
  const dirtyPrebuilds = dirty.filter((p) => p.startsWith('prebuilds/'));
  if (dirtySources.length) console.log(`note: checked with uncommitted changes to ${dirtySources.join(', ')}`);
  if (dirtyPrebuilds.length) {
    console.log(`note: not checked, uncommitted: ${dirtyPrebuilds.join(', ')}; if \`node scripts/check-prebuilds.mjs --worktree\` `
      + 'passes, commit them');
  }
}

if (bad.length) {
  console.log(`check-prebuilds: FAILED: ${bad.length} of ${prebuilds.size} prebuild(s) do not match their sources `
    + `(${bad.join(', ')}). Rebuild every prebuild and its manifest with \`npm run prebuild:all\`, then commit prebuilds/.`);
  process.exit(1);
}
console.log(`check-prebuilds: all ${prebuilds.size} prebuild(s) match their sources`);
