// How a call crosses machines through a job queue: the job's data (which
// function, its arguments, its options), its return value, and its
// failure reason. Job data must be JSON. A value that JSON carries exactly
// (jsonText: finite numbers but -0, strings, booleans, null, and plain
// arrays and objects of them, none met twice) goes as JSON text: the
// commonest calls, for a fraction of the cost. Any other goes as base64 of
// V8's serializer, after the same walk as between threads
// (src/codec/values.ts: the same refusals, registered classes and errors),
// with two changes: no function crosses (there is no reactor to call back
// to), and the module of every registered class is named portably
// (./portable.ts). Every payload carries its format's version; V8's own
// header carries its format version: a reader that cannot read either
// refuses with an UnreadablePayloadError instead of misreading it.
// Caller's thread, the worker's main thread, and its pool threads.
// Tests: test/bullmq-identity.ts, test/bullmq-calls.ts.
import { MARKER, prepareOutbound, presentIndices, reviveInbound } from '../codec/values.js';
import { serializeUnshared } from '../base/unshared.js';
import { deserializeOwning, tooDeepToRead } from '../codec/codec.js';
import {
  decodeThrow, serializeUserFailure, PayloadTooLargeError, UnreadablePayloadError, ValueNotCloneableError, type EncodedThrow,
} from '../errors/errors.js';

/**
 * The version of the format of job data and results that this writes. A
 * reader refuses a payload of a later one; it reads every earlier one.
 * 1: values as base64 of V8's serializer. 2 (0.1.1): also as JSON text
 * (`j`), and a job's label is its name.
 */
export const WIRE_VERSION = 2;
/** The version of the format of failures (failureReason); unchanged since 1. */
const FAILURE_VERSION = 1;

/** A function, named portably: a threadable by its module and registered name, or a module's export. */
export interface PortableFunction {
  /** 't': threadable (`n` is its registered name); 'e': an export (`n` is the export's name). */
  k: 't' | 'e';
  /** The module, portable (./portable.ts). */
  m: string;
  n: string;
}

/** A job's data. Short keys: it is stored once per call. */
export interface JobCall {
  v: number;
  f: PortableFunction;
  /** The arguments as JSON text of their list (jsonText), when JSON carries them exactly; else `a`. */
  j?: string;
  /** The arguments: base64 of the serialized, walked argument list. */
  a?: string;
  /** Whether `a` carries markers (registered classes, errors) to revive. */
  x?: 1;
  /** How errors and queue UIs name the function. Version 1 only: since 2 the job's name says it. */
  l?: string;
  /** With `a`: the caller's Node version, for the message of a worker that cannot read the arguments. */
  node?: string;
  /** Per-call options the worker enforces. */
  o?: { runTimeout?: number; flatten?: boolean };
}

/** A job's return value: `j`, or `r`, or (version 2 on) neither when the result is undefined. */
export interface JobResult {
  v: number;
  /** The result as JSON text (jsonText). */
  j?: string;
  /** The result, as `a` of JobCall. */
  r?: string;
  x?: 1;
  /** With `r`: where it ran, `host pid N`. */
  w?: string;
}

/** A value written for another machine: base64 and whether it carries markers. */
export interface RemoteValue {
  data: string;
  markers: boolean;
}

type KeyMap = (key: string) => string;

/**
 * Walks a value for another machine: refusals as between threads, no
 * functions, registered classes' modules mapped by `portableKey`. Throws a
 * ValueNotCloneableError naming the path, or a PayloadTooLargeError over
 * `limit` bytes (`what` names the value in its message).
 */
export function encodeRemote(value: unknown, path: string, flatten: boolean, portableKey: KeyMap,
  limit: number, what: string): RemoteValue {
  const prepared = prepareOutbound(value, path, { callables: null, handles: null, flatten });
  const markers = prepared !== value;
  if (markers) mapKeys(prepared, portableKey, Infinity);
  let bytes: Buffer;
  try {
    // (Shared memory the walk did not reach is refused too: serializeUnshared.)
    bytes = serializeUnshared(prepared);
  } catch (e) {
    throw new ValueNotCloneableError(path, e);
  }
  const data = bytes.toString('base64');
  if (data.length > limit) throw new PayloadTooLargeError(what, data.length, limit);
  return { data, markers };
}

