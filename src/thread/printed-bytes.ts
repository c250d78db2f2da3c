// How much of this thread's stdout and stderr output has left the thread,
// in bytes, counted as the owner counts what arrives from them (Worker
// stdio: src/pool/printed-output.ts), so that the outbox can hold a task's
// result until the owner has its output (src/thread/outbox.ts).
// Counted at the stream's own _writev, where chunks are posted to the
// parent: below any patch of write() (a filter that drops lines), and
// never counting what a destroyed stream drops. What the stream still
// buffers behind a post in flight is posted by its next _writev, all of
// it at once: a result made meanwhile waits for that one. The next post
// comes when the parent asks for more output, which a thread learns in
// its event loop. A thread posts it at once instead (postBuffered) while
// it holds a task that may be cancelled: as it takes it and as tasks end,
// before their outcomes are made, and as it is written, within a bound
// (postEagerlyWhile). The pool may terminate the thread before its loop
// runs again (the task's runTimeout, a cancel past cancelGrace), and
// native then posts the results it held while the output still in the
// stream dies with the thread (src/thread/task-runner.ts #cuttable). So
// does a thread about to park in a blocking call, which will not run its
// loop until the call returns. Past the bound (or behind a post it cannot
// end), what the stream buffers is copied where the owner reads it once
// the pool has terminated the thread (#keep, src/base/printed-tail.ts).
// Pool thread only. Tests: test/console-order.ts.
import type { Writable } from 'node:stream';
import { TailWriter } from '../base/printed-tail.js';

/** Encodings in which Buffer.byteLength of a string is exactly the bytes Buffer.from makes. */
const EXACT_BYTE_LENGTH = new Set(['utf8', 'utf-8', 'latin1', 'binary', 'ascii', 'ucs2', 'ucs-2', 'utf16le', 'utf-16le']);

/** The bytes a chunk written in `encoding` makes (Buffer.from's, which the owner's side receives). */
export function bytesOf(chunk: unknown, encoding: string): number {
  if (typeof chunk === 'string') {
    const e = encoding.toLowerCase();
    return EXACT_BYTE_LENGTH.has(e) ? Buffer.byteLength(chunk, e as BufferEncoding) : Buffer.from(chunk, e as BufferEncoding).length;
  }
  return ArrayBuffer.isView(chunk) ? chunk.byteLength : 0;
}

interface WritevChunk { chunk: unknown; encoding: string }
/** Node's Writable buffer (the same on Node 20 to 26): its entries from bufferedIndex are what it has not written yet. */
interface BufferState { buffered?: WritevChunk[]; bufferedIndex?: number }
type Writev = (this: Writable, chunks: WritevChunk[], cb: (error?: Error | null) => void) => void;

/**
 * Bytes, and posts, that eager posts may send past the parent's latest ask
 * for more that this thread received (PrintedStream #unasked; the parent
 * asks as it reads, so its asks may lag what it has read by its stream's
 * highWaterMark): a task that prints more than that without a turn of
 * its thread's loop, then keeps its thread until the pool ends it, loses
 * the rest, except the first TAIL_MAX bytes past the bound, which the
 * owner prints once the thread is gone (src/base/printed-tail.ts). Without
 * a bound, a task writing as `'drain'` allowed into a
 * reader that had not started put 521 MiB into the parent in 5 s
 * (helper-126's review of 981614c). (With these, a flood of 0.3 to 2 million lines of
 * 100 bytes through a slow reader peaked at 131-408 MiB of the process's
 * RSS, 4 MiB of the parent's heap left after a collection: the churn of a
 * post per line; 72-79 MiB for a task that cannot be cancelled.)
 */
const EAGER_UNASKED_MAX = 1 << 20;
const EAGER_UNASKED_POSTS = 64;

