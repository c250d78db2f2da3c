// The value codec: how arguments and results cross threads. Primitives
// and small plain trees of them take the fast path (src/codec/fast-codec.ts);
// everything else is checked (src/codec/values.ts) and written by v8's
// serializer, with ArrayBuffers marked by transfer() moved out of band,
// and read back with every copied view in memory of its own (ownView).
// Runs on every thread.
// Tests: test/transfer.ts, test/values.ts, test/wire.ts, test/copied-views.ts.
import { isAnyArrayBuffer, isArrayBuffer, isSharedArrayBuffer } from 'node:util/types';
import { DefaultDeserializer } from 'node:v8';
import type { CallableTable } from './callables.js';
import { ValueNotCloneableError } from '../errors/errors.js';
import {
  decodeFast, encodeFastArgs, encodeFastResult, FAST_LIST, FAST_ONE,
} from './fast-codec.js';
import { mapValuePath, prepareOutbound, WALK_MAX_DEPTH } from './values.js';
import { makeView, viewTypeIndex } from './view-types.js';
import { HostSerializer, serializeUnshared, SharedMemoryMetError } from '../base/unshared.js';
import { asBuffer, viewOf } from '../base/byte-views.js';
import type { TraceCarrier } from '../base/tracing.js';
import type { PortMoveMessage } from '../base/wire.js';
import * as workerThreads from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';


// Shared through globalThis, like the threadable registry, so that a value
// marked by one copy of the package is seen by another.
const markedSlot = Symbol.for('reactor-threads.transfer.v1');
const marked: WeakSet<object> = ((globalThis as unknown as Record<symbol, WeakSet<object> | undefined>)[markedSlot]
  ??= new WeakSet<object>());

// Documented in index.ts, which exports it with its public type.
export function transfer<T extends ArrayBuffer | ArrayBufferView>(value: T): T {
  if (!isAnyArrayBuffer(value) && !ArrayBuffer.isView(value)) {
    throw new TypeError(`transfer() takes an ArrayBuffer, a typed array or a DataView, not ${kindOf(value)}`);
  }
  if (isSharedArrayBuffer(ArrayBuffer.isView(value) ? value.buffer : value)) {
    throw new TypeError('transfer() moves memory, and shared memory is shared as it is: pass it without transfer()');
  }
  marked.add(value);
  return value;
}

/** What a value is, for an error message: "null", "a number", "an instance of Map". */
function kindOf(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v !== 'object') return `${/^[aeiou]/.test(typeof v) ? 'an' : 'a'} ${typeof v}`;
  const name = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name;
  return name ? `an instance of ${name}` : 'an object';
}

/**
 * The ArrayBuffer to move for a value (an argument, a result, or one
 * nested in them), if it was marked and can move whole. One that must not
 * be detached (untransferable) is not moved: it is copied, and stays whole.
 */
function movable(v: unknown): ArrayBuffer | undefined {
  if (typeof v !== 'object' || v === null || !marked.has(v)) return undefined;
  let ab: ArrayBuffer | undefined;
  if (v instanceof ArrayBuffer) ab = v;
  else if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer
    && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) ab = v.buffer;
  return ab && !untransferable(ab) ? ab : undefined;
}

/**
 * The buffers that arrived beside values this thread read (decodeValue).
 * Those that came through native memory are N-API external buffers, which
 * Node marks untransferable (their memory is an addon's); ours is freed
 * by V8 (FreeBlock, native/batch.cc), so they may be detached, and move
 * on without a copy. (Those that came by port are transferable anyway.)
 */
const arrivedBeside = new WeakSet<ArrayBuffer>();

// (Taken as the package loads, as a program may replace the global.)
const clone = structuredClone;
const isMarkedAsUntransferable = (workerThreads as { isMarkedAsUntransferable?: (o: unknown) => boolean })
  .isMarkedAsUntransferable;

