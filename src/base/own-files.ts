// Whether a file is the library's own code: its frames are never the
// user's (a stack's runner frames, src/errors/own-frames.ts; the caller of
// a public function, src/identity/specifiers.ts). Any thread.
import { dirname, join, sep } from 'node:path';

/**
 * Where the library's code is: dist/ (the bundle, whose frames V8 prints
 * and whose call sites V8 reports) and src/ (the frames that
 * --enable-source-maps prints instead). This module is dist/base/.
 */
const ownDirs = ((): string[] => {
  const root = dirname(dirname(__dirname));
  return [join(root, 'dist') + sep, join(root, 'src') + sep];
})();

/** Whether `file` (a path) is in the library's code. */
export function isOwnFile(file: string): boolean {
  return ownDirs.some((dir) => file.startsWith(dir));
}
