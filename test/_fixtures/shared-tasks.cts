// Threadable tasks that use shared memory (test/shared-memory.ts).
import { blockingCallFromThread, reactor, threadable } from 'reactor-threads';

/** Adds `n` to counts[0] atomically, writes `n` into bytes[0], and says what it got. */
export const addShared = threadable(function addShared(v: { counts: Int32Array; bytes: Uint8Array }, n: number): {
  countsType: string; bytesOffset: number; sharedMemory: boolean;
} {
  Atomics.add(v.counts, 0, n);
  v.bytes[0] = n;
  return {
    countsType: v.counts.constructor.name, bytesOffset: v.bytes.byteOffset,
    sharedMemory: v.counts.buffer instanceof SharedArrayBuffer && v.counts.buffer === v.bytes.buffer,
  };
});

/** Sets flag[1] = 1 (started), then waits up to 10 s for flag[0] to leave 0: what Atomics.wait said. */
export const waitForFlag = threadable(function waitForFlag(flag: Int32Array): string {
  Atomics.store(flag, 1, 1);
  Atomics.notify(flag, 1);
  return Atomics.wait(flag, 0, 0, 10_000);
});

/** Takes the next number from counter[0]: the order in which calls started, across threads. */
export const takeTicket = threadable(function takeTicket(counter: Int32Array): number {
  return Atomics.add(counter, 0, 1);
});

/** Memory of its own, shared with the caller through its result, and the view it keeps of it. */
let kept: Float64Array | undefined;
export const shareNew = threadable(function shareNew(): { memory: SharedArrayBuffer; view: Float64Array; data: DataView } {
  const memory = new SharedArrayBuffer(64);
  kept = new Float64Array(memory);
  return { memory, view: new Float64Array(memory, 8, 2), data: new DataView(memory, 16, 8) };
});

/** What the thread's own view (shareNew) sees at `i`. */
export const readKept = threadable(function readKept(i: number): number { return kept![i]!; });

/** A blocking call from the thread to the reactor, with shared memory as its argument. */
export const sendSharedToReactor = threadable(function sendSharedToReactor(view: Int32Array): unknown {
  return blockingCallFromThread(reactor, (x: Int32Array) => x.length, view);
});

/** Waits (up to 10 s) for gate[0] to leave 0, then calls `f`: a reactor callable, so its thread parks in a blocking call. */
export const callAfterGate = threadable(function callAfterGate(gate: Int32Array, f: () => unknown): unknown {
  Atomics.wait(gate, 0, 0, 10_000);
  return f();
});
