// A pool thread's outbox: its task results, and the calls it posts
// (callFromThread), leave in the order they were made, and not ahead of
// the thread's own console output. A Worker's stdout and stderr travel
// to the parent over a port of Node's; a result must not overtake them,
// or the owner may settle (and the process exit, or print) before the
// task's output is printed.
// So a result made while output the owner has not confirmed is out is held
// until it has: the thread counts the bytes its stdout and stderr post
// (src/thread/printed-bytes.ts), asks the owner on its side port to say
// when that many have come (Printed), and the owner, which counts what
// arrives from the Worker's stdio, answers (Seen: src/pool/printed-output.ts).
// Output a stream still buffers (behind its post in flight, until the
// thread's loop hears the owner ask for more) is posted while the thread
// holds a task that may be cancelled: as it takes one, and as a task ends,
// before its outcome is made (postBufferedOutput, from the task runner),
// and as it is written, within a bound (postEagerlyWhile; past it, writes
// are also copied where the owner reads them once the thread is gone:
// src/base/printed-tail.ts). Native posts a
// held result itself if the pool terminates the thread, and output left
// in the stream then died with the thread, its results delivered without
// it. Output written after that post (by a write callback it ran) leaves
// with the stream's next post: the result waits for that post's count.
// (A write's own callback does not tell that: Node runs all of a worker's
// pending write callbacks whenever the parent asks for more output, which
// it does on the first chunk it gets, before later ones have come.)
// A result held back is handed to native at once (poolComplete with
// holdResult): the task counts as finished there, so a death of this
// thread meanwhile neither blames nor re-runs it, and native posts the
// result itself if the thread dies before releasing it. So is a call held
// behind it (poolHoldPost), which native posts with it, in order.
// Before the thread parks in a blocking call, everything held leaves
// (flushBeforePark): a parked thread reads no port, and the owner must see
// what the thread sent before the call (it may be what the call waits
// for). The owner's answer is awaited a short while first, reading the
// port, so that those results too come after their output.
// Pool thread only. Tests: test/console-order.ts, test/natural-exit.ts,
// test/bridge-pool-threads.ts.
import type { MessagePort } from 'node:worker_threads';
import { native } from '../reactor/native.js';
import { realClearTimeout, realSetTimeout } from '../base/real-timers.js';
import { PortMove, TaskStatus, type CallStatus, type PrintedMessage, type TailMessage } from '../base/wire.js';
import { PrintedStream } from './printed-bytes.js';

/**
 * How long held sends wait without an answer before they leave all the
 * same: output that never leaves (a stream corked for good, or destroyed
 * with output in it) or an owner that cannot count what comes (its loop
 * blocked that long) must not hold results for ever. Output in a stream
 * whose post is still in flight is waited for: the owner has not asked
 * for more yet, so it has not read that post.
 */
const UNANSWERED_MAX_MS = 5_000;

/**
 * How long a thread about to park waits for the owner to confirm the
 * output its held sends wait behind. An idle owner answers within a
 * round trip (well under a millisecond here), a busy one when its loop
 * comes round (which a blocking call to it waits for anyway); one whose
 * loop stays blocked does not, and then they leave unconfirmed after
 * this. Under two CPU burners and a test run, 20 ms ran out now and then
 * (1 to 2 results in 800 came before their output); 200 did not.
 */
const BEFORE_PARK_WAIT_MS = 200;

/**
 * Between reads of the port during that wait, the thread sleeps this long
 * rather than spinning: on two cores the owner that must answer may need
 * the core a spin would hold.
 */
const BEFORE_PARK_NAP_MS = 0.1;
const napCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * A send waiting until the owner has this much of the thread's output;
 * undefined: what the stream's next post brings it to (it buffered output
 * when the send was made).
 */
interface Held {
  send: () => void;
  stdout: number | undefined;
  stderr: number | undefined;
}

export class PoolThreadOutbox {
  readonly #stdout = new PrintedStream(process.stdout);
  readonly #stderr = new PrintedStream(process.stderr);
  /** What the owner said it has (Seen). */
  #seenOut = 0;
  #seenErr = 0;
  /** The counts last asked about: one ask is out at a time. */
  #askedOut = 0;
  #askedErr = 0;
  #asking = false;
  /** Sends waiting for the owner, in order. */
  readonly #held: Held[] = [];
  #fallback: NodeJS.Timeout | undefined;
  /** The last resort posted buffered output and waits one more period (#unanswered). */
  #postedAtLastResort = false;

