// The owner's side of moving large buffers without copying. A task's
// moved buffers that total MOVE_BY_PORT_FROM bytes or more do not enter
// the native queue (which would copy them: N-API cannot adopt a V8
// backing store); they travel by postMessage on a port between the owner
// and each thread, which moves them. The task itself still goes through
// the native queue, so its order and guarantees are the queue's: its
// payload only says that its buffers come by port.
//
// Where a task's buffers are: here (queued, not sent ahead), sent to the
// thread chosen for the task (pinned to it, about to take it, or asleep,
// when their message is its wake-up: native Pool::Push, ThreadPool
// #submit; so the common case costs no round trip and one wake-up; not to
// one the pool may end first, which would
// lose them: ThreadPool#mayEndSoon), or consumed there. A thread that
// takes a task whose buffers it does not have asks for them (Want); if
// they went ahead to another thread, that thread is asked to send them
// back (Return) and they are passed on. A task handed back unstarted
// sends its buffers back with it (Back). When a task ends, a thread that
// may still hold its buffers is told to free them (Drop). A thread that
// exits returns what it holds; if it died with buffers of a task it never
// ran, that task fails with a ThreadDiedError (unless they were shared
// memory only, which the owner keeps too: then they wait for the next).
//
// Results go the other way: the thread posts the result natively without
// waking the owner, then its buffers on its port, whose message wakes
// the owner, who drains the native inbox then. A result that arrives
// first all the same (held back behind the thread's stdout, or drained
// by another wake-up) is held, with everything its thread sent after it,
// until its buffers are here.
// While the owner is parked in a blockingCallInThread its loop reads no
// port and sees no exit: native attends its wait when a thread posts to
// it or a thread's environment goes, and serveParked() answers the asks
// and fails the tasks whose buffers went with a dead thread. A thread
// parked in a blocking call of its own that is asked to send buffers back
// reads its port all the same (native bridgeAttend, its whileParked).
// A thread's asks about its console output (Printed), and the memory where
// it keeps what it could not post (Tail), come on the same port, and go to
// src/pool/printed-output.ts; so does word that its onThreadExit runs
// (ExitHook), for src/pool/threads.ts.
// Owner thread only. Tests: test/transfer.ts.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ThreadDiedError } from '../errors/errors.js';
import { PortMove, type PortMoveMessage, type SidePortMessage, type TailMessage } from '../base/wire.js';
import { allShared, detachOrCopy, postMoving, transferListOf } from '../codec/codec.js';
import { native } from '../reactor/native.js';
import { realSetImmediate } from '../base/real-timers.js';

/** Where one task's argument buffers are. */
interface ArgsEntry {
  /** Here, when not sent to a thread. */
  buffers: ArrayBuffer[] | undefined;
  /** The thread they were sent to (0: here). */
  at: number;
  /** A thread that asked for them while they were at another. */
  wanted: number;
  /**
   * Shared memory only: the buffers, kept here wherever they are (sharing
   * moves nothing), so that a thread that goes away with them loses none.
   */
  shared?: ArrayBuffer[];
}

const lostResult = (): Error =>
  new ThreadDiedError('the thread exited before the result\'s moved buffers arrived', undefined);

interface ResultWait {
  sender: number;
  resolve(buffers: ArrayBuffer[]): void;
  reject(error: unknown): void;
}

