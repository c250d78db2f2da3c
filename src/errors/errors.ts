// The library's own failures, one class per state, and how thrown values
// cross threads (first cut: class, name, message, stack, cause, code and
// own cloneable properties). Runs on every thread. Tests: test/errors.ts.
import { keyOf, lookup, type ClassKey } from '../base/registry.js';
import { serialize } from 'node:v8';
import { serializeUnshared, SharedMemoryMetError } from '../base/unshared.js';
import { withoutOwnFramesOnTop, withoutRunnerFrames } from './own-frames.js';

/** Base class of every error this package raises itself. */
export class ReactorThreadsError extends Error {
  /** A stable identifier, for `switch` and logs. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** The pool was stopped: the work was submitted after `stop()`, or was still queued when it ran. */
export class PoolStoppedError extends ReactorThreadsError {
  constructor(message = 'the thread pool is stopped') {
    super('ERR_POOL_STOPPED', message);
  }
}

/** The thread that held the task exited before the task settled. */
export class ThreadDiedError extends ReactorThreadsError {
  /** The thread's exit code, when it exited; undefined when it was terminated by an error. */
  readonly exitCode: number | undefined;
  constructor(message: string, exitCode: number | undefined, cause?: unknown) {
    super('ERR_THREAD_DIED', message, cause === undefined ? undefined : { cause });
    this.exitCode = exitCode;
  }
}

/** `f` cannot be run on another thread (not a function, a bound or native function, a closure…). */
export class FunctionNotSendableError extends ReactorThreadsError {
  constructor(message: string, cause?: unknown) {
    super('ERR_FUNCTION_NOT_SENDABLE', message, cause === undefined ? undefined : { cause });
  }
}

/** An argument or result cannot be copied to another thread; `path` names it (`args[1]`, `result`). */
export class ValueNotCloneableError extends ReactorThreadsError {
  readonly path: string;
  /** `problem`: what went wrong with it, for a value that left its thread but could not be read where it arrived. */
  constructor(path: string, cause?: unknown, problem = 'cannot be sent to another thread') {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super('ERR_VALUE_NOT_CLONEABLE', `${path} ${problem}${why}`,
      cause === undefined ? undefined : { cause });
    this.path = path;
  }
}

/** The call was cancelled (its AbortSignal fired) before it settled. */
export class CancelledError extends ReactorThreadsError {
  constructor(cause?: unknown) {
    super('ERR_CANCELLED', 'the call was cancelled', cause === undefined ? undefined : { cause });
  }
}

/** The pool's queue held maxQueue tasks: the call was not queued. Wait with pool.whenRoom(). */
export class QueueFullError extends ReactorThreadsError {
  readonly maxQueue: number;
  constructor(maxQueue: number) {
    super('ERR_QUEUE_FULL', `the pool's queue is full (maxQueue ${maxQueue}); wait for pool.whenRoom()`);
    this.maxQueue = maxQueue;
  }
}

/** A call's queue or run timeout passed (`phase` says which). */
export class TaskTimeoutError extends ReactorThreadsError {
  readonly phase: 'queue' | 'run';
  readonly timeout: number;
  constructor(phase: 'queue' | 'run', timeout: number) {
    super('ERR_TASK_TIMEOUT', phase === 'queue'
      ? `the call waited in the queue longer than its queueTimeout of ${timeout} ms`
      : `the call ran longer than its runTimeout of ${timeout} ms`);
    this.phase = phase;
    this.timeout = timeout;
  }
}

/** The reactor a call was for is gone: its thread exited, or the process is exiting. */
export class ReactorGoneError extends ReactorThreadsError {
  constructor(message = 'the reactor is gone (its thread exited, or the process is exiting)') {
    super('ERR_REACTOR_GONE', message);
  }
}

/** The call would wait on itself: on the reactor's own thread, or in a cycle of waiting threads. */
export class WouldDeadlockError extends ReactorThreadsError {
  constructor(message: string) {
    super('ERR_WOULD_DEADLOCK', message);
  }
}

/** A blocking call's `timeout` passed before the reactor (or, for blockingCallInThread, the thread) answered. */
export class CallTimeoutError extends ReactorThreadsError {
  readonly timeout: number;
  constructor(timeout: number, message = `the reactor did not answer within ${timeout} ms`) {
    super('ERR_CALL_TIMEOUT', message);
    this.timeout = timeout;
  }
}

/** The thread making a blocking call is being terminated. */
export class ThreadTerminatingError extends ReactorThreadsError {
  constructor() {
    super('ERR_THREAD_TERMINATING', 'this thread is being terminated; the blocking call was abandoned');
  }
}

/**
 * Every thread of a pool waited in blocking calls on its owner while work
 * was queued for that pool: no queued task could ever start. The blocking
 * calls end with this error so the pool can make progress again.
 */
export class PoolStarvedError extends ReactorThreadsError {
  constructor(message = 'every thread of the pool waits on its owner while tasks are queued for it') {
    super('ERR_POOL_STARVED', message);
  }
}

/** A reactor callable was called after it was released (its task settled, or releaseCallable()). */
export class CallableReleasedError extends ReactorThreadsError {
  constructor() {
    super('ERR_CALLABLE_RELEASED', 'the reactor callable was released: the task that carried it has settled');
  }
}

/**
 * A remote worker refused a function because its module is not in the
 * worker's `allow` list (reactor-threads/bullmq): a queue must never run
 * code its workers did not choose to run.
 */
export class ModuleNotAllowedError extends ReactorThreadsError {
  /** The module as the worker saw it: `node:child_process`, `pkg:lodash/...`, `app:dist/tasks.js`. */
  readonly module: string;
  constructor(module: string, message: string) {
    super('ERR_MODULE_NOT_ALLOWED', message);
    this.module = module;
  }
}

/** A call's arguments or result exceed a remote pool's `maxPayloadBytes`; nothing was sent. */
export class PayloadTooLargeError extends ReactorThreadsError {
  readonly bytes: number;
  readonly limit: number;
  constructor(what: string, bytes: number, limit: number) {
    super('ERR_PAYLOAD_TOO_LARGE', `${what}: ${bytes} bytes encoded, over the limit of ${limit} (maxPayloadBytes)`);
    this.bytes = bytes;
    this.limit = limit;
  }
}

/**
 * A payload from another process cannot be read here: a newer wire format,
 * or values written by a newer V8 than this Node's. Nothing was run.
 */
export class UnreadablePayloadError extends ReactorThreadsError {
  constructor(message: string, cause?: unknown) {
    super('ERR_UNREADABLE_PAYLOAD', message, cause === undefined ? undefined : { cause });
  }
}

/**
 * A remote call's job is gone from its queue before it settled (the
 * queue's server restarted without persistence, or the job was removed
 * by someone else): it may or may not have run.
 */
export class JobLostError extends ReactorThreadsError {
  readonly jobId: string;
  constructor(jobId: string, message: string) {
    super('ERR_JOB_LOST', message);
    this.jobId = jobId;
  }
}

/**
 * A thrown error whose class is not known on this thread (neither built in
 * nor registered with `threadable`). Its `name` is the original one.
 */
export class RemoteError extends Error {
  /** The original class name, as it was on the thread that threw. */
  remoteClass = '';
}

const builtinErrors: Record<string, new (message?: string) => Error> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};
const ownErrors: Record<string, Function> = {
  PoolStoppedError, ThreadDiedError, FunctionNotSendableError, ValueNotCloneableError,
  RemoteError, ReactorThreadsError, CancelledError, ReactorGoneError, WouldDeadlockError,
  CallTimeoutError, ThreadTerminatingError, PoolStarvedError, CallableReleasedError, TaskTimeoutError, QueueFullError,
  ModuleNotAllowedError, PayloadTooLargeError, UnreadablePayloadError, JobLostError,
};

