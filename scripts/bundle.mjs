// Folds tsc's CommonJS output for the core (dist/**/*.js but the BullMQ
// subpath) into one file, dist/reactor-threads.js, and makes each of those
// files a door into it:
//   const load = require('<..>/reactor-threads.js');
//   module.exports = load('<its path>');
//
// Why: a thread starts by loading the library, and a cold pool's first
// tasks wait for that. Loading ~50 small files costs a resolve, a read and
// a compile each, on the main thread and again in every new thread (bench:
// firstburstcold; scripts/bundle.mjs's commit gives the figures).
//
// What stays true:
// - One instance of each module per thread. Every path into the core (the
//   entries, the thread entry, the --require preload, the BullMQ modules,
//   a test importing an internal file) goes through its door to the same
//   bundle, whose modules run once, on first use, as before.
// - Each module keeps its own __filename and __dirname (the paths tsc gave
//   it), so the addon, the thread entry and the package's frames are found
//   as before.
// - An ES module importing a door sees its names: the door lists them for
//   Node's CommonJS lexer (cjs-module-lexer, run on tsc's output here).
// - Dependencies (acorn, node-gyp-build, ...) stay external, and so does
//   the BullMQ subpath (src/bullmq/), whose `require('bullmq')` a user's
//   bundler would otherwise follow from the core.
// - A source map (dist/reactor-threads.js.map) leads back to src/ through
//   tsc's maps, for --enable-source-maps.
//
// Runs after tsc (npm run build:ts, which empties dist/ first: a module
// whose source was removed would leave its door behind).
import { build } from 'esbuild';
import { init as initLexer, parse as lexExports } from 'cjs-module-lexer';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const BUNDLE = 'reactor-threads.js';
const DOOR_MARK = '// A door into reactor-threads.js';

/** A file's module id: its path relative to dist/, with forward slashes. */
const idOf = (file) => relative(dist, file).split(sep).join('/');

/** Every file tsc wrote whose name ends in `ext` (but the bundle), by id. */
function filesOf(ext, dir = dist) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return filesOf(ext, p);
    if (!e.name.endsWith(ext) || p === join(dist, BUNDLE)) return [];
    return [idOf(p)];
  });
}

// Left as files of their own, which the bundle requires:
// - the BullMQ subpath (see above);
// - the CommonJS entry's check that the package was not bundled by its
//   user, which needs its own __dirname and nothing else (folded below);
// - the modules that name the package's other files by path (the addon's
//   folders, the thread entry and its preload), so that a file tracer
//   (@vercel/nft: Vercel, Next.js standalone) still finds them, as it
//   cannot follow a path made by the bundle's own-paths helper;
// - the entry of a thread whose owner loaded the package through a
//   symlink (src/thread/linked-entry.ts), which must load nothing of the
//   package by its own (real) path.
const FILES_OF_THEIR_OWN = new Set(['runtime/not-bundled-cjs.js', 'reactor/native.js', 'pool/collaborators.js', 'thread/linked-entry.js']);
// Used only by the checks folded below, which carry it: neither in the
// bundle nor left as a door (nothing would load it), and its file goes.
const FOLDED_ONLY = new Set(['runtime/not-bundled.js']);
const outside = (id) => id.startsWith('bullmq/') || FILES_OF_THEIR_OWN.has(id) || FOLDED_ONLY.has(id);

// Every CommonJS module tsc wrote (the ES modules, .mjs, are the .mts entries).
const all = filesOf('.js');
const doors = all.filter((id) => readFileSync(join(dist, id), 'utf8').includes(DOOR_MARK));
if (doors.length > 0) {
  throw new Error(`scripts/bundle.mjs: dist/${doors[0]} is a door already: run tsc first (npm run build:ts)`);
}
const ids = all.filter((id) => !outside(id));

// A module's names, as Node's lexer finds them in tsc's output, with those
// of the modules it re-exports (export * from).
await initLexer();
const lexed = new Map(ids.map((id) => [id, lexExports(readFileSync(join(dist, id), 'utf8'))]));
function namesOf(id, seen = new Set()) {
  if (seen.has(id)) return [];
  seen.add(id);
  const { exports, reexports } = lexed.get(id);
  return [...exports, ...reexports.flatMap((r) => namesOf(posix.join(posix.dirname(id), r), seen))];
}

const plugins = [{
  name: 'outside',
  setup(b) {
    b.onResolve({ filter: /^\./ }, (args) => {
      const id = idOf(join(args.resolveDir, args.path));
      if (!outside(id)) return undefined;
      if (id.startsWith('bullmq/')) throw new Error(`${args.importer} requires dist/${id}: the core must not`);
      if (FOLDED_ONLY.has(id)) throw new Error(`${args.importer} requires dist/${id}, which only the folded checks may use`);
      // (Relative to the bundle, which sits in dist/.)
      return { path: `./${id}`, external: true };
    });
  },
}, {
  // A module's own paths, for the few that use them: the bundle's wrapper
  // would otherwise give each the bundle's. Kept on tsc's "use strict"
  // line, so that the input source maps' lines stay right.
  name: 'own-paths',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(text)) return undefined;
      const own = `var __filename = __reactorThreadsPath(${JSON.stringify(idOf(args.path))}), `
        + '__dirname = require("node:path").dirname(__filename);';
      const contents = text.startsWith('"use strict";') ? text.replace('"use strict";', `"use strict";${own}`) : own + text;
      return { contents, loader: 'js' };
    });
  },
}];