export interface MovedBuffersContext {
  /** Whether the task still waits for its answer. */
  isOpen(taskId: number): boolean;
  /**
   * Ends a task whose buffers were lost with a thread (wherever the task
   * is now). `parked`: from within a blockingCallInThread, where its
   * caller is settled only once the call returns (no callback of the
   * user's may run inside it).
   */
  lose(taskId: number, error: unknown, parked?: boolean): void;
  /** Whether thread `threadId` is gone (native): what it sent has all arrived, though its exit is not seen yet. */
  isGone(threadId: number): boolean;
  /** Delivers what is in the owner's native inbox now (a result that was posted without a wake-up). */
  drainNow(): void;
  /**
   * Claims the ask of thread `threadId` for the task's buffers before they
   * are sent to it (native Pool::ClaimWant): false when it gave the task
   * up meanwhile (then they stay here).
   */
  claim(threadId: number, taskId: number): boolean;
  /** Thread `threadId` asks about its console output (Printed: PrintedOutput.asked), on the same port. */
  printed(threadId: number, stdout: number, stderr: number): void;
  /** Thread `threadId` keeps the output it could not post yet there (Tail: PrintedOutput.tail). */
  tail(threadId: number, stream: 0 | 1, memory: SharedArrayBuffer): void;
  /** Thread `threadId`'s onThreadExit began, or `ended` (ExitHook: PoolThreads), on the same port. */
  exitHook(threadId: number, ended: boolean): void;
}

export class MovedBuffers {
  readonly #ctx: MovedBuffersContext;
  readonly #ports = new Map<number, MessagePort>();
  /** Thread id -> its reactor id (the sender of its native messages). */
  readonly #reactorOf = new Map<number, number>();
  readonly #args = new Map<number, ArgsEntry>();
  /** Result buffers that arrived before their result. */
  readonly #results = new Map<number, ArrayBuffer[]>();
  readonly #resultWaits = new Map<number, ResultWait>();
  /** Reactors of threads whose port closed: a result of theirs waits for nothing. */
  readonly #goneReactors = new Set<number>();
  /**
   * Threads that went away by one of the two ends a thread has (its port
   * closed, or the pool removed it and handled what that posted), waiting
   * for the other: only after both has everything it sent arrived.
   */
  readonly #halfGone = new Set<number>();
  #moved = 0;

  constructor(ctx: MovedBuffersContext) {
    this.#ctx = ctx;
  }