/** A thrown value in transit. Plain data: v8.serialize carries it. */
export type EncodedThrow =
  | { t: 'value'; value: unknown }
  /** An error met again in its own cause chain: a cycle. */
  | { t: 'ref'; id: number }
  | {
      t: 'error';
      id: number;
      builtin?: string;    // a built-in or own class, by name
      cls?: ClassKey;      // a class registered with threadable()
      className: string;   // constructor name, for unknown classes
      name: string;
      message: string;
      stack: string | undefined;
      cause?: EncodedThrow;
      errors?: EncodedThrow[];
      props: Record<string, unknown>;
      /**
       * Own properties that hold errors (a wrapper's `original`, an ORM's
       * `parent`), encoded as errors are: V8's serializer writes an error
       * without its class or own properties (a database error's `code`),
       * and without a link back to the error that holds it.
       */
      errorProps?: Record<string, EncodedThrow>;
      /** Own properties that could not be cloned, by name. */
      dropped?: string[];
      /**
       * Which of name, message, stack, cause and errors were own enumerable
       * properties (`this.name = 'MyError'` in a constructor makes one), so
       * that they are again (a spread or JSON.stringify of the error sees them).
       */
      shown?: string[];
    };

const skipped = new Set(['name', 'message', 'stack', 'cause', 'errors']);
/**
 * Errors nested deeper than this (causes, and AggregateErrors' members) are
 * cut, the last one saying so: encoding, V8's serializer and its reader
 * each go down a chain by recursion, and a chain of ~3,800 causes
 * overflowed the main thread's stack (so did its reading at 4,000).
 */
