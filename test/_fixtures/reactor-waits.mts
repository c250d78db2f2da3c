// Counts the reactor's waits for a next call (native.awaitMessage) on this
// main thread while a pool thread makes blocking calls back to back, and
// prints `waits <n> calls <n>` (test/reactor-conversation.ts). argv[2]:
// 'late', f resolving on the next setImmediate, or 'now', f returning a
// value. The callers' spin comes from REACTOR_THREADS_BRIDGE_SPIN_NS.
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { native } from '../../dist/reactor/native.js';
import { callsAnswered } from './late-answers.cjs';

const calls = 200;
const awaitMessage = native.awaitMessage.bind(native);
let waits = 0;
native.awaitMessage = (spinNs: number): boolean => {
  waits++;
  return awaitMessage(spinNs);
};
const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
pool.start();
const sum = await deferToThreadPool(reactor, pool, callsAnswered, process.argv[2] === 'late', calls);
if (sum !== (calls * (calls + 1)) / 2) throw new Error(`wrong answers: ${sum}`);
await pool.stop();
process.stdout.write(`waits ${waits} calls ${calls}\n`);
