// The source tree shows the design: folders by concern, and imports that
// flow one way, from the entries down to the base (README: Layout). A
// module may import its own folder and the folders below it, never one
// above. Type-only imports count too: a type is a dependency.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Top to bottom. */
const LAYERS = ['bullmq', 'index', 'thread', 'api', 'pool', 'runtime', 'bridge', 'reactor', 'codec', 'identity', 'errors', 'base'];
const src = join(__dirname, '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'types' ? [] : sources(p);
    return /\.m?ts$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function layerOf(file: string): string {
  const first = relative(src, file).split('/')[0]!;
  return first.includes('.') ? 'index' : first;
}

test('every source file sits in a known layer', (t) => {
  const unknown = sources(src).filter((f) => !LAYERS.includes(layerOf(f))).map((f) => relative(src, f));
  t.deepEqual(unknown, []);
});

test('imports flow one way: no module imports a layer above its own', (t) => {
  const upward: string[] = [];
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), m[1]!);
      const from = LAYERS.indexOf(layerOf(file));
      const to = LAYERS.indexOf(layerOf(target));
      if (to < from) upward.push(`${relative(src, file)} -> ${m[1]} (${LAYERS[from]} imports ${LAYERS[to]})`);
    }
  }
  t.deepEqual(upward, [], 'imports that run back up');
});

test('no module-level setter wires the layers at run time', (t) => {
  const setters = sources(src).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/export function (set[A-Z]\w*)/g)]
    .map((m) => `${relative(src, file)}: ${m[1]}`));
  t.deepEqual(setters, []);
});