const MAX_DEPTH = 1_000;
/**
 * Errors and other values (an AggregateError's members that are no
 * errors) in one encoding, at most; the rest are cut as MAX_DEPTH cuts.
 * A getter or Proxy can make fresh members on every read (two per level
 * reach 2 ** 1000 errors), and an AggregateError may hold millions.
 */
const MAX_ENTRIES = 100_000;

/** One encoding's state. */
interface Encoding {
  /** The errors met, by their ids (a second meeting is a ref). */
  readonly seen: Map<object, number>;
  /** Errors, refs and values made: the budget MAX_ENTRIES spends. */
  entries: number;
  /** Objects found cloneable already: a value held by many errors is checked once. */
  readonly checked: WeakSet<object>;
  /**
   * Where it was cut, one error for each reason: its own, so that nothing
   * a user's getter does to one reaches another encoding; a ref after its
   * first place, so that the cuts cost nothing once the budget is spent.
   */
  cutDeep?: ReactorThreadsError;
  cutMany?: ReactorThreadsError;
}

/**
 * Thread that threw: turn `e` into plain cloneable data. Throws only when
 * the stack runs out on the way down (a thread whose stack was nearly
 * spent already); a user's failure goes through encodeUserFailure, which
 * then falls back to the error alone.
 */
export function encodeThrow(e: unknown): EncodedThrow {
  return encodeOne(e, { seen: new Map(), entries: 0, checked: new WeakSet() }, 0);
}

/**
 * What the user's function threw, where the library ran it (a task, a
 * blocking call's function): encodeThrow, and each stack in it (its
 * causes' too) without the runner's frames at its foot (own-frames.ts).
 * Never throws.
 */
export function encodeUserFailure(e: unknown): EncodedThrow {
  let encoded: EncodedThrow;
  try {
    encoded = encodeThrow(e);
  } catch {
    // (The stack ran out on the way down, where a caller's stack was nearly
    // spent already: the error alone, without what it holds.)
    return encodeAlone(e);
  }
  const trimmed = new Map<Extract<EncodedThrow, { t: 'error' }>, string>();
  try {
    // (A loop, not recursion, along the cause chain; and no push(...errors):
    // an AggregateError may hold a million.)
    const pending: EncodedThrow[] = [encoded];
    for (let d = pending.pop(); d !== undefined; d = pending.pop()) {
      if (d.t !== 'error') continue;
      if (d.stack !== undefined) trimmed.set(d, withoutRunnerFrames(d.stack, stackHeader(d.name, d.message)));
      if (d.cause) pending.push(d.cause);
      if (d.errors) for (const x of d.errors) pending.push(x);
      if (d.errorProps) for (const k in d.errorProps) pending.push(d.errorProps[k]!);
    }
  } catch {
    // (Trimming is a courtesy: whatever it meets, the failure crosses, its stacks whole.)
    return encoded;
  }
  for (const [d, stack] of trimmed) d.stack = stack;
  return encoded;
}

