// Child process: threadables defined in the entry script itself. A thread
// must never import this file (it would print 'start' again and recurse).
import { deferToThread, threadable } from 'reactor-threads';

const g = globalThis as { starts?: number };
g.starts = (g.starts ?? 0) + 1;

export const add = threadable(function add(a: number, b: number): number { return a + b; });
const offset = 1;
let refused = '';
try {
  threadable(function addOffset(a: number): number { return a + offset; });
} catch (e) {
  refused = (e as Error).message;
}
console.log(JSON.stringify({ sum: await deferToThread(add, 3, 4), starts: g.starts, refused }));
