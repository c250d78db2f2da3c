// A typed array that crosses by copy owns its memory on the other side, as
// structured clone gives it: its ArrayBuffer holds its bytes alone, not the
// native batch it arrived in (other tasks' payloads), so a task that reads,
// writes or moves `a.buffer` touches nothing else. And a call's encoded
// bytes survive the user's code that a push can run (a getter of the
// pool's env, read as the push starts a thread) when it submits too.
import test from 'ava';
import { blockingCallInThread, deferToThreadPool, reactor, ThreadPool, transfer } from 'reactor-threads';
import { decodeRemote, encodeRemote } from '../dist/bullmq/remote-codec.js';
import { bytesOf, echo, giveBufferBack, memoryOf, overwriteBuffer, threeBytes, viewsOf } from './_fixtures/copied-views.cjs';

/** A started pool of one thread, which ran a task (so that the next ones share its batches). */
async function oneThread(t: { teardown(f: () => unknown): void }): Promise<ThreadPool> {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
  t.teardown(() => pool.stop());
  pool.start();
  await deferToThreadPool(reactor, pool, bytesOf, new Uint8Array([0]));
  return pool;
}

test('a copied typed array argument has an ArrayBuffer of its own bytes', async (t) => {
  const pool = await oneThread(t);
  const seen = await Promise.all([
    deferToThreadPool(reactor, pool, memoryOf, new Uint8Array([1, 2, 3])),
    deferToThreadPool(reactor, pool, memoryOf, new Uint8Array([4, 5, 6])),
  ]);
  t.deepEqual(seen, [[3, 0, 3], [3, 0, 3]]);
});

test('a task that writes over its argument\'s ArrayBuffer leaves the next task\'s arguments alone', async (t) => {
  const pool = await oneThread(t);
  const [, next] = await Promise.all([
    deferToThreadPool(reactor, pool, overwriteBuffer, new Uint8Array([1, 2, 3])),
    deferToThreadPool(reactor, pool, bytesOf, new Uint8Array([4, 5, 6])),
  ]);
  t.deepEqual(next, [4, 5, 6]);
});

test('a task that moves its argument\'s ArrayBuffer back gets its bytes alone, and the next task still runs', async (t) => {
  const pool = await oneThread(t);
  const [back, next] = await Promise.all([
    deferToThreadPool(reactor, pool, giveBufferBack, new Uint8Array([1, 2, 3])),
    deferToThreadPool(reactor, pool, bytesOf, new Uint8Array([4, 5, 6])),
  ]);
  t.deepEqual(Array.from(new Uint8Array(back)), [1, 2, 3]);
  t.deepEqual(next, [4, 5, 6]);
});

test('a copied typed array result has an ArrayBuffer of its own: moving it spares the results after it', async (t) => {
  const pool = await oneThread(t);
  const got = await new Promise<string[]>((resolve) => {
    const out: string[] = [];
    for (let i = 0; i < 20; i++) {
      pool.callInThreadWithCallback((ok: boolean, v: unknown) => {
        const u = v as Uint8Array;
        out[i] = ok ? `${u.buffer.byteLength}:${Array.from(u).join(',')}` : `failed: ${String(v)}`;
        // (As a postMessage with it in the transfer list would.)
        if (ok && i % 2 === 0) structuredClone(u.buffer, { transfer: [u.buffer as ArrayBuffer] });
        if (out.filter((s) => s !== undefined).length === 20) resolve(out);
      }, threeBytes, i);
    }
  });
  t.deepEqual(got, Array.from({ length: 20 }, (_, i) => `3:${i},${i},${i}`));
});

/** A Buffer, a DataView, a BigInt64Array and a Float32Array at an offset, each copied. */
const mixedViews = (): Record<string, ArrayBufferView> => ({
  buffer: Buffer.from([1, 2, 3]),
  dataView: new DataView(new Uint8Array([9, 8, 7, 6]).buffer),
  bigints: new BigInt64Array([5n, -6n]),
  floats: new Float32Array(new Float32Array([0.5, 1.5, 2.5]).buffer, 4, 2),
});

