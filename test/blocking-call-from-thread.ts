// blockingCallFromThread: a thread runs a function on the reactor it serves
// and gets the result synchronously; Twisted's four outcomes, each kind of
// f, and the calls that are refused instead of deadlocking.
import test from 'ava';
import { threadId } from 'node:worker_threads';
import { blockingCallFromThread, deferToThread, reactor, ReactorGoneError, WouldDeadlockError } from 'reactor-threads';
import {
  callFromModuleOnReactor, callPlainOnReactor, callReactor, callReactorCatching, callReactorWithOwnFunction, repliesOfSizes,
} from './_fixtures/bridge-tasks.cjs';
import { fixture, runChild } from './_helpers/child.js';

test('a value f returns on the reactor comes back to the thread', async (t) => {
  t.deepEqual(await deferToThread(callReactor, 'addOnReactor', 2, 3), { sum: 5, threadId });
});

test('a Promise f returns is awaited on the reactor', async (t) => {
  t.is(await deferToThread(callReactor, 'addLaterOnReactor', 20, 22), 42);
});

test('a thenable f returns is awaited on the reactor', async (t) => {
  t.is(await deferToThread(callReactor, 'thenableOnReactor', 21), 42);
});

test('an error f throws on the reactor is thrown in the thread, class kept', async (t) => {
  await t.throwsAsync(deferToThread(callReactor, 'failOnReactor', 'bad uri'), { instanceOf: URIError, message: 'bad uri' });
});

test('a rejection of f on the reactor is thrown in the thread, class kept', async (t) => {
  await t.throwsAsync(deferToThread(callReactor, 'failLaterOnReactor', 'later'), { instanceOf: EvalError, message: 'later' });
});

test('replies of every size come back whole, on both sides of the reply scratch\'s 4 KiB limit, a small one after a large one', async (t) => {
  // Around the 4 KiB scratch (src/bridge/caller.ts), large then small, so
  // that a small reply lands where a large one was read. A string of 4,087
  // characters encodes to 4,092 bytes, the most that fits after the
  // length; 4,088 to one byte more.
  const sizes = [0, 1, 4000, 4080, 4087, 4088, 4090, 4093, 4094, 4095, 4096, 4100, 70_000, 3, 4087, 4090, 10, 0];
  for (const kind of ['string', 'map', 'bytes'] as const) {
    t.deepEqual(await deferToThread(repliesOfSizes, kind, sizes), sizes.map(() => true), kind);
  }
});

test('f may be a fromModule reference or a plain function', async (t) => {
  t.is(await deferToThread(callFromModuleOnReactor), 'plain:9');
  t.is(await deferToThread(callPlainOnReactor), 42);
});

test('on a reactor\'s own thread it throws WouldDeadlockError at once and never runs f', async (t) => {
  // Only a main thread serves itself (this ava worker serves its process's
  // main thread), so the call is made on the main thread of a child process.
  const r = await runChild(fixture('blocking-call-on-main.cjs'));
  t.false(r.timedOut, 'the call on the main thread waited for itself instead of throwing');
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  t.like(out, { threw: true, wouldDeadlock: true, name: 'WouldDeadlockError', code: 'ERR_WOULD_DEADLOCK', ran: false, io: true });
  t.regex(out.message as string, /reactor's own thread/);
});

test('in a Worker whose main thread never loaded the package it throws ReactorGoneError at once', (t) => {
  // ava runs this file in a Worker; its main thread is ava's, which never
  // loaded reactor-threads, so no reactor serves this thread.
  t.false(reactor.isInIOThread());
  t.throws(() => blockingCallFromThread(reactor, () => 1), { instanceOf: ReactorGoneError, message: /never loaded/ });
});

test('a wait that would close a cycle of threads is refused with WouldDeadlockError', async (t) => {
  // The thread waits on the reactor, whose function calls the thread back.
  const r = await deferToThread(callReactorWithOwnFunction);
  t.is(r.name, 'WouldDeadlockError');
  t.regex(r.message, /would deadlock/);
  t.true(WouldDeadlockError.name === r.name);
});

test('a per-call timeout ends the wait with CallTimeoutError', async (t) => {
  const r = await deferToThread(callReactorCatching, 'neverAnswers', 100);
  t.is(r.name, 'CallTimeoutError');
  t.is(r.code, 'ERR_CALL_TIMEOUT');
  // Timed in the thread, around the call alone: a cold pool's start (slow
  // under ASan) is not the timeout's business.
  t.true(r.ms >= 99 && r.ms < 2000, `the call took ${r.ms} ms`);
});

test('an answer that comes after the caller timed out is dropped harmlessly', async (t) => {
  // (An answer already there when the caller wakes is taken: a caller
  // starved past both times, on a loaded machine, would get it. Hence
  // 500 ms between them, not 30.)
  const r = await deferToThread(callReactorCatching, 'answersAfter', 30, 530);
  t.is(r.name, 'CallTimeoutError');
  await new Promise((resolve) => setTimeout(resolve, 600));  // the late answer arrives now
  t.deepEqual(await deferToThread(callReactor, 'addOnReactor', 1, 1), { sum: 2, threadId });
});

test('with() validates its timeout', (t) => {
  t.throws(() => blockingCallFromThread.with({ timeout: -1 }), { instanceOf: RangeError, message: /timeout/ });
});
