// Callers written as ES modules and as CommonJS both work, with
// threadables of either kind; the entry script is never imported by a
// thread.
import test from 'ava';
import { sep } from 'node:path';
import { fixture, runChild } from './_helpers/child.js';

test('an ES module caller runs ESM and CJS threadables and fromModule references', async (t) => {
  const r = await runChild(fixture('caller-esm.mjs'));
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { triple: 12, add: 5, plain: 'plain:1', io: true });
});

test('a CommonJS caller runs CJS and ESM threadables and fromModule references', async (t) => {
  const r = await runChild(fixture('caller-cjs.cjs'));
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { triple: 12, add: 5, plain: 'plain:1' });
});

test('a threadable defined in the entry script is sent as source, never imported', async (t) => {
  const r = await runChild(fixture('entry-threadable.mjs'));
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { sum: number; digest: string; starts: number; refused: string; refusedNamed: string;
    refusedClass: string };
  t.is(out.sum, 7);
  t.is(out.digest, `2cf24dba${sep}`, 'its imports were imported in the thread');
  t.is(out.starts, 1, 'the entry script ran once');
  t.regex(out.refused, /'offset' is a const of .*entry-threadable\.mjs, not an import.*entry script.*module of its own/);
  t.regex(out.refusedNamed, /^offsetBy uses 'offset'/, 'named by the name threadable() was given');
  t.regex(out.refusedClass, /^threadable\(EntryError\) registers a class by its module.*entry script.*module of its own/,
    'a class there is refused for what it is, not as a class passed as a task');
});

test('a threadable in a CommonJS entry script uses its require() bindings, as TypeScript compiles imports', async (t) => {
  const r = await runChild(fixture('entry-threadable-cjs.cjs'));
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { digest: '2cf24dba', statements: 2 });
});
