// After it answers a blocking call, a reactor waits briefly for the
// caller's next call before its loop goes back to sleep in its poll
// (src/reactor/core.ts, "spin, then park"): also when the answer leaves
// on a later turn than the call came, f's Promise settling on an
// Immediate, a timer or I/O.
import test from 'ava';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { native } from '../dist/reactor/native.js';
import { callsAnsweredLate } from './_fixtures/late-answers.cjs';

test.serial('a reactor waits for the next call after an answer f\'s Promise gave on a later turn', async (t) => {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
  pool.start();
  const awaitMessage = native.awaitMessage.bind(native);
  let waits = 0;
  native.awaitMessage = (spinNs: number): boolean => {
    waits++;
    return awaitMessage(spinNs);
  };
  try {
    const n = 200;
    t.is(await deferToThreadPool(reactor, pool, callsAnsweredLate, n), (n * (n + 1)) / 2);
    // Each batch brought one call whose answer was still pending, so only
    // the late answers could start a wait. (At least the first does: the
    // waits stop only once most of them missed, which a loaded machine
    // can make them do.)
    t.true(waits >= 1, `the reactor waited after none of ${n} late answers`);
    t.log(`${waits} waits after ${n} late answers`);
  } finally {
    native.awaitMessage = awaitMessage;
    await pool.stop();
  }
});