/**
 * A user's failure as bytes for another thread: encodeUserFailure, its
 * stack closed by a `boundary` line when one is given, `prepare` applied
 * (BullMQ maps its classes' keys), then V8's serializer. Never throws:
 * the serializer goes down by recursion too, and a value deep inside a
 * deep chain can outrun the stack that encoding left (a blocking call's
 * answer was then never sent), so it falls back to the error alone.
 */
export function serializeUserFailure(e: unknown, boundary?: string, prepare?: (d: EncodedThrow) => void): Uint8Array {
  // (Typed Uint8Array, not Buffer: this file's declarations are public, and need no @types/node.)
  const closed = (d: EncodedThrow): EncodedThrow => {
    if (boundary !== undefined && d.t === 'error' && d.stack !== undefined) d.stack += `\n    --- ${boundary} ---`;
    prepare?.(d);
    return d;
  };
  try {
    return serialize(closed(encodeUserFailure(e)));
  } catch { /* the error alone, below */ }
  try {
    return serialize(closed(encodeAlone(e)));
  } catch { /* without `prepare`, then without anything of the error's */ }
  try {
    return serialize(encodeAlone(e));
  } catch {
    return serialize({ t: 'error', id: 0, className: 'Error', name: 'Error', message: 'a failure that could not be written',
      stack: undefined, props: {} } satisfies EncodedThrow);
  }
}

/** How V8 begins an error's stack: `name: message`, or the one of them that is not empty. */
function stackHeader(name: string, message: string): string {
  if (name === '') return message;
  return message === '' ? name : `${name}: ${message}`;
}

/**
 * `e` itself: its class (registered, built-in or this package's, else by
 * name), name, message and stack; not what it holds (causes, members,
 * properties). Never throws. A value that is no Error becomes an Error
 * that names it.
 */
function encodeAlone(e: unknown, id = 0): Extract<EncodedThrow, { t: 'error' }> {
  if (!isError(e)) {
    return { t: 'error', id, className: 'Error', name: 'Error', message: safeGet(() => `thrown: ${String(e)}`, 'a value was thrown'),
      stack: undefined, props: {} };
  }
  const ctor = safeGet(() => e.constructor as Function | undefined, undefined);
  const name = typeof ctor === 'function' ? safeGet(() => ctor.name as unknown, 'Error') : 'Error';
  // (A static `name` may be anything: V8 writes strings only.)
  const className = typeof name === 'string' ? name : 'Error';
  const out: Extract<EncodedThrow, { t: 'error' }> = {
    t: 'error', id, className, name: safeGet(() => String(e.name), 'Error'),
    message: safeGet(() => String(e.message), ''),
    stack: safeGet(() => (typeof e.stack === 'string' ? e.stack : undefined), undefined),
    props: {},
  };
  const key = ctor ? safeGet(() => keyOf(ctor), undefined) : undefined;
  if (key) out.cls = key;
  else if (ctor && (builtinErrors[className] === ctor || ownErrors[className] === ctor
    || (className === 'AggregateError' && ctor === AggregateError)
    || (className === 'DOMException' && ctor === globalThis.DOMException))) out.builtin = className;
  return out;
}

function cutError(why: string): ReactorThreadsError {
  const e = new ReactorThreadsError('ERR_CAUSES_TRUNCATED', why);
  e.stack = `${e.name}: ${why}`;
  return e;
}

/** This encoding's error that says it was cut past MAX_DEPTH, or past MAX_ENTRIES. */
function encodeCut(s: Encoding, deep: boolean, depth: number): EncodedThrow {
  const cut = deep ? (s.cutDeep ??= cutError(`the chain of causes was cut after ${MAX_DEPTH} levels`))
    : (s.cutMany ??= cutError(`the failure was cut after ${MAX_ENTRIES} errors and values`));
  return encodeOne(cut, s, depth);
}

/**
 * A cause or an AggregateError's member, `depth` levels down: past
 * MAX_DEPTH, or once MAX_ENTRIES were made, the error that says the
 * failure was cut there.
 */
function encodeNested(e: unknown, s: Encoding, depth: number): EncodedThrow {
  if (depth > MAX_DEPTH) return encodeCut(s, true, depth);
  if (s.entries >= MAX_ENTRIES) return encodeCut(s, false, depth);
  return encodeOne(e, s, depth);
}

