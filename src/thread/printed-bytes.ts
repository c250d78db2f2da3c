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
// loop until the call returns.
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
  /** Whether a buffered write is copied: not after one that was not, until the next post. */
  #keeping = true;
  #sendTail: (memory: SharedArrayBuffer) => void = () => {};

  constructor(readonly stream: Writable) {
    const writev = (stream as unknown as { _writev?: Writev })._writev;
    if (typeof writev !== 'function') return;
    const self = this;
    // (What a preload's writes left buffered behind its post is not copied: nor is what follows, until a post.)
    this.#keeping = ((stream as unknown as { _writableState?: { bufferedRequestCount?: number } })._writableState
      ?.bufferedRequestCount ?? 0) === 0;
    // (Below any patch of write() a preload or a task makes later, as the count is.)
    const write = stream.write;
    stream.write = function eagerWrite(this: Writable, ...args: Parameters<Writable['write']>): boolean {
      const posted = self.posted;
      const length = this.writableLength;
      const written = Reflect.apply(write, this, args) as boolean;
      if (!self.#eager()) {
        // (Buffered and not copied: nothing after it is, until the next post.)
        if (self.posted === posted && this.writableLength > length) self.#keeping = false;
        return written;
      }
      if (self.#endInFlight !== undefined && self.#unasked < EAGER_UNASKED_MAX && self.#unaskedPosts < EAGER_UNASKED_POSTS) {
        self.postBuffered(true);
      } else if (self.posted === posted && this.writableLength > length) {
        // Buffered, not posted: past the bound, or behind a post this
        // stream did not count (a preload's, made before it was wrapped),
        // which it cannot end. Kept where the owner can read it.
        self.#keep(args[0], args[1]);
      }
      return written;
    } as Writable['write'];
    (stream as unknown as { _writev: Writev })._writev = function countedWritev(chunks, cb) {
      // (It posts all that the stream buffers: the copy of it goes first.)
      self.#tail?.clear();
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

  /**
   * A write that the stream buffers and will not post by itself before its
   * owner's next ask: a copy of it is kept where the owner can read it
   * (src/base/printed-tail.ts). Nothing is kept from a write that does not
   * fit, a corked stream's (which may never write it) or a destroyed one's,
   * nor anything after it until the stream's next post: the copy has no gaps.
   */
  #keep(chunk: unknown, encoding: unknown): void {
    if (!this.#keeping) return;
    const s = this.stream;
    if (s.writableCorked > 0 || s.destroyed || (typeof chunk !== 'string' && !ArrayBuffer.isView(chunk))) {
      this.#keeping = false;
      return;
    }
    if (this.#tail === undefined) {
      const tail = this.#tail = new TailWriter();
      // (What a destroyed stream buffered is dropped: so is its copy.)
      s.once('close', () => {
        tail.clear();
        this.#keeping = false;
      });
      this.#sendTail(tail.memory);
    }
    // (As write(): a missing or empty encoding is the stream's default.)
    const state = (s as unknown as { _writableState?: { defaultEncoding?: string } })._writableState;
    const e = (typeof encoding === 'string' && encoding !== '' ? encoding : state?.defaultEncoding ?? 'utf8') as BufferEncoding;
    if (!this.#tail.keep(chunk, e)) this.#keeping = false;
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
