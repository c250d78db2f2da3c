// The owner's side of "a result never overtakes its task's console
// output" (the thread's side: src/thread/outbox.ts). A pool thread's
// stdout and stderr come through its Worker's streams; this counts the
// bytes each delivers once they are written to this thread's own stream,
// and answers a thread's ask (Printed) once that many have come, with what
// has (Seen). The thread holds its results until then.
// How they reach this thread's stream, and when a chunk counts, depends on
// what this thread is:
// - The main thread: the output is forwarded here, and a chunk counts in
//   its write callback, once its stream has written it (to a file, a
//   terminal, or into a pipe's or socket's kernel buffer). Its stdout may
//   be a pipe written asynchronously, where Node's own pipe counted a
//   chunk up to 16 KiB before it left: with stdout and stderr into one
//   socket read late (`2>&1 | slow-reader`), a result's line on one stream
//   could leave before the last of its output on the other. A thread's
//   stream is not read while this thread's stream holds its
//   highWaterMark, as Node's pipe does.
// - A user's Worker: Node's pipe from the Worker's stream is kept, and a
//   chunk counts once written into this thread's stream: a Worker's own
//   stdout only calls back once its parent reads, which a parent waiting
//   in Atomics.wait never does, and the Worker hands its results on by
//   means this cannot see anyway. If this thread's stream closes, that
//   pipe waits for a 'drain' that never comes, and nothing more would be
//   counted: the Worker's streams are then unpiped and read, their output
//   dropped. (Node's process.stdout reopens itself and closes again on
//   each later write error: the listener is registered again with each
//   thread that starts while none is piped.)
// - A pool thread (a pool nested in a pool's task): its stdout and stderr
//   post to its parent in memory and only drain when the parent's loop
//   asks for more, which a parent parked in blockingCallInThread never
//   does; Node's pipe stopped at 16 KiB there, and every nested result
//   waited for the outbox's last resort. So the output is forwarded here,
//   read until FORWARD_MAX_WAITING bytes wait in this thread's stream, and
//   counted once handed to it: this thread's own outbox holds its results
//   behind that output.
// Owner thread only. Tests: test/console-order.ts.
import { isMainThread, workerData, type MessagePort } from 'node:worker_threads';
import { Writable, type Readable } from 'node:stream';
import { isPoolThreadData } from '../base/pool-thread-data.js';
import { PortMove, type PrintedMessage } from '../base/wire.js';
import { keptTail } from '../base/printed-tail.js';
import type { PoolThread } from './collaborators.js';

interface ThreadOutput {
  readonly port: MessagePort;
  /** Bytes delivered so far. */
  stdout: number;
  stderr: number;
  /** What the thread asked to be told about and was not answered yet. */
  want: { stdout: number; stderr: number } | undefined;
  /** Its streams, each with this thread's stream it goes to. */
  readonly streams: [Readable, Writable][];
  /** Its stdout (0) and stderr (1): the copies of what they buffered (src/base/printed-tail.ts). */
  readonly ends: [StreamEnd | undefined, StreamEnd | undefined];
  /** The pool terminated it: what its streams buffered died with it, and their copies are printed. */
  terminated: boolean;
}

/** A stream of a thread's: the copy of what it buffered, printed once it ends if the pool terminated the thread. */
interface StreamEnd {
  readonly to: Writable;
  ended: boolean;
  tail: SharedArrayBuffer | undefined;
}

const byteLength = (chunk: Buffer | string): number => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);

/** Whether `to` no longer takes output. */
const closed = (to: Writable): boolean => to.destroyed || to.closed;

/** How a Worker's stream reaches this thread's: one of three, by what this thread is (above). */
interface Route {
  /** Starts delivering `from` into `to`, calling `counted` with each chunk's bytes once written (or dropped). */
  attach(from: Readable, to: Writable, counted: (bytes: number) => void): void;
  /** `from`'s thread is gone; `from` is still read to its end. */
  detach(from: Readable, to: Writable): void;
}

/**
 * The route of a user's Worker: Node's pipe.
 *
 * Every pool's live threads' streams, by the stream they are piped to,
 * with the listener for its close, registered only while there are any,
 * so that it keeps nothing alive after (a copy of the package that a test
 * runner drops must be collectable).
 */
const pipedTo = new Map<Writable, { streams: Set<Readable>; onClose: () => void }>();

/** Unpipes and reads `from` (its output dropped), `to` being closed. */
function readToNowhere(from: Readable, to: Writable): void {
  from.unpipe(to);
  from.resume();
}

