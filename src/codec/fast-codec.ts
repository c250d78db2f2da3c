// A fast path for the commonest payloads: arguments and results made of
// numbers, booleans, null, undefined and well-formed strings (written as
// UTF-8, which has no encoding for a lone surrogate: a string holding one
// takes the v8 path, which keeps every UTF-16 code unit), trees of plain
// arrays and plain objects of them and of Dates (the `{ ok, rows }` a task
// returns), and whole buffers moved with transfer() (an ArrayBuffer, or a
// view of all of one: the heavy-work case, where a serializer object per
// call shows), alone or in such trees (`{ pixels: transfer(buf), width }`).
// v8.serialize builds a serializer object and a Buffer per call, which on
// small values costs more than the task (an object result took a pool
// from 700k to 210k trivial tasks a second); this writes into a scratch
// buffer instead. What arrives is what v8's round trip would give;
// anything it cannot say as exactly (an object met twice, a hole, a
// property beside an array's items or a Date's, a symbol-keyed property,
// a class instance) goes through v8 (src/codec/codec.ts). Runs on every
// thread.
// Tests: test/wire.ts, test/transfer.ts.
import { isArgumentsObject, isDate, isProxy } from 'node:util/types';
import { grownFrom, viewOf } from '../base/byte-views.js';
import { makeView, viewTypeIndex } from './view-types.js';
import { MARKER } from './values.js';

// v8's format starts with 0xFF (its version tag), so these never collide.
export const FAST_LIST = 0xfe;
export const FAST_ONE = 0xfd;

const enum Tag {
  Undefined = 0, Null = 1, True = 2, False = 3, Number = 4, String = 5, Moved = 6,
  /** u32 length, then the items. */
  Array = 7,
  /**
   * u32 count, then per property its key (u32 byte length, UTF-8), then
   * per property its value. Its keys are the next shape (Shaped).
   */
  Object = 8,
  /**
   * u32 index of an earlier object's keys (its shape), then one value per
   * key, in their order: the rows of a list of records name their keys
   * once. Shapes are numbered in the order their objects' keys are
   * written, in the writer and the reader alike.
   */
  Shaped = 9,
  /** f64: a Date's time value (NaN for an invalid date). */
  Date = 10,
  /** i32: a number that is a 32-bit integer, not -0 (Number takes 9 bytes, and its read costs more). */
  Int = 11,
}

/**
 * What a moved value is, for the Moved tag: its view type (view-types.ts), or
 * WHOLE_BUFFER for the ArrayBuffer itself. Followed by the u32 index of
 * its buffer among the value's moved buffers.
 */
const WHOLE_BUFFER = 255;

/**
 * The ArrayBuffer to move for `v`, if it was marked with transfer() and
 * is one whole buffer (src/codec/codec.ts decides).
 */
export type MovableOf = (v: unknown) => ArrayBuffer | undefined;

/** A fast encoding and the buffers it moves (in its index order), if any. */
export interface FastEncoded {
  bytes: Uint8Array;
  transfers: ArrayBuffer[] | undefined;
}

const MAX_STRING = 1024;
const MAX_ITEMS = 255;
let scratch: Uint8Array = new Uint8Array(4096);
let scratchView = viewOf(scratch);

/** String.prototype.isWellFormed (ES2024, Node 20): no lone surrogate. One-byte strings answer at once. */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Whether a string takes the fast path: short enough, and no lone surrogate. */
const fitsString = (s: string): boolean => s.length <= MAX_STRING && isWellFormed(s);

function fits(v: unknown): boolean {
  const t = typeof v;
  return t === 'number' || t === 'boolean' || v === null || v === undefined || (t === 'string' && fitsString(v as string));
}

/**
 * Strings up to this long, the keys and short values of most payloads,
 * are copied byte by byte when they are ASCII: an encoder or decoder
 * crosses into C++, about 45 ns a string here against 10-15.
 * (12: V8 makes a string built by `+=` flat up to 12 characters.)
 */
const SHORT_STRING = 12;
const utf8Encoder = new TextEncoder();
/** Keeps a leading U+FEFF, as the writer wrote it (a decoder drops it by default). */
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Writes `s` (well-formed) as UTF-8 into `b` at `off`, where 3 bytes per unit are free: how many bytes it took. */
function writeUtf8(b: Uint8Array, s: string, off: number): number {
  const n = s.length;
  if (n > SHORT_STRING) return utf8Encoder.encodeInto(s, b.subarray(off)).written;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return utf8Encoder.encodeInto(s, b.subarray(off)).written;
    b[off + i] = c;
  }
  return n;
}

