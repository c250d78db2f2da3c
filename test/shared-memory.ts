// Shared memory (SharedArrayBuffers and views of them) crosses to a pool's
// tasks and back shared, not copied: both sides see each other's writes,
// and Atomics work across. Where a trip cannot carry it (a blocking call,
// another machine), it is refused, since it would arrive as a copy.
import test from 'ava';
import {
  blockingCallInThread, deferToThread, deferToThreadPool, reactor, ThreadPool, ValueNotCloneableError,
} from 'reactor-threads';
import { addShared, readKept, sendSharedToReactor, shareNew, waitForFlag } from './_fixtures/shared-tasks.cjs';
import { busyOneThreadPool, parkedUntilSecond } from './_helpers/busy-pool.js';
import { WALK_MAX_DEPTH } from '../dist/codec/values.js';

test('a task writes to shared memory its caller passed, small or large, and the caller sees it', async (t) => {
  for (const bytes of [64, 256 * 1024]) {
    const memory = new SharedArrayBuffer(bytes);
    const counts = new Int32Array(memory, 0, 4);
    const tail = new Uint8Array(memory, bytes - 8, 8);
    Atomics.store(counts, 0, 10);
    const got = await deferToThread(addShared, { counts, bytes: tail }, 5);
    t.is(Atomics.load(counts, 0), 15, `${bytes}: the thread's Atomics.add reached the caller's memory`);
    t.is(tail[0], 5, `${bytes}: the thread's write reached the caller's memory`);
    t.deepEqual(got, { countsType: 'Int32Array', bytesOffset: bytes - 8, sharedMemory: true });
  }
});

test('a task blocked in Atomics.wait on shared memory wakes when its caller notifies it', async (t) => {
  const flag = new Int32Array(new SharedArrayBuffer(8));
  const done = deferToThread(waitForFlag, flag);
  while (Atomics.load(flag, 1) === 0) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  // 'ok' when the store came while the task waited, 'not-equal' when it
  // came between the task's flag and its wait (seen once on Node 22 in CI):
  // either way it saw this thread's write; unshared memory would time out.
  t.true(['ok', 'not-equal'].includes(await done));
});

test('shared memory a task returns stays shared with the thread that made it', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const { memory, view, data } = await deferToThreadPool(reactor, pool, shareNew);
  t.true(memory instanceof SharedArrayBuffer);
  t.true(view.buffer === memory && data.buffer === memory, 'one memory, one object for every view of it');
  t.true(view instanceof Float64Array && data instanceof DataView);
  t.deepEqual([view.byteOffset, view.length, data.byteOffset, data.byteLength], [8, 2, 16, 8]);
  view[0] = 2.5;
  data.setFloat64(0, 7.25, true);
  t.is(await deferToThreadPool(reactor, pool, readKept, 1), 2.5);
  t.is(await deferToThreadPool(reactor, pool, readKept, 2), 7.25);
  await pool.stop();
});

test('a task handed back unstarted takes its shared memory to the thread that runs it', async (t) => {
  // As test/transfer.ts does for moved buffers: the second task's memory
  // goes ahead to the busy thread, which parks in a blocking call before
  // starting it and must hand it back, memory and all, to a new thread.
  const { pool, pinned, busy } = await busyOneThreadPool({ starvationTimeout: Infinity });
  const counts = new Int32Array(new SharedArrayBuffer(16));
  const tail = new Uint8Array(counts.buffer, 8, 8);
  const { slow, second: task, parked } = parkedUntilSecond(pool, pinned,
    () => pinned(reactor, pool, addShared, { counts, bytes: tail }, 3));
  t.true(await parked);
  t.is(pool.queued, 1, 'the untaken task is back in the queue');
  pool.adjustPoolsize(1, 2);
  const [first, second] = await Promise.all([slow, task]);
  t.is(first, 'slow');
  t.true(second.sharedMemory);
  t.is(Atomics.load(counts, 0), 3);
  t.is(tail[0], 3);
  await busy;
  await pool.stop();
});

/** `leaf`, nested `levels` objects deep: `{ next: { next: ... leaf } }`. */
const nested = (leaf: object, levels: number): object => {
  let o: object = leaf;
  for (let i = 0; i < levels; i++) o = { next: o };
  return o;
};

