// Tasks that look at the memory behind the typed arrays they are given
// (test/copied-views.ts).
import { threadable, transfer } from 'reactor-threads';

/** What a copied Uint8Array argument sees of its memory: [byteLength, byteOffset, its ArrayBuffer's byteLength]. */
export const memoryOf = threadable(function memoryOf(a: Uint8Array): number[] {
  return [a.byteLength, a.byteOffset, a.buffer.byteLength];
});

/** Writes over the whole ArrayBuffer behind its argument, as code that works on `a.buffer` does. */
export const overwriteBuffer = threadable(function overwriteBuffer(a: Uint8Array): number {
  new Uint8Array(a.buffer).fill(0xee);
  return a.byteLength;
});

/** Moves the ArrayBuffer behind its argument back to the caller. */
export const giveBufferBack = threadable(function giveBufferBack(a: Uint8Array): ArrayBuffer {
  return transfer(a.buffer as ArrayBuffer);
});

export const bytesOf = threadable(function bytesOf(a: Uint8Array): number[] {
  return Array.from(a);
});

export const threeBytes = threadable(function threeBytes(x: number): Uint8Array {
  return new Uint8Array([x, x, x]);
});

export const echo = threadable(function echo(x: unknown): unknown {
  return x;
});

/** Each view's class, length and its ArrayBuffer's length, by key. */
export const viewsOf = threadable(function viewsOf(views: Record<string, ArrayBufferView>): Record<string, [string, number, number]> {
  return Object.fromEntries(Object.entries(views).map(([k, v]) => [k, [v.constructor.name, v.byteLength, v.buffer.byteLength]]));
});