/**
 * An AggregateError's members, as many as MAX_ENTRIES leaves room for (an
 * iterator that never ends is read no further), then, if any are left,
 * the error that says the rest were cut.
 */
function encodeMembers(e: AggregateError, s: Encoding, depth: number): EncodedThrow[] {
  const { members, more } = membersOf(e, Math.max(MAX_ENTRIES - s.entries, 0));
  const out: EncodedThrow[] = [];
  for (const x of members) {
    // (A member's own causes and members may spend the budget: one cut, then no more.)
    if (s.entries >= MAX_ENTRIES) return [...out, encodeCut(s, false, depth)];
    out.push(encodeNested(x, s, depth));
  }
  if (more) out.push(encodeCut(s, false, depth));
  return out;
}

/** Up to `most` of `e.errors` (an array, or any iterable), and whether more were left; what a throwing getter or iterator gave so far. */
function membersOf(e: AggregateError, most: number): { members: unknown[]; more: boolean } {
  const members: unknown[] = [];
  try {
    const list = e.errors as unknown;
    if (Array.isArray(list)) {
      const length = list.length;
      for (let i = 0; i < Math.min(length, most); i++) members.push(list[i]);
      return { members, more: length > most };
    }
    if (list !== null && typeof list === 'object' && typeof (list as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function') {
      for (const x of list as Iterable<unknown>) {
        if (members.length === most) return { members, more: true };
        members.push(x);
      }
    }
  } catch { /* what was read so far */ }
  return { members, more: false };
}

/** Throws unless `v` can be copied to another thread; an object found so once is not written again. */
function checkCloneable(v: unknown, s: Encoding): void {
  const object = (typeof v === 'object' && v !== null) || typeof v === 'function';
  if (object && s.checked.has(v)) return;
  // (Shared memory would arrive as a copy: refused, as in any value.)
  serializeUnshared(v);
  if (object) s.checked.add(v);
}

function encodeOne(e: unknown, s: Encoding, depth: number): EncodedThrow {
  s.entries++;
  // (A revoked Proxy, or one whose getPrototypeOf throws, is no Error here.)
  if (!isError(e)) {
    try {
      checkCloneable(e, s);
      return { t: 'value', value: e };
    } catch (c) {
      return encodeOne(new ValueNotCloneableError('the thrown value',
        c instanceof SharedMemoryMetError ? c : new TypeError(describeThrown(e))), s, depth);
    }
  }
  const known = s.seen.get(e);
  if (known !== undefined) return { t: 'ref', id: known };
  const id = s.seen.size;
  s.seen.set(e, id);
  const out = encodeAlone(e, id);
  const hasCause = safeGet(() => 'cause' in e, false);
  if (hasCause) out.cause = encodeNested(safeGet(() => e.cause, undefined), s, depth + 1);
  if (e instanceof AggregateError) out.errors = encodeMembers(e, s, depth + 1);
  for (const k of safeGet(() => Object.keys(e), [] as string[])) {
    // (`errors` is an AggregateError's members, encoded above; another error's, a validation error's say, is a property.)
    if (skipped.has(k) && (k !== 'errors' || e instanceof AggregateError)) {
      (out.shown ??= []).push(k);
      continue;
    }
    try {
      const v = (e as unknown as Record<string, unknown>)[k];
      if (isError(v)) {
        // (Defined: an own `__proto__` is a property like any other.)
        // (Two levels down, as the reader meets it: the errorProps record,
        // then the error. One, and a chain of ~980 such errors overflowed the
        // reader's stack before MAX_DEPTH cut it: helper-162.)
        Object.defineProperty(out.errorProps ??= {}, k, {
          value: encodeNested(v, s, depth + 2), enumerable: true, writable: true, configurable: true,
        });
        continue;
      }
      checkCloneable(v, s);
      // (Defined, not assigned: an own `__proto__` is a property like any other.)
      Object.defineProperty(out.props, k, { value: v, enumerable: true, writable: true, configurable: true });
    } catch {
      (out.dropped ??= []).push(k);
    }
  }
  return out;
}

function describeThrown(e: unknown): string {
  if (typeof e === 'symbol') return `a symbol was thrown (${String(e.description)})`;
  if (typeof e === 'function') return 'a function was thrown';
  return `a value that cannot be copied was thrown (${Object.prototype.toString.call(e)})`;
}

function isError(e: unknown): e is Error {
  return safeGet(() => e instanceof Error, false);
}

function safeGet<T>(get: () => T, fallback: T): T {
  try { return get(); } catch { return fallback; }
}

/** Receiving thread: rebuild the thrown value, with its class where this thread knows it. */
export function decodeThrow(d: EncodedThrow): unknown {
  return decodeOne(d, new Map());
}

function decodeOne(d: EncodedThrow, made: Map<number, Error>): unknown {
  if (d.t === 'value') return d.value;
  if (d.t === 'ref') return made.get(d.id);
  const cls = (d.cls ? lookup(d.cls) : undefined)
    ?? (d.builtin === 'AggregateError' ? AggregateError : undefined)
    ?? (d.builtin === 'DOMException' ? globalThis.DOMException : undefined)
    ?? (d.builtin ? (builtinErrors[d.builtin] ?? ownErrors[d.builtin]) : undefined);
  let err: Error & Record<string, unknown>;
  if (cls === globalThis.DOMException) {
    // Its name and code live in internal slots: only its constructor sets them.
    err = new DOMException(d.message, d.name) as unknown as Error & Record<string, unknown>;
  } else {
    // A real Error (V8's internal error slot, so util.types.isNativeError
    // holds) with the class's prototype, built without running the class's
    // constructor, whose signature is unknown here.
    const base = cls === AggregateError ? AggregateError : Error;
    err = (base === AggregateError
      ? Reflect.construct(AggregateError, [[], d.message], cls ?? RemoteError)
      : Reflect.construct(Error, [d.message], cls ?? RemoteError)) as Error & Record<string, unknown>;
    define(err, 'message', d.message);
    if (!cls) {
      define(err, 'name', d.name);
      err.remoteClass = d.className;
    } else if (safeGet(() => err.name, undefined) !== d.name) {
      define(err, 'name', d.name);
    }
  }
  made.set(d.id, err);
  if (d.stack !== undefined) define(err, 'stack', d.stack);
  if (d.cause) define(err, 'cause', decodeOne(d.cause, made));
  if (d.errors) define(err, 'errors', d.errors.map((x) => decodeOne(x, made)));
  // (Defined, not assigned: neither a class's setter nor an own `__proto__` changes what the error is.)
  for (const [k, v] of Object.entries(d.props)) Object.defineProperty(err, k, { value: v, enumerable: true, writable: true, configurable: true });
  for (const [k, x] of Object.entries(d.errorProps ?? {})) {
    Object.defineProperty(err, k, { value: decodeOne(x, made), enumerable: true, writable: true, configurable: true });
  }
  if (d.dropped) define(err, 'droppedProperties', d.dropped);
  for (const k of d.shown ?? []) if (Object.hasOwn(err, k)) Object.defineProperty(err, k, { enumerable: true });
  return err;
}

function define(o: object, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, writable: true, configurable: true, enumerable: false });
}

/**
 * Closes `e`'s stack (the other thread's frames) with a boundary line and
 * the frames of the code that called `api` here. Only failures pay for it.
 */
export function withCallerFrames(e: unknown, api: Function, label: string): unknown {
  // (A courtesy too: a user's Error.prepareStackTrace that throws or gives
  // no string, or a stack getter that throws, leaves `e` as it came.)
  try {
    if (!(e instanceof Error) || typeof e.stack !== 'string') return e;
    const here: { stack?: unknown } = {};
    Error.captureStackTrace(here, api);
    if (typeof here.stack !== 'string') return e;
    const frames = withoutOwnFramesOnTop(here.stack.split('\n').slice(1).join('\n'));
    if (frames === '') return e;
    Object.defineProperty(e, 'stack', {
      value: `${e.stack}\n    --- ${label} ---\n${frames}`, configurable: true, writable: true, enumerable: false,
    });
  } catch { /* as it came */ }
  return e;
}
