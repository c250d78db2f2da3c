// The port protocol that moves large buffers beside the queue
// (src/pool/moved-buffers.ts, src/thread/moved-buffers.ts), with both
// sides in this thread on real MessageChannels: where buffers go when the
// thread they were sent ahead to did not take the task, when a task is
// handed back or ends, and when a thread goes away. End to end: test/transfer.ts.
import test from 'ava';
import { MessageChannel } from 'node:worker_threads';
import { ThreadDiedError } from 'reactor-threads';
import { MovedBuffers } from '../dist/pool/moved-buffers.js';
import { ThreadMovedBuffers } from '../dist/thread/moved-buffers.js';
import { waitFor } from './_helpers/wait.js';

interface Rig {
  owner: MovedBuffers;
  /** Tasks lost with a thread: id, error, and whether the owner was parked. */
  lost: [number, unknown, boolean | undefined][];
  /** Threads native would say are gone (their exits not seen yet). */
  gone: Set<number>;
  /** How many asks (Want) the threads made. */
  asked(): number;
  /**
   * A thread on a port. close() ends it as a pool does: the thread's port
   * closes and the pool removes it; closePort() and removed() do one each.
   */
  thread(id: number): { side: ThreadMovedBuffers; close(): void; closePort(): void; removed(): void };
}

