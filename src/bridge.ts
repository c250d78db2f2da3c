// The reactor bridge, JS side (native side: native/bridge.h). A thread
// calls a function on the reactor it serves (blockingCallFromThread waits
// for the answer, reactor.callFromThread does not), and a reactor serves
// such calls from its inbox. No SharedArrayBuffer, no MessagePort.
// Runs on every thread. Tests: test/blocking-call-from-thread.ts,
// test/call-from-thread.ts, test/reactor-callables.ts, test/bridge-*.ts.
import { isMainThread } from 'node:worker_threads';
import { deserialize, serialize } from 'node:v8';
import {
  CallableReleasedError, CallTimeoutError, decodeThrow, encodeThrow, PoolStarvedError, PoolStoppedError,
  ReactorGoneError, ThreadTerminatingError, ValueNotCloneableError, WouldDeadlockError, type EncodedThrow,
} from './errors.js';
import { callableFor, proxyTarget, registerProxy, releaseHandles } from './callables.js';
import { reviveInbound } from './values.js';
import { describe, loadFunction } from './functions.js';
import { reactorId, setCallHandler } from './loop.js';
import { native } from './native.js';
import { reportToStderr } from './report.js';
import {
  CallRef, decodeValue, encodeArgs, encodeResult, setReviver,
  type Encoded, type FunctionDescriptor, type InboxMessage,
} from './wire.js';

/** CallStatus (native/bridge.h). */
const enum CallStatus {
  Fulfilled = 1, Rejected = 2, ReactorGone = 3, PoolStopped = 4, TimedOut = 5,
  Terminating = 6, WouldDeadlock = 7, Starved = 8,
}
export const STARVED = CallStatus.Starved;

// ---- which reactor this thread serves ----

let servedByPool: { owner: number; poolId: number; threadId: number } | undefined;

/** worker.ts: this pool thread serves its pool's owner. */
export function servePoolOwner(owner: number, poolId: number, threadId: number): void {
  servedByPool = { owner, poolId, threadId };
}

/** The reactor id this thread's calls go to: itself, its pool's owner, or the main thread. */
function servedReactor(): number {
  if (servedByPool) return servedByPool.owner;
  if (isMainThread) return reactorId;
  return native.mainReactor();
}

/** True when this thread serves itself (it is the IO thread). */
export function servesItself(): boolean {
  return servedReactor() === reactorId;
}

// ---- the calling side ----

/** Per-call options of blockingCallFromThread. */
export interface BlockingCallOptions {
  /** Milliseconds to wait for the reactor's answer; then a CallTimeoutError. Default: no limit. */
  timeout?: number;
}

/**
 * Hooks a pool thread sets: hand back its untaken tasks before parking,
 * look for work again after (it left the waiting list while parked), and
 * gate its outbox.
 */
interface PoolThreadHooks {
  beforePark(): void;
  afterPark(): void;
  outboxGate(send: () => void): void;
}
let hooks: PoolThreadHooks | undefined;
export function setPoolThreadHooks(h: PoolThreadHooks): void {
  hooks = h;
}

const internedIds = new WeakMap<object, number>();

/** The (kind, ref) by which the target reactor finds `f`. */
function refOf(f: unknown): [CallRef, number, number | undefined] {
  const target = proxyTarget(f);
  if (target) return [CallRef.Callable, target[1], target[0]];
  const key = typeof f === 'function' || (typeof f === 'object' && f !== null) ? f as object : undefined;
  let id = key && internedIds.get(key);
  if (!id) {
    id = native.internFunction(serialize(describe(f)));
    if (key) internedIds.set(key, id);
  }
  return [CallRef.Interned, id, undefined];
}

export function blockingCall(f: unknown, args: readonly unknown[], options: BlockingCallOptions | undefined): unknown {
  const [kind, ref, callableReactor] = refOf(f);
  const target = callableReactor ?? servedReactor();
  if (target === 0) {
    throw new ReactorGoneError('blockingCallFromThread: the main thread never loaded reactor-threads, so nothing serves this thread');
  }
  if (target === reactorId) {
    throw new WouldDeadlockError(`blockingCallFromThread was called on the reactor's own thread (reactor ${reactorId}): `
      + 'it would wait for itself. Call the function directly, or use deferToThread from here.');
  }
  // Functions passed along become proxies on the reactor, valid for this call.
  const handles: number[] = [];
  const enc = encodeArgs(args, handles);
  hooks?.beforePark();
  let reply: [number, Buffer, ArrayBuffer[] | undefined] | number;
  try {
    reply = native.bridgeCall(target, kind, ref, enc.bytes, enc.transfers, options?.timeout ?? 0,
      servedByPool?.poolId ?? 0, servedByPool?.threadId ?? 0);
  } finally {
    releaseHandles(handles);
    hooks?.afterPark();
  }
  if (typeof reply !== 'number') {
    const [status, bytes, transfers] = reply;
    const value = decodeValue(bytes, transfers);
    if (status === CallStatus.Fulfilled) return value;
    throw withCallerFrames(decodeThrow(value as EncodedThrow), blockingCall, 'blockingCallFromThread');
  }
  const status = reply;
  switch (status) {
    case CallStatus.ReactorGone: throw new ReactorGoneError();
    case CallStatus.PoolStopped: throw new PoolStoppedError('the pool was stopped while this thread waited on its owner');
    case CallStatus.TimedOut: throw new CallTimeoutError(options?.timeout ?? 0);
    case CallStatus.Terminating: throw new ThreadTerminatingError();
    case CallStatus.WouldDeadlock:
      throw new WouldDeadlockError(`blockingCallFromThread from reactor ${reactorId} to reactor ${target} would deadlock: `
        + `reactor ${target} is itself waiting, directly or through other threads, on reactor ${reactorId}`);
    case CallStatus.Starved: throw new PoolStarvedError();
    default: throw new Error(`reactor-threads: unknown call status ${status}`);
  }
}

