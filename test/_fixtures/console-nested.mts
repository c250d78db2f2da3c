// Blocks in blockingCallInThread on a task that runs a task printing
// `kb` KiB, then a line 20 ms later, on a pool of its own thread's (test/console-order.ts): the
// nested thread's output passes through a pool thread whose owner (this
// thread) is parked, and so does not read it. Prints the output on stdout,
// and on stderr the result and how long the call took (both threads
// started and warmed first: thread starts are not timed).
import { blockingCallInThread, ThreadPool } from 'reactor-threads';
import { printKiBNested, warmNested } from './console-order-tasks.cjs';

const kb = Number(process.argv[2] ?? '2000');
// (One thread: the timed call runs where warmNested started the nested pool.)
const pool = new ThreadPool({ maxThreads: 1 });
pool.start();
blockingCallInThread.with({ pool, timeout: 60_000 })(warmNested);
const started = performance.now();
const value = blockingCallInThread.with({ pool, timeout: 30_000 })(printKiBNested, kb);
process.stderr.write(`returned ${value} in ${Math.round(performance.now() - started)} ms\n`);
await pool.stop();
