// src/identity/typescript.ts, called as a thread calls it before importing
// a .ts module while nothing loads TypeScript there (Node 20 under vitest
// or jest): a lookup of tsx that fails in one project does not stop one in
// another project, even when they overlap. Needs a Node that does not
// strip types itself (before 22.18): there the function does nothing.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadsTypeScript } from '../dist/identity/typescript.js';
import { copyProject } from './_helpers/project.js';

const strips = Boolean((process.features as { typescript?: unknown }).typescript);

(strips ? test.skip : test)('a module whose project has tsx registers it even while a lookup in a project without tsx fails', async (t) => {
  const withTsx = copyProject('typescript', ['tsx']);
  const without = mkdtempSync(join(tmpdir(), 'rt-no-tsx-'));
  try {
    writeFileSync(join(without, 'package.json'), '{ "private": true }');
    writeFileSync(join(without, 'plain.ts'), 'export const n: number = 1;\n');
    writeFileSync(join(withTsx.dir, 'typed.ts'), 'export const n: number = 2;\n');
    const typed = pathToFileURL(join(withTsx.dir, 'typed.ts')).href;
    // The lookup from the project without tsx begins first; the other waits for it.
    await Promise.all([loadsTypeScript(pathToFileURL(join(without, 'plain.ts')).href), loadsTypeScript(typed)]);
    const m = await import(typed) as { n: number };
    t.is(m.n, 2);
  } finally {
    withTsx.remove();
    rmSync(without, { recursive: true, force: true });
  }
});

// Serial: ava runs it before the test above, which registers tsx in this process.
(strips ? test.skip : test.serial)('a relative require of a TypeScript module that a thread cannot load says how to load it', async (t) => {
  // (What ts-jest's require('./tasks') becomes: src/identity/specifiers.ts requireSpecifier.)
  const { bindingValues } = await import('../dist/identity/binding-values.js');
  const without = mkdtempSync(join(tmpdir(), 'rt-no-tsx-'));
  try {
    writeFileSync(join(without, 'package.json'), '{ "private": true }');
    const file = join(without, 'typed-tasks.ts');
    writeFileSync(file, 'export const shout = (s: string): string => s.toUpperCase();\n');
    const base = pathToFileURL(join(without, 'a.test.ts')).href;
    const e = await t.throwsAsync(bindingValues([{ kind: 'module', name: 'tasks', specifier: file, base }], 'shoutAll'));
    t.regex((e?.cause as Error | undefined)?.message ?? '', /cannot load the TypeScript module .*typed-tasks\.ts: install tsx/);
  } finally {
    rmSync(without, { recursive: true, force: true });
  }
});
