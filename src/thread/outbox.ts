// A pool thread's outbox: its task results, and the calls it posts to its
// owner, leave in the order they were made, and not ahead of the thread's
// own console output. A Worker's stdout and stderr travel to the parent
// over a port of Node's; a result must not overtake them, or the owner may
// settle (and the process exit, or print) before the task's output is
// printed.
// So a result made while output the owner has not confirmed is out is held
// until it has: the thread counts the bytes its stdout and stderr accept
// (src/thread/printed-bytes.ts), asks the owner on its side port to say
// when that many have come (Printed), and the owner, which counts what
// arrives from the Worker's stdio, answers (Seen: src/pool/printed-output.ts).
// (A write's own callback does not tell that: Node runs all of a worker's
// pending write callbacks whenever the parent asks for more output, which
// it does on the first chunk it gets, before later ones have come.)
// A result held back is handed to native at once (poolComplete with
// holdResult): the task counts as finished there, so a death of this
// thread meanwhile neither blames nor re-runs it, and native posts the
// result itself if the thread dies before releasing it.
// Before the thread parks in a blocking call, everything held leaves at
// once (flushNow): a parked thread reads no port, and the owner must see
// what the thread sent before the call.
// Pool thread only. Tests: test/console-order.ts, test/natural-exit.ts,
// test/bridge-pool-threads.ts.
import type { MessagePort } from 'node:worker_threads';
import { native } from '../reactor/native.js';
import { PortMove, TaskStatus, type CallStatus, type PrintedMessage } from '../base/wire.js';
import { PrintedBytes } from './printed-bytes.js';

/**
 * How long an ask may go unanswered, once everything this thread wrote
 * has left it (its streams hold nothing), before what waits leaves all
 * the same: a count that overshot (a write the count could not see fail)
 * must not hold results for ever. An owner that reads its Workers' output
 * answers long before, unless its loop is blocked that long; its results
 * may then come before their output.
 */
const UNCONFIRMED_MAX_MS = 5_000;

/** Whether a stream has output that has not left this thread yet (a destroyed one never sends it). */
const holdsOutput = (stream: NodeJS.WriteStream): boolean => !stream.destroyed && stream.writableLength !== 0;

/** A send waiting until the owner has this much of the thread's output. */
interface Held {
  send: () => void;
  stdout: number;
  stderr: number;
}

export class PoolThreadOutbox {
  readonly #printed = new PrintedBytes();
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

  /**
   * `port`: the thread's side port; `posted()` tells an owner parked in a
   * blockingCallInThread to read it.
   */
  constructor(
    private readonly poolId: number,
    private readonly threadId: number,
    private readonly port: MessagePort,
    private readonly posted: () => void,
  ) {}

  /** A task's result, to the owner's inbox. */
  post(taskId: number, status: TaskStatus, bytes: Buffer, transfers?: ArrayBuffer[]): void {
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
  postMoved(taskId: number, bytes: Buffer, sendBuffers: () => void): void {
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
  answer(taskId: number, status: TaskStatus, callId: number, replyStatus: CallStatus, bytes: Buffer,
    transfers: ArrayBuffer[] | undefined): boolean {
    const hold = this.#mustHold();
    const took = native.poolAnswer(this.poolId, this.threadId, taskId, status, callId, replyStatus, bytes, transfers, hold);
    if (hold) this.#releaseLater(taskId);
    return took;
  }

  /**
   * Runs `send` now, or behind the sends already waiting for the owner:
   * so also "once everything sent so far has left".
   */
  gate(send: () => void): void {
    if (this.#held.length > 0) this.#hold(send);
    else send();
  }

  /** Sends everything waiting now, without waiting for the owner (before the thread parks). */
  flushNow(): void {
    this.#release(Infinity, Infinity);
  }

  /** The owner has this much of the thread's output (its answer to Printed). */
  seen(stdout: number, stderr: number): void {
    this.#asking = false;
    // (Answered: the wait for an answer starts again with the next ask.)
    clearTimeout(this.#fallback);
    this.#fallback = undefined;
    this.#seenOut = Math.max(this.#seenOut, stdout);
    this.#seenErr = Math.max(this.#seenErr, stderr);
    this.#release(this.#seenOut, this.#seenErr);
  }

  /** Whether a result must wait behind sends, or behind output the owner may not have. */
  #mustHold(): boolean {
    return this.#held.length > 0 || this.#printed.stdout > this.#seenOut || this.#printed.stderr > this.#seenErr;
  }

  /** Releases held result `taskId` once everything before it has left. */
  #releaseLater(taskId: number): void {
    const { poolId, threadId } = this;
    this.#hold(() => native.poolReleaseResult(poolId, threadId, taskId));
  }

  #hold(send: () => void): void {
    const { stdout, stderr } = this.#printed;
    this.#held.push({ send, stdout, stderr });
    this.#ask();
  }

  /** Asks the owner about the last held send's output, unless an ask is out (its answer asks again). */
  #ask(): void {
    const last = this.#held[this.#held.length - 1];
    if (!last || this.#asking) return;
    if (last.stdout <= this.#askedOut && last.stderr <= this.#askedErr) return;
    this.#asking = true;
    this.#askedOut = last.stdout;
    this.#askedErr = last.stderr;
    const ask: PrintedMessage = [PortMove.Printed, last.stdout, last.stderr];
    this.port.postMessage(ask);
    this.posted();
    this.#fallback ??= setTimeout(() => this.#unconfirmed(), UNCONFIRMED_MAX_MS).unref();
  }

  /** Sends, in order, those whose output the owner has; asks about the rest. */
  #release(stdout: number, stderr: number): void {
    let n = 0;
    while (n < this.#held.length && this.#held[n]!.stdout <= stdout && this.#held[n]!.stderr <= stderr) n++;
    const ready = this.#held.splice(0, n);
    if (this.#held.length === 0) {
      clearTimeout(this.#fallback);
      this.#fallback = undefined;
    }
    for (const { send } of ready) send();
    this.#ask();
  }

  /**
   * No answer brought the owner's count up to this thread's in
   * UNCONFIRMED_MAX_MS: if this thread's streams still hold output, it has
   * not all left, and the wait goes on; if not, the count overshot, and
   * what waits leaves (the count is taken as seen from now on).
   */
  #unconfirmed(): void {
    this.#fallback = undefined;
    if (this.#held.length === 0) return;
    if (holdsOutput(process.stdout) || holdsOutput(process.stderr)) {
      this.#fallback = setTimeout(() => this.#unconfirmed(), UNCONFIRMED_MAX_MS).unref();
      return;
    }
    this.seen(this.#printed.stdout, this.#printed.stderr);
  }
}
