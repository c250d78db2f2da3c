// reactor.callFromThread from a thread: non-blocking, in order, nothing
// lost, and delivered before the task's own result.
import test from 'ava';
import { deferToThread, reactor, ReactorGoneError } from 'reactor-threads';
import { fireCalls } from './_fixtures/bridge-tasks.cjs';

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