/** One stream's count. */
export class PrintedStream {
  /** Bytes posted to the parent so far. */
  posted = 0;
  /** Of the stream's writableLength (its own units), what the post in flight holds. */
  #inFlight = 0;
  /** Called after each post (the outbox settles targets waiting for it). */
  #onPost: () => void = () => {};
  /** Ends the post in flight, as the parent's ask for more output would: once, whoever comes first. */
  #endInFlight: ((error?: Error | null) => void) | undefined;
  /** Whether a write buffered behind the post in flight is posted at once (postEagerlyWhile). */
  #eager: () => boolean = () => false;
  /**
   * Bytes of the posts ended early (postBuffered) since the parent last
   * asked for more: eager posts stop past EAGER_UNASKED_MAX, since they skip
   * the parent's backpressure.
   */
  #unasked = 0;
  /** How many posts those were (each costs the parent more than its bytes). */
  #unaskedPosts = 0;
  /** postBuffered is ending the post in flight (not the parent's ask). */
  #endingEarly = false;
  /** Copies of the writes buffered that it will not post by itself (#keep), made at the first. */
  #tail: TailWriter | undefined;
  /** Whether what the stream buffers is copied: not after an entry that could not be, until the next post. */
  #keeping = true;
  /** Entries of the stream's buffer (from its bufferedIndex) copied into #tail since its last post. */
  #copied = 0;
  #sendTail: (memory: SharedArrayBuffer) => void = () => {};

