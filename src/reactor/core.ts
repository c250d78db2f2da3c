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

/**
 * Handling a batch, or the rest of one, stops after this long (looked at
 * every SLICE_CHECK_EVERY messages): what is left waits (#rest) for an
 * Immediate, and behind it what arrives meanwhile, so that the loop's
 * timers and I/O run between slices. A batch holds up to 16,384 calls (the
 * inbox's high-water mark): handled whole, a thread's flood of calls to a
 * 20 us function kept the owner's timers waiting 330 ms a batch, a task's
 * 100 ms runTimeout among them (helper-117). Native bounds the run of
 * wake-ups within one turn of the loop the same way (env_state.cc CallJs).
 */
const SLICE_MS = 4;
const SLICE_CHECK_EVERY = 64;

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
  readonly #onWake = (batch: Uint8Array | undefined, transfers: ArrayBuffer[] | undefined, work: boolean,
    deferred?: boolean): void => {
    if (!deferred) {
      this.#deliver(batch, transfers, work);
      return;
    }
    // Native passed on this wake-up without draining (env_state.cc CallJs):
    // this turn of the loop has handled wake-ups for its budget already,
    // and a sender that refills the inbox after each drain would keep the
    // turn going for up to 1,000 batches (Node's limit of thread-safe calls
    // per callback), timers and I/O waiting. The inbox is drained from an
    // Immediate instead. (Native keeps its wake-up pending until then, so
    // senders queue no further one meanwhile.)
    this.#drainDue = true;
    this.#scheduleLater();
  };

  /**
   * What waits for a later slice of handling (SLICE_MS), in arrival order
   * from #restHead on: the rest of a batch that took too long, what was
   * drained after it, and work to run after a sender's messages
   * (afterSender). The messages own their bytes, and count toward their
   * senders' high-water marks as held (#countHeld), so that a sender
   * cannot post past its mark meanwhile.
   */
  #rest: HeldBack[] | undefined;
  #restHead = 0;
  /** A deferred wake-up: the inbox is drained at the next slice. */
  #drainDue = false;
  /** An Immediate runs #later. */
  #laterScheduled = false;

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
    // What waits for a later slice holds all that is left of its messages.
    if (this.#rest) this.#rest.push(() => this.#afterHeldBack(sender, run));
    else this.#afterHeldBack(sender, run);
  }

  /** Whether messages wait to be handled: in the native inbox, or for a later slice. */
  hasMail(): boolean {
    return this.#rest !== undefined || native.hasMail();
  }

  /** afterSender's wait, once no message of `sender` waits for a later slice. */
  #afterHeldBack(sender: number, run: () => void): void {
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
    // (Reactor::Drain): each such count is reported again below, unless
    // the whole batch waits for a later slice, held as native counted it.
    const behindRest = this.#rest !== undefined;
    // (Nothing is held nearly always: then no iterator is made, on every wake-up's path.)
    if (!behindRest && this.#held.size !== 0) for (const count of this.#held.values()) count.changed = true;
    const outermost = !this.#delivering;
    try {
      if (batch) {
        this.#delivering = true;
        const messages = readInbox(batch, transfers);
        if (behindRest) {
          this.#defer(messages, 0, batch, true);
        } else {
          const until = native.now() + SLICE_MS;
          for (let i = 0; i < messages.length;) {
            const m = messages[i++]!;
            if (m.kind === MessageKind.Call) served = true;
            this.#dispatch(m);
            if (i % SLICE_CHECK_EVERY === 0 && i < messages.length && native.now() > until) {
              this.#defer(messages, i, batch, false);
              break;
            }
          }
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
   * Sets `messages[from..]` aside for a later slice (#rest), behind what
   * waits there already. A batch in the inbox scratch is overwritten by
   * the next one: those messages get views of one copy of it.
   * Only calls count toward their senders' marks here (nothing else waits
   * for room, and a pool's results are bounded by its queue): a burst's
   * 50,000 results that wait for a later slice are not counted one by one.
   * `drainedHeld`: the batch was drained whole into #rest, so native
   * counted the messages of senders it held already as held: their calls'
   * counts need no report (one per batch made a flood's tiny batches 8%
   * slower); what else they sent does, to take it off again.
   */
  #defer(messages: InboxMessage[], from: number, batch: Uint8Array, drainedHeld: boolean): void {
    const own = batch.byteLength <= INBOX_SCRATCH_BYTES ? batch.slice() : undefined;
    const rest = this.#rest ??= [];
    const heldBefore = drainedHeld ? new Set(this.#held.keys()) : undefined;
    for (let i = from; i < messages.length; i++) {
      const m = messages[i]!;
      if (own) {
        const at = m.payload.byteOffset - batch.byteOffset;
        m.payload = own.subarray(at, at + m.payload.length);
      }
      if (m.sender !== 0) {
        const count = heldBefore?.has(m.sender) ? this.#held.get(m.sender) : undefined;
        if (m.kind !== MessageKind.Call) {
          if (count) count.changed = true;
        } else if (count) {
          count.messages++;
          count.bytes += weight(m);
        } else {
          this.#countHeld(m.sender, 1, weight(m));
        }
      }
      rest.push(m);
    }
    this.#scheduleLater();
  }

  #scheduleLater(): void {
    if (this.#laterScheduled) return;
    this.#laterScheduled = true;
    const immediate: unknown = realSetImmediate(this.#later);
    // A fake installed before this package loaded may never run it (see
    // base/real-timers.ts): then a Promise's reaction does, fairness lost
    // but nothing left waiting. (Not queueMicrotask: fake timers replace
    // that too, and the flood waited for good: helper-122's review.)
    if (!isNodeImmediate(immediate)) void Promise.resolve().then(this.#later);
  }

  /** The next slice: a deferred wake-up's drain, then what waits in #rest, for SLICE_MS at most. */
  readonly #later = (): void => {
    if (!this.#laterScheduled) return;
    this.#laterScheduled = false;
    if (this.#drainDue) {
      this.#drainDue = false;
      // (Behind #rest, if anything waits there.)
      this.drainNow();
    }
    const rest = this.#rest;
    if (!rest) return;
    const until = native.now() + SLICE_MS;
    let served = false;
    let i = this.#restHead;
    try {
      // (What a message's handling drains meanwhile joins the end of rest.)
      while (i < rest.length) {
        const item = rest[i++]!;
        if (typeof item === 'function') {
          try {
            item();
          } catch (e) {
            // (As in #holdBack: what waits behind it must still run.)
            process.emitWarning(`reactor-threads: work after a sender's messages failed: ${String(e)}`);
          }
        } else {
          if (item.kind === MessageKind.Call) {
            served = true;
            if (item.sender !== 0) this.#countHeld(item.sender, -1, -weight(item));
          }
          this.#dispatch(item);
        }
        if (i % SLICE_CHECK_EVERY === 0 && i < rest.length && native.now() > until) break;
      }
    } finally {
      if (i < rest.length) {
        // What was handled is let go once it is most of the array: a
        // steady flood keeps #rest from ever emptying, and it held every
        // message of it (2 million: GC pauses of 70 ms).
        if (i > rest.length >>> 1) {
          this.#rest = rest.slice(i);
          this.#restHead = 0;
        } else {
          this.#restHead = i;
        }
        this.#scheduleLater();
      } else {
        this.#rest = undefined;
        this.#restHead = 0;
      }
      this.#reportHeld();
    }
    if (served) this.#converse();
  };

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
    if (this.#held.size === 0) return;
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

/** Whether `h` is what Node's own setImmediate returns (an Immediate that its loop will run). */
function isNodeImmediate(h: unknown): boolean {
  return typeof h === 'object' && h !== null && (h as object).constructor?.name === 'Immediate' && '_onImmediate' in h;
}
