// The reactor bridge, calling side (native side: native/bridge.h): this
// thread calls a function on a reactor, waiting for the answer
// (blockingCallFromThread, reactor callables' proxies) or not
// (callFromThread). No SharedArrayBuffer, no MessagePort. One per thread,
// built with its reactor (src/runtime/this-thread.ts). Owning thread only.
// Tests: test/blocking-call-from-thread.ts, test/call-from-thread.ts,
// test/reactor-callables.ts, test/bridge-*.ts.
import { serialize } from 'node:v8';
import {
  CallTimeoutError, decodeThrow, PoolStarvedError, PoolStoppedError, ReactorGoneError, ThreadTerminatingError,
  withCallerFrames, WouldDeadlockError, type EncodedThrow,
} from '../errors/errors.js';
import type { CallableTarget } from '../codec/callables.js';
import { decodeValue, encodeArgs, markFlatten, type ValueContext } from '../codec/codec.js';
import { FAST_LIST, FAST_ONE, readU32 } from '../codec/fast-codec.js';
import { describe } from '../identity/functions.js';
import { native } from '../reactor/native.js';
import { reportToStderr } from '../errors/report.js';
import { CallRef, CallStatus } from '../base/wire.js';
import type { BlockingCallOptions } from '../base/public/calls.js';

/**
 * What a pool thread adds to its calls: who it is (so native can hand its
 * untaken tasks back and wake it on stop), and its hooks: hand back its
 * untaken tasks before parking, look for work again after (it left the
 * waiting list while parked), and send behind its held-back results.
 */
export interface PoolThreadCalls {
  readonly poolId: number;
  readonly threadId: number;
  /** The pool's flattenInstances: its calls' arguments, and the results they get back, cross by it. */
  readonly flattenInstances: boolean;
  /** `callsOwner`: it parks for a call to its pool's owner (which must have its earlier output first). */
  beforePark(callsOwner: boolean): void;
  afterPark(): void;
  /**
   * While parked: its side port holds an ask it must answer now (buffers
   * sent ahead to it that a sibling waits for: native bridgeAttend).
   */
  whileParked(): void;
  /** A call this thread posts: now, or behind its held-back results, in order (PoolThreadOutbox.postCall). */
  postCall(target: number, refKind: number, ref: number, bytes: Uint8Array, transfers: ArrayBuffer[] | undefined,
    mayWait: boolean, refused: () => void): void;
}

/**
 * Where native writes a blocking call's answer when it fits and moves no
 * buffer (bridgeCall, bridgeAwaitTask), its length (u32) first, rather than into a Buffer
 * of its own. One per thread: a thread waits in one call at a time, and
 * decodes the answer before anything else runs.
 */
const REPLY_SCRATCH_BYTES = 4096;

/** What bridgeCall and bridgeAwaitTask return: an answer of its own, or a bare status (an answer in the scratch, or none). */
type NativeReply = [CallStatus.Fulfilled | CallStatus.Rejected, Buffer, ArrayBuffer[] | undefined] | number;

/** A wait's decoded answer: its status and value. */
type Answer = [CallStatus.Fulfilled | CallStatus.Rejected, unknown];

export class BridgeCaller {
  readonly #internedIds = new WeakMap<object, number>();
  readonly #replyScratch = new Uint8Array(REPLY_SCRATCH_BYTES);

  /**
   * A pool thread's, run while it waits in a blocking call whose wait was
   * attended (native bridgeAttend): it answers its side port's asks. A
   * failure there must not end the wait, whose caller would never learn
   * why: it is reported.
   */
  #whileParked: (() => void) | undefined;

  /** Set once this thread is a pool thread (becomePoolThread): what its calls need of its pool role. */
  private poolThread: PoolThreadCalls | undefined;

  /**
   * @param reactorId this thread's reactor.
   * @param servedReactor the reactor this thread's calls go to (0: none).
   */
  constructor(
    private readonly reactorId: number,
    private readonly servedReactor: () => number,
    private readonly values: ValueContext,
  ) {}