/** The string of the UTF-8 in b[start, end). */
function readUtf8(b: Uint8Array, start: number, end: number): string {
  if (end - start > SHORT_STRING) return utf8Decoder.decode(b.subarray(start, end));
  let s = '';
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c > 0x7f) return utf8Decoder.decode(b.subarray(start, end));
    s += String.fromCharCode(c);
  }
  return s;
}

/** Writes primitive `v` into `b` (whose DataView is `view`) at `off`: where it ends. */
function put(b: Uint8Array, view: DataView, v: unknown, off: number): number {
  switch (typeof v) {
    case 'number':
      if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
        b[off] = Tag.Int;
        view.setInt32(off + 1, v, true);
        return off + 5;
      }
      b[off] = Tag.Number;
      view.setFloat64(off + 1, v, true);
      return off + 9;
    case 'boolean': b[off] = v ? Tag.True : Tag.False; return off + 1;
    case 'string': {
      b[off] = Tag.String;
      const n = writeUtf8(b, v, off + 5);
      view.setUint32(off + 1, n, true);
      return off + 5 + n;
    }
    default: b[off] = v === null ? Tag.Null : Tag.Undefined; return off + 1;
  }
}

function room(items: number): void {
  // Worst case per item: a tag, a length and 3 UTF-8 bytes per UTF-16 unit.
  const need = 2 + items * (5 + 3 * MAX_STRING);
  if (scratch.length >= need) return;
  scratch = new Uint8Array(need);
  scratchView = viewOf(scratch);
}

/** How a moved value is viewed: the whole buffer, or its view type. */
function movedKind(v: unknown, ab: ArrayBuffer): number {
  if (v === ab) return WHOLE_BUFFER;
  return viewTypeIndex(v as ArrayBufferView);
}

/**
 * A call's arguments as a fast encoding, with the buffers it moves: a
 * list of primitives, trees of them (encodeTree), and whole buffers
 * marked with transfer(), which `movableOf` finds (none without it), at
 * the top or inside the trees. Or undefined: the v8 path. The bytes live
 * in a scratch buffer of this module: use or copy them before the next
 * encode.
 */
export function encodeFastArgs(list: readonly unknown[], movableOf?: MovableOf): FastEncoded | undefined {
  if (fastListBound(list) < 0) {
    if (list.length === 1 && movableOf) {
      const one = encodeMovedAlone(list[0], movableOf, false);
      if (one) return one;
    }
    return list.length > MAX_ITEMS ? undefined : encodeTree(list, false, movableOf);
  }
  room(list.length);
  return { bytes: scratch.subarray(0, writeFastList(list, scratch, scratchView, 0)), transfers: undefined };
}

/** As encodeFastArgs, for one value (a result). */
export function encodeFastResult(v: unknown, movableOf?: MovableOf): FastEncoded | undefined {
  if (!fits(v)) {
    if (typeof v !== 'object' || v === null) return undefined;
    return (movableOf && encodeMovedAlone(v, movableOf, true)) || encodeTree(v, true, movableOf);
  }
  room(1);
  scratch[0] = FAST_ONE;
  return { bytes: scratch.subarray(0, put(scratch, scratchView, v, 1)), transfers: undefined };
}

/** The bytes of encodeFastArgs(), for a list that moves nothing. */
export function encodeFastList(list: readonly unknown[]): Uint8Array | undefined {
  return encodeFastArgs(list)?.bytes;
}

/** The bytes of encodeFastResult(), for a value that moves nothing. */
export function encodeFastOne(v: unknown): Uint8Array | undefined {
  return encodeFastResult(v)?.bytes;
}

/**
 * A value that is one whole buffer marked with transfer() and nothing
 * else (`one`: a result; else the only argument): the bytes encodeTree
 * writes for it (Tag.Moved, its kind, index 0), without the walk's setup
 * (the commonest moved payload: bench payload). Undefined when `v` is
 * not such a buffer. In `scratch`, as encodeFastResult's primitives.
 */
