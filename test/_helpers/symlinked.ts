// An app whose node_modules/reactor-threads is a symlink to this package,
// as pnpm lays it out. Tests run it under --preserve-symlinks (runChild's
// nodeArgs), from their own working directory: NODE_OPTIONS may name a
// preload relative to it, as npm run test:cpus8's does.
import type { ExecutionContext } from 'ava';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes `files` (name -> text) into a new app directory whose
 * node_modules/reactor-threads links to this package, removed after the
 * test. Undefined, with the test passed and the reason given, where no
 * link can be made.
 */
export function symlinkedApp(t: ExecutionContext, files: Record<string, string>): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'rt-symlinked-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules'));
  try {
    symlinkSync(join(__dirname, '..', '..'), join(dir, 'node_modules', 'reactor-threads'), 'junction');
  } catch (e) {
    // (wine makes no junction from its Z: drive to C:; Windows without the right to link refuses with EPERM.)
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTSUP' && code !== 'EPERM') throw e;
    t.pass(`not tested here: no symlink can be made (${code})`);
    return undefined;
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