const nodePipe: Route = {
  attach(from, to, counted) {
    // (Node's pipe listened first: the chunk is in `to` when this hears it,
    // written, or queued behind at most 16 KiB. Waiting until the queue is
    // empty instead held results 5 s whenever other output kept it busy: a
    // cold review of 6bfb0b6.)
    from.on('data', (chunk: Buffer | string) => counted(byteLength(chunk)));
    if (closed(to)) {
      readToNowhere(from, to);
      return;
    }
    let entry = pipedTo.get(to);
    if (!entry) {
      const streams = new Set<Readable>();
      const onClose = (): void => {
        pipedTo.delete(to);
        for (const s of streams) readToNowhere(s, to);
      };
      entry = { streams, onClose };
      pipedTo.set(to, entry);
      to.once('close', onClose);
    }
    entry.streams.add(from);
  },
  detach(from, to) {
    const entry = pipedTo.get(to);
    if (!entry?.streams.delete(from) || entry.streams.size > 0) return;
    pipedTo.delete(to);
    to.off('close', entry.onClose);
  },
};

/**
 * Bytes waiting in a pool thread's stream beyond which a forwarded stream
 * is not read until it drains. Without a bound, a nested pool's results,
 * each counted once written, let a task that awaits them print on at full
 * speed into a stream nobody drains (a slow reader of the main thread's
 * stdout): 400 MiB printed took 1,249 MiB of memory (a cold review of
 * e4d4a68). Past it, a nested result waits for the outbox's last resort.
 */
const FORWARD_MAX_WAITING = 8 * 1024 * 1024;

/** A stream of this thread's that threads' output is forwarded into. */
interface Destination {
  /** The live threads' streams forwarded into it. */
  readonly streams: Set<Readable>;
  /** Those not read until it drains or closes. */
  readonly paused: Set<Readable>;
  readonly onDrain: () => void;
  readonly onClose: () => void;
}

/**
 * The destinations, each with one listener for 'drain', 'close' and
 * 'finish' however many threads forward into it, registered only while
 * live threads do.
 */
const destinations = new Map<Writable, Destination>();

/**
 * Destinations that failed for good: a write failed (EPIPE: its reader
 * went away), or it finished (end()), or it closed and stayed closed.
 * What comes for them is dropped from then on. Their state cannot say so:
 * Node's process.stdout reopens itself after each error (and emits 'error'
 * again for the next write, which crashed a program whose listener was
 * registered with once()), and after end() (a cold review of a86d5bd). A
 * 'close' after which it works again (destroy(), or a stream.pipeline()
 * into it that failed) is not final: counting it so dropped every pool's
 * output for the rest of the process (a cold review of 28bf827).
 */
const failed = new WeakSet<Writable>();

/**
 * Node's own write(), as this module loaded: a stream whose write() is
 * another (a test's spy or stub, on the stream or on its prototype, which
 * may never call back; or a filter) counts a chunk once handed to it.
 */
const streamWrite = Writable.prototype.write;

/** Whether `to` takes output. */
const takes = (to: Writable): boolean => !closed(to) && !to.writableEnded && !failed.has(to);

function destinationOf(to: Writable): Destination {
  let d = destinations.get(to);
  if (d) return d;
  const paused = new Set<Readable>();
  const onDrain = (): void => {
    for (const s of paused) s.resume();
    paused.clear();
  };
  // Closed for good or finished: what comes is dropped. Closed for the
  // moment (Node's stdio reopens itself): written again. Either way nothing
  // waits for it to drain.
  const onClose = (): void => {
    if (closed(to) || to.writableFinished) failed.add(to);
    onDrain();
  };
  d = { streams: new Set(), paused, onDrain, onClose };
  destinations.set(to, d);
  to.on('drain', onDrain);
  to.on('close', onClose);
  to.on('finish', onClose);
  return d;
}

/**
 * Forwarding into this thread's stream, each chunk counted once written
 * (`countWhenWritten`: in its write callback, which is also called when the
 * write failed) or once handed to the stream; dropped chunks count at once.
 * A write() other than Node's (streamWrite) counts a chunk once handed to
 * it: a stub that swallowed output held every later result of its thread
 * 5 s (cold reviews of a86d5bd and 28bf827).
 */