/** The native record of asks (Pool::WantBuffers), in JS: thread:task -> claimed. */
class Asks {
  readonly #asks = new Map<string, boolean>();
  made = 0;
  ask(thread: number, task: number): void {
    this.made++;
    this.#asks.set(`${thread}:${task}`, false);
  }
  claim(thread: number, task: number): boolean {
    if (this.#asks.get(`${thread}:${task}`) !== false) return false;
    this.#asks.set(`${thread}:${task}`, true);
    return true;
  }
  end(thread: number, task: number): boolean {
    const claimed = this.#asks.get(`${thread}:${task}`) === true;
    this.#asks.delete(`${thread}:${task}`);
    return claimed;
  }
}

function rig(): Rig {
  const lost: [number, unknown, boolean | undefined][] = [];
  const gone = new Set<number>();
  const asks = new Asks();
  const owner = new MovedBuffers({
    isOpen: () => true, lose: (id, e, parked) => lost.push([id, e, parked]), drainNow: () => undefined,
    isGone: (thread) => gone.has(thread),
    claim: (thread, task) => asks.claim(thread, task),
    printed: () => undefined,
    tail: () => undefined,
    exitHook: () => undefined,
  });
  return {
    owner, lost, gone,
    asked: () => asks.made,
    thread(id) {
      const { port1, port2 } = new MessageChannel();
      owner.addThread(id, port1);
      const side = new ThreadMovedBuffers(port2, 100 + id, { ask: (t) => asks.ask(id, t), end: (t) => asks.end(id, t), posted: () => {}, seen: () => {} });
      // Both sides unref their ports (in a pool, its tasks in flight keep
      // the loop alive); here nothing else would, and a message in flight
      // on an unref'd port does not: ava ends a test whose loop went
      // empty. The rig's ports hold the loop until the test closes them
      // and the owner has seen them close.
      port1.ref();
      port2.ref();
      const removed = (): void => owner.threadRemoved(id);
      return { side, closePort: () => port2.close(), removed, close: () => { port2.close(); removed(); } };
    },
  };
}

const filled = (n: number, v: number): ArrayBuffer => {
  const ab = new ArrayBuffer(n);
  new Uint8Array(ab).fill(v);
  return ab;
};
/** A task's buffers if here(), else undefined and wait() gives them to `arrive`: what the task runner does. */
const want = (side: ThreadMovedBuffers, taskId: number, arrive: (b: ArrayBuffer[]) => void, sentAhead = false): ArrayBuffer[] | undefined => {
  const now = side.here(taskId, sentAhead);
  if (!now) side.wait(taskId, sentAhead, arrive);
  return now;
};
const arrival = (side: ThreadMovedBuffers, taskId: number, sentAhead = false): Promise<ArrayBuffer[]> =>
  new Promise((resolve) => {
    const now = want(side, taskId, resolve, sentAhead);
    if (now) resolve(now);
  });
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

test('buffers sent ahead to a thread that did not take the task reach the thread that did', async (t) => {
  const { owner, thread } = rig();
  const a = thread(1), b = thread(2);
  const ab = filled(1024, 6);
  owner.keep(7, [ab], 1);
  t.is(ab.byteLength, 0, 'they left the caller');
  const [got] = await arrival(b.side, 7);  // b asks; a is asked to send them back; they go on to b
  t.is(got!.byteLength, 1024);
  t.true(new Uint8Array(got!).every((x) => x === 6));
  owner.consumed(7);
  t.is(owner.held, 0);
  a.close(); b.close();
});

test('buffers kept by the owner go to the thread that asks for them', async (t) => {
  const { owner, thread } = rig();
  const a = thread(1);
  owner.keep(3, [filled(512, 1), filled(256, 2)], 0);
  t.is(owner.held, 1);
  const got = await arrival(a.side, 3);
  t.deepEqual(got.map((x) => x.byteLength), [512, 256]);
  a.close();
});

test('a task released unrun sends its buffers back for the next thread that takes it', async (t) => {
  const { owner, thread } = rig();
  const a = thread(1), b = thread(2);
  owner.keep(8, [filled(2048, 3)], 1);
  const got = await arrival(a.side, 8);
  a.side.release(8, got);  // handed back before it started
  const [again] = await arrival(b.side, 8);
  t.true(new Uint8Array(again!).every((x) => x === 3));
  t.is(again!.byteLength, 2048);
  a.close(); b.close();
});

test('a thread about to park reads its port and returns what came for tasks it does not hold', async (t) => {
  const { owner, thread } = rig();
  const a = thread(1), b = thread(2);
  owner.keep(10, [filled(100, 9)], 1);
  a.side.drain();     // read synchronously, as before a blocking call
  a.side.returnAll(); // nothing of it is held by a: back to the owner
  const [got] = await arrival(b.side, 10);
  t.true(new Uint8Array(got!).every((x) => x === 9));
  a.close(); b.close();
});

test('a thread chosen for a task gets the buffers sent ahead to it, and asks nothing more once they came', async (t) => {
  const { owner, thread, asked } = rig();
  const a = thread(1);
  // It took the task before the owner posted them (a spinning thread does).
  const got = arrival(a.side, 21, true);
  owner.keep(21, [filled(100, 4)], 1);
  const [buf] = await got;
  t.true(new Uint8Array(buf!).every((x) => x === 4));
  // (It asks if they are 2 ms late; once they came, its put-off ask is cancelled.)
  const atArrival = asked();
  t.true(atArrival <= 1);
  await settle();
  t.is(asked(), atArrival, 'an ask after they came');
  a.close();
});

test('buffers said to be sent ahead but kept by the owner are asked for after a while', async (t) => {
  const { owner, thread, asked } = rig();
  const a = thread(1);
  owner.keep(22, [filled(100, 5)], 0);  // kept by the owner after all
  const [buf] = await arrival(a.side, 22, true);
  t.true(new Uint8Array(buf!).every((x) => x === 5));
  t.is(asked(), 1);
  a.close();
});

test('buffers left at a thread are dropped there when their task ends', async (t) => {
  const { owner, thread } = rig();
  const a = thread(1);
  owner.keep(11, [filled(100, 1)], 1);
  owner.taskOver(11);
  t.is(owner.held, 0);
  await settle();
  a.side.drain();
  t.is(want(a.side, 11, () => t.fail('nothing should come')), undefined, 'dropped at the thread');
  await settle();
  a.close();
});

test('a thread that goes away with buffers of a task it never ran fails that task', async (t) => {
  const { owner, lost, thread } = rig();
  const a = thread(1);
  owner.keep(12, [filled(100, 1)], 1);
  a.close();
  t.true(await waitFor(() => lost.length > 0), 'the owner never saw the port close');
  t.is(lost.length, 1);
  t.is(lost[0]![0], 12);
  t.true(lost[0]![1] instanceof ThreadDiedError);
  t.is(owner.held, 0);
});

// (The owner parked in a blockingCallInThread sees no thread exit until its
// call returns; native attends its wait when a thread's environment goes.
// A sibling that took the task would wait for ever for the buffers, and
// the parked call, queued behind that task, for it.)
test('an owner parked in a blocking call fails a task whose buffers went ahead to a thread that died, before it sees the exit', (t) => {
  const { owner, lost, gone, thread } = rig();
  const a = thread(1), b = thread(2);
  owner.keep(20, [filled(100, 1)], 1);
  owner.keep(21, [filled(100, 2)], 2);
  gone.add(1);
  owner.serveParked();
  t.is(lost.length, 1);
  const [[taskId, error, parked]] = lost as [[number, unknown, boolean | undefined]];
  t.is(taskId, 20);
  t.true(error instanceof ThreadDiedError);
  t.true(parked, 'its caller is settled once the call returns');
  t.is(owner.held, 1, 'the live thread\'s task keeps its buffers');
  a.close(); b.close();
});

test('a thread that goes away with only the shared memory of a task it never ran does not fail it: the next thread gets the memory', async (t) => {
  const { owner, lost, thread } = rig();
  const a = thread(1);
  const b = thread(2);
  const memory = new SharedArrayBuffer(8);
  owner.keep(12, [memory as unknown as ArrayBuffer], 1);
  a.close();
  // Nothing of shared memory is lost with a thread: the owner still has it.
  const got = await Promise.race([arrival(b.side, 12), new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
  t.deepEqual(lost.map(([id]) => id), [], 'the task failed with the thread it never ran on');
  t.truthy(got, 'the shared memory never reached the thread that took the task');
  new Int32Array(got![0]!)[0] = 5;
  t.is(new Int32Array(memory)[0], 5);
  owner.taskOver(12);
  b.close();
  t.true(await waitFor(() => owner.held === 0));
});

test('a result whose buffers never came fails once its thread is gone', async (t) => {
  const { owner, thread } = rig();
  const a = thread(1);
  // Its hello (reactor 101) has arrived once a later message has: a port keeps its order.
  a.side.sendResult(99, [filled(8, 1)]);
  t.true(await waitFor(() => owner.moved === 1), 'the thread\'s first messages never came');
  const waiting = owner.resultBuffers(5, 101);
  t.true(waiting instanceof Promise);
  a.close();
  await t.throwsAsync(waiting as Promise<ArrayBuffer[]>, { instanceOf: ThreadDiedError });
});

test('a result posted by native after its thread\'s port closed fails at once, until the pool removed the thread', async (t) => {
  // A thread that dies between handing a held result to native and posting
  // its buffers: native posts the result when the pool removes the thread,
  // which can come after its port closed (found by review: it waited for stop()).
  const { owner, thread } = rig();
  const a = thread(1);
  a.side.sendResult(99, [filled(8, 1)]);
  t.true(await waitFor(() => owner.moved === 1), 'the thread\'s first messages never came');
  const before = owner.resultBuffers(5, 101);
  a.closePort();
  await t.throwsAsync(before as Promise<ArrayBuffer[]>, { instanceOf: ThreadDiedError });
  await settle();
  await t.throwsAsync(Promise.resolve(owner.resultBuffers(6, 101)), { instanceOf: ThreadDiedError }, 'a result between the port\'s close and the removal');
  a.removed();
});

test('what a thread held of tasks it never ran is lost only once its port closed and the pool removed it, in either order', async (t) => {
  const { owner, lost, thread } = rig();
  const a = thread(1), b = thread(2);
  owner.keep(12, [filled(100, 1)], 1);
  owner.keep(13, [filled(100, 2)], 2);
  a.closePort();
  b.removed();
  await settle();
  t.deepEqual(lost, [], 'lost before the other end came');
  a.removed();
  b.closePort();
  t.true(await waitFor(() => lost.length === 2), 'never lost');
  t.deepEqual(lost.map(([id]) => id).sort(), [12, 13]);
  t.is(owner.held, 0);
});

test('result buffers that come first wait for their result', async (t) => {
  const { owner, thread } = rig();
  const a = thread(1);
  a.side.sendResult(6, [filled(64, 5)]);
  t.true(await waitFor(() => owner.moved === 1), 'the buffers never came');
  const got = owner.resultBuffers(6, 101);
  t.true(Array.isArray(got));
  t.is((got as ArrayBuffer[])[0]!.byteLength, 64);
  t.is(owner.moved, 1);
  a.close();
});

test('a thread that gives up a task it asked for keeps nothing: the buffers stay for the next thread', async (t) => {
  const { owner, thread } = rig();
  const a = thread(1), b = thread(2);
  owner.keep(13, [filled(100, 8)], 0);  // kept by the owner
  t.is(want(a.side, 13, () => t.fail('a gave the task up')), undefined);
  await new Promise((r) => setImmediate(r));  // a's ask is sent
  a.side.release(13, undefined, true);        // a parks before the owner answers
  await settle();                             // the owner's claim fails: nothing sent
  const [got] = await arrival(b.side, 13);
  t.true(new Uint8Array(got!).every((x) => x === 8));
  a.close(); b.close();
});
