// Child process: threadables defined in the entry script itself. A thread
// must never import this file (it would print 'start' again and recurse).
// One uses the script's imports, which the thread imports itself.
import { deferToThread, threadable } from 'reactor-threads';
import { createHash } from 'node:crypto';
import * as path from 'node:path';

const g = globalThis as { starts?: number };
g.starts = (g.starts ?? 0) + 1;

export const add = threadable(function add(a: number, b: number): number { return a + b; });
export const digest = threadable(function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8) + path.sep;
});
const offset = 1;
let refused = '';
try {
  threadable(function addOffset(a: number): number { return a + offset; });
} catch (e) {
  refused = (e as Error).message;
}
let refusedNamed = '';
try {
  threadable('offsetBy', (a: number): number => a + offset);
} catch (e) {
  refusedNamed = (e as Error).message;
}
let refusedClass = '';
try {
  threadable(class EntryError extends Error {});
} catch (e) {
  refusedClass = (e as Error).message;
}
console.log(JSON.stringify({
  sum: await deferToThread(add, 3, 4), digest: await deferToThread(digest, 'hello'), starts: g.starts, refused, refusedNamed,
  refusedClass,
}));