test('each kind of copied view arrives as its own class, in an ArrayBuffer of its own, both ways', async (t) => {
  const pool = await oneThread(t);
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => { warnings.push(`${w.code ?? ''} ${w.message}`); };
  process.on('warning', onWarning);
  t.teardown(() => { process.off('warning', onWarning); });
  t.deepEqual(await deferToThreadPool(reactor, pool, viewsOf, mixedViews()), {
    buffer: ['Buffer', 3, 3], dataView: ['DataView', 4, 4], bigints: ['BigInt64Array', 16, 16], floats: ['Float32Array', 8, 8],
  });
  const back = await deferToThreadPool(reactor, pool, echo, mixedViews()) as Record<string, ArrayBufferView>;
  t.deepEqual(Object.values(back).map((v) => [v.constructor.name, v.byteLength, v.buffer.byteLength]),
    [['Buffer', 3, 3], ['DataView', 4, 4], ['BigInt64Array', 16, 16], ['Float32Array', 8, 8]]);
  t.deepEqual([...(back.buffer as Buffer)], [1, 2, 3]);
  t.is((back.dataView as DataView).getUint8(0), 9);
  t.deepEqual([...(back.bigints as BigInt64Array)], [5n, -6n]);
  t.deepEqual([...(back.floats as Float32Array)], [1.5, 2.5]);
  // (A Buffer made again with its constructor, the deprecated Buffer(), warns: DEP0005.)
  await new Promise((r) => setImmediate(r));
  t.deepEqual(warnings, []);
});

test('a typed array from another machine (the BullMQ codec) has an ArrayBuffer of its own, not Node\'s Buffer pool', (t) => {
  const sent = encodeRemote({ a: new Uint8Array([1, 2, 3]), f: new Float64Array([0.5]) }, 'the value', false, (k) => k, 1024, 'the value');
  const got = decodeRemote(sent, (k) => k, 'Node test') as { a: Uint8Array; f: Float64Array };
  t.deepEqual([got.a.buffer.byteLength, ...got.a], [3, 1, 2, 3]);
  t.deepEqual([got.f.buffer.byteLength, ...got.f], [8, 0.5]);
});

/**
 * A pool whose first thread starts at the first push (min 0), and whose
 * `env` has a getter that runs `nested` once, when armed: Node reads it
 * as the push starts that thread, inside the submission being pushed.
 */
function poolSubmittingWhileItStarts(t: { teardown(f: () => unknown): void }, nested: (pool: ThreadPool) => void):
  { pool: ThreadPool; arm(): void; ran(): number } {
  let armed = false;
  let ran = 0;
  const env: Record<string, string | undefined> = { ...process.env };
  const pool: ThreadPool = new ThreadPool({
    minThreads: 0, maxThreads: 2,
    env: Object.defineProperty(env, 'COPIED_VIEWS_TEST', {
      enumerable: true,
      get() {
        if (armed) {
          armed = false;
          ran++;
          nested(pool);
        }
        return '1';
      },
    }),
  });
  t.teardown(() => pool.stop());
  pool.start();
  return { pool, arm: () => { armed = true; }, ran: () => ran };
}

test('a call pushed at once (an affinity key) keeps its arguments when the push runs user code that submits', async (t) => {
  const { pool, arm, ran } = poolSubmittingWhileItStarts(t, (p) => {
    p.callInThreadWithCallback(() => undefined, echo, { nested: 'zzzzzz' });
  });
  // (Staged, so that the affinity call's push first pushes it, and starts the thread.)
  pool.callInThreadWithCallback(() => undefined, bytesOf, new Uint8Array([1]));
  arm();
  const got = await new Promise((resolve) => {
    pool.callInThreadWithOptions({ affinity: 'k' }, (ok: boolean, v: unknown) => resolve(ok ? v : `failed: ${String(v)}`),
      echo, { outer: 'aaaaaa' });
  });
  t.is(ran(), 1, 'the nested submission ran within the push');
  t.deepEqual(got, { outer: 'aaaaaa' });
});

test('a blockingCallInThread keeps its arguments and its reply slot when its push runs user code that submits', (t) => {
  const { pool, arm, ran } = poolSubmittingWhileItStarts(t, (p) => {
    // (Its buffer goes by port: its payload is marked in the buffer that the blocking call's mark uses.)
    p.callInThreadWithCallback(() => undefined, bytesOf, transfer(new Uint8Array(64 * 1024)));
  });
  pool.callInThreadWithCallback(() => undefined, bytesOf, new Uint8Array([1]));
  arm();
  const got = blockingCallInThread.with({ pool, timeout: 20_000 })(bytesOf, new Uint8Array([7, 8, 9]));
  t.is(ran(), 1, 'the nested submission ran within the push');
  t.deepEqual(got, [7, 8, 9]);
});
