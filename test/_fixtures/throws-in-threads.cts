// A preload that runs in the main thread and throws in every other: given
// in NODE_OPTIONS, a pool thread inherits it and dies in it, before this
// package runs there (test/blocking-call-in-thread.ts).
import { isMainThread } from 'node:worker_threads';

if (!isMainThread) throw new RangeError('thrown in a thread');