  /**
   * `port`: the thread's side port; `posted()` tells an owner parked in a
   * blockingCallInThread to read it.
   */
  constructor(
    private readonly poolId: number,
    private readonly threadId: number,
    private readonly port: MessagePort,
    private readonly posted: () => void,
  ) {
    this.#stdout.onPost(() => this.#settleTargets());
    this.#stderr.onPost(() => this.#settleTargets());
    this.#stdout.onTail((memory) => this.#sendTail(0, memory));
    this.#stderr.onTail((memory) => this.#sendTail(1, memory));
  }

  /**
   * Posts what the streams buffer now (PrintedStream.postBuffered): while
   * the thread holds a task that may be cancelled, as it takes one and as a
   * task ends, before its outcome is encoded; and before the thread parks.
   * A thread terminated before its loop runs again (a later task's
   * runTimeout, a cancel past cancelGrace) has its held results posted by
   * native, and the output they wait behind must have left by then. It
   * runs the ended writes' callbacks (user code, which may encode a call
   * of its own in the shared buffers): call it before encoding anything.
   */
  postBufferedOutput(): void {
    this.#stdout.postBuffered();
    this.#stderr.postBuffered();
  }

  /** Hands the owner the memory where a stream keeps what it could not post yet (src/base/printed-tail.ts). */
  #sendTail(stream: 0 | 1, memory: SharedArrayBuffer): void {
    const tail: TailMessage = [PortMove.Tail, stream, memory];
    this.port.postMessage(tail);
  }

  /** While `when()` is true, what the streams are given is posted at once (PrintedStream.postEagerlyWhile). */
  postEagerlyWhile(when: () => boolean): void {
    this.#stdout.postEagerlyWhile(when);
    this.#stderr.postEagerlyWhile(when);
  }

  /** A task's result, to the owner's inbox. */
  post(taskId: number, status: TaskStatus, bytes: Uint8Array, transfers?: ArrayBuffer[]): void {
    const hold = this.#mustHold();
    // Held, native copies the bytes now and keeps the result until it is released.
    native.poolComplete(this.poolId, this.threadId, taskId, status, bytes, transfers, hold, false);
    if (hold) this.#releaseLater(taskId);
  }

  /**
   * A fulfilled result whose moved buffers follow by port: posted without
   * waking the owner, then `sendBuffers()` posts them, and their message
   * wakes it (a result held back here wakes it when it leaves). Nothing
   * runs in between: no code of the user's (a patched stdout.write) can
   * touch the buffers after the result was posted.
   */
  postMoved(taskId: number, bytes: Uint8Array, sendBuffers: () => void): void {
    const hold = this.#mustHold();
    native.poolComplete(this.poolId, this.threadId, taskId, TaskStatus.Fulfilled, bytes, undefined, hold, !hold);
    sendBuffers();
    if (hold) this.#releaseLater(taskId);
  }

  /**
   * A blockingCallInThread task's end, to the owner's inbox as post()'s
   * (`status`: Answered*, no bytes), and its outcome to its caller's reply
   * slot `callId`, which no console output needs to precede: the caller is
   * this thread's owner, parked. False when the caller already left.
   */
  answer(taskId: number, status: TaskStatus, callId: number, replyStatus: CallStatus, bytes: Uint8Array,
    transfers: ArrayBuffer[] | undefined): boolean {
    const hold = this.#mustHold();
    const took = native.poolAnswer(this.poolId, this.threadId, taskId, status, callId, replyStatus, bytes, transfers, hold);
    if (hold) this.#releaseLater(taskId);
    return took;
  }

  /** Runs `run` now, or once everything held has left (the thread exits then). */
  whenSent(run: () => void): void {
    if (this.#held.length > 0) this.#hold(run);
    else run();
  }

  /**
   * A call this thread posts to reactor `target` (callFromThread, as
   * bridgePost's arguments): now, or, behind results held here, kept by
   * the pool in order with them (poolHoldPost), so that a thread
   * terminated before it releases them (no JavaScript runs there then)
   * still has its calls posted, ahead of the results made after them.
   * `refused`: the target reactor was gone when the call left.
   */
  postCall(target: number, refKind: number, ref: number, bytes: Uint8Array, transfers: ArrayBuffer[] | undefined,
    mayWait: boolean, refused: () => void): void {
    const { poolId, threadId } = this;
    if (this.#held.length > 0
      && native.poolHoldPost(poolId, threadId, target, refKind, ref, bytes, transfers, mayWait)) {
      this.#hold(() => { if (!native.poolReleasePost(poolId, threadId)) refused(); });
      return;
    }
    if (!native.bridgePost(target, refKind, ref, bytes, transfers, mayWait)) refused();
  }

  /**
   * Sends everything waiting now, without waiting for the owner: before
   * the thread parks (its port is not read while it is parked), and as it
   * exits (what it sent must not be lost).
   */
  flushNow(): void {
    // (An ask still out is answered later, and changes nothing then.)
    this.#asking = false;
    this.#release(Infinity, Infinity, true);
  }

  /**
   * Sends everything waiting, before the thread parks in a blocking call.
   * Those whose output has left the thread wait first, up to
   * BEFORE_PARK_WAIT_MS, for the owner to confirm it: `readPort` handles
   * what came on the side port (the answer among it). Output a stream
   * buffers behind a post in flight is posted first (it would leave only
   * when this thread's loop runs, which it will not until the call
   * returns). `ownerParked`: the owner waits in blockingCallInThread for
   * a task of this thread's, and reads no output until it has its
   * answer: nothing is waited for. `callsOwner`: the thread parks for a
   * blockingCallFromThread to its owner, which then waits for the output
   * the thread printed before it too.
   */
  flushBeforePark(readPort: () => void, ownerParked: boolean, callsOwner = false): void {
    // (Output buffered in a stream leaves now: the sends behind it then wait for its count.)
    this.postBufferedOutput();
    // A call to the owner waits behind the output printed before it, as a
    // callFromThread does (postCall): the owner would run its function,
    // and print what that prints, before reading the thread's earlier lines
    // (helper-134's trial: 1 to 6 tasks in 10 printed after it). Held even
    // behind a held result, whose target may be older than the last line
    // (helper-138's review: 1 to 3 in 1,000 still came first). Not for a
    // call to another reactor (a nested pool's, a Worker's main thread),
    // whose output does not pass through the owner first, and not while the
    // owner is parked on this thread: it would not answer.
    if (callsOwner && !ownerParked && (this.#stdout.posted > this.#seenOut || this.#stderr.posted > this.#seenErr)) {
      this.#hold(() => {});
    }
    if (!ownerParked && this.#waitingForOwner()) {
      const until = native.now() + BEFORE_PARK_WAIT_MS;
      this.#ask();
      for (readPort(); this.#waitingForOwner() && native.now() < until; readPort()) {
        Atomics.wait(napCell, 0, 0, BEFORE_PARK_NAP_MS);
      }
    }
    this.flushNow();
  }

  /** Whether the next held send waits only for the owner's answer about output that has left. */
  #waitingForOwner(): boolean {
    const next = this.#held[0];
    return next !== undefined && next.stdout !== undefined && next.stderr !== undefined;
  }

  /** The owner has this much of the thread's output (its answer to Printed). */
  seen(stdout: number, stderr: number): void {
    this.#asking = false;
    this.#seenOut = Math.max(this.#seenOut, stdout);
    this.#seenErr = Math.max(this.#seenErr, stderr);
    // (Answered: the wait for an answer starts again.)
    this.#rearm();
    this.#release(this.#seenOut, this.#seenErr);
    // Targets set while the ask was out (a stream's next post) are asked
    // about now, whether or not anything could be released.
    this.#ask();
  }

  /** Whether a result must wait behind sends, or behind output the owner may not have. */
  #mustHold(): boolean {
    return this.#held.length > 0 || this.#stdout.posted > this.#seenOut || this.#stderr.posted > this.#seenErr
      || this.#stdout.buffering || this.#stderr.buffering;
  }

  /** Releases held result `taskId` once everything before it has left. */
  #releaseLater(taskId: number): void {
    const { poolId, threadId } = this;
    this.#hold(() => native.poolReleaseResult(poolId, threadId, taskId));
  }

  #hold(send: () => void): void {
    const stdout = this.#stdout.buffering ? undefined : this.#stdout.posted;
    const stderr = this.#stderr.buffering ? undefined : this.#stderr.posted;
    this.#held.push({ send, stdout, stderr });
    this.#fallback ??= this.#startFallback();
    this.#ask();
  }

  /** A stream posted: what waited for its next post waits for its count now. */
  #settleTargets(): void {
    const out = this.#stdout.posted, err = this.#stderr.posted;
    for (const h of this.#held) {
      if (h.stdout === undefined && !this.#stdout.buffering) h.stdout = out;
      if (h.stderr === undefined && !this.#stderr.buffering) h.stderr = err;
    }
    this.#ask();
  }

  /** Asks the owner about the held sends' output, unless an ask is out (its answer asks again). */
  #ask(): void {
    if (this.#asking || this.#held.length === 0) return;
    let stdout = 0, stderr = 0;
    for (const h of this.#held) {
      if (h.stdout !== undefined) stdout = Math.max(stdout, h.stdout);
      if (h.stderr !== undefined) stderr = Math.max(stderr, h.stderr);
    }
    if (stdout <= this.#askedOut && stderr <= this.#askedErr) {
      // Asked already, or nothing to ask: what is known may be released.
      if (stdout <= this.#seenOut && stderr <= this.#seenErr) this.#release(this.#seenOut, this.#seenErr);
      return;
    }
    this.#asking = true;
    this.#askedOut = Math.max(this.#askedOut, stdout);
    this.#askedErr = Math.max(this.#askedErr, stderr);
    const ask: PrintedMessage = [PortMove.Printed, this.#askedOut, this.#askedErr];
    this.port.postMessage(ask);
    this.posted();
  }

  /** Sends, in order, those whose output the owner has (or all); asks about the rest. */
  #release(stdout: number, stderr: number, all = false): void {
    let n = all ? this.#held.length : 0;
    for (; n < this.#held.length; n++) {
      const h = this.#held[n]!;
      if (h.stdout === undefined || h.stderr === undefined || h.stdout > stdout || h.stderr > stderr) break;
    }
    if (n === 0) return;
    const ready = this.#held.splice(0, n);
    this.#rearm();
    for (const { send } of ready) {
      // (One that throws, a ReactorGoneError report through a patched
      // stderr that throws, must not keep the rest from leaving.)
      try { send(); } catch { /* best effort, as the report it made */ }
    }
    this.#ask();
  }

  /** The wait for an answer starts again, if anything is held. */
  #rearm(): void {
    realClearTimeout(this.#fallback);
    this.#fallback = undefined;
    this.#postedAtLastResort = false;
    if (this.#held.length > 0) this.#fallback = this.#startFallback();
  }

  /** The last resort's timer: UNANSWERED_MAX_MS from now (it keeps no thread alive). */
  #startFallback(): NodeJS.Timeout {
    return realSetTimeout(() => this.#unanswered(), UNANSWERED_MAX_MS).unref();
  }

  /**
   * No answer came for UNANSWERED_MAX_MS. Output still in a stream whose
   * post is in flight is posted and waited for one more period (the owner
   * has not read that post yet); what waits for output that will not leave
   * (corked, destroyed), or for an owner that does not answer, leaves now.
   */
  #unanswered(): void {
    this.#fallback = undefined;
    if (this.#held.length === 0) return;
    if (!this.#postedAtLastResort && (this.#stdout.buffering || this.#stderr.buffering)) {
      // An owner that reads nothing (its loop blocked, or a user's Worker
      // whose own parent waits in Atomics.wait) never asks for that output,
      // and waiting for it hung the results for good: it is posted now, as
      // the owner's ask would, and given one more period to be confirmed.
      this.#postedAtLastResort = true;
      this.postBufferedOutput();
      this.#fallback = this.#startFallback();
      return;
    }
    this.#postedAtLastResort = false;
    this.flushNow();
  }
}