/**
 * Closes `e`'s stack (the reactor's frames) with a boundary line and the
 * frames of the code that called `api` here. Only failures pay for it.
 */
export function withCallerFrames(e: unknown, api: Function, label: string): unknown {
  if (!(e instanceof Error) || typeof e.stack !== 'string') return e;
  const here: { stack?: string } = {};
  Error.captureStackTrace(here, api);
  const frames = (here.stack ?? '').split('\n').slice(1).join('\n');
  if (frames === '') return e;
  Object.defineProperty(e, 'stack', {
    value: `${e.stack}\n    --- ${label} ---\n${frames}`, configurable: true, writable: true, enumerable: false,
  });
  return e;
}

/** reactor.callFromThread from a thread that does not serve itself. */
export function postCall(f: unknown, args: readonly unknown[]): void {
  const [kind, ref, callableReactor] = refOf(f);
  const target = callableReactor ?? servedReactor();
  if (target === 0) {
    throw new ReactorGoneError('callFromThread: the main thread never loaded reactor-threads, so nothing serves this thread');
  }
  // No new handles: nothing would release them after a call with no answer.
  const enc = encodeArgs(args, null);
  const send = (e: Encoded): void => {
    if (!native.bridgePost(target, kind, ref, e.bytes, e.transfers)) {
      reportToStderr(new ReactorGoneError(), 'callFromThread');
    }
  };
  if (!hooks) {
    send(enc);
    return;
  }
  // A pool thread's calls travel behind its held-back results (one FIFO);
  // the fast codec's bytes live in a scratch buffer, so they are copied.
  const copy: Encoded = { bytes: Buffer.from(enc.bytes), transfers: enc.transfers };
  hooks.outboxGate(() => send(copy));
}

// ---- the serving side (this thread as a reactor) ----

const functions = new Map<number, Function | Promise<Function>>();

function internedFunction(id: number): Function | Promise<Function> {
  let f = functions.get(id);
  if (!f) {
    const bytes = native.internedFunction(id);
    if (!bytes) return Promise.reject(new Error(`reactor-threads: unknown function id ${id}`));
    const loading = loadFunction(deserialize(bytes) as FunctionDescriptor);
    functions.set(id, loading);
    loading.then((g) => functions.set(id, g), () => functions.delete(id));
    f = loading;
  }
  return f;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null
    && typeof (v as { then?: unknown }).then === 'function';
}

/** Blocking calls served here whose answer is not sent yet. */
let unanswered = 0;
/** Calls (blocking or not) this reactor served, for pool.stats(). */
let served = 0;
export function servedCalls(): number {
  return served;
}

/** The outcome of a served call: answered (blocking) or reported (callFromThread). */
function reply(callId: number, ok: boolean, value: unknown): void {
  if (callId === 0) {
    if (!ok) reportToStderr(value, 'a function called with callFromThread');
    return;
  }
  unanswered--;
  if (ok) {
    try {
      const enc = encodeResult(value);
      native.bridgeReply(callId, CallStatus.Fulfilled, enc.bytes, enc.transfers);
      return;
    } catch (e) {
      value = e instanceof ValueNotCloneableError ? e : new ValueNotCloneableError('the result', e);
    }
  }
  native.bridgeReply(callId, CallStatus.Rejected, serialize(encodeThrow(value)));
}

function invoke(callId: number, f: Function, m: InboxMessage): void {
  let result: unknown;
  try {
    const args = decodeValue(m.payload, m.transfers) as unknown[];
    result = f(...args);
  } catch (e) {
    reply(callId, false, e);
    return;
  }
  if (isThenable(result)) {
    Promise.resolve(result).then((v) => reply(callId, true, v), (e: unknown) => reply(callId, false, e));
  } else {
    reply(callId, true, result);
  }
}

/**
 * Serves one call. When its function must load first, returns a Promise
 * that settles once the call ran: the reactor holds the sender's later
 * messages until then (src/loop.ts), so they keep their order.
 */
function serveCall(m: InboxMessage): Promise<void> | undefined {
  const callId = m.id;
  served++;
  if (callId !== 0) unanswered++;
  if (m.status === CallRef.Callable) {
    const f = callableFor(m.ref);
    if (!f) reply(callId, false, new CallableReleasedError());
    else invoke(callId, f, m);
    return undefined;
  }
  const f = internedFunction(m.ref);
  if (typeof f === 'function') {
    invoke(callId, f, m);
    return undefined;
  }
  return f.then((g) => invoke(callId, g, m), (e: unknown) => reply(callId, false, e));
}

function makeProxy(target: readonly [number, number]): Function {
  const proxy = (...args: unknown[]): unknown => blockingCall(proxy, args, undefined);
  registerProxy(proxy, target);
  return proxy;
}

setCallHandler(serveCall, () => unanswered);
setReviver((value) => reviveInbound(value, makeProxy));
if (isMainThread) {
  // Parked callers must never outlive the process: neither process.exit()
  // nor a natural exit joins Workers that wait in native code.
  process.on('exit', () => native.bridgeShutdown());
}
