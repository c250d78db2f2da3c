// Threadable tasks for the cases where large moved buffers meet a
// thread's other work (test/transfer.ts): a result that comes after its
// caller gave up, a thread that parks while buffers it asked for are on
// their way, a result that waits behind a call of its thread; and a
// resizable buffer, moved each way.
import { threadId } from 'node:worker_threads';
import { blockingCallFromThread, fromModule, reactor, threadable, transfer } from 'reactor-threads';

// @types/node leaves WebAssembly to the DOM lib; this is all that is used here.
declare const WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } };

/** Spins `ms`, then returns `n` bytes of 9, moved. */
export const spinThenBytes = threadable(function spinThenBytes(ms: number, n: number): Uint8Array {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
  return transfer(new Uint8Array(n).fill(9));
});

/** A result whose value has its own bytes beside `n` moved bytes of `fill`: `label` comes back with them. */
export const labelledBytes = threadable(function labelledBytes(label: string, n: number, fill: number): { label: string; bytes: Uint8Array } {
  return { label, bytes: transfer(new Uint8Array(n).fill(fill)) };
});

/** The sum of a buffer's bytes and where it was summed. */
export const sumWhere = threadable(function sumWhere(b: ArrayBuffer): [number, number] {
  let sum = 0;
  for (const x of new Uint8Array(b)) sum += x;
  return [threadId, sum];
});

// A gate per thread: gatedPark waits for it; openGate, run on the same thread, opens it.
let openIt!: () => void;
const gate = new Promise<void>((r) => { openIt = r; });

/**
 * Waits for this thread's gate, then one more turn (by then the thread
 * has asked for the buffers of a task it took meanwhile), then makes a
 * blocking call to the owner: the thread parks with that ask outstanding.
 */
export const gatedPark = threadable(async function gatedPark(f: () => unknown): Promise<unknown> {
  await gate;
  await new Promise((r) => setImmediate(r));
  return f();
});

/** Opens this thread's gate. */
export const openGate = threadable(function openGate(): number {
  openIt();
  return threadId;
});

const slowDoubled = fromModule<(x: number) => number>('./slow-to-load.mjs', 'doubled');

/**
 * Calls the owner with a function whose module takes 300 ms to load there
 * (so the owner holds this thread's later messages, its result among
 * them, behind it), then returns the length of what it was given.
 */
export const callSlowThenLength = threadable(function callSlowThenLength(b: ArrayBuffer): number {
  reactor.callFromThread(slowDoubled, 21);
  return b.byteLength;
});

/** Returns a WebAssembly memory's buffer (128 KiB), marked to move: it cannot be detached, so it is copied. */
export const wasmMemoryResult = threadable(function wasmMemoryResult(): ArrayBuffer {
  const memory = new WebAssembly.Memory({ initial: 2 });
  new Uint8Array(memory.buffer).fill(6);
  return transfer(memory.buffer);
});

/** What nestedMoves sent back last: its sender's view of it, once it left. */
let lastSent: Float32Array | undefined;

/**
 * Buffers nested in an argument: reports what arrived (and whether each
 * is whole), and sends the pixels back nested in its result, moved.
 */
export const nestedMoves = threadable(function nestedMoves(v: {
  image: { pixels: Float32Array }; byName: Map<string, ArrayBuffer>; kept: Uint8Array;
}): { result: { pixels: Float32Array }; rawBytes: number; keptFirst: number } {
  lastSent = v.image.pixels;
  return {
    result: { pixels: transfer(v.image.pixels) },
    rawBytes: new Uint8Array(v.byName.get('raw')!).reduce((a, x) => a + (x === 7 ? 1 : 0), 0),
    keptFirst: v.kept[0]!,
  };
});

/** The byte length of the pixels nestedMoves last sent back, as the thread sees them now. */
export const lastSentLength = threadable(function lastSentLength(): number {
  return lastSent!.byteLength;
});

/** The byte lengths printThenMove's buffer had when the thread's stdout was next written to. */
let lengthsAtNextWrite: number[] = [];

/**
 * Prints (so that its result is held behind the output), then returns `n`
 * bytes of 9, moved, while a patched stdout.write records the buffer's
 * length at the next write after its own print: the first code of the
 * user's that can run once the result is posted (until the outbox
 * stopped writing one, the flush marker ('') that timed a held result's
 * release).
 */
