// A program that corks its own stdout and leaves it corked while a task
// prints: a thread's output counts once the main thread's stdout has
// written it, which a corked stream does not do until uncorked, so the
// result settles by the outbox's last resort (about 5 s), not never. The
// output is printed once stdout is uncorked. Reports on stderr.
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { add } from './tasks.cjs';
import { printLine } from './console-order-tasks.cjs';

const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
pool.start();
await deferToThreadPool(reactor, pool, add, 1, 1);
process.stdout.cork();
const started = performance.now();
const v = await deferToThreadPool(reactor, pool, printLine, 'stdout', 7);
process.stderr.write(`settled ${v} in ${Math.round(performance.now() - started)} ms\n`);
process.stdout.uncork();
await pool.stop();
