// A preload (a pool's execArgv --require) that prints a line in each pool
// thread before the library runs there: a post of the thread's stdout that
// its counts (src/thread/printed-bytes.ts) never saw, and cannot end early.
import { isMainThread, threadId } from 'node:worker_threads';

if (!isMainThread) process.stdout.write(`banner of thread ${threadId}\n`);
