// The CommonJS entry's check that the package is not bundled (see
// not-bundled.ts). index.ts runs it before anything else loads, so it
// imports nothing at its top: inside an ESM bundle every require() throws.
// A file of its own, with its own __dirname (scripts/bundle.mjs). Tests:
// test/bundlers.ts.
import { refuseBundle } from './not-bundled.js';

/** Throws the bundle error unless this file sits in the package's dist/runtime/, beside thread/worker.js. */
export function assertNotBundled(): void {
  // An ESM bundle has no __dirname; webpack may make it '/' or relative.
  if (typeof __dirname !== 'string') return refuseBundle(false);
  const { existsSync } = require('node:fs') as typeof import('node:fs');
  const { isAbsolute, join } = require('node:path') as typeof import('node:path');
  refuseBundle(isAbsolute(__dirname) && existsSync(join(__dirname, '..', 'thread', 'worker.js')));
}
