// A CommonJS module that names a built-in module after the global it
// hides (test/functions.ts): `crypto` is the global Web Crypto in a thread.
import { deferToThread } from 'reactor-threads';
// (A require, as a CommonJS module writes it.)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const crypto = require('node:crypto') as typeof import('node:crypto');

export const hashes = (): Promise<string> =>
  deferToThread((s: string) => crypto.createHash('sha256').update(s).digest('hex'), 'x');