  /**
   * This thread is a pool thread from now on (src/runtime/this-thread.ts
   * attachPoolRole): its calls travel behind its results, and it lets go
   * of its work before it parks. Once; calls made before it (by a preload
   * that loaded the package) went as a plain Worker's.
   */
  becomePoolThread(poolThread: PoolThreadCalls): void {
    this.poolThread = poolThread;
    this.#whileParked = (): void => {
      try {
        poolThread.whileParked();
      } catch (e) {
        reportToStderr(e, 'reading the side port while parked');
      }
    };
  }

  /** The (kind, ref) by which the target reactor finds `f`, and the callable's reactor if it is one. */
  #refOf(f: unknown): [CallRef, number, number | undefined] {
    const key = typeof f === 'function' || (typeof f === 'object' && f !== null) ? f as object : undefined;
    // A function called before, first: one lookup for the usual call. (A
    // proxy is never interned: it is one from the moment it exists.)
    let id = key && this.#internedIds.get(key);
    if (id) return [CallRef.Interned, id, undefined];
    const target = this.values.callables.proxyTarget(f);
    if (target) return [CallRef.Callable, target[1], target[0]];
    id = native.internFunction(serialize(describe(f)));
    if (key) this.#internedIds.set(key, id);
    return [CallRef.Interned, id, undefined];
  }

  /** blockingCallFromThread: runs `f(...args)` on the target reactor and waits for its outcome. */
  call(f: unknown, args: readonly unknown[], options: BlockingCallOptions | undefined): unknown {
    const [kind, ref, callableReactor] = this.#refOf(f);
    const target = callableReactor ?? this.servedReactor();
    if (target === 0) {
      throw new ReactorGoneError('blockingCallFromThread: the main thread never loaded reactor-threads, so nothing serves this thread');
    }
    if (target === this.reactorId) {
      throw new WouldDeadlockError(`blockingCallFromThread was called on the reactor's own thread (reactor ${this.reactorId}): `
        + 'it would wait for itself. Call the function directly, or use deferToThread from here.');
    }
    // Functions passed along become proxies on the reactor, valid for this call.
    const handles: number[] = [];
    const flatten = this.poolThread?.flattenInstances === true;
    // A pool thread lets go of what it holds before it parks, which can run
    // code of the user's (the write callbacks of the output it sends
    // first): before the arguments are encoded, since the fast codec writes
    // them to a scratch buffer that such code may use too.
    this.poolThread?.beforePark(target === this.servedReactor());
    let reply: NativeReply;
    try {
      let enc = encodeArgs(args, this.values, handles, flatten);
      // (The reactor knows no pool: the call tells it how to send the result.)
      if (flatten) enc = markFlatten(enc, true);
      reply = native.bridgeCall(target, kind, ref, enc.bytes, enc.transfers, options?.timeout ?? 0,
        this.poolThread?.poolId ?? 0, this.poolThread?.threadId ?? 0, this.#replyScratch, this.#whileParked);
    } finally {
      this.values.callables.release(handles);
      this.poolThread?.afterPark();
    }
    const answer = this.#answerOf(reply);
    if (typeof answer === 'number') throw this.#unanswered(answer, target, options);
    if (answer[0] === CallStatus.Fulfilled) return answer[1];
    throw withCallerFrames(decodeThrow(answer[1] as EncodedThrow), callMethod, 'blockingCallFromThread');
  }

  /**
   * A native wait's outcome (bridgeCall, bridgeAwaitTask): the answer's
   * status (Fulfilled or Rejected) and its decoded value, or the bare
   * status that ended the wait unanswered. An answer native wrote to the
   * scratch is decoded here, before anything else can run on this thread.
   */
  #answerOf(reply: NativeReply): Answer | number {
    if (typeof reply !== 'number') return [reply[0], decodeValue(reply[1], reply[2], this.values, 'the answer')];
    if (reply === CallStatus.Fulfilled || reply === CallStatus.Rejected) {
      return [reply, decodeValue(this.#scratchReply(), undefined, this.values, 'the answer')];
    }
    return reply;
  }

  /**
   * The bytes of an answer native wrote to the scratch. The fast codec's
   * reader makes only strings, numbers, dates and plain arrays and
   * objects, and calls nothing of the user's, but for built-ins a program
   * may have patched (Array.prototype.push, an indexed setter on
   * Array.prototype, which its array writes would reach,
   * TextDecoder.prototype.decode, String.fromCharCode); any other answer is copied out first,
   * so that nothing its decoding runs (a class's constructor, should the
   * error mapping ever make one) can make a call whose answer lands on
   * the bytes being read.
   */
  #scratchReply(): Uint8Array {
    const s = this.#replyScratch;
    const bytes = s.subarray(4, 4 + readU32(s, 0));
    return bytes[0] === FAST_ONE || bytes[0] === FAST_LIST ? bytes : bytes.slice();
  }

  /**
   * blockingCallInThread's wait: parks on call `callId` until the thread
   * that runs task `taskId` of pool `poolId` answers it. A pool thread
   * that parks hands its untaken tasks back first, as for a blocking call
   * of its own. Returns the answer's status and decoded value, or the
   * CallStatus that ended the wait (Attention: not ended, see
   * src/api/blocking-in-thread.ts).
   */
  awaitTask(callId: number, poolId: number, taskId: number, timeoutMs: number):
    Answer | number {
    let reply: NativeReply;
    this.poolThread?.beforePark(false);
    try {
      reply = native.bridgeAwaitTask(callId, poolId, taskId, timeoutMs,
        this.poolThread?.poolId ?? 0, this.poolThread?.threadId ?? 0, this.#replyScratch);
    } finally {
      this.poolThread?.afterPark();
    }
    // (Attention is the pool's waited on, or this thread's own: its port is read either way.)
    if (reply === CallStatus.Attention) this.#whileParked?.();
    return this.#answerOf(reply);
  }

  #unanswered(status: CallStatus, target: number, options: BlockingCallOptions | undefined): Error {
    switch (status) {
      case CallStatus.ReactorGone: return new ReactorGoneError();
      // (Also for a call made once stop() began, which never waited: helper-142.)
      case CallStatus.PoolStopped: return new PoolStoppedError('the pool was stopped: a thread of a stopping pool does not wait on its owner (its blocking call ends, or is refused)');
      case CallStatus.TimedOut: return new CallTimeoutError(options?.timeout ?? 0);
      case CallStatus.Terminating: return new ThreadTerminatingError();
      case CallStatus.WouldDeadlock:
        return new WouldDeadlockError(`blockingCallFromThread from reactor ${this.reactorId} to reactor ${target} would deadlock: `
          + `reactor ${target} is itself waiting, directly or through other threads, on reactor ${this.reactorId}`);
      case CallStatus.Starved: return new PoolStarvedError();
      default: return new Error(`reactor-threads: unknown call status ${String(status)}`);
    }
  }

  /** reactor.callFromThread from a thread that does not serve itself. */
  post(f: unknown, args: readonly unknown[]): void {
    const [kind, ref, callableReactor] = this.#refOf(f);
    const target = callableReactor ?? this.servedReactor();
    if (target === 0) {
      throw new ReactorGoneError('callFromThread: the main thread never loaded reactor-threads, so nothing serves this thread');
    }
    // No new handles: nothing would release them after a call with no answer.
    const enc = encodeArgs(args, this.values, null, this.poolThread?.flattenInstances === true);
    // Backpressure only up the tree: a call to the reactor this thread
    // serves waits while its inbox is full; one to a thread this thread
    // serves (a proxy) never does (native/bridge_bindings.cc).
    const mayWait = target === this.servedReactor() && target !== this.reactorId;
    const refused = (): void => reportToStderr(new ReactorGoneError(), 'callFromThread');
    // A pool thread's calls travel behind its held-back results (one FIFO).
    if (this.poolThread) {
      this.poolThread.postCall(target, kind, ref, enc.bytes, enc.transfers, mayWait, refused);
    } else if (!native.bridgePost(target, kind, ref, enc.bytes, enc.transfers, mayWait)) {
      refused();
    }
  }

  /** A function on this thread that calls another reactor's callable (a blocking call). */
  makeProxy(target: CallableTarget): Function {
    const proxy = (...args: unknown[]): unknown => this.call(proxy, args, undefined);
    this.values.callables.registerProxy(proxy, target);
    return proxy;
  }
}

/**
 * The frame above which a failure's stack is the caller's. Named outside
 * the class: a class that names itself in its body is renamed
 * `_BridgeCaller` by the one-file build (scripts/bundle.mjs).
 */
const callMethod = BridgeCaller.prototype.call;
