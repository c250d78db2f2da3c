// A thread's reactor core: its native inbox, drained once per wake-up and
// handed, message by message, to whoever handles that kind; and whether
// the thread's event loop stays alive (only while work is in flight, so a
// script that used a pool exits by itself). One per thread that loads the
// package, built by src/runtime/this-thread.ts with its handlers. Owning thread only.
// Tests: test/reactor-wake-ups.ts, test/natural-exit.ts, test/call-from-thread.ts.
import { realClearTimeout, realSetImmediate, realSetTimeout } from '../base/real-timers.js';
import { native } from './native.js';
import { MessageKind, ownPayload, readInbox, type InboxMessage } from '../base/wire.js';

/** Receives the results and demand of a pool this thread owns. */
export interface ResultSink {
  /**
   * Handles a message. A Promise: the message waits for something that
   * travels beside it (a result's moved buffers); the sender's later
   * messages wait behind it until it settles.
   */
  deliver(message: InboxMessage): Promise<void> | undefined;
}

/** Who handles what arrives; given once, when the thread's reactor is built. */
export interface CoreHandlers {
  /**
   * Serves a call made on this reactor. Returns a Promise when the call
   * waits for its function to load; the sender's later messages wait
   * behind it until it settles.
   */
  serveCall(message: InboxMessage): Promise<void> | undefined;
  /** How many blocking calls served here still owe their answer. */
  pendingAnswers(): number;
  /** Pool threads: the pool has work for this thread (or is stopping). */
  takeWork?(): void;
  /** Pool threads: the owner asks to abort a task this thread holds. */
  cancelTask?(taskId: number): void;
}

/**
 * The reactor's half of "spin, then park": a thread in a blocking call
 * usually makes its next call a few microseconds after its answer, and a
 * reactor asleep in its poll takes tens of microseconds to wake. So after
 * serving calls, the reactor waits briefly for the next one (in a
 * microtask queued after the answers, so no answer waits on the spin).
 * The wait adapts: it is kept only while it usually catches a call, and
 * one wake-up's conversation is bounded so the loop's other work runs.
 */
const CONVERSE_SPIN_NS = 15_000;
/**
 * One turn of the loop waits for calls for this long at most, however
 * many it catches: then the turn ends, and timers and I/O run before the
 * next turn's conversation (helper-76's review: a window renewed as soon
 * as it ran out held the loop for 13 ms of calls, 22-93 ms with 2-4
 * callers, its timers waiting).
 */
const CONVERSE_MAX_MS = 2;
/**
 * A turn's end is seen by an Immediate (#converse), taken from the timers
 * module as this package loads (base/real-timers.ts): the fake timers of
 * jest and vitest replace the global one (and may replace the module's, if
 * installed before this loads), and drop what was queued on them when
 * uninstalled. Should the Immediate never run, a window that ended this
 * long ago counts as a past turn's (helper-77's review: waits had stopped
 * for good).
 */
const CONVERSE_TURN_LOST_MS = 100;
/**
 * While waiting has stopped paying (it caught under a fifth of the next
 * calls lately), one answer in this many still waits, so that a caller
 * who starts calling back to back is noticed. (Adding to the hit rate at
 * each answer instead waited after every other late answer of callers
 * who never came back soon: +22-27% of the main thread's CPU.)
 */
const CONVERSE_PROBE_EVERY = 16;

/**
 * How long what waits behind a sender's loading call (afterSender) waits
 * at most: a module whose top-level await never settles must not keep a
 * thread's exit, and so stop(), waiting for ever. Long enough for any
 * real import.
 */
const HELD_BACK_MAX_WAIT_MS = 10_000;

/** The inbox scratch's size: batches of more go in a buffer of their own. */
const INBOX_SCRATCH_BYTES = 64 * 1024;

/** What waits in a sender's FIFO: its messages, and work to run after them. */
type HeldBack = InboxMessage | (() => void);

interface HeldCount { messages: number; bytes: number; changed: boolean }

/** What a held-back message weighs against the inbox's byte mark (as native counts it). */
function weight(m: InboxMessage): number {
  let n = m.payload.length;
  if (m.transfers) for (const ab of m.transfers) n += ab.byteLength;
  return n;
}

