// The built-in views of an ArrayBuffer, in one list: the encodings name a
// view by its index here (codec.ts's moved views, fast-codec.ts's Moved
// tag) and shared memory's markers by its name (values.ts). Any thread.
// Tests: test/moved-buffers.ts, test/shared-memory.ts.

/** The built-in view types. Their order is part of the wire format: append only. */
const VIEW_TYPES: readonly Function[] = [
  Buffer, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
  Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
];

/**
 * The index of the built-in view type that `view` is, as structured clone
 * sees it: a subclass of one counts as that one (a Buffer as a Buffer).
 */
export function viewTypeIndex(view: ArrayBufferView): number {
  if (Buffer.isBuffer(view)) return 0;
  for (let p = Object.getPrototypeOf(view) as { constructor?: Function } | null; p; p = Object.getPrototypeOf(p)) {
    const i = p.constructor ? VIEW_TYPES.indexOf(p.constructor) : -1;
    if (i >= 0) return i;
  }
  // (A view is one of them: a typed array or a DataView.)
  return VIEW_TYPES.indexOf(Uint8Array);
}

/** The name of the view type at `index` (undefined: no such type). */
export function viewTypeName(index: number): string | undefined {
  return VIEW_TYPES[index]?.name;
}

/** The index of the view type named `name`, -1 if none is. */
export function viewTypeNamed(name: string): number {
  return VIEW_TYPES.findIndex((C) => C.name === name);
}

/**
 * A view of the type at `index` over `buffer`: `bytes` bytes from
 * `offset`, the whole buffer when they are omitted. Throws a TypeError
 * for an index no type has (a payload written by a newer version).
 */
export function makeView(index: number, buffer: ArrayBufferLike, offset = 0, bytes = buffer.byteLength - offset): ArrayBufferView {
  const Ctor = VIEW_TYPES[index];
  if (!Ctor) throw new TypeError(`reactor-threads: unknown view type ${index}`);
  if (Ctor === Buffer) return Buffer.from(buffer, offset, bytes);
  if (Ctor === DataView) return new DataView(buffer, offset, bytes);
  const per = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  return new (Ctor as Uint8ArrayConstructor)(buffer, offset, bytes / per);
}