const table = ids.map((id) => `  ${JSON.stringify(id)}: () => require(${JSON.stringify(`./${id}`)}),`).join('\n');
await build({
  stdin: {
    contents: `"use strict";\nconst modules = {\n${table}\n};\nmodule.exports = (id) => modules[id]();\n`,
    resolveDir: dist,
    sourcefile: 'reactor-threads-modules.js',
    loader: 'js',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  // ("use strict" first: the banner goes before esbuild's own.)
  banner: { js: '"use strict";\nconst __reactorThreadsPath = (id) => require("node:path").join(__dirname, ...id.split("/"));' },
  outfile: join(dist, BUNDLE),
  plugins,
  // No keepNames: its __name() calls cost a cold pool ~10 ms. Names hold
  // without it but for a class that names itself in its own body, which
  // esbuild renames _Name: the check below refuses one.
  logLevel: 'warning',
  // specifiers.ts imports a URL with options: left to Node, as wanted.
  logOverride: { 'unsupported-dynamic-import': 'silent' },
});

const bundled = readFileSync(join(dist, BUNDLE), 'utf8');
const renamed = /\b(\w+) = class _\1\b/.exec(bundled);
if (renamed) {
  throw new Error(`scripts/bundle.mjs: class ${renamed[1]} names itself in its own body, so the bundle calls it _${renamed[1]}: `
    + 'name it through a constant outside the class (src/bridge/caller.ts callMethod)');
}

// Every door is made and checked before any is written: a failed build
// leaves tsc's output whole, never half of it doors.
const doorTexts = ids.map((id) => {
  const text = readFileSync(join(dist, id), 'utf8');
  const hashbang = text.startsWith('#!') ? text.slice(0, text.indexOf('\n') + 1) : '';
  const names = [...new Set(namesOf(id))].filter((n) => n !== '__esModule');
  const up = id.split('/').length - 1;
  const bundlePath = up === 0 ? `./${BUNDLE}` : `${'../'.repeat(up)}${BUNDLE}`;
  const door = `${hashbang}"use strict";\n${DOOR_MARK} (scripts/bundle.mjs), where this module is.\n`
    + `const load = require(${JSON.stringify(bundlePath)});\n`
    + `module.exports = load(${JSON.stringify(id)});\n`
    + (names.length ? `// Its names, for an ES module importing it (Node's CommonJS lexer reads them here).\n0 && (module.exports = { ${names.join(', ')} });\n` : '');
  // A name the shorthand cannot hold (default, a reserved word) is a SyntaxError here.
  try {
    new Script(door.slice(hashbang.length), { filename: `dist/${id}` });
  } catch (e) {
    throw new Error(`scripts/bundle.mjs: dist/${id} exports a name a door cannot list (${names.join(', ')}): ${e.message}`);
  }
  return [id, door];
});
// Each entry's check that the package was not bundled, folded with the
// refusal it shares with the other (runtime/not-bundled.js, FOLDED_ONLY) into one file
// that loads nothing of the package: the ES module entry's would otherwise
// import CommonJS, for which Node starts its CommonJS lexer, ~4 ms in each
// new thread whose tasks' module imports the package (bench:
// firstburstcold), and the CommonJS entry's would load a door. Made
// before anything is written, like the doors.
const folds = [];
for (const [id, format] of [['runtime/not-bundled-esm.mjs', 'esm'], ['runtime/not-bundled-cjs.js', 'cjs']]) {
  const { outputFiles } = await build({
    entryPoints: [join(dist, id)],
    outfile: join(dist, id),
    allowOverwrite: true,
    write: false,
    bundle: true,
    platform: 'node',
    format,
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  folds.push(...outputFiles);
}

// One character past ASCII anywhere (esbuild escapes those of strings, not
// of the comments it keeps) makes V8 hold the whole source as a two-byte
// string: each thread then reads and compiles the bundle ~1 ms slower. The
// files that stay tsc's output (the BullMQ subpath, FILES_OF_THEIR_OWN, the
// ES module entries) and the folds are held to the same rule (a string
// writes its character as \u2026). The doors are ASCII by construction.
const shipped = new Map([[BUNDLE, bundled],
  ...all.filter(outside).filter((id) => !FOLDED_ONLY.has(id)).map((id) => [id, readFileSync(join(dist, id), 'utf8')]),
  ...filesOf('.mjs').map((id) => [id, readFileSync(join(dist, id), 'utf8')]),
  ...folds.filter(({ path }) => !path.endsWith('.map')).map(({ path, text }) => [idOf(path), text])]);
for (const [id, text] of shipped) {
  const wide = /[^\x00-\x7f]/.exec(text);
  if (!wide) continue;
  const line = text.slice(0, wide.index).split('\n').length;
  throw new Error(`scripts/bundle.mjs: dist/${id}:${line} has '${wide[0]}', not ASCII: write it in ASCII in its source `
    + `(${text.split('\n')[line - 1].trim()})`);
}
// What only the folds may use, nothing shipped may load: it is not there.
for (const id of FOLDED_ONLY) {
  // Any quoted path ending in its name, with or without .js (a CommonJS
  // file under nodenext may leave the extension out).
  const stem = posix.basename(id, '.js');
  const quotedPath = new RegExp(`["'\`]([^"'\`\\n]*[/\\\\])?${stem}(\\.js)?["'\`]`);
  const user = [...shipped].find(([other, text]) => other !== BUNDLE && !folds.some((f) => idOf(f.path) === other)
    && quotedPath.test(text));
  if (user) throw new Error(`scripts/bundle.mjs: dist/${user[0]} requires ${id}, which only the folded checks may use`);
}

for (const { path, contents } of folds) writeFileSync(path, contents);
for (const id of FOLDED_ONLY) for (const file of [id, `${id}.map`, id.replace(/\.js$/, '.d.ts')]) rmSync(join(dist, file), { force: true });
for (const [id, door] of doorTexts) {
  writeFileSync(join(dist, id), door);
  rmSync(join(dist, `${id}.map`), { force: true });
}