export class ReactorCore {
  /** This thread's reactor id (the native registry's). */
  readonly id: number;
  readonly #handlers: CoreHandlers;
  readonly #sinks = new Map<number, ResultSink>();
  /**
   * Senders whose messages wait behind a call of theirs that is loading
   * its function (or a result of theirs whose moved buffers are on their
   * way): one FIFO per sender, so that what a thread sends (calls,
   * then its task results) is handled in the order it was sent (DESIGN.md
   * section 1), while other senders go on.
   */
  readonly #heldBack = new Map<number, HeldBack[]>();
  /**
   * Per sender: its messages held back and their bytes (payload and moved
   * buffers), and whether native was told (setHeld): they count toward
   * the inbox's high-water mark for that sender.
   */
  readonly #held = new Map<number, HeldCount>();
  /** A batch is being handled (#deliver): one drained meanwhile (drainNow) ends with it. */
  #delivering = false;
  #inflight = 0;
  #converseHitRate = 0.5;
  /** The end of this turn's window for waits (CONVERSE_MAX_MS); none opens again before the turn ends. */
  #converseUntil = 0;
  /** A window opened this turn: the turn's Immediate clears it (or CONVERSE_TURN_LOST_MS, should that never run). */
  #converseTurnOpen = false;
  /** Answers since the last probe while waiting does not pay (CONVERSE_PROBE_EVERY). */
  #sinceProbe = 0;
  /** Blocking calls answered since the reactor last waited for a next call (answered()). */
  #answersSinceSpin = 0;

  /**
   * What the addon calls with each wake-up. It holds this weakly, so this
   * field is what keeps it: once nothing reaches this copy of the package
   * (jest dropped a test file's copy), it is collected, and native retires
   * this reactor (native/env_state.h).
   */
  readonly #onWake = (batch: Uint8Array | undefined, transfers: ArrayBuffer[] | undefined, work: boolean): void =>
    this.#deliver(batch, transfers, work);