/** Reads what encodeRemote wrote, with registered classes' modules mapped back by `localKey`. */
export function decodeRemote(v: RemoteValue, localKey: KeyMap, writer: string): unknown {
  let value: unknown;
  try {
    value = deserializeOwning(Buffer.from(v.data, 'base64'));
  } catch (e) {
    // (A machine whose threads' stacks are larger wrote it: a version
    // would not help.)
    throw tooDeepToRead(e, 'a value from another machine') ?? new UnreadablePayloadError(
      `a value written by ${writer} cannot be read by Node ${process.version} (V8 ${process.versions.v8}): `
      + 'run the same Node major version on both sides', e);
  }
  if (!v.markers) return value;
  // (No array of it holds more items than its bytes: a longer one is sparse, and read so.)
  const maxItems = v.data.length;
  try {
    mapKeys(value, localKey, maxItems);
    return reviveInbound(value, () => {
      throw new UnreadablePayloadError('a reactor callable arrived from another machine');
    }, undefined, () => {
      // (A job's payload must not name code for the worker to import: only its allow list does.)
      throw new UnreadablePayloadError('a fromModule() reference arrived from another machine');
    }, maxItems);
  } catch (e) {
    // (A class this side has not registered is refused as between threads.)
    if (e instanceof UnreadablePayloadError || e instanceof ValueNotCloneableError) throw e;
    // Anything else is a marker no version of this library writes: the
    // payload was made by other means (a job written straight into Redis).
    throw new UnreadablePayloadError(`a value written by ${writer} holds a marker of the library's that it cannot read`, e);
  }
}

/** A failure for another machine: base64 of its serialized EncodedThrow, modules mapped by `portableKey`. */
export function encodeFailure(e: unknown, portableKey: KeyMap, boundary: string): string {
  const bytes = serializeUserFailure(e, boundary, (d) => mapThrowKeys(d, portableKey, new Set()));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function decodeFailure(data: string, localKey: KeyMap): unknown {
  let encoded: EncodedThrow;
  try {
    encoded = deserializeOwning(Buffer.from(data, 'base64')) as EncodedThrow;
  } catch (e) {
    throw tooDeepToRead(e, 'a failure from another machine') ?? e;
  }
  mapThrowKeys(encoded, localKey, new Set());
  return decodeThrow(encoded);
}

/** Checks a payload's version before anything else is read of it: one from 1 to `latest`. */
export function checkVersion(v: unknown, what: string, latest = WIRE_VERSION): void {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= latest) return;
  throw new UnreadablePayloadError(typeof v === 'number' && v > latest
    ? `${what} is in wire format ${v}, later than this reactor-threads reads (${latest}): upgrade it`
    : `${what} is not a reactor-threads payload this version reads (format ${String(v)})`);
}

// ---- JSON text, for the values JSON carries exactly ----

/** Arrays, objects, elements and properties jsonText looks at, at most: a larger value takes V8's serializer. */
const JSON_BUDGET = 2000;
const JSON_DEPTH = 32;

/**
 * `value` as JSON text when JSON.parse gives back what structured clone
 * would (a value equal to it, built alike); else undefined. So: strings,
 * booleans, null, finite numbers other than -0, and arrays (dense, no
 * other properties) and objects (Object.prototype, no symbol-keyed
 * property: the walk refuses one) of them, none met twice (structured
 * clone keeps one object shared, JSON copies it), up to JSON_BUDGET parts
 * and JSON_DEPTH levels.
 */
export function jsonText(value: unknown): string | undefined {
  const state = { budget: JSON_BUDGET, seen: undefined as Set<object> | undefined };
  return exactInJSON(value, 0, state) ? JSON.stringify(value) : undefined;
}

function exactInJSON(v: unknown, depth: number, state: { budget: number; seen: Set<object> | undefined }): boolean {
  switch (typeof v) {
    case 'string': case 'boolean': return true;
    case 'number': return Number.isFinite(v) && !(v === 0 && 1 / v < 0);
    case 'object': break;
    default: return false;
  }
  if (v === null) return true;
  if (depth >= JSON_DEPTH || --state.budget < 0) return false;
  const seen = state.seen ??= new Set();
  if (seen.has(v)) return false;
  seen.add(v);
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === Array.prototype && Array.isArray(v)) {
    const n = v.length;
    if ((state.budget -= n) < 0) return false;
    // (Every index its own, and no other key: not sparse, and nothing JSON would drop.)
    if (Object.keys(v).length !== n || Object.getOwnPropertySymbols(v).length > 0) return false;
    for (let i = 0; i < n; i++) if (!(i in v) || !exactInJSON(v[i], depth + 1, state)) return false;
    return true;
  }
  if (proto !== Object.prototype || Object.getOwnPropertySymbols(v).length > 0) return false;
  const keys = Object.keys(v);
  if ((state.budget -= keys.length) < 0) return false;
  for (const k of keys) if (!exactInJSON((v as Record<string, unknown>)[k], depth + 1, state)) return false;
  return true;
}