/**
 * Whether `ab` must not be detached. Node marks the ArrayBuffer of its
 * Buffer pool (the slab that small Buffers share) untransferable, as a
 * program may mark its own (markAsUntransferable): detaching the slab
 * would empty every small Buffer of the thread, its console output's
 * included. A port honours the mark (it copies such a buffer, or refuses
 * it), but a buffer moved through native memory is detached by
 * napi_detach_arraybuffer, which does not, after the call is accepted.
 * So the mark is read here, before anything is detached. Node 22 and
 * later tell it (isMarkedAsUntransferable). Node 20 only acts on it, in
 * structured clone, which skips a marked buffer of a transfer list (to
 * copy it) before it refuses one listed twice: listed twice, `ab` throws,
 * detaching nothing, unless it is marked. (A buffer that cannot be
 * detached at all, a WebAssembly memory's, is skipped too, and copied
 * here as well, as a port copies it.) That throw costs Node 20 a few µs
 * per moved buffer (about 20 times the rest of its encoding); nothing
 * cheaper tells the mark without detaching. So Node 20 asks only of a
 * buffer no larger than a slab can be (Buffer.poolSize, or what goes
 * through native memory in a pool's task, MOVE_BY_PORT_FROM): a large
 * moved payload's trips pay nothing for it, and one marked by the program
 * itself beyond that size is still detached there by a blocking call.
 * Buffers that came through native memory bear the mark too, and move on
 * as before (arrivedBeside).
 */