function encodeMovedAlone(v: unknown, movableOf: MovableOf, one: boolean): FastEncoded | undefined {
  const ab = movableOf(v);
  if (!ab) return undefined;
  // (Before the first write: movedKind reads the view's constructor, which
  // a subclass's getter could make encode another value into the scratch.)
  const kind = movedKind(v, ab);
  let off = 0;
  scratch[off++] = one ? FAST_ONE : FAST_LIST;
  if (!one) scratch[off++] = 1;
  scratch[off] = Tag.Moved;
  scratch[off + 1] = kind;
  scratchView.setUint32(off + 2, 0, true);
  return { bytes: scratch.subarray(0, off + 6), transfers: [ab] };
}

/**
 * At most how many bytes the fast encoding of `list` takes (writeFastList),
 * or -1 when `list` does not take the fast path.
 */
export function fastListBound(list: readonly unknown[]): number {
  if (list.length > MAX_ITEMS) return -1;
  let n = 2;
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (!fits(v)) return -1;
    // A tag, a length and at most 3 UTF-8 bytes per UTF-16 unit.
    n += typeof v === 'string' ? 5 + 3 * v.length : 9;
  }
  return n;
}

/**
 * Writes the encoding of `list` into `b` (whose DataView is `view`) at
 * `at`, where fastListBound(list) bytes are free (it must not be -1);
 * returns where it ends. (A pool's staged submissions are written
 * straight into their batch.)
 */
export function writeFastList(list: readonly unknown[], b: Uint8Array, view: DataView, at: number): number {
  b[at] = FAST_LIST;
  b[at + 1] = list.length;
  let off = at + 2;
  for (let i = 0; i < list.length; i++) off = put(b, view, list[i], off);
  return off;
}

// ---- trees of plain arrays and objects ------------------------------------

/**
 * Where v8's serializer, in C++, costs less than this walk (measured with
 * bench/codec.mjs: the round trip of each path, encoding and decoding).
 * Each key of an object written whole costs about twice what it costs
 * v8, so a value with more than MAX_WHOLE_KEYS of them goes to v8 (a
 * dictionary of 40 keys: 1.1x v8's time here; of 100: 1.8x). An object
 * with the keys of one written before costs no key at all (Tag.Shaped):
 * records cross faster here at any number (1,000 rows of 5 fields in
 * 0.6x v8's time), and so do trees of a few shapes. A long array of
 * primitives is v8's best case (a packed array, written in one go):
 * one longer than MAX_PRIMITIVE_RUN whose first item is a primitive goes
 * there too (200 numbers: even).
 * MAX_CONTAINERS and MAX_MEMBERS bound the walk and its buffer.
 */
const MAX_WHOLE_KEYS = 40;
const MAX_PRIMITIVE_RUN = 128;
const MAX_CONTAINERS = 16384;
const MAX_MEMBERS = 131072;
/**
 * Containers open inside each other, at most: a deeper value goes to the
 * v8 path. Below the depth where that path's walk stops looking
 * (values.ts, 64), so a buffer marked with transfer() moves on either path
 * (past that, the v8 path copies it): a value must not be moved or copied
 * according to which path it took.
 */
const MAX_DEPTH = 48;

/** Where trees are written (apart from `scratch`: a getter may encode a primitive call meanwhile). */
const TREE_BYTES = 4096;
let tree: Uint8Array = new Uint8Array(TREE_BYTES);
let treeView = viewOf(tree);
/**
 * One tree encoding's state. A getter runs while the tree is walked, and
 * may call a thread, which encodes: `treeBusy` sends such an encoding
 * down the v8 path, which leaves `tree` and this state alone.
 */
let treeBusy = false;
/** The containers met so far: one met again is shared, or a cycle, which only v8's format says. */
const treeContainers: object[] = [];
/**
 * The same, once there are LINEAR_SEEN of them: looking through the list
 * costs less than a Set's hashing for a few, and grows with their square.
 */
const treeSeen = new Set<object>();
const LINEAR_SEEN = 32;
let treeMembers = 0;
let treeDepth = 0;
/** Keys written out in full (Tag.Object) so far. */
let treeWholeKeys = 0;
/**
 * The key lists of the objects written whole (Tag.Object) so far, in the
 * order written: an object with the same keys in the same order is
 * written as Tag.Shaped. (At most MAX_WHOLE_KEYS + 1: each but the empty
 * one took a key written whole.)
 */
