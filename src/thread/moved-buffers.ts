// A pool thread's side of moving large buffers without copying (the
// protocol is described in src/pool/moved-buffers.ts): the buffers of the
// tasks it takes arrive on its port, ahead of the take or when asked for;
// those of its results leave on it. The owner's answers about the
// thread's console output (Seen) come on the same port, and go to the
// outbox (src/thread/outbox.ts). Pool thread only.
// Tests: test/transfer.ts.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { PortMove, type PortMoveMessage, type SidePortMessage } from '../base/wire.js';
import { postMoving, transferListOf } from '../codec/codec.js';
import { native } from '../reactor/native.js';
import { realClearTimeout, realSetImmediate, realSetTimeout } from '../base/real-timers.js';

/** Called, synchronously, with a task's buffers when they arrive. */
type Arrival = (buffers: ArrayBuffer[]) => void;

/**
 * The native record of this thread's asks (native Pool::WantBuffers): an
 * ask is registered before it is sent, and ended when the buffers come or
 * the task is given up; ending it says whether the owner had claimed it
 * (the buffers are on their way).
 */
export interface BufferAsks {
  ask(taskId: number): void;
  end(taskId: number): boolean;
  /** A message went to the owner: if it is parked in a blockingCallInThread, it reads its port now. */
  posted(): void;
  /** The owner's answer about this thread's console output (PoolThreadOutbox.seen), which shares the port. */
  seen(stdout: number, stderr: number): void;
}

/** How long a thread about to park waits for buffers the owner is sending it (it sends them at once). */
const CLAIMED_WAIT_MS = 1_000;
/**
 * How long a thread that took a task whose buffers were sent ahead to it
 * reads its port for them before it goes back to its loop. The owner posts
 * them right after its push, which a spinning thread sees first: they come
 * some microseconds after the take, and a turn of the loop for them costs
 * more (bench: payload).
 */
const SENT_AHEAD_POLL_MS = 0.2;
/**
 * How long it then waits for them in its loop before it asks all the same.
 * They are usually on their way (the owner posts them right after its
 * push), but the flag can be stale: this thread parked meanwhile and sent
 * them back, or took the task after a sibling handed it back. An ask for
 * buffers already on their way costs the owner nothing.
 */
const SENT_AHEAD_ASK_MS = 2;

export class ThreadMovedBuffers {
  readonly #port: MessagePort;
  readonly #asks: BufferAsks;
  /** Buffers that came for tasks this thread has not taken (sent ahead), or no longer holds. */
  readonly #arrived = new Map<number, ArrayBuffer[]>();
  /** Tasks this thread took that wait for their buffers. */
  readonly #waiting = new Map<number, Arrival>();
  /** The timers of asks put off for buffers said to be sent ahead (cleared when they come: they hold the task). */
  readonly #lateAsks = new Map<number, NodeJS.Timeout>();
  /** Those of them whose buffers it asked the owner for (an ask registered natively). */
  readonly #asked = new Set<number>();