  /** Arguments and results whose buffers went by port (pool.stats().movedByPort). */
  get moved(): number { return this.#moved; }

  /** Tasks whose argument buffers are here or at a thread, not yet used up or freed. */
  get held(): number { return this.#args.size + this.#results.size; }

  /** A thread was started with the other end of `port`. */
  addThread(threadId: number, port: MessagePort): void {
    this.#ports.set(threadId, port);
    port.on('message', (m: SidePortMessage) => this.#received(threadId, m));
    // Closed once the thread is gone and what it sent was delivered.
    port.on('close', () => this.#threadGone(threadId));
    // Tasks in flight keep the loop alive, not the port.
    port.unref();
  }

  /**
   * A task whose buffers move by port was queued: they leave the caller
   * now (detached there, not copied), for `target` (the thread chosen for
   * it: pinned, about to take, or to be woken) if there is one, else kept
   * here until a thread asks. True when they went to `target`'s port: their
   * message wakes it, and it takes the task then (ThreadMovedBuffers'
   * `given`), so the owner need not wake it natively too.
   */
  keep(taskId: number, buffers: ArrayBuffer[], target: number): boolean {
    this.#moved++;
    const shared = allShared(buffers) ? buffers : undefined;
    const port = target ? this.#ports.get(target) : undefined;
    if (port) {
      // The post detaches them (copies, if it cannot move one).
      postMoving(port, [PortMove.Give, taskId, buffers]);
      this.#args.set(taskId, { buffers: undefined, at: target, wanted: 0, shared });
      return true;
    }
    // Out of the caller's hands now (detached, or copied if they cannot be).
    this.#args.set(taskId, { buffers: detachOrCopy(buffers), at: 0, wanted: 0, shared });
    return false;
  }

  /** The task ran to a value on its thread: its buffers were used up there. */
  consumed(taskId: number): void {
    this.#args.delete(taskId);
  }

  /** The task is over: free what is left of its buffers, here or at a thread. */
  taskOver(taskId: number): void {
    this.#results.delete(taskId);
    const entry = this.#args.get(taskId);
    if (!entry) return;
    this.#args.delete(taskId);
    if (entry.at) this.#post(entry.at, [PortMove.Drop, taskId]);
  }

  /**
   * The buffers of a result that arrived natively from `sender` (a
   * thread's reactor): here already, or a Promise of them. It rejects if
   * the thread is gone without sending them.
   */
  resultBuffers(taskId: number, sender: number): ArrayBuffer[] | Promise<ArrayBuffer[]> {
    const ready = this.#results.get(taskId);
    if (ready) {
      this.#results.delete(taskId);
      return ready;
    }
    // Its thread's port closed already: what it sent has all come.
    if (this.#goneReactors.has(sender)) return Promise.reject(lostResult());
    return new Promise((resolve, reject) => this.#resultWaits.set(taskId, { sender, resolve, reject }));
  }

  /**
   * The owner is parked in a blockingCallInThread, so its loop reads no
   * port, and a thread asked for a queued task's buffers (or sent some
   * back): what the ports hold is read now. A task's result that comes
   * this way is handled once the loop runs again: a parked thread runs no
   * callbacks.
   */
  serveParked(): void {
    for (const [threadId, port] of this.#ports) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        this.#received(threadId, m.message as SidePortMessage, true);
      }
    }
    // A thread that died meanwhile (native attends the wait when one does)
    // took along the buffers sent ahead to it: a sibling that took their
    // task, or asks for them, would wait for ever, and the call may wait
    // on that sibling. Its exit reaches this loop only later.
    const gone = new Set<number>();
    for (const entry of this.#args.values()) {
      if (entry.at && !gone.has(entry.at) && this.#ctx.isGone(entry.at)) gone.add(entry.at);
    }
    for (const threadId of gone) this.#lostWith(threadId, true);
  }

  /** The pool is gone: its ports close. */
  close(): void {
    for (const port of this.#ports.values()) port.close();
  }

  #post(threadId: number, message: PortMoveMessage, transfer?: ArrayBuffer[]): boolean {
    const port = this.#ports.get(threadId);
    if (!port) return false;
    port.postMessage(message, transfer && transferListOf(transfer));
    return true;
  }

  #received(from: number, message: SidePortMessage, parked = false): void {
    if (message[0] === PortMove.Printed) {
      this.#ctx.printed(from, message[1], message[2] as number);
      return;
    }
    if (message[0] === PortMove.Tail) {
      const tail = message as TailMessage;
      this.#ctx.tail(from, tail[1], tail[2]);
      return;
    }
    // (Indexed: a destructuring runs the iterator protocol, per message.)
    const kind = message[0], id = message[1], buffers = (message as PortMoveMessage)[2];
    switch (kind) {
      case PortMove.ExitHook:
        this.#ctx.exitHook(from, id === 1);
        return;
      case PortMove.Hello:
        this.#reactorOf.set(from, id);
        return;
      case PortMove.Want:
        this.#want(from, id);
        return;
      case PortMove.Back:
        this.#back(id, buffers!);
        return;
      case PortMove.Result: {
        this.#moved++;
        const wait = this.#resultWaits.get(id);
        if (wait) {
          this.#resultWaits.delete(id);
          wait.resolve(buffers!);
          return;
        }
        // Kept for the result, unless its caller gave up on it (the pool
        // then drops the result without waiting for them: #deliver).
        if (this.#ctx.isOpen(id)) this.#results.set(id, buffers!);
        // Its result was posted natively just before, without waking this
        // loop: this message is its wake-up, whoever still waits for it.
        if (parked) realSetImmediate(() => this.#ctx.drainNow());
        else this.#ctx.drainNow();
        return;
      }
      default:
    }
  }

  /** Thread `from` took the task and waits for its buffers. */
  #want(from: number, taskId: number): void {
    const entry = this.#args.get(taskId);
    // Over: the thread is told so (its cancel) and drops the task.
    if (!entry) return;
    if (entry.buffers) {
      this.#give(entry, from, taskId, entry.buffers);
      return;
    }
    // Sent ahead to it: on their way.
    if (entry.at === from) return;
    // Sent ahead to a sibling that did not take the task, or handed back
    // by the thread that did: they come back here (Back), then go on.
    entry.wanted = from;
    if (!entry.at || !this.#post(entry.at, [PortMove.Return, taskId])) return;
    // A sibling parked in a blocking call reads its port all the same
    // (native bridgeAttend): it may have parked before they came, and its
    // call may wait, through this thread, on the one that asks.
    const holder = this.#reactorOf.get(entry.at);
    if (holder !== undefined) native.bridgeAttend(holder);
  }

  #back(taskId: number, buffers: ArrayBuffer[]): void {
    const entry = this.#args.get(taskId);
    // Over meanwhile: dropped (garbage collected here).
    if (!entry) return;
    entry.at = 0;
    entry.buffers = buffers;
    const to = entry.wanted;
    entry.wanted = 0;
    if (to) this.#give(entry, to, taskId, buffers);
  }

  /**
   * Sends the buffers (here) to the thread that asked for them, once its
   * ask is claimed; a thread that gave the task up meanwhile (it parked
   * and handed it back) gets nothing, and they stay here for the next.
   */
  #give(entry: ArgsEntry, to: number, taskId: number, buffers: ArrayBuffer[]): void {
    if (!this.#ports.has(to) || !this.#ctx.claim(to, taskId)) return;
    entry.buffers = undefined;
    entry.at = to;
    this.#post(to, [PortMove.Give, taskId, buffers], buffers);
  }

  /**
   * The thread's port closed: everything it sent by port has been
   * delivered, so a result of its that waits for buffers waits for
   * nothing. Its results held in native (behind its console output) are
   * posted when the pool removes it, which may come later (threadRemoved):
   * until then one that arrives fails at once.
   */
  #threadGone(threadId: number): void {
    this.#ports.delete(threadId);
    const reactor = this.#reactorOf.get(threadId);
    if (reactor !== undefined) {
      this.#goneReactors.add(reactor);
      for (const [taskId, wait] of [...this.#resultWaits]) {
        if (wait.sender !== reactor) continue;
        this.#resultWaits.delete(taskId);
        wait.reject(lostResult());
      }
    }
    this.#oneEndGone(threadId);
  }

  /**
   * The pool removed thread `threadId` (native posted the results it held)
   * and has handled everything it sent (ReactorCore.afterSender). Called
   * once per thread the pool started, whether or not it ever started.
   */
  threadRemoved(threadId: number): void {
    this.#oneEndGone(threadId);
  }

  /**
   * Both ends have come, in either order: a task it ran is settled by its
   * result now, and what is still recorded at it was never run there.
   */
  #oneEndGone(threadId: number): void {
    if (!this.#halfGone.delete(threadId)) {
      this.#halfGone.add(threadId);
      return;
    }
    const reactor = this.#reactorOf.get(threadId);
    this.#reactorOf.delete(threadId);
    if (reactor !== undefined) this.#goneReactors.delete(reactor);
    this.#lostWith(threadId, false);
  }

  /**
   * Thread `threadId` is gone, and everything it sent has been read: the
   * tasks still recorded at it did not end there (`parked`: one that ended,
   * its result still in the unread inbox, is left to it: ctx.lose).
   */
  #lostWith(threadId: number, parked: boolean): void {
    for (const [taskId, entry] of [...this.#args]) {
      if (entry.at !== threadId) continue;
      if (entry.shared) {
        // Nothing was lost: it is here too, for the thread that asks.
        this.#back(taskId, entry.shared);
        continue;
      }
      this.#args.delete(taskId);
      this.#ctx.lose(taskId, new ThreadDiedError(
        'the thread that held the task\'s moved buffers exited before the task settled', undefined), parked);
    }
  }
}