/** The leaf of a value that nested() made (in the thread, a plain function: no free variables). */
const bumpLeaf = (v: { next?: unknown; counts?: Int32Array }): unknown => {
  let o = v;
  while (o.next) o = o.next as typeof v;
  Atomics.add(o.counts!, 0, 1);
  return v;
};

test('shared memory nested deeper than the value walk goes is shared all the same, both ways, not copied in silence', async (t) => {
  const counts = new Int32Array(new SharedArrayBuffer(8));
  const back = await deferToThread(bumpLeaf, nested({ counts }, WALK_MAX_DEPTH + 16)) as { next?: unknown; counts?: Int32Array };
  t.is(Atomics.load(counts, 0), 1, 'the thread wrote to a copy');
  let leaf = back;
  while (leaf.next) leaf = leaf.next as typeof back;
  t.true(leaf.counts!.buffer instanceof SharedArrayBuffer, 'the result brought a copy back');
  Atomics.store(leaf.counts!, 0, 7);
  t.is(Atomics.load(counts, 0), 7, 'the result brought a copy back');
  // Where it cannot be shared, it is refused, however deep.
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  t.teardown(() => pool.stop());
  const refused = t.throws(() => blockingCallInThread.with({ pool })(bumpLeaf, nested({ counts }, WALK_MAX_DEPTH + 16)),
    { instanceOf: ValueNotCloneableError });
  t.regex(refused!.message, /shared memory/);
  t.is(Atomics.load(counts, 0), 7);
  t.is(await deferToThreadPool(reactor, pool, (n: number) => n + 1, 1), 2, 'the pool serves after the refusal');
});

test('shared memory on a thrown value or an Error value is not copied in silence: the property is dropped, and named', async (t) => {
  const counts = new Int32Array(new SharedArrayBuffer(8));
  const thrown = await t.throwsAsync(deferToThread((c: Int32Array) => {
    throw Object.assign(new Error('with memory'), { counts: c, n: 1 });
  }, counts)) as Error & { counts?: Int32Array; n?: number; droppedProperties?: string[] };
  t.is(thrown.n, 1);
  t.false('counts' in thrown, 'a copy of the shared memory came back on the error');
  t.deepEqual(thrown.droppedProperties, ['counts']);
  const plain = await t.throwsAsync(deferToThread((c: Int32Array) => {
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    throw { counts: c };
  }, counts), { instanceOf: ValueNotCloneableError });
  t.is(plain!.path, 'the thrown value');
  const value = await deferToThread((e: Error) => Object.keys(e), Object.assign(new Error('carrier'), { counts, n: 2 }));
  t.true(value.includes('n'));
  t.false(value.includes('counts'), 'a copy of the shared memory crossed on an Error value');
});

test('a view of shared memory met twice arrives as one object, and a Buffer as a Buffer, as structured clone keeps them', async (t) => {
  const counts = new Int32Array(new SharedArrayBuffer(8));
  const bytes = Buffer.from(counts.buffer, 4, 4);
  t.deepEqual(await deferToThread((a: Int32Array, b: { again: Int32Array }, c: Buffer) => [a === b.again, Buffer.isBuffer(c), c.length],
    counts, { again: counts }, bytes), [true, true, 4]);
});

test('a blocking call refuses shared memory, naming its path, since it would arrive as a copy', async (t) => {
  const view = new Int32Array(new SharedArrayBuffer(8));
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  t.teardown(() => pool.stop());
  const inThread = t.throws(() => blockingCallInThread.with({ pool })(addShared, { counts: view, bytes: new Uint8Array(1) }, 1),
    { instanceOf: ValueNotCloneableError });
  t.is(inThread!.path, 'args[0].counts');
  t.regex(inThread!.message, /a blocking call or a call to the reactor cannot share it \(a ThreadPool task can\)/);
  const fromThread = await t.throwsAsync(deferToThreadPool(reactor, pool, sendSharedToReactor, view),
    { instanceOf: ValueNotCloneableError });
  t.is(fromThread!.path, 'args[0]');
  t.is(Atomics.load(view, 0), 0);
  const returned = t.throws(() => blockingCallInThread.with({ pool })(shareNew), { instanceOf: ValueNotCloneableError });
  t.is(returned!.path, 'the result.memory');
});
