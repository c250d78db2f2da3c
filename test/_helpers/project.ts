// A copy of a project under test/_projects, for tests that run it as a
// user would: in a temporary folder whose node_modules links
// reactor-threads to this repo, and the packages it needs to the repo's
// own. Removed after the test file's tests.
import test from 'ava';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const repo = join(__dirname, '..', '..');

/** The copy's folder. */
export function projectCopy(name: string, packages: readonly string[]): string {
  const project = mkdtempSync(join(tmpdir(), `rt-${name}-`));
  cpSync(join(repo, 'test', '_projects', name), project, { recursive: true });
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(repo, join(project, 'node_modules', 'reactor-threads'));
  for (const p of packages) symlinkSync(join(repo, 'node_modules', p), join(project, 'node_modules', p));
  test.after.always(() => rmSync(project, { recursive: true, force: true }));
  return project;
}