function untransferable(ab: ArrayBuffer): boolean {
  if (arrivedBeside.has(ab)) return false;
  if (isMarkedAsUntransferable) return isMarkedAsUntransferable(ab);
  if (ab.byteLength > MOVE_BY_PORT_FROM && ab.byteLength > Buffer.poolSize) return false;
  const limit = Error.stackTraceLimit;
  // (The refusal's stack is never read; taking none halves its cost.)
  Error.stackTraceLimit = 0;
  try {
    clone(undefined, { transfer: [ab, ab] });
    return true;
  } catch {
    return false;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

const TAG_COPIED = 0;
const TAG_MOVED = 1;

// Node's default deserializer reads views as host objects through this
// hook; @types/node does not declare it.
const HostDeserializer = DefaultDeserializer as unknown as new (b: Uint8Array) => DefaultDeserializer & {
  _readHostObject(): unknown;
};

/**
 * Writes views of `moved` buffers by index. `shares`: a view of shared
 * memory that the walk did not reach (nested deeper than it goes, or in a
 * cycle) joins `moved`, shared like the rest; else it is refused, as the
 * walk refuses what it reaches.
 */
class MovingSerializer extends HostSerializer {
  constructor(private readonly moved: ArrayBuffer[], private readonly shares: boolean) { super(); }
  override _writeHostObject(view: ArrayBufferView): void {
    let i = this.moved.indexOf(view.buffer as ArrayBuffer);
    if (i < 0 && isSharedArrayBuffer(view.buffer)) {
      if (!this.shares) throw new SharedMemoryMetError();
      i = this.moved.push(view.buffer as unknown as ArrayBuffer) - 1;
    }
    if (i < 0) {
      this.writeUint32(TAG_COPIED);
      super._writeHostObject(view);
      return;
    }
    this.writeUint32(TAG_MOVED);
    this.writeUint32(i);
    this.writeUint32(viewTypeIndex(view));
    this.writeUint32(view.byteOffset);
    this.writeUint32(view.byteLength);
  }

  override _getSharedArrayBufferId(): number {
    // (v8 would refuse it too, with no word of why.)
    throw new SharedMemoryMetError(`a SharedArrayBuffer that the value walk did not reach (nested more than ${WALK_MAX_DEPTH} levels `
      + 'deep, or inside a cycle) cannot be shared: pass it nearer the top, or a view of it');
  }
}

/**
 * `view` in an ArrayBuffer of its own. Node's deserializer makes each view
 * it reads a view into the bytes it reads, which here are a native batch
 * that holds other tasks' payloads too (and the task's header): a task that
 * read its argument's `.buffer` would see them, and one that moved it
 * (`transfer(a.buffer)`, a `postMessage` transfer list) would detach the
 * payloads of the tasks after it, which then failed to decode. A copy, as
 * structured clone makes.
 */
function ownView(view: ArrayBufferView): ArrayBufferView {
  if (view instanceof DataView) {
    return new DataView((view.buffer as ArrayBuffer).slice(view.byteOffset, view.byteOffset + view.byteLength));
  }
  // (A Buffer's constructor is the deprecated Buffer(): it warns, and
  // under --throw-deprecation it throws, ending the thread.)
  if (Buffer.isBuffer(view)) {
    const own = new Uint8Array(view);
    return Buffer.from(own.buffer, 0, own.byteLength);
  }
  // A typed array's constructor copies one of its type into a buffer of its
  // own (any type Node's format knows, listed in view-types.ts or not).
  return new (view.constructor as new (copied: ArrayBufferView) => ArrayBufferView)(view);
}

class OwningDeserializer extends HostDeserializer {
  override _readHostObject(): unknown {
    return ownView(super._readHostObject() as ArrayBufferView);
  }
}

/**
 * v8.deserialize(), with every view in a buffer of its own (ownView): for
 * bytes that hold more than the value, or that sit in Node's Buffer pool
 * (a Buffer.from() of a small string), whose other bytes are other
 * Buffers' of this thread.
 */
export function deserializeOwning(bytes: Uint8Array): unknown {
  const d = new OwningDeserializer(bytes);
  d.readHeader();
  return d.readValue();
}

class MovingDeserializer extends HostDeserializer {
  constructor(buffer: Uint8Array, private readonly moved: ArrayBuffer[]) { super(buffer); }
  override _readHostObject(): unknown {
    if (this.readUint32() === TAG_COPIED) return ownView(super._readHostObject() as ArrayBufferView);
    const ab = this.moved[this.readUint32()]!;
    const type = this.readUint32();
    const offset = this.readUint32();
    return makeView(type, ab, offset, this.readUint32());
  }
}

/**
 * A value ready for the native queue. `bytes` may be a shared scratch
 * buffer (the fast path): hand it to native, which copies it, before the
 * next encode, or copy it.
 */
export interface Encoded {
  bytes: Uint8Array;
  /**
   * The buffers that go beside the bytes: moved ArrayBuffers, after the
   * value's shared memory (SharedArrayBuffers, typed as ArrayBuffers here:
   * isShared() tells them apart), which only a port can carry
   * (movesByPort). Shared memory the walk did not reach may follow them.
   */
  transfers: ArrayBuffer[] | undefined;
}

/**
 * Serializes `value`; `candidates` are the buffers and views in it that
 * may be marked with transfer(), at the top (the arguments, or the result)
 * or nested (the walk of values.ts lists them). `shared`: the shared
 * memory the value's markers name, by index; it heads the transfers (see
 * Encoded); undefined where shared memory cannot go (then any the walk did
 * not reach throws a SharedMemoryMetError). Throws what v8 throws.
 */
function encodeValue(value: unknown, candidates: readonly unknown[], shared: SharedArrayBuffer[] | undefined): Encoded {
  const heads = shared?.length ?? 0;
  // Shared memory is typed as ArrayBuffer in the list; isShared() tells it apart.
  let moved = heads ? [...shared!] as unknown as ArrayBuffer[] : undefined;
  for (const t of candidates) {
    const ab = movable(t);
    if (ab && !(moved ??= []).includes(ab)) moved.push(ab);
  }
  if (!moved) {
    try {
      return { bytes: serializeUnshared(value), transfers: undefined };
    } catch (e) {
      // Shared memory the walk did not reach: written by index, as below.
      if (!(e instanceof SharedMemoryMetError) || !shared) throw e;
      moved = [];
    }
  }
  const s = new MovingSerializer(moved, shared !== undefined);
  moved.forEach((ab, i) => { if (i >= heads) s.transferArrayBuffer(i, ab); });
  s.writeHeader();
  s.writeValue(value);
  return { bytes: s.releaseBuffer(), transfers: moved };
}

/**
 * `enc`, unless a buffer it moves was detached (moved away already): it
 * is refused here, before anything is queued, where a port would refuse
 * it on newer Nodes only once the task was queued (and Node 20 would
 * send it empty). `path` names the value for the error.
 */
function refuseDetached(enc: Encoded, path: string, value: unknown): Encoded {
  const moved = enc.transfers;
  if (!moved) return enc;
  // (Indexed, as the loops below on a moved value's path: a for-of runs
  // the iterator protocol, which a function without its feedback yet
  // pays in full, and a moved trip's functions run cold: bench payload.)
  for (let i = 0; i < moved.length; i++) {
    const ab = moved[i]!;
    if (isDetached(ab)) {
      throw new ValueNotCloneableError(pathOr(path, (b) => b === ab, value), new TypeError(
        'a buffer marked with transfer() is detached: it was moved away already (by an earlier call, or a postMessage)'));
    }
  }
  return enc;
}

/**
 * Where the first buffer that `wanted` picks (or a view of it) is in
 * `value`, named from `path` as the walk names a refused value
 * (`args[1].user.data`, values.ts), or undefined. Only for a refusal: it
 * walks the value again, arrays, Maps' keys and values, Sets' values and
 * objects' own enumerable data properties, each object once. It runs no
 * getter (the first walk ran them; a second run could differ, or throw).
 */
function pathTo(wanted: (buffer: ArrayBufferLike) => boolean, value: unknown, path: string, seen = new Set<object>()): string | undefined {
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  seen.add(value);
  if (isAnyArrayBuffer(value)) return wanted(value) ? path : undefined;
  if (ArrayBuffer.isView(value)) return wanted(value.buffer) ? path : undefined;
  if (value instanceof Map || value instanceof Set) {
    let i = 0;
    // (The built-in's entries, not an own entries() of the value's.)
    const entries = value instanceof Map ? Map.prototype.entries.call(value) : Set.prototype.entries.call(value);
    for (const [k, v] of entries) {
      const found = (value instanceof Map ? pathTo(wanted, k, `${path}.keys()[${i}]`, seen) : undefined)
        ?? pathTo(wanted, v, `${path}${value instanceof Map ? mapValuePath(k, i) : `.values()[${i}]`}`, seen);
      if (found) return found;
      i++;
    }
    return undefined;
  }
  const isArray = Array.isArray(value);
  for (const k of Object.keys(value)) {
    const d = Object.getOwnPropertyDescriptor(value, k);
    if (!d || !('value' in d)) continue;
    const found = pathTo(wanted, d.value, isArray ? `${path}[${k}]` : `${path}.${k}`, seen);
    if (found) return found;
  }
  return undefined;
}

/**
 * The refusal of `value` (at `path`) that v8's serializer threw (`e`):
 * one for a detached buffer names where it is, as refuseDetached does for
 * one marked with transfer() (v8 names no path).
 */
function refusalOf(value: unknown, path: string, e: unknown): ValueNotCloneableError {
  let detached = false;
  try { detached = e instanceof Error && /detached/i.test(e.message); } catch { /* not named so */ }
  return new ValueNotCloneableError(detached ? pathOr(path, (b) => isArrayBuffer(b) && isDetached(b as ArrayBuffer), value) : path, e);
}

/**
 * pathTo's path, or `path` (the root's) when it finds none or meets
 * something that throws: finding where is a courtesy, and nothing it
 * meets may replace the refusal.
 */
function pathOr(path: string, wanted: (buffer: ArrayBufferLike) => boolean, value: unknown): string {
  try {
    return pathTo(wanted, value, path) ?? path;
  } catch {
    return path;
  }
}

/** Whether `ab` was detached. Node 20 has no `detached` getter; a detached buffer's slice() throws. */
function isDetached(ab: ArrayBuffer): boolean {
  // (Shared memory, among the transfers too, is never detached; and an
  // empty SharedArrayBuffer's slice() throws.)
  if (ab.byteLength !== 0 || isSharedArrayBuffer(ab)) return false;
  const flag = (ab as { detached?: boolean }).detached;
  if (flag !== undefined) return flag;
  try {
    ab.slice(0);
    return false;
  } catch {
    return true;
  }
}

/** Whether a buffer among a value's transfers is shared memory (shared by port, never detached). */
export function isShared(buffer: ArrayBuffer): boolean {
  return isSharedArrayBuffer(buffer);
}

/** The buffers of a port message to move: its shared memory is shared by the message itself. */
export function transferListOf(buffers: ArrayBuffer[]): ArrayBuffer[] {
  return anyShared(buffers) ? buffers.filter((b) => !isShared(b)) : buffers;
}

/** Whether any of `buffers` is shared memory (a loop: some(isShared) calls back per buffer, on every move's path). */
function anyShared(buffers: readonly ArrayBuffer[]): boolean {
  for (let i = 0; i < buffers.length; i++) if (isSharedArrayBuffer(buffers[i])) return true;
  return false;
}

/** Whether all of `buffers` are shared memory (as anyShared). */
export function allShared(buffers: readonly ArrayBuffer[]): boolean {
  for (let i = 0; i < buffers.length; i++) if (!isSharedArrayBuffer(buffers[i])) return false;
  return true;
}

/**
 * Payloads that carry markers (reactor callables, registered classes,
 * errors: src/codec/values.ts) start with this byte, so that only they are
 * walked on arrival.
 */
const WITH_MARKERS = 0xfc;

/**
 * How one thread's values cross: its reactor callables (for functions
 * going out) and how markers come back to life (coming in). One per
 * thread, built with its reactor (src/runtime/this-thread.ts).
 */
export interface ValueContext {
  readonly callables: CallableTable;
  /** Markers back to life; `buffers` came beside the value (its shared memory is among them). */
  revive(value: unknown, buffers: readonly unknown[] | undefined): unknown;
}

function withMarkers(e: Encoded): Encoded {
  return { bytes: Buffer.concat([Buffer.of(WITH_MARKERS), e.bytes]), transfers: e.transfers };
}

/**
 * A result: the fast path when it is a primitive, a plain tree, or buffers
 * marked with transfer() (alone or in such a tree), else checked
 * (values.ts) and serialized. Throws a ValueNotCloneableError naming the path.
 * `flatten`: flattenInstances (values.ts).
 */
export function encodeResult(value: unknown, ctx: ValueContext, flatten = false, shares = false): Encoded {
  const fast = encodeFastResult(value, movable);
  if (fast) return markResizable(refuseDetached(fast, 'the result', value));
  const buffers: unknown[] = [value];
  const shared: SharedArrayBuffer[] = [];
  const prepared = prepareOutbound(value, 'the result',
    { callables: ctx.callables, handles: null, flatten, buffers, ...(shares && { shared }) });
  let enc: Encoded;
  try {
    enc = encodeValue(prepared, buffers, shares ? shared : undefined);
  } catch (e) {
    throw refusalOf(value, 'the result', e);
  }
  refuseDetached(enc, 'the result', value);
  return markResizable(prepared === value ? enc : withMarkers(enc));
}

/**
 * Large moved buffers do not go through native memory (one copy each
 * way, since N-API cannot adopt a V8 backing store): they travel beside
 * the value, by postMessage, which moves them without copying
 * (src/pool/moved-buffers.ts, src/thread/moved-buffers.ts). A value whose
 * moved buffers total at least this many bytes goes that way; smaller
 * ones are cheaper to copy than a message is to send. Shared memory goes
 * that way whatever its size: only a port can share it.
 */
export const MOVE_BY_PORT_FROM = 64 * 1024;

/**
 * The payload of a value whose moved buffers travel by port starts with
 * this byte and their count (u32); its transfers are the port's buffers.
 */
const BY_PORT = 0xfb;
const BY_PORT_HEADER = 5;

/** Whether these moved buffers should travel by port. */
export function movesByPort(transfers: ArrayBuffer[] | undefined): transfers is ArrayBuffer[] {
  if (!transfers) return false;
  let total = 0;
  for (let i = 0; i < transfers.length; i++) {
    const ab = transfers[i]!;
    if (isSharedArrayBuffer(ab)) return true;
    total += ab.byteLength;
  }
  return total >= MOVE_BY_PORT_FROM;
}

/**
 * Takes moved buffers out of the sender's hands, within this thread and
 * without a copy (the originals are detached), ready to be posted. A
 * buffer that cannot be detached (a WebAssembly memory's) is copied
 * instead and left whole, as transfer() promises; postMessage would
 * throw on it.
 */
export function detachOrCopy(buffers: ArrayBuffer[]): ArrayBuffer[] {
  const own = transferListOf(buffers);
  let moved: ArrayBuffer[];
  try {
    moved = structuredClone(own, { transfer: own });
  } catch {
    moved = own.map((b) => b.slice(0));
  }
  if (own === buffers) return moved;
  // Shared memory stays as it is, in its place.
  let next = 0;
  return buffers.map((b) => (isShared(b) ? b : moved[next++]!));
}

/**
 * Posts a message of a moved-buffers port (src/pool/moved-buffers.ts), which
 * moves its buffers. When postMessage refuses one (newer Nodes refuse a
 * buffer that cannot be detached, such as a WebAssembly.Memory's, before
 * anything is detached; Node 20 copies that one), they all go as copies
 * instead, and the sender's stay whole.
 */
export function postMoving(port: MessagePort, message: PortMoveMessage): void {
  // (Indexed, not destructured: a destructuring runs the iterator protocol,
  // which costs the cold path of every moved payload; bench payload.)
  const buffers = message[2]!;
  try {
    port.postMessage(message, transferListOf(buffers));
  } catch {
    const own = detachOrCopy(buffers);
    port.postMessage([message[0], message[1], own], transferListOf(own));
  }
}

/**
 * Where markMovedByPort() and markReplySlot() write. Their bytes go
 * straight to native (a push, a completion), which copies them, so one
 * buffer serves every call: a Buffer each was Node's allocUnsafe(),
 * JavaScript that every thread compiles once it is hot
 * (src/base/byte-views.ts). Valid until the next mark.
 */
const MARKED_BYTES = 4096;
let markBytes: Uint8Array = new Uint8Array(MARKED_BYTES);
let markView = viewOf(markBytes);

/** `header` bytes of marker in front of a copy of `bytes`, in `markBytes` (see there): the header's DataView. */
function markedCopy(bytes: Uint8Array, header: number): DataView {
  const need = header + bytes.length;
  // (A buffer grown for a large payload is let go once it was used.)
  if (need > markBytes.length || markBytes.length > 16 * MARKED_BYTES) {
    markBytes = new Uint8Array(Math.max(need, MARKED_BYTES));
    markView = viewOf(markBytes);
  }
  markBytes.set(bytes, header);
  return markView;
}

/**
 * `bytes`, marked as a value whose `count` moved buffers travel by port.
 * The result lives in a buffer of this module: hand it to native before the next mark.
 */
export function markMovedByPort(bytes: Uint8Array, count: number): Uint8Array {
  markedCopy(bytes, BY_PORT_HEADER).setUint32(1, count, true);
  markBytes[0] = BY_PORT;
  return markBytes.subarray(0, BY_PORT_HEADER + bytes.length);
}

/** How many of a payload's moved buffers travel by port (0: none do). */
export function movedByPort(bytes: Uint8Array): number {
  return bytes[0] === BY_PORT ? viewOf(bytes).getUint32(1, true) : 0;
}

/**
 * A task's payload starts with one of these (inside a BY_PORT header)
 * when its call set flattenInstances otherwise than its pool: its thread
 * knows the pool's setting from its start, and learns a call's own here,
 * for the task's result. Calls that keep the pool's setting carry
 * nothing: the common path pays no byte and no copy. A blocking call
 * from a thread of a flattening pool starts with FLATTEN_ON, for its
 * result: the reactor that serves it knows no pool.
 */
const FLATTEN_ON = 0xfa;
const FLATTEN_OFF = 0xf9;

/** `e`, marked as a call with flattenInstances `flatten` (a copy of its bytes). */
export function markFlatten(e: Encoded, flatten: boolean): Encoded {
  return { bytes: Buffer.concat([Buffer.of(flatten ? FLATTEN_ON : FLATTEN_OFF), e.bytes]), transfers: e.transfers };
}

/** The flattenInstances a payload asks for its result; `otherwise` when it does not say. */
export function flattenOf(bytes: Uint8Array, otherwise: boolean): boolean {
  const b = bytes[markersAt(bytes)];
  return b === FLATTEN_ON ? true : b === FLATTEN_OFF ? false : otherwise;
}

/**
 * A task's payload starts with this (inside a BY_PORT header) when its
 * call carries a trace context (src/base/tracing.ts), after a FLATTEN
 * byte if it has one: the byte, the carrier's length (u32) and the
 * carrier as JSON, then the arguments. Untraced calls carry nothing.
 */
const TRACED = 0xf8;
const TRACED_HEADER = 5;

/** `e` with `carrier` in front (a copy of its bytes). */
export function markTraced(e: Encoded, carrier: TraceCarrier): Encoded {
  const json = Buffer.from(JSON.stringify(carrier));
  const out = Buffer.allocUnsafe(TRACED_HEADER + json.length + e.bytes.length);
  out[0] = TRACED;
  out.writeUInt32LE(json.length, 1);
  out.set(json, TRACED_HEADER);
  out.set(e.bytes, TRACED_HEADER + json.length);
  return { bytes: out, transfers: e.transfers };
}

/** The trace context a task's payload carries, if any. */
export function carrierOf(bytes: Uint8Array): TraceCarrier | undefined {
  let at = markersAt(bytes);
  if (bytes[at] === FLATTEN_ON || bytes[at] === FLATTEN_OFF) at++;
  if (bytes[at] !== TRACED) return undefined;
  const start = at + TRACED_HEADER;
  return JSON.parse(asBuffer(bytes).toString('utf8', start, start + viewOf(bytes).getUint32(at + 1, true))) as TraceCarrier;
}

/**
 * A blockingCallInThread task's payload starts with this byte and the id
 * of its caller's reply slot (f64), before any other marker: the thread
 * that runs it answers the slot (native/bridge_bindings.cc). Such a task
 * never moves buffers by port: its owner, parked, reads no port.
 */
const REPLY_SLOT = 0xf7;
const REPLY_SLOT_HEADER = 9;

/**
 * `e` as the task of a blockingCallInThread waiting on slot `slotId` (a
 * copy of its bytes, in a buffer of this module: hand it to native before
 * the next mark, as markMovedByPort's).
 */
export function markReplySlot(e: Encoded, slotId: number): Encoded {
  markedCopy(e.bytes, REPLY_SLOT_HEADER).setFloat64(1, slotId, true);
  markBytes[0] = REPLY_SLOT;
  return { bytes: markBytes.subarray(0, REPLY_SLOT_HEADER + e.bytes.length), transfers: e.transfers };
}

/** The reply slot a task's payload names (0: none, an ordinary task). */
export function replySlotOf(bytes: Uint8Array): number {
  return bytes[0] === REPLY_SLOT ? viewOf(bytes).getFloat64(1, true) : 0;
}

/**
 * A task's payload starts with this byte (inside a BY_PORT header) when
 * its call may be cancelled (it has a signal or a runTimeout, or comes
 * from reactor-threads/bullmq, which cancels jobs): its thread may then be
 * terminated while it holds the task, which loses what the thread's
 * streams still buffer. The thread posts that output as it takes such a
 * task, as each task ends while it holds one, and as it is written, within
 * a bound (src/thread/task-runner.ts, printed-bytes.ts); other tasks leave
 * theirs to the loop, one post for many lines. A blockingCallInThread task, which its caller's
 * timeout cancels, says so by its reply slot.
 */
export const CUTTABLE = 0xf6;

/** `e`, marked as a call that may be cancelled (a copy of its bytes). */
export function markCuttable(e: Encoded): Encoded {
  return { bytes: Buffer.concat([Buffer.of(CUTTABLE), e.bytes]), transfers: e.transfers };
}

/** Whether a task's payload says its call may be cancelled (markCuttable, or a reply slot). */
export function isCuttable(bytes: Uint8Array): boolean {
  return bytes[0] === REPLY_SLOT || bytes[headerEnd(bytes)] === CUTTABLE;
}

/** Where a payload's markers start: past its reply slot or BY_PORT header, and its CUTTABLE byte. */
function markersAt(bytes: Uint8Array): number {
  const at = headerEnd(bytes);
  return bytes[at] === CUTTABLE ? at + 1 : at;
}

/** Past a payload's reply slot or BY_PORT header, if it has one. */
function headerEnd(bytes: Uint8Array): number {
  return bytes[0] === REPLY_SLOT ? REPLY_SLOT_HEADER : bytes[0] === BY_PORT ? BY_PORT_HEADER : 0;
}

/**
 * The payload of a value that moves resizable buffers starts with this
 * byte, their count (u32), then for each its index among the transfers
 * (u32) and its maxByteLength (f64), inside any other marker. A buffer
 * that crosses through native memory arrives as a fixed-length one (an
 * external buffer over the native copy: native/batch.cc ToArrayBuffer);
 * the reader makes it resizable again, at the cost of one more copy of
 * it, which only such buffers pay. One that came by port is resizable
 * already. A value that moves none carries nothing.
 */
const RESIZABLE = 0xf5;
const RESIZABLE_HEADER = 5;
const RESIZABLE_ENTRY = 12;

type MaybeResizable = ArrayBuffer & { resizable?: boolean; maxByteLength?: number };

/** `e` with its resizable moved buffers named in front (a copy of its bytes), or `e` when it moves none. */
function markResizable(e: Encoded): Encoded {
  const moved = e.transfers as MaybeResizable[] | undefined;
  if (!moved) return e;
  let count = 0;
  for (let i = 0; i < moved.length; i++) if (moved[i]!.resizable === true) count++;
  if (count === 0) return e;
  const at = RESIZABLE_HEADER + count * RESIZABLE_ENTRY;
  const out = Buffer.allocUnsafe(at + e.bytes.length);
  out[0] = RESIZABLE;
  out.writeUInt32LE(count, 1);
  let p = RESIZABLE_HEADER;
  moved.forEach((ab, i) => {
    if (ab.resizable !== true) return;
    out.writeUInt32LE(i, p);
    out.writeDoubleLE(ab.maxByteLength!, p + 4);
    p += RESIZABLE_ENTRY;
  });
  out.set(e.bytes, at);
  return { bytes: out, transfers: e.transfers };
}

/** `transfers` with those a RESIZABLE header names made resizable again (copies), and where the value's bytes start. */
function resizedAgain(bytes: Uint8Array, transfers: ArrayBuffer[]): [ArrayBuffer[], number] {
  const view = viewOf(bytes);
  const count = view.getUint32(1, true);
  const out = transfers.slice();
  for (let k = 0, p = RESIZABLE_HEADER; k < count; k++, p += RESIZABLE_ENTRY) {
    const i = view.getUint32(p, true);
    const ab = out[i] as MaybeResizable;
    if (ab.resizable === true) continue;
    const again = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(
      ab.byteLength, { maxByteLength: view.getFloat64(p + 4, true) });
    new Uint8Array(again).set(new Uint8Array(ab));
    out[i] = again;
  }
  return [out, RESIZABLE_HEADER + count * RESIZABLE_ENTRY];
}

/**
 * Reads a value another thread encoded. `what` names it in the error of
 * a value this thread's stack cannot read: a pool thread's stack is four
 * times the main thread's, so it can write arrays nested some thousands
 * deeper than the main thread can read back (v8's deserializer recurses
 * per level); that RangeError becomes a ValueNotCloneableError, as the
 * same value fails on the way out of a thread with the smaller stack.
 */
export function decodeValue(bytes: Uint8Array, transfers: ArrayBuffer[] | undefined, ctx: ValueContext, what = 'the value'): unknown {
  if (transfers) for (let i = 0; i < transfers.length; i++) arrivedBeside.add(transfers[i]!);
  try {
    return decodeFramed(bytes, transfers, ctx);
  } catch (e) {
    throw tooDeepToRead(e, what) ?? e;
  }
}

/**
 * The error for a value that overflowed the reading thread's stack
 * (decodeValue; a value from another machine too), naming it `what`;
 * undefined when `e` is no stack overflow.
 */
export function tooDeepToRead(e: unknown, what: string): ValueNotCloneableError | undefined {
  if (!(e instanceof RangeError && /call stack/i.test(e.message))) return undefined;
  return new ValueNotCloneableError(what, e,
    'arrived nested too deeply to be read with this thread\'s stack (a thread with a larger stack sent it)');
}

function decodeFramed(bytes: Uint8Array, transfers: ArrayBuffer[] | undefined, ctx: ValueContext): unknown {
  if (bytes[0] === FAST_LIST || bytes[0] === FAST_ONE) return decodeFast(bytes, transfers);
  if (bytes[0] === REPLY_SLOT) return decodeFramed(bytes.subarray(REPLY_SLOT_HEADER), transfers, ctx);
  if (bytes[0] === BY_PORT) return decodeFramed(bytes.subarray(BY_PORT_HEADER), transfers, ctx);
  if (bytes[0] === CUTTABLE || bytes[0] === FLATTEN_ON || bytes[0] === FLATTEN_OFF) return decodeFramed(bytes.subarray(1), transfers, ctx);
  if (bytes[0] === TRACED) return decodeFramed(bytes.subarray(TRACED_HEADER + viewOf(bytes).getUint32(1, true)), transfers, ctx);
  if (bytes[0] === WITH_MARKERS) return ctx.revive(decodeFramed(bytes.subarray(1), transfers, ctx), transfers);
  if (bytes[0] === RESIZABLE) {
    const [resized, at] = resizedAgain(bytes, transfers!);
    return decodeFramed(bytes.subarray(at), resized, ctx);
  }
  if (!transfers) return deserializeOwning(bytes);
  const d = new MovingDeserializer(bytes, transfers);
  // (Shared memory among them is named by markers, not by v8's format.)
  transfers.forEach((ab, i) => { if (!isSharedArrayBuffer(ab)) d.transferArrayBuffer(i, ab); });
  d.readHeader();
  return d.readValue();
}

/**
 * Encodes a call's arguments. Functions among them become reactor
 * callables of this thread, registered in `handles` (null: refused). A failure is a
 * ValueNotCloneableError naming the path of the value from `root`, the
 * name the caller gave the whole (`args[1].user`; callMultipleInThread's
 * `list[2][1][0]`: the third call's first argument).
 * `flatten`: flattenInstances (values.ts).
 */
export function encodeArgs(
  args: readonly unknown[], ctx: ValueContext, handles: number[] | null, flatten = false, shares = false, root = 'args',
): Encoded {
  const fast = encodeFastArgs(args, movable);
  if (fast) return markResizable(refuseDetached(fast, root, args));
  const buffers: unknown[] = [...args];
  const shared: SharedArrayBuffer[] = [];
  const prepared = prepareOutbound(args, root,
    { callables: ctx.callables, handles, flatten, buffers, ...(shares && { shared }) }) as unknown[];
  let enc: Encoded;
  try {
    enc = encodeValue(prepared, buffers, shares ? shared : undefined);
  } catch (e) {
    // Name the first argument that fails on its own, else all of them.
    for (let i = 0; i < prepared.length; i++) {
      // (Its path is found in the caller's value, not in the walk's copy, whose markers are the library's own.)
      try { encodeValue(prepared[i], [], shares ? [] : undefined); } catch (inner) { throw refusalOf(args[i], `${root}[${i}]`, inner); }
    }
    throw new ValueNotCloneableError(root, e);
  }
  refuseDetached(enc, root, args);
  return markResizable(prepared === args ? enc : withMarkers(enc));
}
