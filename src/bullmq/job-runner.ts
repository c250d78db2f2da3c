// A remote job's run in a pool thread of the worker process. The worker's
// main thread only moves strings: this thread reads the job's arguments,
// runs the function, and writes its result or failure for the caller's
// machine. So registered classes and errors are rebuilt only where they
// are defined (here and at the caller), and the main thread, which keeps
// the queue's locks renewed, never runs users' code nor walks their values.
// Runs in the worker's pool threads, loaded by serve.ts with fromModule().
// Tests: test/bullmq-calls.ts.
import { threadId } from 'node:worker_threads';
import { loadFunction } from '../identity/functions.js';
import { currentTask } from '../api/current-task.js';
import { thisThread } from '../runtime/this-thread.js';
import {
  CancelledError, ModuleNotAllowedError, PayloadTooLargeError, UnreadablePayloadError, ValueNotCloneableError,
} from '../errors/errors.js';
import type { FunctionDescriptor } from '../base/wire.js';
import { keyToPortable, PortableResolver } from './portable.js';
import { decodeRemote, encodeFailure, encodeRemote, jsonText, type ArgsForm } from './remote-codec.js';

/**
 * A job's run, as the worker's main thread hands it over: primitives
 * only, so that they cross to the thread on the codec's fast path.
 */
export type JobRun = [
  /** 't': a threadable, registered as `name` in `url`; 'e': the export `name` of `url`. */
  kind: 't' | 'e', url: string, name: string, label: string,
  /** The arguments: JSON text ('j'), or a RemoteValue's data ('r'; 'R' with markers). */
  args: string, form: ArgsForm,
  flatten: boolean,
  /** The worker's app root. */
  root: string,
  /** The caller's Node version. */
  writer: string,
  /** The largest result to send, in encoded bytes. */
  limit: number,
  /** `host pid N`: names this worker in failures' stacks. */
  worker: string,
];

/**
 * A job's outcome: its result as a string (a primitive: the fast path
 * back): `j` then JSON text, or `r` or, when it carries markers, `R`, then
 * the RemoteValue's data, or `u` alone for undefined; or a failure.
 */
export type JobOutcome = string | JobFailure;

export interface JobFailure {
  /** The encoded failure (remote-codec.ts encodeFailure). */
  e: string;
  /** False when the error's class says a retry cannot help. */
  retry: boolean;
  /** Its first line, for the queue's failure reason. */
  summary: string;
}

/** Marks an error class whose failures are never retried (notRetryable() in reactor-threads/bullmq). */
export const NOT_RETRYABLE = Symbol.for('reactor-threads.notRetryable');

const functions = new Map<string, Function>();
let resolver: PortableResolver | undefined;

function resolverFor(root: string): PortableResolver {
  if (resolver?.root !== root) resolver = new PortableResolver(root);
  return resolver;
}

async function functionOf(kind: 't' | 'e', url: string, name: string, label: string): Promise<Function> {
  const id = `${kind}${url}#${name}`;
  let f = functions.get(id);
  if (!f) {
    const d: FunctionDescriptor = kind === 't'
      ? { kind: 'threadable', url, key: `${url}#${name}`, label }
      : { kind: 'export', url, exportName: name, label };
    f = await loadFunction(d);
    functions.set(id, f);
  }
  return f;
}

/**
 * This package's failures that another attempt would meet again. Not a
 * FunctionNotSendableError: on a worker it says the function's module
 * could not be loaded here, which another worker (one deployed already,
 * in a rolling deploy) may: retried, as attempts allow (helper-160: 18 of
 * 20 calls failed while one worker of two ran the older code).
 */
const deterministic = [
  CancelledError, ModuleNotAllowedError, PayloadTooLargeError, UnreadablePayloadError, ValueNotCloneableError,
];

/**
 * Whether a retry could change the outcome of `e`: not for BullMQ's
 * UnrecoverableError (by name), a class marked with notRetryable(), or
 * this package's failures that are the same on every attempt (a module
 * the worker's allow list refuses, a value that cannot be read or sent, a
 * cancelled call).
 */
export function retryable(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return true;
  if (deterministic.some((C) => e instanceof C)) return false;
  if ((e as { name?: unknown }).name === 'UnrecoverableError') return false;
  for (let c = (e as { constructor?: unknown }).constructor; typeof c === 'function'; c = Object.getPrototypeOf(c)) {
    if (Object.prototype.hasOwnProperty.call(c, NOT_RETRYABLE)) return false;
  }
  return true;
}

export async function runJob(...[kind, url, name, label, data, form, flatten, root, writer, limit, worker]: JobRun): Promise<JobOutcome> {
  // (Now, before any await: the function runs later, as this same task.)
  const { id, signal } = currentTask();
  const within = thisThread().poolThread!.withinTask;
  const portableKey = (key: string): string => keyToPortable(key, root);
  const boundary = (): string => `${label}() in thread ${threadId} of worker ${worker}`;
  let value: unknown;
  try {
    // (Loaded already, as it is for every job but a function's first: no await, no microtask.)
    const f = functions.get(`${kind}${url}#${name}`) ?? await functionOf(kind, url, name, label);
    // Cancelled while its module loaded: the function does not run, as a
    // local pool's task would not (it would have found its signal aborted
    // at its start, and waited for an 'abort' that had come and gone).
    signal.throwIfAborted();
    let args: unknown[];
    if (form === 'j') {
      args = argsOfJSON(data);
    } else {
      const local = resolverFor(root);
      args = decodeRemote({ data, markers: form === 'R' }, (key) => local.key(key), `Node ${writer}`) as unknown[];
    }
    value = await within(id, () => (f as (...a: unknown[]) => unknown)(...args));
  } catch (e) {
    return failed(e, portableKey, boundary(), limit);
  }
  try {
    if (value === undefined) return 'u';
    const text = jsonText(value);
    if (text !== undefined) {
      if (text.length > limit) throw new PayloadTooLargeError('the result', text.length, limit);
      return `j${text}`;
    }
    const out = encodeRemote(value, 'the result', flatten, portableKey, limit, 'the result');
    return `${out.markers ? 'R' : 'r'}${out.data}`;
  } catch (e) {
    return failed(e, portableKey, boundary(), limit, false);
  }
}

/** A job's arguments from their JSON text; an UnreadablePayloadError (never retried) when it holds no list. */
function argsOfJSON(text: string): unknown[] {
  let args: unknown;
  try {
    args = JSON.parse(text);
  } catch (e) {
    throw new UnreadablePayloadError('the job\'s arguments are not JSON text', e);
  }
  if (!Array.isArray(args)) throw new UnreadablePayloadError('the job\'s arguments are not a list');
  return args;
}

/** Characters of a failure's message kept when the failure itself is over the payload limit. */
const KEPT_OF_LARGE = 1000;

function failed(e: unknown, portableKey: (key: string) => string, boundary: string, limit: number, retry = retryable(e)): JobFailure {
  const summary = e instanceof Error ? `${e.name}: ${e.message}` : `thrown: ${String(e)}`;
  let encoded = encodeFailure(e, portableKey, boundary);
  if (encoded.length > limit) {
    // (A failure is stored in Redis twice, its job's and its event's: it obeys the limit as results do.)
    const tooLarge = new PayloadTooLargeError(`the failure (${summary.slice(0, KEPT_OF_LARGE)})`, encoded.length, limit);
    encoded = encodeFailure(tooLarge, portableKey, boundary);
  }
  return { e: encoded, retry, summary };
}
