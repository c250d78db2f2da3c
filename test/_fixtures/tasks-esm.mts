// Threadable task functions in an ES module.
import { threadId } from 'node:worker_threads';
import { threadable } from 'reactor-threads';

const scale = 3;  // module scope works in a thread: the module is imported there
export const triple = threadable(function triple(x: number): number { return x * scale; });
export const esmThreadId = threadable(function esmThreadId(): number { return threadId; });
export function plainExport(x: number): string { return `plain:${x}`; }
/** A generator export, which only the thread can see (fromModule): refused there. */
export function* countUp(n: number): Generator<number> { for (let i = 0; i < n; i++) yield i; }
