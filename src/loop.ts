// This thread's reactor core: the native inbox is drained here, once per
// wake-up, and each message is handed to whoever waits for it. It also
// decides whether the thread's event loop stays alive: only while work is
// in flight (hold/release), so a script that used a pool exits by itself.
// Runs on every thread that loads the package. Tests: test/natural-exit.ts.
import { isMainThread } from 'node:worker_threads';
import { native } from './native.js';
import { MessageKind, readInbox, type InboxMessage } from './wire.js';

/** Receives the results of a pool's tasks (a ThreadPool this thread owns). */
export interface ResultSink {
  deliver(message: InboxMessage): void;
}

const sinks = new Map<number, ResultSink>();
let onWork: (() => void) | undefined;
let onCancelTask: ((taskId: number) => void) | undefined;
/** Serves a call; returns a Promise when it waits for its function to load (settles once served). */
let onCall: ((message: InboxMessage) => Promise<void> | undefined) | undefined;
/** How many calls served here still owe their answer (set by the bridge). */
let unanswered: () => number = () => 0;
let inflight = 0;

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
const CONVERSE_MAX_MS = 2;
let converseHitRate = 0.5;
let converseUntil = 0;

function awaitNextCall(): void {
  // An answer still pending (f's Promise not settled) must not wait on the spin.
  if (unanswered() > 0 || performance.now() > converseUntil) return;
  const hit = native.awaitMessage(CONVERSE_SPIN_NS);
  converseHitRate = 0.9 * converseHitRate + (hit ? 0.1 : 0);
  if (hit) drainNow();
}

/**
 * Senders whose messages wait behind a call of theirs that is loading its
 * function on this reactor: one FIFO per sender, so that what a thread
 * sends (calls, then its task results) is handled in the order it was
 * sent (DESIGN.md section 1), while other senders go on.
 */
const heldBack = new Map<number, InboxMessage[]>();

/** Handles one message now, or queues it behind its sender's held-back call. */
function dispatch(m: InboxMessage): void {
  const queue = m.sender === 0 ? undefined : heldBack.get(m.sender);
  if (queue) {
    queue.push(m);
    return;
  }
  try {
    if (m.kind === MessageKind.Call) {
      const loading = onCall?.(m);
      if (loading) holdBack(m.sender, loading);
      return;
    }
    if (m.kind === MessageKind.CancelTask) {
      onCancelTask?.(m.id);
      return;
    }
    // Results and demand of a pool that was destroyed meanwhile are dropped.
    sinks.get(m.ref)?.deliver(m);
  } catch (e) {
    // A sink reports its own errors; this is a bug, and must not stop
    // the rest of the batch.
    process.emitWarning(`reactor-threads: delivering a message failed: ${String(e)}`);
  }
}

function holdBack(sender: number, until: Promise<void>): void {
  heldBack.set(sender, []);
  void until.then(() => {
    const queue = heldBack.get(sender)!;
    heldBack.delete(sender);
    // In order; a later call that must load in turn holds the rest again.
    for (const m of queue) dispatch(m);
  });
}

function onWake(batch: Buffer | undefined, transfers: ArrayBuffer[] | undefined, work: boolean): void {
  let served = false;
  if (batch) {
    for (const m of readInbox(batch, transfers)) {
      if (m.kind === MessageKind.Call) served = true;
      dispatch(m);
    }
  }
  if (work && onWork) onWork();
  if (served && converseHitRate > 0.2) {
    if (converseUntil < performance.now()) converseUntil = performance.now() + CONVERSE_MAX_MS;
    queueMicrotask(awaitNextCall);
  } else if (served) {
    // Spinning stopped paying: probe now and then, so a new conversation is noticed.
    converseHitRate += 0.01;
  }
}

export const reactorId: number = native.init(onWake, isMainThread);

/**
 * Delivers what is in this thread's inbox now, without waiting for the
 * wake-up, through the same path and with the same flags as a wake-up:
 * native.drain() clears the work signal, so dropping it here would leave a
 * pool thread that is off the waiting list and never pulls again.
 */
export function drainNow(): void {
  const [batch, transfers, work] = native.drain();
  onWake(batch, transfers, work);
}

export function addSink(poolId: number, sink: ResultSink): void {
  sinks.set(poolId, sink);
}

export function removeSink(poolId: number): void {
  sinks.delete(poolId);
}

/** The bridge (src/bridge.ts): serves calls that threads make on this reactor. */
export function setCallHandler(handler: (message: InboxMessage) => Promise<void> | undefined, pendingAnswers: () => number): void {
  onCall = handler;
  unanswered = pendingAnswers;
}

/** Pool threads only: called when this thread's pool has work for it, or asks it to abort a task. */
export function setWorkListener(listener: () => void, cancel: (taskId: number) => void): void {
  onWork = listener;
  onCancelTask = cancel;
}

/** Something is in flight: keep this thread's loop alive until release(). */
export function hold(): void {
  if (inflight++ === 0) native.ref();
}

export function release(): void {
  if (--inflight === 0) native.unref();
}
