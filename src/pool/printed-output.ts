// The owner's side of "a result never overtakes its task's console
// output" (the thread's side: src/thread/outbox.ts). A pool thread's
// stdout and stderr come through its Worker's streams, which Node pipes to
// this process's own; this counts the bytes each delivers (after the pipe
// has written them: its listener came first), and answers a thread's ask
// (Printed) once that many have come, with what has (Seen). The thread
// holds its results until then.
// If this process's own stdout or stderr closes (a reader that went away,
// EPIPE), Node's pipe from the Worker's stream waits for a 'drain' that
// never comes, and nothing more would be counted: the Worker's streams
// are then unpiped and read here, their output dropped.
// Owner thread only. Tests: test/console-order.ts.
import type { MessagePort } from 'node:worker_threads';
import type { Readable, Writable } from 'node:stream';
import { PortMove, type PrintedMessage } from '../base/wire.js';
import type { PoolThread } from './collaborators.js';

interface ThreadOutput {
  readonly port: MessagePort;
  /** Bytes delivered so far. */
  stdout: number;
  stderr: number;
  /** What the thread asked to be told about and was not answered yet. */
  want: { stdout: number; stderr: number } | undefined;
  /** Its streams, each with this process's stream that Node pipes it to. */
  readonly streams: [Readable, Writable][];
}

const byteLength = (chunk: Buffer | string): number => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);

/**
 * Every pool's live threads' streams, by this process's stream they are
 * piped to, with the listener for its close: registered only while there
 * are any, so that it keeps nothing alive after (a copy of the package that
 * a test runner drops must be collectable).
 */
const pipedTo = new Map<Writable, { streams: Set<Readable>; onClose: () => void }>();

/** Unpipes and reads `from` (its output dropped), `to` being closed. */
function drainInto(from: Readable, to: Writable): void {
  from.unpipe(to);
  from.resume();
}

function watch(from: Readable, to: Writable): void {
  if (to.destroyed || to.closed) {
    drainInto(from, to);
    return;
  }
  let entry = pipedTo.get(to);
  if (!entry) {
    const streams = new Set<Readable>();
    const onClose = (): void => {
      pipedTo.delete(to);
      for (const s of streams) drainInto(s, to);
    };
    entry = { streams, onClose };
    pipedTo.set(to, entry);
    to.once('close', onClose);
  }
  entry.streams.add(from);
}

function unwatch(from: Readable, to: Writable): void {
  const entry = pipedTo.get(to);
  if (!entry?.streams.delete(from) || entry.streams.size > 0) return;
  pipedTo.delete(to);
  to.off('close', entry.onClose);
}

export class PrintedOutput {
  readonly #threads = new Map<number, ThreadOutput>();

  /**
   * Thread `threadId` started; `port` is the owner's end of its side port.
   * (A test's fake thread has no streams: it runs no outbox, and never asks.)
   */
  addThread(threadId: number, thread: PoolThread, port: MessagePort): void {
    const t: ThreadOutput = { port, stdout: 0, stderr: 0, want: undefined, streams: [] };
    this.#threads.set(threadId, t);
    const count = (stream: Readable | null | undefined, to: Writable, add: (n: number) => void): void => {
      if (!stream) return;
      stream.on('data', (chunk: Buffer | string) => {
        add(byteLength(chunk));
        this.#answerIfDue(t);
      });
      t.streams.push([stream, to]);
      watch(stream, to);
    };
    count(thread.stdout, process.stdout, (n) => { t.stdout += n; });
    count(thread.stderr, process.stderr, (n) => { t.stderr += n; });
  }

  /** The thread is gone. */
  removeThread(threadId: number): void {
    const t = this.#threads.get(threadId);
    this.#threads.delete(threadId);
    for (const [from, to] of t?.streams ?? []) unwatch(from, to);
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
