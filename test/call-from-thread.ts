// reactor.callFromThread from a thread: non-blocking, in order, nothing
// lost, and delivered before the task's own result.
import test from 'ava';
import { deferToThread, reactor, ReactorGoneError } from 'reactor-threads';
import { callsThatLoadFirst, fireCalls } from './_fixtures/bridge-tasks.cjs';

test('100,000 calls from one thread all arrive, in order, before its task settles', async (t) => {
  const seen: number[] = [];
  const n = await deferToThread(fireCalls, (i: number) => { seen.push(i); }, 100_000);
  t.is(n, 100_000);
  t.is(seen.length, 100_000, 'every call ran before the Promise settled');
  t.true(seen.every((v, i) => v === i), 'in the order they were made');
});

test('a thread whose served reactor never loaded the package gets ReactorGoneError at once', (t) => {
  // ava runs this file in a Worker; its main thread never loaded the package.
  t.throws(() => reactor.callFromThread(() => undefined), { instanceOf: ReactorGoneError });
});

test('a call whose function must load on the reactor runs before the thread\'s later calls and its result', async (t) => {
  const seen: string[] = [];
  (globalThis as { reactorLog?: string[] }).reactorLog = seen;
  const result = await deferToThread(callsThatLoadFirst, (s: string) => { seen.push(s); });
  seen.push(result);
  t.deepEqual(seen, ['first, loaded on the reactor', 'second', 'the result']);
});
