// Writes prebuilds/<platform>-<arch>/manifest.json beside a prebuild just
// made: the hash of each native source it was built from (native/*.cc,
// native/*.h, binding.gyp), the node-addon-api version, and the binary's
// own hash. Builds are not byte-reproducible across machines, so CI
// cannot rebuild and compare; it compares these hashes instead.
//
// Written by `npm run prebuild` (linux-x64), scripts/arm64.sh
// (linux-arm64) and scripts/win32.sh (win32-x64); `npm run prebuild:all`
// does all three. Read by
// scripts/check-prebuilds.mjs (npm run test:prebuilds), which imports the
// helpers below, and by scripts/test-install.mjs.
//
//   node scripts/prebuild-manifest.mjs [platform-arch]   (default: this host's)
//
// Hashes the sources and node_modules/node-addon-api of the checkout this
// script sits in: run the copy inside the tree the binary was built in.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
export const MANIFEST = 'manifest.json';

/** The files a prebuild is built from (native/test/ is not part of it). */
export const isNativeSource = (path) => path === 'binding.gyp' || /^native\/[^/]+\.(cc|h)$/.test(path);

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
// Text sources hash with LF line ends, so a checkout with CRLF agrees.
const textHash = (buf) => sha256(buf.toString('latin1').replace(/\r\n/g, '\n'));

/** The node-addon-api version package-lock.json pins, or null. */
export function addonApiFromLock(lockText) {
  if (lockText == null) return null;
  const lock = JSON.parse(lockText);
  return lock.packages?.['node_modules/node-addon-api']?.version ?? lock.dependencies?.['node-addon-api']?.version ?? null;
}

/** What manifest.sources holds, from a Map of path -> contents. */
export function describeSources(files, addonApi) {
  const hashes = Object.fromEntries([...files.keys()].sort().map((p) => [p, textHash(files.get(p))]));
  const list = Object.entries(hashes).map(([p, h]) => `${h}  ${p}\n`).join('') + `node-addon-api ${addonApi}\n`;
  return { sha256: sha256(list), 'node-addon-api': addonApi, files: hashes };
}

const ELF_MACHINES = { 0x03: 'ia32', 0x28: 'arm', 0x3e: 'x64', 0xb7: 'arm64' };
/** The architecture an ELF binary is for ('x64', 'arm64', ...), null if not ELF. */
export function elfMachine(buf) {
  if (buf.length < 20 || buf.readUInt32BE(0) !== 0x7f454c46) return null;
  const m = buf[5] === 2 ? buf.readUInt16BE(18) : buf.readUInt16LE(18);
  return ELF_MACHINES[m] ?? `e_machine 0x${m.toString(16)}`;
}

const PE_MACHINES = { 0x014c: 'ia32', 0x8664: 'x64', 0xaa64: 'arm64' };
/** The architecture a PE (Windows) binary is for, null if not PE. */
export function peMachine(buf) {
  if (buf.length < 64 || buf.readUInt16LE(0) !== 0x5a4d) return null;  // "MZ"
  const pe = buf.readUInt32LE(0x3c);
  if (buf.length < pe + 6 || buf.readUInt32LE(pe) !== 0x00004550) return null;  // "PE\0\0"
  const m = buf.readUInt16LE(pe + 4);
  return PE_MACHINES[m] ?? `machine 0x${m.toString(16)}`;
}

/**
 * What is wrong with a binary for `platform` (linux-*: an ELF for its
 * architecture; win32-*: a PE), or null. Other platforms are not checked.
 */
export function wrongBinary(platform, buf) {
  const [os, arch] = platform.split('-');
  const [format, machine] = os === 'linux' ? ['an ELF', elfMachine(buf)] : os === 'win32' ? ['a PE', peMachine(buf)] : [];
  if (!format || machine === arch) return null;
  return machine ? `built for ${machine}, not ${arch}` : `not ${format} binary`;
}

/** A prebuild's manifest, from its binary (name, contents) and its sources. */
export function makeManifest(platform, file, binary, sources, builtWith) {
  return {
    about: 'Written by scripts/prebuild-manifest.mjs with this prebuild; checked by npm run test:prebuilds. '
      + 'Rebuild every prebuild: npm run prebuild:all.',
    platform,
    binary: { file, sha256: sha256(binary) },
    sources,
    builtWith,
  };
}

/**
 * What is wrong with one platform's prebuild: `binaries` maps each .node
 * file in its folder to its contents, `sources` is describeSources() of
 * the sources it should have been built from. Returns { problems, stale },
 * stale being the source files (and node-addon-api) that differ.
 */
