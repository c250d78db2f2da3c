// The reactor object: its pool side is the calling thread's own, and
// isInIOThread is true only on a thread that serves itself.
import test from 'ava';
import { waitFor } from './_helpers/wait.js';
import { deferToThread, PoolStoppedError, reactor, ThreadPool } from 'reactor-threads';
import { fixture, runChild } from './_helpers/child.js';

test('getThreadPool creates one started pool lazily and returns it again', (t) => {
  const pool = reactor.getThreadPool();
  t.true(pool instanceof ThreadPool);
  t.true(pool.started);
  t.is(pool.min, 0);
  t.is(reactor.getThreadPool(), pool);
});

// A server's graceful shutdown: SIGTERM stops the reactor's pool with a
// drain; calls made meanwhile must not run on a fresh pool, and a second
// signal's stop() must reach the stop under way. (Before, getThreadPool()
// made a new pool at once: both went to it.)
test.serial('getThreadPool returns the pool whose stop() runs until it has finished, then a new one', async (t) => {
  const pool = reactor.getThreadPool();
  const running = deferToThread(() => new Promise<number>((resolve) => setTimeout(() => resolve(1), 300)));
  await waitFor(() => pool.busy === 1);
  const draining = pool.stop({ drain: true });
  t.is(reactor.getThreadPool(), pool);
  await t.throwsAsync(deferToThread(() => 2), { instanceOf: PoolStoppedError });
  t.is(reactor.getThreadPool().stop({ timeout: 10_000 }), draining, 'a second stop() is the first one\'s');
  t.is(await running, 1);
  await draining;
  const next = reactor.getThreadPool();
  t.not(next, pool);
  t.true(next.started);
  t.is(await deferToThread(() => 3), 3);
});

test('isInIOThread is false in a Worker that is not a pool thread (ava runs tests in Workers)', (t) => {
  t.false(reactor.isInIOThread());
});

test('on the main thread, isInIOThread is true and callFromThread runs f on a later turn', async (t) => {
  const r = await runChild(fixture('main-reactor.mjs'));
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { io: true, order: ['sync', 'called 1 2'], poolThreadIO: false });
});

test.serial('callInThread on the reactor runs on its pool', async (t) => {
  const pool = reactor.getThreadPool();
  const errors: unknown[] = [];
  const onError = (e: unknown): void => { errors.push(e); };
  pool.on('error', onError);
  reactor.callInThread(() => { throw new SyntaxError('from callInThread'); });
  await waitFor(() => errors.length > 0);
  pool.off('error', onError);
  t.is(errors.length, 1);
  t.true(errors[0] instanceof SyntaxError);
});

test('callFromThread on the reactor\'s own thread runs calls in order and reports a throw or rejection of f to stderr', async (t) => {
  const r = await runChild(fixture('own-thread-call-throws.mjs'));
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), 'loaded, after it');
  t.regex(r.stderr, /callFromThread[\s\S]*TypeError: thrown by f/);
  t.regex(r.stderr, /RangeError: rejected by f/);
});

test('callFromThread(proxy) on the main thread posts to the proxy\'s thread without blocking the main thread', async (t) => {
  // The thread's function calls the main thread back: a main thread
  // blocked in the call could not serve that (it would be refused as a
  // deadlock, and 'mark' would never run).
  const r = await runChild(fixture('call-from-thread-proxy.mjs'));
  t.is(r.stdout.trim(), 'marked', r.stderr);
  t.is(r.code, 0);
});