  /**
   * `given`: buffers came ahead of a task this thread has not taken, read
   * as a 'message' event of its loop (not while it drains its port inside
   * a take or a park). The owner chose this thread for the task and sends
   * no other wake-up when it chose it asleep (ThreadPool #submit): the
   * thread looks for work now (worker.ts: pull()).
   */
  constructor(port: MessagePort, reactorId: number, asks: BufferAsks, given?: () => void) {
    this.#port = port;
    this.#asks = asks;
    port.on('message', (m: SidePortMessage) => {
      if (this.#received(m) && given) given();
    });
    // The thread lives by its own hold, not by its port.
    port.unref();
    this.#send([PortMove.Hello, reactorId]);
  }

  /**
   * The buffers of a task this thread took, when they are here (then they
   * are the caller's), else undefined: the caller then has wait() give
   * them when they come. `sentAhead`: the owner chose this thread for the
   * task and sends them (native Task::sent_to_taker). They usually wait on
   * the port behind the wake-up that brought the task, or come just after
   * the take of a thread that was spinning for work: the port is read for
   * them a short while. (Two steps, so that the common case, here, builds
   * no wait: the cold trips of bench payload.)
   */
  here(taskId: number, sentAhead: boolean): ArrayBuffer[] | undefined {
    let here = this.#arrived.get(taskId);
    if (!here) {
      // Sent ahead, they are usually on the port already, behind a 'message'
      // event this turn has not reached yet: read them now rather than after it.
      this.drain();
      here = this.#arrived.get(taskId) ?? (sentAhead ? this.#awaitGive(taskId, SENT_AHEAD_POLL_MS) : undefined);
    }
    if (here) this.#arrived.delete(taskId);
    return here;
  }

  /**
   * After here() found nothing: `arrive` gets the task's buffers when they
   * come. They are asked for once this loop turn's messages did not bring
   * them (checked after its poll phase), which saves the owner a wake-up;
   * sent ahead, only if they are late.
   */
  wait(taskId: number, sentAhead: boolean, arrive: Arrival): void {
    this.#waiting.set(taskId, arrive);
    const ask = (): void => {
      this.#lateAsks.delete(taskId);
      if (this.#waiting.get(taskId) !== arrive) return;
      this.#asks.ask(taskId);
      this.#asked.add(taskId);
      this.#send([PortMove.Want, taskId]);
    };
    // (Sent ahead, they are on their way: asked for only if they are late.)
    if (sentAhead) this.#lateAsks.set(taskId, realSetTimeout(ask, SENT_AHEAD_ASK_MS).unref());
    else realSetImmediate(ask);
  }

  /**
   * The task left this thread unrun (handed back, cancelled, failed to
   * load): its buffers, if it had them, go back to the owner; a wait for
   * them ends (buffers that come later are kept until the owner says
   * where they go).
   */
  release(taskId: number, buffers: ArrayBuffer[] | undefined, parking = false): void {
    this.#waiting.delete(taskId);
    this.#noLateAsk(taskId);
    if (this.#asked.delete(taskId) && this.#asks.end(taskId) && !buffers && parking) {
      // The owner is sending them (it claimed the ask): a parked thread
      // does not read its port, and a sibling will need them, so they are
      // taken off the port now and go back with the task.
      buffers = this.#awaitGive(taskId, CLAIMED_WAIT_MS);
      if (buffers) this.#arrived.delete(taskId);
    }
    if (buffers) this.#send([PortMove.Back, taskId, buffers], buffers);
  }

  /**
   * Reads the port for up to `ms` until the buffers of `taskId` come
   * (handling everything it reads as its 'message' events would), or gives
   * up. Returns them, still recorded in #arrived: the caller takes them.
   */
  #awaitGive(taskId: number, ms: number): ArrayBuffer[] | undefined {
    const until = native.now() + ms;
    do {
      const m = receiveMessageOnPort(this.#port);
      if (!m) continue;
      this.#received(m.message as SidePortMessage);
      const here = this.#arrived.get(taskId);
      if (here) return here;
    } while (native.now() < until);
    // (Not seen: if they come later they are kept, and go back on request.)
    return undefined;
  }

  /**
   * Before this thread parks in a blocking call: what is on the port is
   * handled now (a parked thread's port is not read, and a sibling may
   * need what came for this one), so that the tasks it hands back take
   * their buffers along; then whatever it holds for tasks it does not
   * hold goes back too (returnAll, once the hand-back is done).
   */
  drain(): void {
    for (let m = receiveMessageOnPort(this.#port); m; m = receiveMessageOnPort(this.#port)) {
      this.#received(m.message as SidePortMessage);
    }
  }

  /**
   * A result's buffers, sent just after the result went natively, moved
   * by the post itself. One that cannot be detached (a WebAssembly
   * memory's) makes newer Nodes refuse the post before anything is
   * detached (Node 20 copies that one): then they all go as copies, and the
   * task's memory stays whole. (Detaching them first instead cost every
   * result a structuredClone: 5-60 us, bench: payload.) The codec refused
   * a detached one, and no code ran since (PoolThreadOutbox.postMoved).
   */
  sendResult(taskId: number, buffers: ArrayBuffer[]): void {
    postMoving(this.#port, [PortMove.Result, taskId, buffers]);
    this.#asks.posted();
  }

  /** The thread exits or parks: what it holds of tasks it does not hold goes back. */
  returnAll(): void {
    for (const [taskId, buffers] of this.#arrived) this.#send([PortMove.Back, taskId, buffers], buffers);
    this.#arrived.clear();
  }

  #noLateAsk(taskId: number): void {
    const timer = this.#lateAsks.get(taskId);
    if (timer === undefined) return;
    realClearTimeout(timer);
    this.#lateAsks.delete(taskId);
  }

  #send(message: PortMoveMessage, transfer?: ArrayBuffer[]): void {
    this.#port.postMessage(message, transfer && transferListOf(transfer));
    // (After the post: the owner, told, finds the message on its port.)
    this.#asks.posted();
  }

  /** Handles one message of the port; true when it brought buffers ahead of their task (kept in #arrived). */
  #received(message: SidePortMessage): boolean {
    if (message[0] === PortMove.Seen) {
      this.#asks.seen(message[1], message[2] as number);
      return false;
    }
    // (Indexed: a destructuring runs the iterator protocol, per message.)
    const kind = message[0], taskId = message[1], buffers = (message as PortMoveMessage)[2];
    switch (kind) {
      case PortMove.Give: {
        const arrive = this.#waiting.get(taskId);
        if (this.#asked.delete(taskId)) this.#asks.end(taskId);
        if (arrive) {
          this.#waiting.delete(taskId);
          this.#noLateAsk(taskId);
          arrive(buffers!);
          return false;
        }
        this.#arrived.set(taskId, buffers!);
        return true;
      }
      case PortMove.Return: {
        const held = this.#arrived.get(taskId);
        if (!held) return false;  // used or returned already
        this.#arrived.delete(taskId);
        this.#send([PortMove.Back, taskId, held], held);
        return false;
      }
      case PortMove.Drop:
        this.#arrived.delete(taskId);
        return false;
      default:
        return false;
    }
  }
}