export const printThenMove = threadable(function printThenMove(n: number): ArrayBuffer {
  const buf = new ArrayBuffer(n);
  new Uint8Array(buf).fill(9);
  const write = process.stdout.write;
  let printed = false;
  process.stdout.write = function patched(this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
    if (printed) {
      lengthsAtNextWrite.push(buf.byteLength);
      process.stdout.write = write;
    }
    printed = true;
    return (write as (...a: unknown[]) => boolean).apply(this, [chunk, ...rest]);
  } as typeof process.stdout.write;
  console.log('printed before the result');
  return transfer(buf);
});

/** What printThenMove's patched write saw, once: this prints, so it sees this task's write if nothing wrote before. */
export const lengthsSeenAtNextWrite = threadable(function lengthsSeenAtNextWrite(): number[] {
  console.log('printed after the result');
  const seen = lengthsAtNextWrite;
  lengthsAtNextWrite = [];
  return seen;
});

/**
 * Prints (so that its result is held behind the output), then returns `n`
 * bytes, moved, from a thread that exits the moment it posts them by port:
 * its result was handed to native (held there), its buffers never leave.
 * The window a crash between the two posts would hit, made certain.
 */
export const printThenDieMoving = threadable(async function printThenDieMoving(n: number): Promise<ArrayBuffer> {
  const { MessagePort } = await import('node:worker_threads');
  const post = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function exitOnResultBuffers(this: unknown, message: unknown, ...rest: unknown[]): void {
    // 7: the thread's "a result's buffers" message (PortMove.Result).
    if (Array.isArray(message) && message[0] === 7) process.exit(3);
    (post as (...a: unknown[]) => void).apply(this, [message, ...rest]);
  } as typeof MessagePort.prototype.postMessage;
  console.log('printed before the result');
  return transfer(new ArrayBuffer(n));
});

/** What planeMoves sent back last: its sender's views of them, once they left. */
let lastPlanes: Uint8Array[] = [];

/**
 * A plain tree holding moved views (the fast path's case): reports what
 * arrived, and sends the two planes back swapped, moved, in a plain tree.
 */
export const planeMoves = threadable(function planeMoves(v: {
  width: number; planes: Uint8Array[]; meta: { name: string };
}): { name: string; width: number; firsts: number[]; planes: Uint8Array[] } {
  lastPlanes = v.planes;
  return {
    name: v.meta.name, width: v.width, firsts: v.planes.map((p) => p[0]!),
    planes: [transfer(v.planes[1]!), transfer(v.planes[0]!)],
  };
});

/** The byte lengths of the planes planeMoves last sent back, as the thread sees them now. */
export const lastPlanesLengths = threadable(function lastPlanesLengths(): number[] {
  return lastPlanes.map((p) => p.byteLength);
});

/** What a resizable buffer's receiver sees: [resizable, maxByteLength, byteLength, last byte, byteLength after resize(maxByteLength)]. */
export type Resizability = [boolean, number, number, number, number];
export const resizability = threadable(function resizability(ab: ArrayBuffer): Resizability {
  const r = ab as ArrayBuffer & { resizable: boolean; maxByteLength: number; resize(n: number): void };
  const seen: Resizability = [r.resizable, r.maxByteLength, r.byteLength, new Uint8Array(r)[r.byteLength - 1]!, 0];
  try { r.resize(r.maxByteLength); seen[4] = r.byteLength; } catch { /* not resizable */ }
  return seen;
});

/** A resizable buffer of `n` bytes of 5 (its maxByteLength twice that), moved. */
export const resizableBytes = threadable(function resizableBytes(n: number): ArrayBuffer {
  const ab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(n, { maxByteLength: 2 * n });
  new Uint8Array(ab).fill(5);
  return transfer(ab);
});

/**
 * In a thread: a resizable buffer of `n` bytes moved to the reactor by
 * blockingCallFromThread, and one moved back from it: what each receiver
 * saw, and the length this thread's buffer was left with.
 */
export const resizableThroughBridge = threadable(function resizableThroughBridge(n: number): { there: Resizability; back: Resizability; left: number } {
  const ab = blockingCallFromThread(reactor, resizableBytes, n);
  const back = resizability(ab);
  const mine = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(n, { maxByteLength: 2 * n });
  new Uint8Array(mine).fill(5);
  const there = blockingCallFromThread(reactor, resizability, transfer(mine));
  return { there, back, left: mine.byteLength };
});

/** resizability() of the buffer at `v.b`, or of `v.m.get('b')`. */
export const resizabilityInside = threadable(function resizabilityInside(v: { b?: ArrayBuffer; m?: Map<string, ArrayBuffer> }): Resizability {
  return resizability(v.b ?? v.m!.get('b')!);
});