export function compareManifest(platform, manifestText, binaries, sources) {
  const problems = [];
  const stale = [];
  if (manifestText == null) {
    problems.push(`no ${MANIFEST}: nothing says which sources ${[...binaries.keys()].join(', ') || 'it'} came from`);
    return { problems, stale };
  }
  let m;
  try { m = JSON.parse(manifestText); } catch (e) { problems.push(`${MANIFEST} is not JSON (${e.message})`); return { problems, stale }; }
  if (m.platform !== platform) problems.push(`${MANIFEST} is for ${m.platform}`);
  const file = m.binary?.file;
  if (!binaries.has(file)) problems.push(`${MANIFEST} describes ${file}, which is not there`);
  else if (sha256(binaries.get(file)) !== m.binary.sha256) {
    problems.push(`${file} is not the binary the manifest describes (sha256 ${sha256(binaries.get(file)).slice(0, 12)}, `
      + `manifest ${String(m.binary.sha256).slice(0, 12)}): rebuilt or replaced without its manifest`);
  }
  for (const other of binaries.keys()) if (other !== file) problems.push(`${other} is not described by ${MANIFEST}`);
  for (const [name, buf] of binaries) {
    const wrong = wrongBinary(platform, buf);
    if (wrong) problems.push(`${name} is ${wrong}`);
  }
  const built = m.sources?.files ?? {};
  for (const p of new Set([...Object.keys(built), ...Object.keys(sources.files)])) {
    if (built[p] === sources.files[p]) continue;
    stale.push(!(p in built) ? `${p} (new since the build)` : !(p in sources.files) ? `${p} (removed since the build)` : p);
  }
  if (m.sources?.['node-addon-api'] !== sources['node-addon-api']) {
    stale.push(`node-addon-api ${sources['node-addon-api']} (built with ${m.sources?.['node-addon-api']})`);
  }
  if (stale.length === 0 && m.sources?.sha256 !== sources.sha256) stale.push('(the manifest\'s sources digest)');
  if (stale.length) problems.push(`built from other sources; stale: ${stale.join(', ')}`);
  return { problems, stale };
}

/** The working tree's native sources: Map path -> contents. */
export function worktreeSources(root = repo) {
  const files = new Map([['binding.gyp', readFileSync(join(root, 'binding.gyp'))]]);
  for (const f of readdirSync(join(root, 'native'))) {
    if (isNativeSource(`native/${f}`)) files.set(`native/${f}`, readFileSync(join(root, 'native', f)));
  }
  return files;
}

function write(platform) {
  const dir = join(repo, 'prebuilds', platform);
  const nodes = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
  if (nodes.length !== 1) throw new Error(`expected one .node file in ${dir}, found ${nodes.length ? nodes.join(', ') : 'none'}`);
  const binary = readFileSync(join(dir, nodes[0]));
  const wrong = wrongBinary(platform, binary);
  if (wrong) throw new Error(`${nodes[0]} is ${wrong}`);
  // The node-addon-api the build included (binding.gyp asks node for it).
  const addonApi = JSON.parse(readFileSync(createRequire(join(repo, 'package.json')).resolve('node-addon-api/package.json'))).version;
  const lockPath = join(repo, 'package-lock.json');
  const locked = addonApiFromLock(existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null);
  if (locked && locked !== addonApi) {
    console.warn(`prebuild-manifest: warning: node-addon-api ${addonApi} is installed, package-lock.json has ${locked}; `
      + 'the check will call this prebuild stale (run npm ci and rebuild)');
  }
  const cxx = process.env.CXX || 'c++';
  let compiler = cxx;
  try { compiler = execFileSync(cxx, ['--version'], { encoding: 'utf8' }).split('\n')[0]; } catch {}
  const manifest = makeManifest(platform, nodes[0], binary, describeSources(worktreeSources(), addonApi),
    { node: process.version, compiler });
  writeFileSync(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`prebuild-manifest: prebuilds/${platform}/${MANIFEST}: ${nodes[0]} ${manifest.binary.sha256.slice(0, 12)}, `
    + `sources ${manifest.sources.sha256.slice(0, 12)} (${Object.keys(manifest.sources.files).length} files, node-addon-api ${addonApi})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    write(process.argv[2] ?? `${process.platform}-${process.arch}`);
  } catch (e) {
    console.error(`prebuild-manifest: ${e.message}`);
    process.exit(1);
  }
}
