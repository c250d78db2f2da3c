// Counts the reactor's waits for a next call (native.awaitMessage) on this
// main thread while pool threads make blocking calls back to back, and
// prints `waits <n> caught <n> calls <n> turn-ms <longest> turn-waits <most>`
// (test/reactor-conversation.ts). argv[2]: 'late', f resolving on the
// next setImmediate, 'now', f returning a value, or 'paced': tasks one
// after another that each make one late call then work 200 us (a caller
// that does not come back soon); argv[3]: how many
// threads call (1); argv[4]: how many calls each makes (200). turn-ms:
// the longest time from the first to the last wait that began within one
// turn of this loop (a turn ends in its check phase); turn-waits: the
// most waits that began within one turn. The callers' spin
// comes from REACTOR_THREADS_BRIDGE_SPIN_NS.
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { native } from '../../dist/reactor/native.js';
import { callsAnswered, oneCallThenWork } from './late-answers.cjs';

const late = process.argv[2] === 'late';
const threads = Number(process.argv[3] ?? 1);
const calls = Number(process.argv[4] ?? 200);

let turn = 0;
let counting = true;
const countTurns = (): void => { turn++; if (counting) setImmediate(countTurns); };
setImmediate(countTurns);

const awaitMessage = native.awaitMessage.bind(native);
let waits = 0;
let caught = 0;
let turnOfFirst = -1;
let firstAt = 0;
let longestTurnMs = 0;
let turnWaits = 0;
let mostTurnWaits = 0;
native.awaitMessage = (spinNs: number): boolean => {
  const now = performance.now();
  if (turn !== turnOfFirst) {
    turnOfFirst = turn;
    firstAt = now;
    turnWaits = 0;
  }
  longestTurnMs = Math.max(longestTurnMs, now - firstAt);
  mostTurnWaits = Math.max(mostTurnWaits, ++turnWaits);
  waits++;
  const hit = awaitMessage(spinNs);
  if (hit) caught++;
  return hit;
};
const pool = new ThreadPool({ minThreads: threads, maxThreads: threads });
pool.start();
if (process.argv[2] === 'paced') {
  for (let i = 0; i < calls; i++) {
    if (await deferToThreadPool(reactor, pool, oneCallThenWork, i, 200) !== i + 1) throw new Error('a wrong answer');
  }
} else {
  const sums = await Promise.all(Array.from({ length: threads }, () => deferToThreadPool(reactor, pool, callsAnswered, late, calls)));
  for (const sum of sums) if (sum !== (calls * (calls + 1)) / 2) throw new Error(`wrong answers: ${sum}`);
}
counting = false;
await pool.stop();
process.stdout.write(`waits ${waits} caught ${caught} calls ${calls * threads} turn-ms ${longestTurnMs.toFixed(2)} turn-waits ${mostTurnWaits}\n`);
