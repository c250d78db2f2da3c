// A fast path for the commonest payloads: arguments and results made only
// of numbers, booleans, null, undefined and well-formed strings (written as
// UTF-8, which has no encoding for a lone surrogate: a string holding one
// takes the v8 path, which keeps every UTF-16 code unit), and whole
// buffers moved with transfer() (an ArrayBuffer, or a view of all of one:
// the heavy-work case, where a serializer object per call shows). v8.serialize builds a
// serializer object and a Buffer per call, which on tiny tasks costs more
// than the task; this writes into one scratch buffer instead. Anything
// else goes through v8 (src/base/wire.ts). Runs on every thread.
// Tests: test/wire.ts.
import { makeView, viewTypeIndex } from './view-types.js';

// v8's format starts with 0xFF (its version tag), so these never collide.
export const FAST_LIST = 0xfe;
export const FAST_ONE = 0xfd;

const enum Tag { Undefined = 0, Null = 1, True = 2, False = 3, Number = 4, String = 5, Moved = 6 }

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
  bytes: Buffer;
  transfers: ArrayBuffer[] | undefined;
}

const MAX_STRING = 1024;
const MAX_ITEMS = 255;
let scratch = Buffer.allocUnsafe(4096);

/** String.prototype.isWellFormed (ES2024, Node 20): no lone surrogate. One-byte strings answer at once. */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function fits(v: unknown): boolean {
  const t = typeof v;
  return t === 'number' || t === 'boolean' || v === null || v === undefined
    || (t === 'string' && (v as string).length <= MAX_STRING && isWellFormed(v as string));
}

function put(b: Buffer, v: unknown, off: number): number {
  switch (typeof v) {
    case 'number': b[off] = Tag.Number; b.writeDoubleLE(v, off + 1); return off + 9;
    case 'boolean': b[off] = v ? Tag.True : Tag.False; return off + 1;
    case 'string': {
      b[off] = Tag.String;
      const n = b.write(v, off + 5, 'utf8');
      b.writeUInt32LE(n, off + 1);
      return off + 5 + n;
    }
    default: b[off] = v === null ? Tag.Null : Tag.Undefined; return off + 1;
  }
}

function room(items: number): void {
  // Worst case per item: a tag, a length and 3 UTF-8 bytes per UTF-16 unit.
  const need = 2 + items * (5 + 3 * MAX_STRING);
  if (scratch.length < need) scratch = Buffer.allocUnsafe(need);
}

/** How a moved value is viewed: the whole buffer, or its view type. */
function movedKind(v: unknown, ab: ArrayBuffer): number {
  if (v === ab) return WHOLE_BUFFER;
  return viewTypeIndex(v as ArrayBufferView);
}

/**
 * As encodeFastList, for a list that holds moved whole buffers too
 * (`movableOf` finds them), or undefined. The bytes live in the shared
 * scratch buffer.
 */
export function encodeFastMoving(list: readonly unknown[], movableOf: MovableOf): FastEncoded | undefined {
  if (list.length > MAX_ITEMS) return undefined;
  let moved: ArrayBuffer[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (fits(v)) continue;
    const ab = movableOf(v);
    if (!ab) return undefined;
    if (!(moved ??= []).includes(ab)) moved.push(ab);
  }
  room(list.length);
  scratch[0] = FAST_LIST;
  scratch[1] = list.length;
  let off = 2;
  for (let i = 0; i < list.length; i++) off = putMoving(list[i], off, moved, movableOf);
  return { bytes: scratch.subarray(0, off), transfers: moved };
}

/** As encodeFastMoving, for one value (a result). */
export function encodeFastMovingOne(v: unknown, movableOf: MovableOf): FastEncoded | undefined {
  const ab = movableOf(v);
  if (!ab) return undefined;
  room(1);
  scratch[0] = FAST_ONE;
  return { bytes: scratch.subarray(0, putMoving(v, 1, [ab], movableOf)), transfers: [ab] };
}

function putMoving(v: unknown, off: number, moved: ArrayBuffer[] | undefined, movableOf: MovableOf): number {
  const ab = moved && typeof v === 'object' && v !== null ? movableOf(v) : undefined;
  if (!ab) return put(scratch, v, off);
  scratch[off] = Tag.Moved;
  scratch[off + 1] = movedKind(v, ab);
  scratch.writeUInt32LE(moved!.indexOf(ab), off + 2);
  return off + 6;
}

/**
 * The encoding of `list` (a call's arguments), or undefined when it holds
 * anything but primitives. The bytes live in a shared scratch buffer:
 * use or copy them before the next encode.
 */
export function encodeFastList(list: readonly unknown[]): Buffer | undefined {
  if (fastListBound(list) < 0) return undefined;
  room(list.length);
  return scratch.subarray(0, writeFastList(list, scratch, 0));
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
 * Writes the encoding of `list` into `b` at `at`, where fastListBound(list)
 * bytes are free (it must not be -1); returns where it ends.
 * (A pool's staged submissions are written straight into their batch.)
 */
export function writeFastList(list: readonly unknown[], b: Buffer, at: number): number {
  b[at] = FAST_LIST;
  b[at + 1] = list.length;
  let off = at + 2;
  for (let i = 0; i < list.length; i++) off = put(b, list[i], off);
  return off;
}

/** As encodeFastList, for one value (a result). */
export function encodeFastOne(v: unknown): Buffer | undefined {
  if (!fits(v)) return undefined;
  room(1);
  scratch[0] = FAST_ONE;
  return scratch.subarray(0, put(scratch, v, 1));
}

function get(b: Buffer, off: number, out: { v: unknown }, moved: ArrayBuffer[] | undefined): number {
  switch (b[off] as Tag) {
    case Tag.Moved: {
      const kind = b[off + 1]!;
      const ab = moved![b.readUInt32LE(off + 2)]!;
      out.v = kind === WHOLE_BUFFER ? ab : makeView(kind, ab);
      return off + 6;
    }
    case Tag.Number: out.v = b.readDoubleLE(off + 1); return off + 9;
    case Tag.True: out.v = true; return off + 1;
    case Tag.False: out.v = false; return off + 1;
    case Tag.Null: out.v = null; return off + 1;
    case Tag.String: {
      const n = b.readUInt32LE(off + 1);
      out.v = b.toString('utf8', off + 5, off + 5 + n);
      return off + 5 + n;
    }
    default: out.v = undefined; return off + 1;
  }
}

/**
 * Decodes what the encoders here wrote, starting at b[0]; `moved` are the
 * buffers that moved with it, in its index order.
 */
export function decodeFast(b: Buffer, moved?: ArrayBuffer[]): unknown {
  const cell = { v: undefined as unknown };
  if (b[0] === FAST_ONE) {
    get(b, 1, cell, moved);
    return cell.v;
  }
  const n = b[1]!;
  const list = new Array<unknown>(n);
  let off = 2;
  for (let i = 0; i < n; i++) {
    off = get(b, off, cell, moved);
    list[i] = cell.v;
  }
  return list;
}
