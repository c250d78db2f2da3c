// A pool thread's outbox: its task results, and the calls it posts to its
// owner, leave in the order they were made, and never ahead of the
// thread's own console output. A Worker's stdout and stderr travel to the
// parent over a port; a result must not overtake them, or the owner may
// settle (and the process exit) before the task's output is printed.
// Pool thread only. Tests: test/natural-exit.ts (output before exit).
import { native } from '../reactor/native.js';
import type { TaskStatus } from '../base/wire.js';

export class PoolThreadOutbox {
  /** Sends waiting for this thread's stdout/stderr to flush, in order. */
  #afterStdio: (() => void)[] | undefined;

  constructor(private readonly poolId: number, private readonly threadId: number) {}

  /** A task's result, to the owner's inbox. */
  post(taskId: number, status: TaskStatus, bytes: Buffer, transfers?: ArrayBuffer[]): void {
    if (!this.#afterStdio && process.stdout.writableLength === 0 && process.stderr.writableLength === 0) {
      native.poolComplete(this.poolId, this.threadId, taskId, status, bytes, transfers);
      return;
    }
    // Waiting: `bytes` may be the codec's scratch buffer, so keep a copy.
    const copy = Buffer.from(bytes);
    this.#queue(() => native.poolComplete(this.poolId, this.threadId, taskId, status, copy, transfers));
  }

  /** Runs `send` now, or behind the sends already waiting for stdio. */
  gate(send: () => void): void {
    if (this.#afterStdio) this.#queue(send);
    else send();
  }

  /** Runs `then` once everything sent so far has left (at once when nothing waits). */
  whenFlushed(then: () => void): void {
    this.gate(then);
  }

  #queue(send: () => void): void {
    if (this.#afterStdio) {
      this.#afterStdio.push(send);
      return;
    }
    this.#afterStdio = [send];
    let waiting = 2;
    const flushed = (): void => {
      if (--waiting > 0) return;
      const sends = this.#afterStdio!;
      this.#afterStdio = undefined;
      for (const s of sends) s();
    };
    process.stdout.write('', flushed);
    process.stderr.write('', flushed);
  }
}
