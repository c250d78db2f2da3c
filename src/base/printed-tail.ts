// The output a pool thread could not post yet, kept where its owner can
// read it after the thread is gone. A thread that holds a task that may be
// cancelled posts each write at once (eager posts, src/thread/printed-bytes.ts),
// but only within a bound past the owner's last ask for more, which the
// thread hears only in its event loop. A task that prints past the bound
// without a turn of its loop, then keeps its thread until the pool
// terminates it, left the rest in the stream's buffer, which died with the
// thread. Those writes are also copied here, and the owner prints what of
// them never arrived once the thread's stream ends
// (src/pool/printed-output.ts).
//
// One per stream of a thread, made by the thread when it first needs it and
// sent to the owner on its side port (PortMove.Tail). Written by the thread
// only; read by the owner only once the thread's stream has ended (the
// thread is gone), so no write races a read. The bytes held are those of
// the stream from `start` (counted as the owner counts what arrives), in
// order, contiguous: a post re-anchors `start`, since a post takes all that
// the stream buffers. Tests: test/console-order.ts.

/** Bytes of output kept past the eager bound: the first this many are kept, later ones are lost. */
export const TAIL_MAX = 1 << 20;

/** Header: [start, length] as float64 (a stream's byte count may pass 2^32 over a thread's life). */
const HEADER = 16;

/** The thread's side: appends writes that the stream buffers past the eager bound. */
export class TailWriter {
  readonly memory = new SharedArrayBuffer(HEADER + TAIL_MAX);
  readonly #header = new Float64Array(this.memory, 0, 2);
  readonly #bytes = new Uint8Array(this.memory, HEADER);

  /**
   * Keeps `bytes`, which the stream buffers behind everything it buffered
   * since its last post; `posted`: the stream's bytes posted so far (the
   * post in flight included), which is where its buffer starts.
   */
  keep(posted: number, bytes: Uint8Array): void {
    const h = this.#header;
    if (h[0] !== posted) {
      // Posted since: what was kept has left (or is leaving) by port.
      h[0] = posted;
      h[1] = 0;
    }
    const length = h[1]!;
    if (length + bytes.length > TAIL_MAX) return;
    this.#bytes.set(bytes, length);
    h[1] = length + bytes.length;
  }
}

/**
 * The owner's side: what of `memory` lies beyond the `arrived` bytes that
 * came from the stream (empty when all of it came).
 */
export function unarrivedTail(memory: SharedArrayBuffer, arrived: number): Uint8Array {
  const [start, length] = new Float64Array(memory, 0, 2) as unknown as [number, number];
  const from = Math.max(0, arrived - start);
  return from >= length ? new Uint8Array(0) : new Uint8Array(memory, HEADER + from, length - from).slice();
}
