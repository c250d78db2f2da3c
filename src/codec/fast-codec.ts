// A fast path for the commonest payloads: arguments and results made only
// of numbers, booleans, null, undefined and well-formed strings (written as
// UTF-8, which has no encoding for a lone surrogate: a string holding one
// takes the v8 path, which keeps every UTF-16 code unit). v8.serialize builds a
// serializer object and a Buffer per call, which on tiny tasks costs more
// than the task; this writes into one scratch buffer instead. Anything
// else goes through v8 (src/base/wire.ts). Runs on every thread.
// Tests: test/wire.ts.

// v8's format starts with 0xFF (its version tag), so these never collide.
export const FAST_LIST = 0xfe;
export const FAST_ONE = 0xfd;

const enum Tag { Undefined = 0, Null = 1, True = 2, False = 3, Number = 4, String = 5 }

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

function put(v: unknown, off: number): number {
  switch (typeof v) {
    case 'number': scratch[off] = Tag.Number; scratch.writeDoubleLE(v, off + 1); return off + 9;
    case 'boolean': scratch[off] = v ? Tag.True : Tag.False; return off + 1;
    case 'string': {
      scratch[off] = Tag.String;
      const n = scratch.write(v, off + 5, 'utf8');
      scratch.writeUInt32LE(n, off + 1);
      return off + 5 + n;
    }
    default: scratch[off] = v === null ? Tag.Null : Tag.Undefined; return off + 1;
  }
}

function room(items: number): void {
  // Worst case per item: a tag, a length and 3 UTF-8 bytes per UTF-16 unit.
  const need = 2 + items * (5 + 3 * MAX_STRING);
  if (scratch.length < need) scratch = Buffer.allocUnsafe(need);
}

/**
 * The encoding of `list` (a call's arguments), or undefined when it holds
 * anything but primitives. The bytes live in a shared scratch buffer:
 * use or copy them before the next encode.
 */
export function encodeFastList(list: readonly unknown[]): Buffer | undefined {
  if (list.length > MAX_ITEMS) return undefined;
  for (let i = 0; i < list.length; i++) if (!fits(list[i])) return undefined;
  room(list.length);
  scratch[0] = FAST_LIST;
  scratch[1] = list.length;
  let off = 2;
  for (let i = 0; i < list.length; i++) off = put(list[i], off);
  return scratch.subarray(0, off);
}

/** As encodeFastList, for one value (a result). */
export function encodeFastOne(v: unknown): Buffer | undefined {
  if (!fits(v)) return undefined;
  room(1);
  scratch[0] = FAST_ONE;
  return scratch.subarray(0, put(v, 1));
}

function get(b: Buffer, off: number, out: { v: unknown }): number {
  switch (b[off] as Tag) {
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

/** Decodes what encodeFastList or encodeFastOne wrote, starting at b[0]. */
export function decodeFast(b: Buffer): unknown {
  const cell = { v: undefined as unknown };
  if (b[0] === FAST_ONE) {
    get(b, 1, cell);
    return cell.v;
  }
  const n = b[1]!;
  const list = new Array<unknown>(n);
  let off = 2;
  for (let i = 0; i < n; i++) {
    off = get(b, off, cell);
    list[i] = cell.v;
  }
  return list;
}
