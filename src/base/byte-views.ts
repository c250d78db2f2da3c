// Numbers in the byte layouts that cross threads (task batches, inbox
// batches, the fast codec's encodings) are read and written through a
// DataView, not with Buffer's readUInt32LE/writeDoubleLE and the like,
// and bytes are copied with Uint8Array's set(), not Buffer's copy():
// those are JavaScript in Node's lib, which V8 compiles for each thread's
// isolate once they are hot (thousands of calls on the per-task path),
// while DataView's methods are built in. On 2 cores a compile on a
// background thread takes a core from the owner or a pool thread, so
// every function compiled on the per-task path is one more stall among a
// pool's first few thousand tasks (bench/workload.mjs seq, bench/sync.mjs).
// Little-endian, as native/batch.cc and the encoders write them.
// Any thread.

/** A DataView of exactly `b`'s bytes. */
export const viewOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
