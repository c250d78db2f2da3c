// A program whose stdout reader goes away (EPIPE, which it ignores): its
// pool threads print 8 lines each, and every call must still settle. It
// reports on stderr how many did, and how long the slowest round of 8 took.
// With argv[2] 'once' it listens for that error once(), as a program that
// expects one, and writes nothing itself: its threads print 4 KiB a task,
// enough to fill the pipe, and the pool must not make it see a second one.
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { printLine, printWide } from './console-order-tasks.cjs';

const once = process.argv[2] === 'once';
process.stdout[once ? 'once' : 'on']('error', () => { /* the reader went away */ });
const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
pool.start();
let settled = 0;
let slowest = 0;
for (let round = 0; round < 8; round++) {
  const started = performance.now();
  await Promise.all(Array.from({ length: 8 }, (_, i) => deferToThreadPool(reactor, pool, once ? printWide : printLine, 'stdout', round * 8 + i)
    .then(() => { settled++; })));
  slowest = Math.max(slowest, performance.now() - started);
  if (!once) process.stdout.write(`${'x'.repeat(64 * 1024)}\n`);
}
process.stderr.write(`settled ${settled}, slowest round ${Math.round(slowest)} ms\n`);
await pool.stop();