const treeShapes: string[][] = [];
/** The shape matched or numbered last: consecutive records share one. */
let lastShape = -1;
/**
 * Finds the buffers marked with transfer() in a tree, when it may hold
 * them (encodeFastArgs, encodeFastResult); undefined: it may not.
 */
let treeMovableOf: MovableOf | undefined;
/** The buffers a tree moves, in their index order (Tag.Moved). */
const treeMoved: ArrayBuffer[] = [];

/**
 * `value` as a fast encoding with trees in it (`one`: a result; else a
 * list of arguments, of at most MAX_ITEMS), moving the buffers that
 * `movableOf` finds in it, or undefined when it does not take the fast
 * path. The bytes live in `tree`: use or copy them before the next encode.
 */
function encodeTree(value: object, one: boolean, movableOf: MovableOf | undefined): FastEncoded | undefined {
  if (treeBusy) return undefined;
  treeBusy = true;
  treeMovableOf = movableOf;
  // (The last encoding's bytes were used: a buffer grown for a large one is let go.)
  if (tree.length > 16 * TREE_BYTES) setTree(new Uint8Array(TREE_BYTES));
  // A getter that throws is not caught here: the walk of the v8 path would
  // read the same properties in the same order and meet the same throw,
  // which the callers report as they did.
  try {
    let end: number;
    if (one) {
      tree[0] = FAST_ONE;
      end = putContainer(value, 1);
    } else {
      const list = value as readonly unknown[];
      tree[0] = FAST_LIST;
      tree[1] = list.length;
      end = 2;
      for (let i = 0; i < list.length && end >= 0; i++) end = putTree(list[i], end);
    }
    if (end < 0) return undefined;
    return { bytes: tree.subarray(0, end), transfers: treeMoved.length > 0 ? treeMoved.slice() : undefined };
  } finally {
    treeBusy = false;
    treeMovableOf = undefined;
    treeMoved.length = 0;
    treeContainers.length = 0;
    if (treeSeen.size > 0) treeSeen.clear();
    treeMembers = 0;
    treeDepth = 0;
    treeWholeKeys = 0;
    treeShapes.length = 0;
    lastShape = -1;
  }
}

/** Room in `tree` for `n` bytes at `off`. */
function treeRoom(off: number, n: number): void {
  if (off + n > tree.length) setTree(grownFrom(tree, off, off + n));
}

/** Writes trees into `b` from now on. */
function setTree(b: Uint8Array): void {
  tree = b;
  treeView = viewOf(b);
}

/** Writes `v` into `tree` at `off`: where it ends, or -1 when it does not take the fast path. */
function putTree(v: unknown, off: number): number {
  switch (typeof v) {
    case 'object':
      if (v !== null) return putContainer(v, off);
      treeRoom(off, 1);
      break;
    case 'string':
      if (!fitsString(v)) return -1;
      treeRoom(off, 5 + 3 * v.length);
      break;
    case 'number': case 'boolean': case 'undefined':
      treeRoom(off, 9);
      break;
    default:
      // A function, a symbol, a bigint: the v8 path crosses or refuses it.
      return -1;
  }
  return put(tree, treeView, v, off);
}

/**
 * putTree() for an object: a plain array or object (whose members it
 * writes), else -1. What v8 keeps and these tags cannot say is left to
 * it: sharing (an object met twice), an array's holes and its properties
 * beside its items (a RegExp match's `index`), an own `__proto__`, and
 * a symbol-keyed property (which values.ts refuses, but for a
 * fromModule() reference's brand). So are
 * the objects v8 refuses that look plain: a Proxy, `arguments`,
 * `process.env` (a host object). One deviation is accepted, as too
 * contrived to pay a dozen type checks per object for: a built-in whose
 * prototype was set to Object.prototype (`Object.setPrototypeOf(new
 * Map(), Object.prototype)`) arrives as a plain object of its own
 * enumerable properties, where v8 keeps or refuses it by its real type.
 * Getters are read once, where the v8 path reads them twice (once to
 * check, once to serialize).
 */
function putContainer(v: object, off: number): number {
  if (++treeDepth > MAX_DEPTH) return -1;
  const end = writeContainer(v, off);
  treeDepth--;
  return end;
}

