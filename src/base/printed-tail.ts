// The output a pool thread could not post yet, kept where its owner can
// read it after the thread is gone. A thread that holds a task that may be
// cancelled posts each write at once (eager posts, src/thread/printed-bytes.ts),
// but only within a bound past the owner's last ask for more, which the
// thread hears only in its event loop. A task that prints past the bound
// without a turn of its loop, then keeps its thread until the pool
// terminates it, left the rest in the stream's buffer, which died with the
// thread. Those writes are also copied here, and the owner prints the copy
// once the stream of a thread it terminated ends (src/pool/printed-output.ts).
//
// One per stream of a thread, made by the thread when it first needs it and
// sent to the owner on its side port (PortMove.Tail). Written by the thread
// only; read by the owner only once the thread's stream has ended (the
// thread is gone), so no write races a read. It holds what the stream
// buffers now, from its start, in order: each post of the stream takes all
// that it buffers, and empties it first (a thread terminated between the
// two loses those bytes; the other order would print them twice).
// Tests: test/console-order.ts.

/** Bytes of output kept: a write that would not fit is not kept, nor anything after it until the stream's next post. */
export const TAIL_MAX = 1 << 20;

/** Header: the length kept, an int32. */
const HEADER = 8;

/** The thread's side. */
export class TailWriter {
  readonly memory = new SharedArrayBuffer(HEADER + TAIL_MAX);
  readonly #length = new Int32Array(this.memory, 0, 1);
  readonly #bytes = Buffer.from(this.memory, HEADER, TAIL_MAX);

  /**
   * Appends an entry of the stream's buffer: a string in `encoding`, or a
   * view's bytes; false when it does not fit, or is neither (then nothing
   * is kept from it).
   */
  keep(chunk: unknown, encoding: BufferEncoding): boolean {
    const at = this.#length[0]!;
    if (typeof chunk === 'string') {
      // (byteLength may exceed what write() makes, for base64 with stray characters: never less.)
      if (at + Buffer.byteLength(chunk, encoding) > TAIL_MAX) return false;
      this.#length[0] = at + this.#bytes.write(chunk, at, encoding);
      return true;
    }
    if (!ArrayBuffer.isView(chunk) || at + chunk.byteLength > TAIL_MAX) return false;
    this.#bytes.set(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), at);
    this.#length[0] = at + chunk.byteLength;
    return true;
  }

  /** The stream posts all it buffers, or drops it. */
  clear(): void {
    this.#length[0] = 0;
  }
}

/** The owner's side: what `memory` holds (a copy). */
export function keptTail(memory: SharedArrayBuffer): Uint8Array {
  const length = new Int32Array(memory, 0, 1)[0]!;
  return new Uint8Array(memory, HEADER, length).slice();
}
