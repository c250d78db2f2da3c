// The owner's side of "a result never overtakes its task's console
// output" (the thread's side: src/thread/outbox.ts). A pool thread's
// stdout and stderr come through its Worker's streams, which Node pipes to
// this process's own; this counts the bytes each delivers (after the pipe
// has written them: its listener came first), and answers a thread's ask
// (Printed) once that many have come, with what has (Seen). The thread
// holds its results until then.
// Owner thread only. Tests: test/console-order.ts.
import type { MessagePort } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import { PortMove, type PrintedMessage } from '../base/wire.js';
import type { PoolThread } from './collaborators.js';

interface ThreadOutput {
  readonly port: MessagePort;
  /** Bytes delivered so far. */
  stdout: number;
  stderr: number;
  /** What the thread asked to be told about and was not answered yet. */
  want: { stdout: number; stderr: number } | undefined;
}

const byteLength = (chunk: Buffer | string): number => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);

export class PrintedOutput {
  readonly #threads = new Map<number, ThreadOutput>();

  /**
   * Thread `threadId` started; `port` is the owner's end of its side port.
   * (A test's fake thread has no streams: it runs no outbox, and never asks.)
   */
  addThread(threadId: number, thread: PoolThread, port: MessagePort): void {
    const t: ThreadOutput = { port, stdout: 0, stderr: 0, want: undefined };
    this.#threads.set(threadId, t);
    const count = (stream: Readable | null | undefined, add: (n: number) => void): void => {
      stream?.on('data', (chunk: Buffer | string) => {
        add(byteLength(chunk));
        this.#answerIfDue(t);
      });
    };
    count(thread.stdout, (n) => { t.stdout += n; });
    count(thread.stderr, (n) => { t.stderr += n; });
  }

  /** The thread is gone. */
  removeThread(threadId: number): void {
    this.#threads.delete(threadId);
  }

  /** Thread `threadId` asks to be told once this much of its output has come (Printed). */
  asked(threadId: number, stdout: number, stderr: number): void {
    const t = this.#threads.get(threadId);
    if (!t) return;
    t.want = { stdout, stderr };
    this.#answerIfDue(t);
  }

  #answerIfDue(t: ThreadOutput): void {
    if (!t.want || t.stdout < t.want.stdout || t.stderr < t.want.stderr) return;
    const seen: PrintedMessage = [PortMove.Seen, t.stdout, t.stderr];
    t.want = undefined;
    t.port.postMessage(seen);
  }
}