/** putContainer() without the depth's count. */
function writeContainer(v: object, off: number): number {
  if (treeContainers.length === MAX_CONTAINERS || metBefore(v) || isProxy(v)) return -1;
  treeContainers.push(v);
  if (treeSeen.size > 0) treeSeen.add(v);
  if (Array.isArray(v)) {
    const n = v.length;
    if (Object.getPrototypeOf(v) !== Array.prototype || (treeMembers += n) > MAX_MEMBERS) return -1;
    // Its first item is read once, here (a getter runs once): a long
    // array of primitives, or one of objects that cannot fit, leaves now,
    // not after walking most of it (the v8 path would redo it all). So
    // does one whose first item holds so many containers that the rest,
    // if alike, cannot fit. A hole there leaves too (v8 says holes).
    const room = MAX_CONTAINERS - treeContainers.length;
    let first: unknown;
    if (n > 0) {
      if (!Object.hasOwn(v, 0)) return -1;
      first = v[0];
      if (typeof first === 'object' && first !== null ? n > room : n > MAX_PRIMITIVE_RUN) return -1;
    }
    // Its own keys, indices first in ascending order: exactly 0..n-1 when
    // there are n and the last is n-1, so no hole and nothing beside them
    // (a getter of the first item that deleted it shows here too).
    const keys = Object.keys(v);
    if (keys.length !== n || (n > 0 && keys[n - 1] !== String(n - 1)) || hasSymbolKeys(v)) return -1;
    treeRoom(off, 5);
    tree[off] = Tag.Array;
    treeView.setUint32(off + 1, n, true);
    off += 5;
    if (n === 0) return off;
    const open = treeContainers.length;
    off = putTree(first, off);
    const took = treeContainers.length - open;
    if (took * (n - 1) > room - took) return -1;
    for (let i = 1; i < n && off >= 0; i++) off = putMember(v, i, off);
    return off;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype) {
    if (proto === builtinDateProto && timeOf && isDate(v)) return putDate(v, off);
    return treeMovableOf ? putMovedInTree(v, off) : -1;
  }
  if (isArgumentsObject(v) || v === process.env || hasSymbolKeys(v)) return -1;
  const keys = Object.keys(v);
  if ((treeMembers += keys.length) > MAX_MEMBERS) return -1;
  treeRoom(off, 5);
  const shape = shapeOf(keys);
  if (shape >= 0) {
    tree[off] = Tag.Shaped;
    treeView.setUint32(off + 1, shape, true);
    off += 5;
  } else {
    off = writeKeys(keys, off);
    if (off < 0) return -1;
  }
  for (let i = 0; i < keys.length && off >= 0; i++) off = putMember(v, keys[i]!, off);
  return off;
}

/**
 * Whether `v` has an own symbol-keyed property, which these tags cannot
 * say and v8's format drops: the v8 path's walk refuses it, or crosses a
 * fromModule() reference (whose brand is one) as itself. No cheaper
 * question answers it (Object.keys reads V8's cache of string keys, which
 * lists no symbol), and it costs: measured 2026-12-07, a small object's
 * encoding went from 215 to 295 ns, 1,000 records' from 267 to 318 ns
 * each; the bench's records workload did not move beyond its noise.
 */
function hasSymbolKeys(v: object): boolean {
  return Object.getOwnPropertySymbols(v).length > 0;
}

/** An object's keys written out in full (Tag.Object), as the next shape: where they end, or -1. */
function writeKeys(keys: string[], off: number): number {
  if ((treeWholeKeys += keys.length) > MAX_WHOLE_KEYS) return -1;
  tree[off] = Tag.Object;
  treeView.setUint32(off + 1, keys.length, true);
  off += 5;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    // (The markers' key goes the v8 path, whose walk refuses it, as the
    // README says: here it crossed. Checked once per shape, as shapes are
    // only made here.)
    if (k === '__proto__' || k === MARKER || !fitsString(k)) return -1;
    treeRoom(off, 4 + 3 * k.length);
    const n = writeUtf8(tree, k, off + 4);
    treeView.setUint32(off, n, true);
    off += 4 + n;
  }
  lastShape = treeShapes.push(keys) - 1;
  return off;
}