/** A job's arguments, as the worker's threads read them: JSON text (`j`), or a RemoteValue (`r`, `R`: with markers). */
export type ArgsForm = 'j' | 'r' | 'R';

/**
 * The value of a job's return value (a JobResult, or its JSON text, as
 * BullMQ's events and jobs give it). `localKey` maps registered classes'
 * modules back (decodeRemote).
 */
export function decodeResult(returnvalue: unknown, localKey: KeyMap): unknown {
  let r: JobResult;
  try {
    r = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as JobResult;
  } catch (e) {
    throw new UnreadablePayloadError('the result is not JSON', e);
  }
  checkVersion(r?.v, 'the result');
  if (typeof r.j === 'string') {
    try {
      return JSON.parse(r.j);
    } catch (e) {
      throw new UnreadablePayloadError('the result\'s JSON text cannot be read', e);
    }
  }
  if (typeof r.r === 'string') return decodeRemote({ data: r.r, markers: r.x === 1 }, localKey, `the worker ${r.w}`);
  if (r.v >= 2) return undefined;
  throw new UnreadablePayloadError('the result carries no value');
}

// ---- registered classes' keys, in place (the walk made every marker fresh) ----

type Marker = { k: 'class'; key: string; props: Record<string, unknown> } | { k: 'error'; error: EncodedThrow }
  | { k: 'array'; items: unknown; props: unknown } | { k: string };

function mapKeys(v: unknown, map: KeyMap, maxItems: number, seen = new Set<object>()): void {
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (Array.isArray(v)) {
    for (const i of presentIndices(v, maxItems)) mapKeys(v[i], map, maxItems, seen);
    return;
  }
  if (v instanceof Map) {
    for (const [k, x] of v) { mapKeys(k, map, maxItems, seen); mapKeys(x, map, maxItems, seen); }
    return;
  }
  if (v instanceof Set) {
    for (const x of v) mapKeys(x, map, maxItems, seen);
    return;
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto !== Object.prototype && proto !== null) return;
  const m = (v as Record<string, unknown>)[MARKER] as Marker | undefined;
  if (m && typeof m === 'object' && 'k' in m) {
    if (m.k === 'class' && 'key' in m) {
      m.key = map(m.key);
      mapKeys(m.props, map, maxItems, seen);
    } else if (m.k === 'error' && 'error' in m) {
      mapThrowKeys(m.error, map, seen);
    } else if (m.k === 'array' && 'items' in m) {
      // (A copied array and the properties beside its items: values.ts. Missed, a registered
      // class there crossed with the sender's own key: helper-154.)
      mapKeys(m.items, map, maxItems, seen);
      mapKeys(m.props, map, maxItems, seen);
    }
    return;
  }
  for (const x of Object.values(v)) mapKeys(x, map, maxItems, seen);
}

function mapThrowKeys(e: EncodedThrow, map: KeyMap, seen: Set<object>): void {
  if (e.t !== 'error' || seen.has(e)) return;
  seen.add(e);
  if (e.cls !== undefined) e.cls = map(e.cls);
  if (e.cause) mapThrowKeys(e.cause, map, seen);
  for (const x of e.errors ?? []) mapThrowKeys(x, map, seen);
  for (const x of Object.values(e.errorProps ?? {})) mapThrowKeys(x, map, seen);
}

// ---- a failure as a job queue stores it: its failedReason, a string ----

/**
 * Between the human part of a failure reason (what a queue's dashboard
 * shows) and its payload. The payload carries the version in this line.
 */
const FAILURE_MARK = `\n--- reactor-threads failure, wire format ${FAILURE_VERSION} ---\n`;

/** The longest readable line of a failure reason (the error itself crosses in the payload). */
const MAX_SUMMARY = 1000;

/** A failure reason for a queue: a readable line, then the encoded failure. */
export function failureReason(summary: string, data: string): string {
  const line = summary.split('\n', 1)[0]!;
  return `${line.length > MAX_SUMMARY ? `${line.slice(0, MAX_SUMMARY)}\u2026` : line}${FAILURE_MARK}${data}`;
}

/** The encoded failure in a queue's failure reason; undefined when it holds none (a failure of the queue itself). */
export function failureData(reason: string): string | undefined {
  const at = reason.indexOf(FAILURE_MARK);
  if (at >= 0) return reason.slice(at + FAILURE_MARK.length);
  const later = /\n--- reactor-threads failure, wire format (\d+) ---\n/.exec(reason);
  if (later) checkVersion(Number(later[1]), 'the failure', FAILURE_VERSION);
  return undefined;
}
