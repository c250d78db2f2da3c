// How a call crosses machines through a job queue: the job's data (which
// function, its arguments, its options), its return value, and its
// failure reason. Job data must be JSON, so values go as base64 of V8's
// serializer, after the same walk as between threads (src/codec/values.ts:
// the same refusals, registered classes and errors), with two changes:
// no function crosses (there is no reactor to call back to), and the
// module of every registered class is named portably (./portable.ts).
// Every payload carries WIRE_VERSION; V8's own header carries its format
// version: a reader that cannot read either refuses with an
// UnreadablePayloadError instead of misreading it.
// Caller's thread, the worker's main thread, and its pool threads.
// Tests: test/bullmq-identity.ts, test/bullmq-calls.ts.
import { deserialize, serialize } from 'node:v8';
import { MARKER, prepareOutbound, reviveInbound } from '../codec/values.js';
import { serializeUnshared } from '../codec/unshared.js';
import {
  decodeThrow, encodeThrow, PayloadTooLargeError, UnreadablePayloadError, ValueNotCloneableError, type EncodedThrow,
} from '../errors/errors.js';

/** The version of this format. A reader refuses a payload of a later one. */
export const WIRE_VERSION = 1;

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
  /** The arguments: base64 of the serialized, walked argument list. */
  a: string;
  /** Whether the arguments carry markers (registered classes, errors) to revive. */
  x?: 1;
  /** How errors and queue UIs name the function. */
  l: string;
  /** The caller's Node version, for the message of a worker that cannot read the arguments. */
  node: string;
  /** Per-call options the worker enforces. */
  o?: { runTimeout?: number; flatten?: boolean };
}

/** A job's return value. */
export interface JobResult {
  v: number;
  /** The result, as `a` of JobCall. */
  r: string;
  x?: 1;
  /** Where it ran: `host pid N`. */
  w: string;
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
  if (markers) mapKeys(prepared, portableKey);
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
    value = deserialize(Buffer.from(v.data, 'base64'));
  } catch (e) {
    throw new UnreadablePayloadError(
      `a value written by ${writer} cannot be read by Node ${process.version} (V8 ${process.versions.v8}): `
      + 'run the same Node major version on both sides', e);
  }
  if (!v.markers) return value;
  mapKeys(value, localKey);
  return reviveInbound(value, () => {
    throw new UnreadablePayloadError('a reactor callable arrived from another machine');
  });
}

/** A failure for another machine: base64 of its serialized EncodedThrow, modules mapped by `portableKey`. */
export function encodeFailure(e: unknown, portableKey: KeyMap, boundary: string): string {
  const encoded = encodeThrow(e);
  if (encoded.t === 'error' && encoded.stack !== undefined) encoded.stack += `\n    --- ${boundary} ---`;
  mapThrowKeys(encoded, portableKey, new Set());
  return serialize(encoded).toString('base64');
}

export function decodeFailure(data: string, localKey: KeyMap): unknown {
  const encoded = deserialize(Buffer.from(data, 'base64')) as EncodedThrow;
  mapThrowKeys(encoded, localKey, new Set());
  return decodeThrow(encoded);
}

/** Checks a payload's version before anything else is read of it. */
export function checkVersion(v: unknown, what: string): void {
  if (v === WIRE_VERSION) return;
  throw new UnreadablePayloadError(typeof v === 'number' && v > WIRE_VERSION
    ? `${what} is in wire format ${v}, later than this reactor-threads reads (${WIRE_VERSION}): upgrade it`
    : `${what} is not a reactor-threads payload this version reads (format ${String(v)})`);
}

// ---- registered classes' keys, in place (the walk made every marker fresh) ----

type Marker = { k: 'class'; key: string; props: Record<string, unknown> } | { k: 'error'; error: EncodedThrow } | { k: string };

function mapKeys(v: unknown, map: KeyMap, seen = new Set<object>()): void {
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (Array.isArray(v)) {
    for (const x of v) mapKeys(x, map, seen);
    return;
  }
  if (v instanceof Map) {
    for (const [k, x] of v) { mapKeys(k, map, seen); mapKeys(x, map, seen); }
    return;
  }
  if (v instanceof Set) {
    for (const x of v) mapKeys(x, map, seen);
    return;
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto !== Object.prototype && proto !== null) return;
  const m = (v as Record<string, unknown>)[MARKER] as Marker | undefined;
  if (m && typeof m === 'object' && 'k' in m) {
    if (m.k === 'class' && 'key' in m) {
      m.key = map(m.key);
      mapKeys(m.props, map, seen);
    } else if (m.k === 'error' && 'error' in m) {
      mapThrowKeys(m.error, map, seen);
    }
    return;
  }
  for (const x of Object.values(v)) mapKeys(x, map, seen);
}

function mapThrowKeys(e: EncodedThrow, map: KeyMap, seen: Set<object>): void {
  if (e.t !== 'error' || seen.has(e)) return;
  seen.add(e);
  if (e.cls !== undefined) e.cls = map(e.cls);
  if (e.cause) mapThrowKeys(e.cause, map, seen);
  for (const x of e.errors ?? []) mapThrowKeys(x, map, seen);
}

// ---- a failure as a job queue stores it: its failedReason, a string ----

/**
 * Between the human part of a failure reason (what a queue's dashboard
 * shows) and its payload. The payload carries the version in this line.
 */
const FAILURE_MARK = `\n--- reactor-threads failure, wire format ${WIRE_VERSION} ---\n`;

/** The longest readable line of a failure reason (the error itself crosses in the payload). */
const MAX_SUMMARY = 1000;

/** A failure reason for a queue: a readable line, then the encoded failure. */
export function failureReason(summary: string, data: string): string {
  const line = summary.split('\n', 1)[0]!;
  return `${line.length > MAX_SUMMARY ? `${line.slice(0, MAX_SUMMARY)}…` : line}${FAILURE_MARK}${data}`;
}

/** The encoded failure in a queue's failure reason; undefined when it holds none (a failure of the queue itself). */
export function failureData(reason: string): string | undefined {
  const at = reason.indexOf(FAILURE_MARK);
  if (at >= 0) return reason.slice(at + FAILURE_MARK.length);
  const later = /\n--- reactor-threads failure, wire format (\d+) ---\n/.exec(reason);
  if (later) checkVersion(Number(later[1]), 'the failure');
  return undefined;
}