/**
 * This realm's built-in Date, whatever the global `Date` is now (test
 * runners' fake timers replace it with a subclass), as v8's deserializer
 * makes dates: a structured clone of a date is one of those.
 */
const builtinDateProto = Object.getPrototypeOf(structuredClone(new Date(0))) as Date;
const BuiltinDate = builtinDateProto.constructor as DateConstructor;
/**
 * A date's time value, read as v8 reads it (not by its own or a patched
 * getTime); undefined if getTime was patched before this module loaded:
 * then Dates take the v8 path.
 */
const timeOf = /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(builtinDateProto.getTime))
  ? Function.prototype.call.bind(builtinDateProto.getTime) as (d: Date) => number
  : undefined;

/**
 * writeContainer() for a Date of this realm: its time value, as v8 writes
 * it. One with own properties, which both formats drop, takes the v8 path,
 * whose walk refuses it. It counts as a container met: a date met twice
 * is one date, which only v8's format says.
 */
function putDate(v: Date, off: number): number {
  if (Object.keys(v).length > 0) return -1;
  treeRoom(off, 9);
  tree[off] = Tag.Date;
  treeView.setFloat64(off + 1, timeOf!(v), true);
  return off + 9;
}

/**
 * writeContainer() for an object that is not a plain one: a buffer marked
 * with transfer() (a whole ArrayBuffer, or a view of all of one) is
 * written as Tag.Moved, else -1. It counts as a container met: the same
 * view twice is sharing, which only v8's format says. Two views of one
 * buffer move it once, and arrive as two views of the buffer that came.
 */
function putMovedInTree(v: object, off: number): number {
  const ab = treeMovableOf!(v);
  if (!ab) return -1;
  let index = treeMoved.indexOf(ab);
  if (index < 0) index = treeMoved.push(ab) - 1;
  treeRoom(off, 6);
  tree[off] = Tag.Moved;
  tree[off + 1] = movedKind(v, ab);
  treeView.setUint32(off + 2, index, true);
  return off + 6;
}

/** Whether `v` is a container this encoding met already. */
function metBefore(v: object): boolean {
  if (treeContainers.length < LINEAR_SEEN) return treeContainers.includes(v);
  if (treeSeen.size === 0) for (const c of treeContainers) treeSeen.add(c);
  return treeSeen.has(v);
}

/** The number of the shape whose keys are `keys`, in their order, or -1. */
function shapeOf(keys: readonly string[]): number {
  if (lastShape >= 0 && sameKeys(treeShapes[lastShape]!, keys)) return lastShape;
  for (let i = treeShapes.length - 1; i >= 0; i--) {
    if (i !== lastShape && sameKeys(treeShapes[i]!, keys)) return (lastShape = i);
  }
  return -1;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * putTree() for member `k` of `v`. One a getter deleted meanwhile, which
 * v8 would skip, leaves the fast path: it would arrive as undefined.
 */
function putMember(v: object, k: string | number, off: number): number {
  const x: unknown = (v as Record<string | number, unknown>)[k];
  return x === undefined && !Object.hasOwn(v, k) ? -1 : putTree(x, off);
}

/** A shape as the reader keeps it: its keys, and whether one of them must be defined rather than assigned. */
interface ReadShape {
  keys: string[];
  define: boolean;
}

/** What a decode carries through its walk: the value just read, and the shapes numbered so far. */
interface Reading {
  v: unknown;
  shapes: ReadShape[] | undefined;
}

/**
 * Sets o[k] to v as v8's deserializer does: defined where assigning would
 * reach Object.prototype (frozen against pollution, a setter):
 * `constructor`, `toString`.
 */
function defineOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}

/*
 * The reader's numbers, little-endian as the writers' DataView put them,
 * read from the bytes themselves: a DataView of each value's bytes is made
 * by a C++ builtin that V8 does not inline, which cost a trivial task's
 * result and arguments about 0.2 us each, 4% of the owner's time in a
 * burst (bench: burst).
 */
const f64Cell = new Float64Array(1);
const f64CellBytes = new Uint8Array(f64Cell.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The u32 at b[off], little-endian (also a blocking call's answer length: src/bridge/caller.ts). */
export function readU32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16)) + b[off + 3]! * 0x1000000;
}

