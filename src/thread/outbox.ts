// A pool thread's outbox: its task results, and the calls it posts to its
// owner, leave in the order they were made, and not ahead of the thread's
// own console output. A Worker's stdout and stderr travel to the parent
// over a port; a result must not overtake them, or the owner may settle
// (and the process exit) before the task's output is printed.
// A result held back is handed to native at once (poolComplete with
// holdResult): the task counts as finished there, so a death of this
// thread meanwhile neither blames nor re-runs it, and native posts the
// result itself if the thread dies before releasing it.
// Before the thread parks in a blocking call, everything held leaves at
// once (flushNow): a parked thread's stdio cannot flush, and the owner
// must see what the thread sent before the call.
// Pool thread only. Tests: test/natural-exit.ts, test/bridge-pool-threads.ts.
import { native } from '../reactor/native.js';
import { TaskStatus, type CallStatus } from '../base/wire.js';

/** Sends waiting for one stdio flush. */
interface Waiting {
  sends: (() => void)[];
}

export class PoolThreadOutbox {
  #waiting: Waiting | undefined;

  constructor(private readonly poolId: number, private readonly threadId: number) {}

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
   * runs in between: the console writes that time a held result's release
   * come after, so no code of the user's (a patched stdout.write) can
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

  /** Whether a result must wait behind sends or console output not yet flushed. */
  #mustHold(): boolean {
    return this.#waiting !== undefined || process.stdout.writableLength !== 0 || process.stderr.writableLength !== 0;
  }

  /** Releases held result `taskId` once everything before it has left. */
  #releaseLater(taskId: number): void {
    const { poolId, threadId } = this;
    this.#queue(() => native.poolReleaseResult(poolId, threadId, taskId));
  }

  /**
   * Runs `send` now, or behind the sends already waiting for stdio: so
   * also "once everything sent so far has left".
   */
  gate(send: () => void): void {
    if (this.#waiting) this.#waiting.sends.push(send);
    else send();
  }

  /** Sends everything waiting now, without waiting for stdio (before the thread parks). */
  flushNow(): void {
    if (this.#waiting) this.#release(this.#waiting);
  }

  #queue(send: () => void): void {
    if (this.#waiting) {
      this.#waiting.sends.push(send);
      return;
    }
    const waiting: Waiting = { sends: [send] };
    this.#waiting = waiting;
    let writes = 2;
    const flushed = (): void => {
      if (--writes === 0) this.#release(waiting);
    };
    process.stdout.write('', flushed);
    process.stderr.write('', flushed);
  }

  #release(waiting: Waiting): void {
    // Already released by flushNow(): a later flush callback finds another batch, or none.
    if (this.#waiting !== waiting) return;
    this.#waiting = undefined;
    for (const send of waiting.sends) send();
  }
}