  constructor(readonly stream: Writable) {
    const writev = (stream as unknown as { _writev?: Writev })._writev;
    if (typeof writev !== 'function') return;
    const self = this;
    // (Below any patch of write() a preload or a task makes later, as the count is.)
    const write = stream.write;
    stream.write = function eagerWrite(this: Writable, ...args: Parameters<Writable['write']>): boolean {
      const written = Reflect.apply(write, this, args) as boolean;
      if (self.#eager()) self.#written();
      return written;
    } as Writable['write'];
    // (What a corked stream was given is buffered until it is uncorked: then as if written.)
    const uncork = stream.uncork;
    stream.uncork = function eagerUncork(this: Writable): void {
      uncork.call(this);
      if (self.#eager()) self.#written();
    };
    // (end(chunk) writes it without write().)
    const end = stream.end;
    stream.end = function eagerEnd(this: Writable, ...args: unknown[]): Writable {
      const ended = Reflect.apply(end, this, args) as Writable;
      if (self.#eager()) self.#written();
      return ended;
    } as Writable['end'];
    // (A destroyed stream drops what it buffered: so is its copy, at once,
    // since the thread may never turn its loop again. Node destroys a
    // stream on an error through destroy() too.)
    const destroy = stream.destroy;
    stream.destroy = function droppingCopy(this: Writable, ...args: unknown[]): Writable {
      self.#tail?.clear();
      self.#keeping = false;
      return Reflect.apply(destroy, this, args) as Writable;
    } as Writable['destroy'];
    (stream as unknown as { _writev: Writev })._writev = function countedWritev(chunks, cb) {
      // (It posts all that the stream buffers: the copy of it goes first.)
      self.#tail?.clear();
      self.#copied = 0;
      self.#keeping = true;
      let bytes = 0;
      let length = 0;
      for (const { chunk, encoding } of chunks) {
        bytes += bytesOf(chunk, encoding);
        length += typeof chunk === 'string' ? chunk.length : (chunk as Uint8Array).length;
      }
      self.posted += bytes;
      self.#inFlight = length;
      let ended = false;
      const end = (error?: Error | null): void => {
        // (Node 20 calls every post's end at the parent's ask, those ended early too; Node 24 the latest.)
        if (self.#endingEarly) {
          self.#unasked += bytes;
          self.#unaskedPosts++;
        } else {
          self.#unasked = 0;
          self.#unaskedPosts = 0;
        }
        if (ended) return;
        ended = true;
        if (self.#endInFlight === end) self.#endInFlight = undefined;
        self.#inFlight = 0;
        cb(error);
      };
      self.#endInFlight = end;
      writev.call(this, chunks, end);
      self.#onPost();
    };
  }

  onPost(f: () => void): void {
    this.#onPost = f;
  }

  /** `send` hands the owner the memory where writes past the eager bound are kept (made at the first such write). */
  onTail(send: (memory: SharedArrayBuffer) => void): void {
    this.#sendTail = send;
  }

  /** The stream was given output while eager posts apply. */
  #written(): void {
    if (this.#endInFlight !== undefined && this.#unasked < EAGER_UNASKED_MAX && this.#unaskedPosts < EAGER_UNASKED_POSTS) {
      this.postBuffered(true);
    } else {
      // Past the bound, or behind a post this stream did not count (a
      // preload's, made before it was wrapped), which it cannot end: what
      // it buffers is copied where the owner can read it.
      this.#keep();
    }
  }

  /**
   * Copies what the stream buffers and will not post by itself before its
   * owner's next ask, as the stream holds it (a write() patched below this
   * one may have changed it), where the owner can read it
   * (src/base/printed-tail.ts): the entries of its buffer not copied yet.
   * Not while the stream is corked (it may never write what it holds):
   * once uncorked, from where it left off. The copy stops at an entry that
   * does not fit, until the stream's next post: it has no gaps.
   */
  #keep(): void {
    const s = this.stream;
    if (!this.#keeping || s.writableCorked > 0) return;
    const state = (s as unknown as { _writableState?: BufferState })._writableState;
    const buffered = state?.buffered;
    if (!buffered || s.destroyed) {
      this.#keeping = false;
      return;
    }
    let i = (state.bufferedIndex ?? 0) + this.#copied;
    if (i >= buffered.length) return;
    if (this.#tail === undefined) {
      this.#tail = new TailWriter();
      this.#sendTail(this.#tail.memory);
    }
    for (; i < buffered.length; i++) {
      const { chunk, encoding } = buffered[i]!;
      if (!this.#tail.keep(chunk, encoding as BufferEncoding)) {
        this.#keeping = false;
        return;
      }
      this.#copied++;
    }
  }

  /**
   * While `when()` is true, a write that the stream buffers behind the
   * post in flight is posted at once (postBuffered), not when the parent
   * asks for more: a task that prints, then keeps its thread's loop from
   * turning until the pool terminates the thread, loses none of its lines
   * (only its first left before). Each such write costs a post of its own;
   * the callbacks of the writes it ends run on process.nextTick, as they
   * would for a write Node completes synchronously (postBuffered).
   */
  postEagerlyWhile(when: () => boolean): void {
    this.#eager = when;
  }

  /**
   * Posts what the stream buffers behind the post in flight now, without
   * waiting for the parent to ask for more: ending the post in flight
   * makes the stream write its buffer at once (one post, counted). For a
   * thread whose task ended (a termination before its loop runs again
   * would lose this output, not the result held behind it), and for one
   * about to park, whose loop would not hear the parent's ask until its
   * call returns. The parent's ask, when it comes, ends nothing more. Its
   * cost: the parent's backpressure skips this one post. (The ended
   * writes' callbacks, and a 'drain', run now, as they would have in the
   * loop: the caller calls this before it encodes anything. Node 24 and
   * 26 keep one callback per stream and count posts in flight apart: that
   * count stays one higher per early end, which keeps the thread's stdio
   * port referenced. A pool thread ends with process.exit(), so that holds
   * nothing up.)
   */
  postBuffered(deferCallbacks = false): void {
    // (Output is buffered only behind a post in flight: one field read for
    // a task that printed nothing lately, which most tasks are.)
    if (this.#endInFlight === undefined || !this.buffering) return;
    // Inside a write() (postEagerlyWhile), the ended writes' callbacks and
    // a 'drain' go to process.nextTick, as Node's own writes that complete
    // synchronously do (Writable onwrite reads `sync`): a callback run
    // inside a later write() reordered a callback-driven writer's output
    // and recursed once per write.
    // Callbacks already waiting for a tick (an eager post's) keep the later
    // ones behind them.
    const state = (this.stream as unknown as { _writableState?: { sync: boolean; afterWriteTickInfo?: unknown } })._writableState;
    const defer = state !== undefined && (deferCallbacks || state.afterWriteTickInfo != null);
    const wasSync = state?.sync;
    if (defer) state.sync = true;
    const wasEarly = this.#endingEarly;
    this.#endingEarly = true;
    try {
      this.#endInFlight?.();
    } catch (e) {
      // A write callback threw: as it would have in the loop, where it runs otherwise.
      process.nextTick(() => { throw e; });
    } finally {
      this.#endingEarly = wasEarly;
      if (defer) state.sync = wasSync!;
    }
  }

  /**
   * Whether output is buffered in the stream, behind the post in flight,
   * that its next post will carry. Not when it is corked (nothing leaves
   * until it is uncorked, which may never come) or destroyed (dropped).
   */
  get buffering(): boolean {
    const s = this.stream;
    return !s.destroyed && s.writableCorked === 0 && s.writableLength > this.#inFlight;
  }
}
