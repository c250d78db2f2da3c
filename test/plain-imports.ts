// `import(...)` inside a plain function sent as source: it resolves as an
// import written in the calling file would (bare packages, relative
// modules, built-ins), with no experimental warning (src/identity/source.ts,
// src/identity/specifiers.ts).
import test from 'ava';
import { deferToThread } from 'reactor-threads';
import { fixture, runChild } from './_helpers/child.js';
import { tripleFromHere } from './_fixtures/nested/sends-relative-import.mjs';

test('a plain function imports a bare package as the calling file would resolve it', async (t) => {
  const count = await deferToThread(async (src: string) => {
    const { parse } = await import('acorn');
    return parse(src, { ecmaVersion: 'latest' }).body.length;
  }, 'let a = 1; a += 2; a');
  t.is(count, 3);
});

test('a plain function imports a relative module from the calling file', async (t) => {
  const r = await deferToThread(async (n: number) => {
    const { triple } = await import('./_fixtures/tasks-esm.mjs');
    return triple(n);
  }, 5);
  t.is(r, 15);
});

test('a relative import resolves from the file that made the call, not the test file', async (t) => {
  t.is(await tripleFromHere(7), 21);
});

test('a computed specifier is resolved from the calling file too', async (t) => {
  const r = await deferToThread(async (which: string) => {
    const m = await import(which) as { triple(n: number): number };
    return m.triple(2);
  }, './_fixtures/tasks-esm.mjs');
  t.is(r, 6);
});

test('a missing module is reported as imported from the calling file', async (t) => {
  // @ts-expect-error: the module does not exist
  const e = await t.throwsAsync(deferToThread(async () => import('./_fixtures/no-such-module.mjs')));
  t.is((e as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
  t.true(e!.message.includes(__filename), e!.message);
});

test('a missing package is reported with its name', async (t) => {
  // @ts-expect-error: the package does not exist
  const e = await t.throwsAsync(deferToThread(async () => import('no-such-package-here')));
  t.regex(e!.message, /no-such-package-here/);
});

test('the word import in strings, comments and property names is left alone', async (t) => {
  const r = await deferToThread((o: { import: string }) => {
    // import('x') in a comment
    return `${o.import} import('y')`;
  }, { import: 'z' });
  t.is(r, "z import('y')");
});

test('importing in a plain function prints no experimental warning', async (t) => {
  const r = await runChild(fixture('plain-imports-quiet.mjs'), [], 30_000);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), [2, 6, 40]);
  t.is(r.stderr, '');
});
