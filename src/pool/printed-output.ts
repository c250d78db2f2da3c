// The owner's side of "a result never overtakes its task's console
// output" (the thread's side: src/thread/outbox.ts). A pool thread's
// stdout and stderr come through its Worker's streams; this writes what
// each delivers to this process's own, counts its bytes once written, and
// answers a thread's ask (Printed) once that many have come, with what has
// (Seen). The thread holds its results until then.
// It forwards a thread's output itself, in place of the pipe Node makes,
// which stops reading a Worker's stream once 16 KiB
// wait in the destination: a destination that does not drain for a while
// (this thread's own stdout when it is a pool thread whose owner is
// parked in a blocking call, a slow reader) then stopped the count, and
// every result of the thread waited for the outbox's last resort (5 s),
// and a thread that exited meanwhile lost what its stream still held. It
// stops reading only once FORWARD_MAX_WAITING bytes wait in the
// destination. The output is held somewhere either way (a thread's
// console.log does not wait): in the destination rather than in the
// thread's stream.
// If this process's own stdout or stderr closes (a reader that went away,
// EPIPE), the threads' output is read and dropped.
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
  /** Its streams, each with this process's stream it is forwarded to. */
  readonly streams: [Readable, Writable][];
}

const byteLength = (chunk: Buffer | string): number => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);

/** Bytes waiting in this process's stream beyond which a thread's stream is no longer read until it drains. */
const FORWARD_MAX_WAITING = 8 * 1024 * 1024;

/** A destination of threads' output: this process's stdout or stderr. */
interface Destination {
  /** The live threads' streams forwarded into it. */
  readonly streams: Set<Readable>;
  /** Those not read until it drains. */
  readonly paused: Set<Readable>;
  readonly onDrain: () => void;
  readonly onClose: () => void;
}

/**
 * Every pool's destinations, with their listeners: registered only while
 * live threads forward into them, so that they keep nothing alive after
 * (a copy of the package that a test runner drops must be collectable).
 * One 'drain' and one 'close' listener each, however many threads.
 */
const destinations = new Map<Writable, Destination>();

/** Whether `to` no longer takes output (closed: its reader went away). */
const closed = (to: Writable): boolean => to.destroyed || to.closed;

function destinationOf(to: Writable): Destination {
  let d = destinations.get(to);
  if (d) return d;
  const streams = new Set<Readable>();
  const paused = new Set<Readable>();
  const resumeAll = (): void => {
    for (const s of paused) s.resume();
    paused.clear();
  };
  d = {
    streams,
    paused,
    onDrain: resumeAll,
    // (Closed: what comes is dropped, so nothing waits for it to drain.)
    onClose: resumeAll,
  };
  destinations.set(to, d);
  to.on('drain', d.onDrain);
  to.once('close', d.onClose);
  return d;
}

/**
 * Forwards `from` into `to` (undoing the pipe Node made), calling
 * `counted` with each chunk's bytes once it is written (or dropped, `to`
 * being closed).
 */
function forward(from: Readable, to: Writable, counted: (bytes: number) => void): void {
  from.unpipe(to);
  const d = closed(to) ? undefined : destinationOf(to);
  d?.streams.add(from);
  from.on('data', (chunk: Buffer | string) => {
    if (!closed(to)) {
      to.write(chunk);
      // (A thread gone is read to its end: nothing would resume it.)
      if (to.writableLength > FORWARD_MAX_WAITING && d?.streams.has(from)) {
        from.pause();
        d.paused.add(from);
      }
    }
    counted(byteLength(chunk));
  });
  from.resume();
}

function unforward(from: Readable, to: Writable): void {
  const d = destinations.get(to);
  if (!d?.streams.delete(from)) return;
  d.paused.delete(from);
  if (d.streams.size > 0) return;
  destinations.delete(to);
  to.off('drain', d.onDrain);
  to.off('close', d.onClose);
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
      forward(stream, to, (n) => {
        add(n);
        this.#answerIfDue(t);
      });
      t.streams.push([stream, to]);
    };
    count(thread.stdout, process.stdout, (n) => { t.stdout += n; });
    count(thread.stderr, process.stderr, (n) => { t.stderr += n; });
  }

  /** The thread is gone. */
  removeThread(threadId: number): void {
    const t = this.#threads.get(threadId);
    this.#threads.delete(threadId);
    for (const [from, to] of t?.streams ?? []) unforward(from, to);
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