function readF64(b: Uint8Array, off: number): number {
  if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) f64CellBytes[i] = b[off + i]!;
  else for (let i = 0; i < 8; i++) f64CellBytes[7 - i] = b[off + i]!;
  return f64Cell[0]!;
}

function get(b: Uint8Array, off: number, out: Reading, moved: ArrayBuffer[] | undefined): number {
  switch (b[off] as Tag) {
    case Tag.Moved: {
      const kind = b[off + 1]!;
      const ab = moved?.[readU32(b, off + 2)] ?? cutShort(b);
      out.v = kind === WHOLE_BUFFER ? ab : makeView(kind, ab);
      return off + 6;
    }
    case Tag.Int: out.v = b[off + 1]! | (b[off + 2]! << 8) | (b[off + 3]! << 16) | (b[off + 4]! << 24); return off + 5;
    case Tag.Number: out.v = readF64(b, off + 1); return off + 9;
    case Tag.Array: {
      const n = readU32(b, off + 1);
      const a: unknown[] = [];
      off += 5;
      for (let i = 0; i < n; i++) {
        off = get(b, off, out, moved);
        a.push(out.v);
      }
      out.v = a;
      return off;
    }
    case Tag.Object: {
      const n = readU32(b, off + 1);
      // (No key is __proto__: putContainer leaves such an object to v8.)
      const keys: string[] = [];
      let define = false;
      off += 5;
      for (let i = 0; i < n; i++) {
        const end = off + 4 + readU32(b, off);
        const k = readUtf8(b, off + 4, end);
        keys.push(k);
        // (Only Object.prototype can hold it: Object.keys() has no duplicates.)
        if (k in Object.prototype) define = true;
        off = end;
      }
      const shape: ReadShape = { keys, define };
      (out.shapes ??= []).push(shape);
      return getMembers(b, off, out, moved, shape);
    }
    case Tag.Shaped:
      return getMembers(b, off + 5, out, moved, out.shapes?.[readU32(b, off + 1)] ?? cutShort(b));
    case Tag.Date: out.v = new BuiltinDate(readF64(b, off + 1)); return off + 9;
    case Tag.True: out.v = true; return off + 1;
    case Tag.False: out.v = false; return off + 1;
    case Tag.Null: out.v = null; return off + 1;
    case Tag.String: {
      const n = readU32(b, off + 1);
      out.v = readUtf8(b, off + 5, off + 5 + n);
      return off + 5 + n;
    }
    default: out.v = undefined; return off + 1;
  }
}

/** The values of an object of shape `shape`, from `off`: the object is out.v. */
function getMembers(b: Uint8Array, off: number, out: Reading, moved: ArrayBuffer[] | undefined, shape: ReadShape): number {
  const { keys, define } = shape;
  const o: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    off = get(b, off, out, moved);
    if (define && k in o) defineOwn(o, k, out.v);
    else o[k] = out.v;
  }
  out.v = o;
  return off;
}

/**
 * Decodes what the encoders here wrote, starting at b[0]; `moved` are the
 * buffers that moved with it, in its index order.
 */
export function decodeFast(b: Uint8Array, moved?: ArrayBuffer[]): unknown {
  const cell: Reading = { v: undefined, shapes: undefined };
  if (b[0] === FAST_ONE) {
    checkEnd(get(b, 1, cell, moved), b);
    return cell.v;
  }
  const n = b[1]!;
  const list = new Array<unknown>(n);
  let off = 2;
  for (let i = 0; i < n; i++) {
    off = get(b, off, cell, moved);
    list[i] = cell.v;
  }
  checkEnd(off, b);
  return list;
}

/**
 * The reader checks no bound per value (a read past the end gives
 * undefined, which the number readers turn into 0 or NaN): once per
 * payload, it checks that it ended within its bytes, so that a payload cut
 * short (a framing bug of ours) throws rather than decoding to garbage.
 * (NaN, from a length read past the end, fails the test too.)
 */
function checkEnd(end: number, b: Uint8Array): void {
  if (!(end <= b.length)) cutShort(b);
}

/**
 * The same failure, where the walk cannot go on: an index (of a moved
 * buffer, of a shape) cut short reads as NaN, which names nothing.
 */
function cutShort(b: Uint8Array): never {
  throw new RangeError(`reactor-threads: a payload of ${b.length} bytes ended early (its values need more): a framing bug`);
}