  constructor(handlers: CoreHandlers, isMainThread: boolean) {
    this.#handlers = handlers;
    // Native writes each batch it delivers here when it fits, rather than
    // into a new Buffer (native/scratch.h says what that saves); it is
    // free again once the outermost delivery ends (endBatch), and a
    // message kept past that owns a copy of its bytes (ownPayload).
    this.id = native.init(this.#onWake, isMainThread, new Uint8Array(INBOX_SCRATCH_BYTES));
  }

  /**
   * Delivers what is in the inbox now, without waiting for the wake-up,
   * through the same path and with the same flags as a wake-up:
   * native.drain() clears the work signal, so dropping it here would leave
   * a pool thread that is off the waiting list and never pulls again.
   */
  drainNow(): void {
    const drained = native.drain();
    this.#deliver(drained[0], drained[1], drained[2]);
  }

  /**
   * Runs `run` once every message `sender` sent so far has been handled
   * (those still in the native inbox are delivered first): now, or, while
   * a call of the sender's waits for its function to load,
   * behind that call and the messages held back with it (at most
   * HELD_BACK_MAX_WAIT_MS later). A pool uses it when one of its threads
   * exits, so the thread's last calls and results are handled before the
   * tasks it held are declared dead and their callables released.
   */
  afterSender(sender: number, run: () => void): void {
    // What it sent may still be in the native inbox, its wake-up pending
    // behind the event that brought us here (a Worker's exit arrives on
    // its own channel): handle that first.
    this.drainNow();
    const queue = this.#heldBack.get(sender);
    if (!queue) {
      run();
      return;
    }
    let ran = false;
    const once = (): void => {
      if (ran) return;
      ran = true;
      realClearTimeout(timer);
      this.release();
      run();
    };
    // Someone waits on `run` (a pool's stop(), the tasks it settles): the
    // loop stays alive until it ran.
    this.hold();
    const timer = realSetTimeout(once, HELD_BACK_MAX_WAIT_MS);
    timer.unref();
    queue.push(once);
  }

  addSink(poolId: number, sink: ResultSink): void {
    this.#sinks.set(poolId, sink);
  }

  removeSink(poolId: number): void {
    this.#sinks.delete(poolId);
  }

  /** Something is in flight: keep this thread's loop alive until release(). */
  hold(): void {
    if (this.#inflight++ === 0) native.ref();
  }

  release(): void {
    if (--this.#inflight === 0) native.unref();
  }

  /** The one path for a wake-up and an early drain. */
  #deliver(batch: Uint8Array | undefined, transfers: ArrayBuffer[] | undefined, work: boolean): void {
    let served = false;
    // Native counted this batch's messages of held senders as held
    // (Reactor::Drain): each such count is reported again below.
    for (const count of this.#held.values()) count.changed = true;
    const outermost = !this.#delivering;
    try {
      if (batch) {
        this.#delivering = true;
        for (const m of readInbox(batch, transfers)) {
          if (m.kind === MessageKind.Call) served = true;
          this.#dispatch(m);
        }
      }
    } finally {
      this.#delivering = !outermost;
      this.#reportHeld();
      // The calls drained count toward their senders' high-water marks
      // until now (native/reactor.h EndBatch): what is held back is
      // reported just above. Before any microtask runs, and whatever was
      // thrown: a sender that waits for room would otherwise wait for a
      // batch that may never come. One drained within another's handling
      // ends with it.
      if (outermost) native.endBatch();
    }
    if (work) this.#handlers.takeWork?.();
    if (served) this.#converse();
  }

  /**
   * A blocking call served here was answered; `late`: by its function's
   * Promise, which may settle on a later turn (a timer, I/O, an
   * Immediate) than the batch that brought the call. The caller's next
   * call comes as soon after the answer either way, so the reactor waits
   * for it after a late answer as after a batch. Without this, each such
   * call found the reactor asleep in its poll (bench bridge.mjs (c), f
   * resolving on setImmediate: p50 20 us). One wait per answer at most.
   */
  answered(late: boolean): void {
    this.#answersSinceSpin++;
    if (late) this.#converse();
  }

  /** After calls were served, or answered: wait briefly for the next call, while that usually pays. */
  #converse(): void {
    const now = native.now();
    if (!this.#converseTurnOpen || now > this.#converseUntil + CONVERSE_TURN_LOST_MS) {
      this.#converseTurnOpen = true;
      this.#converseUntil = now + CONVERSE_MAX_MS;
      // (The check phase ends the turn: the next one opens a window of its
      // own. Not a wake-up from native: Node delivers those queued meanwhile
      // in the same callback, up to 1,000 of them, so the turn goes on.)
      const turnEnds = realSetImmediate(() => { this.#converseTurnOpen = false; });
      if (typeof turnEnds === 'object') turnEnds.unref?.();
    }
    queueMicrotask(() => this.#awaitNextCall());
  }

  #awaitNextCall(): void {
    // An answer still pending (f's Promise not settled) must not wait on the spin;
    // nor is a caller waited for twice after one answer.
    if (this.#handlers.pendingAnswers() > 0 || this.#answersSinceSpin === 0) return;
    if (native.now() > this.#converseUntil) return;
    this.#answersSinceSpin = 0;
    if (this.#converseHitRate <= 0.2 && ++this.#sinceProbe < CONVERSE_PROBE_EVERY) return;
    this.#sinceProbe = 0;
    const hit = native.awaitMessage(CONVERSE_SPIN_NS);
    this.#converseHitRate = 0.9 * this.#converseHitRate + (hit ? 0.1 : 0);
    if (hit) this.drainNow();
  }

  /** Handles one message now, or queues it behind its sender's held-back call. */
  #dispatch(m: InboxMessage): void {
    const queue = m.sender === 0 ? undefined : this.#heldBack.get(m.sender);
    if (queue) {
      ownPayload(m);
      queue.push(m);
      this.#countHeld(m.sender, 1, weight(m));
      return;
    }
    this.#handle(m);
  }

  /**
   * Tells native how much is held back (once per batch, and as a held-back
   * queue resumes): it counts toward the inbox's high-water mark, so a
   * sender cannot flood past it while its calls wait here.
   */
  #reportHeld(): void {
    for (const [sender, count] of this.#held) {
      if (!count.changed) continue;
      count.changed = false;
      native.setHeld(sender, count.messages, count.bytes);
      if (count.messages === 0) this.#held.delete(sender);
    }
  }

  #countHeld(sender: number, messages: number, bytes: number): void {
    let count = this.#held.get(sender);
    if (!count) this.#held.set(sender, count = { messages: 0, bytes: 0, changed: true });
    count.messages += messages;
    count.bytes += bytes;
    count.changed = true;
  }

  #handle(m: InboxMessage): void {
    try {
      switch (m.kind) {
        case MessageKind.Call: {
          const loading = this.#handlers.serveCall(m);
          if (loading) this.#holdBack(m.sender, loading);
          return;
        }
        case MessageKind.CancelTask:
          this.#handlers.cancelTask?.(m.id);
          return;
        default: {
          // Results and demand of a pool that was destroyed meanwhile are dropped.
          const waiting = this.#sinks.get(m.ref)?.deliver(m);
          if (waiting) this.#holdBack(m.sender, waiting);
        }
      }
    } catch (e) {
      // A sink reports its own errors; this is a bug, and must not stop
      // the rest of the batch.
      process.emitWarning(`reactor-threads: delivering a message failed: ${String(e)}`);
    }
  }

  #holdBack(sender: number, until: Promise<void>): void {
    this.#heldBack.set(sender, []);
    const resume = (): void => {
      const queue = this.#heldBack.get(sender)!;
      this.#heldBack.delete(sender);
      // In order; a later call that must load in turn holds the rest again
      // (and what waits after the sender's messages waits behind it).
      for (let i = 0; i < queue.length; i++) {
        const again = this.#heldBack.get(sender);
        if (again) {
          // (No spread: a queue may hold a million messages.)
          this.#heldBack.set(sender, queue.slice(i).concat(again));
          this.#reportHeld();
          return;
        }
        const item = queue[i]!;
        if (typeof item !== 'function') {
          this.#countHeld(sender, -1, -weight(item));
          this.#handle(item);
          continue;
        }
        try {
          item();
        } catch (e) {
          // (As #handle: the rest of the sender's messages must still run.)
          process.emitWarning(`reactor-threads: work after a sender's messages failed: ${String(e)}`);
        }
      }
      this.#reportHeld();
    };
    // The call reports its own failure; either way the sender goes on.
    void until.then(resume, resume);
  }
}