function forwarding(countWhenWritten: boolean): Route {
  return {
    attach(from, to, counted) {
      from.unpipe(to);
      const d = destinationOf(to);
      d.streams.add(from);
      from.on('data', (chunk: Buffer | string) => {
        const bytes = byteLength(chunk);
        if (!takes(to)) {
          counted(bytes);
          return;
        }
        const confirmed = countWhenWritten && to.write === streamWrite;
        const room = confirmed
          ? to.write(chunk, (e?: Error | null) => {
            // (ERR_STREAM_DESTROYED: destroyed for the moment, not failed.)
            if (e && (e as NodeJS.ErrnoException).code !== 'ERR_STREAM_DESTROYED') failed.add(to);
            counted(bytes);
          })
          : to.write(chunk);
        if (!confirmed) counted(bytes);
        // (As Node's pipe: only an explicit false says the stream is full.)
        const full = countWhenWritten ? room === false : to.writableLength > FORWARD_MAX_WAITING;
        // (A thread gone is read to its end: nothing would resume it.)
        if (full && d.streams.has(from) && takes(to)) {
          from.pause();
          d.paused.add(from);
        }
      });
      from.resume();
    },
    detach(from, to) {
      const d = destinations.get(to);
      if (!d?.streams.delete(from)) return;
      if (d.paused.delete(from)) from.resume();
      if (d.streams.size > 0) return;
      destinations.delete(to);
      to.off('drain', d.onDrain);
      to.off('close', d.onClose);
      to.off('finish', d.onClose);
    },
  };
}

/**
 * Once the stream of a thread the pool terminated has ended (all that it
 * posted has come), writes the copy of what it still buffered, which died
 * with the thread: after all that came from it, as its route wrote each
 * chunk on as it came. (A thread that ends by itself posts what it
 * buffers, or drops it as its stream would: a stream corked for good.)
 */
function printTail(t: ThreadOutput, end: StreamEnd): void {
  if (!end.ended || end.tail === undefined || !t.terminated) return;
  const bytes = keptTail(end.tail);
  end.tail = undefined;
  if (bytes.length > 0 && takes(end.to)) end.to.write(bytes);
}

const route: Route = isMainThread ? forwarding(true) : isPoolThreadData(workerData) ? forwarding(false) : nodePipe;

export class PrintedOutput {
  readonly #threads = new Map<number, ThreadOutput>();
  /** Threads gone whose streams have not all ended: a tail may still come for them. */
  readonly #ending = new Map<number, ThreadOutput>();

  /**
   * Thread `threadId` started; `port` is the owner's end of its side port.
   * (A test's fake thread has no streams: it runs no outbox, and never asks.)
   */
  addThread(threadId: number, thread: PoolThread, port: MessagePort): void {
    const t: ThreadOutput = { port, stdout: 0, stderr: 0, want: undefined, streams: [], ends: [undefined, undefined], terminated: false };
    this.#threads.set(threadId, t);
    const count = (i: 0 | 1, stream: Readable | null | undefined, to: Writable, add: (n: number) => void): void => {
      if (!stream) return;
      t.streams.push([stream, to]);
      route.attach(stream, to, (n) => {
        add(n);
        this.#answerIfDue(t);
      });
      const end: StreamEnd = { to, ended: false, tail: undefined };
      t.ends[i] = end;
      stream.once('end', () => {
        end.ended = true;
        printTail(t, end);
        if (t.ends.every((e) => e === undefined || e.ended)) this.#ending.delete(threadId);
      });
    };
    count(0, thread.stdout, process.stdout, (n) => { t.stdout += n; });
    count(1, thread.stderr, process.stderr, (n) => { t.stderr += n; });
  }

  /** The thread is gone. */
  removeThread(threadId: number): void {
    const t = this.#threads.get(threadId);
    this.#threads.delete(threadId);
    if (t?.ends.some((e) => e !== undefined && !e.ended)) this.#ending.set(threadId, t);
    for (const [from, to] of t?.streams ?? []) route.detach(from, to);
  }

  /**
   * Thread `threadId` keeps a copy of what its stream (`stream`: 0 stdout,
   * 1 stderr) buffers and will not post by itself in `memory` (Tail).
   */
  tail(threadId: number, stream: 0 | 1, memory: SharedArrayBuffer): void {
    const t = this.#threads.get(threadId) ?? this.#ending.get(threadId);
    const end = t?.ends[stream];
    if (!end) return;
    end.tail = memory;
    printTail(t!, end);
  }

  /** The pool terminates thread `threadId`: its streams' copies are printed once each ends. */
  terminated(threadId: number): void {
    const t = this.#threads.get(threadId);
    if (t) t.terminated = true;
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
