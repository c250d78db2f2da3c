// Numbers in the byte layouts that cross threads (task batches, inbox
// batches, the fast codec's encodings) are written through a DataView and
// read through one (the fast codec's reader reads a value's numbers from
// its bytes: a DataView per value cost more, src/codec/fast-codec.ts),
// not with Buffer's readUInt32LE/writeDoubleLE and the like;
// bytes are copied with Uint8Array's set(), not Buffer's copy(); and the
// byte containers on the per-task path (the codec's scratch buffers, the
// staged batch, each task's payload in a batch) are plain Uint8Arrays,
// whose subarray() is built in, where a Buffer's subarray() is four calls
// into Node's lib. Node's lib is JavaScript, which V8 compiles for each
// thread's isolate once it is hot (thousands of calls on the per-task
// path), while DataView's and Uint8Array's methods are built in. On 2
// cores a compile on a background thread takes a core from the owner or a
// pool thread, so every function compiled on the per-task path is one
// more stall among a pool's first few thousand tasks (bench/workload.mjs
// seq, bench/sync.mjs).
// Little-endian, as native/batch.cc and the encoders write them.
// Any thread.

/**
 * The most bytes a task's payload or a result may take: their lengths
 * are 32 bits in the batches that carry them (src/base/wire.ts), and
 * native refuses more (Node 22 and later make larger typed arrays). Less
 * 64, for the markers put in front of some (codec.ts).
 */
const MAX_PAYLOAD_BYTES = 0xffff_ffff - 64;

/** Refuses `bytes` bytes of `what` (the arguments, the result) when they are more than a payload can take. */
export function checkPayloadSize(bytes: number, what: string): void {
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`${what} take ${bytes} bytes encoded, 4 GiB or more: move large data with transfer(), or share it`);
  }
}

/** A DataView of exactly `b`'s bytes. */
export const viewOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/**
 * A scratch buffer grown for `need` bytes (to at least twice `b`'s size,
 * so that a run of growths copies little), starting with `b`'s first
 * `keep` bytes.
 */
export function grownFrom(b: Uint8Array, keep: number, need: number): Uint8Array<ArrayBuffer> {
  const grown = new Uint8Array(Math.max(need, b.length * 2));
  grown.set(b.subarray(0, keep));
  return grown;
}

/** Bytes [start, end) of `b`, sharing its memory (a plain Uint8Array, made by a built-in). */
export const bytesAt = (b: Uint8Array, start: number, end: number): Uint8Array =>
  new Uint8Array(b.buffer, b.byteOffset + start, end - start);

/**
 * `b`'s bytes as a Buffer, sharing its memory: for the rare steps that
 * need Buffer's methods (a traced task's carrier, read as JSON text).
 */
export const asBuffer = (b: Uint8Array): Buffer =>
  b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
