// How many bytes this thread's stdout and stderr have been given to
// print, counted as the owner counts what arrives from them (Worker
// stdio: src/pool/printed-output.ts), so that the outbox can hold a task's
// result until the owner has its output. A count may fall short (a write
// that bypasses write(): stream.end(chunk)), which only weakens the order;
// it must never exceed what arrives, or a result would wait for bytes that
// never come: so writes the stream refuses are not counted, and strings in
// encodings that may drop characters are measured by converting them.
// Pool thread only. Tests: test/console-order.ts.
import type { Writable } from 'node:stream';

/** Encodings in which Buffer.byteLength of a string is exactly the bytes Buffer.from makes. */
const EXACT_BYTE_LENGTH = new Set(['utf8', 'utf-8', 'latin1', 'binary', 'ascii', 'ucs2', 'ucs-2', 'utf16le', 'utf-16le']);

/** The bytes a chunk written in `encoding` makes (Buffer.from's, which the owner's side receives). */
export function bytesOf(chunk: unknown, encoding: string): number {
  if (typeof chunk === 'string') {
    const e = encoding.toLowerCase();
    return EXACT_BYTE_LENGTH.has(e) ? Buffer.byteLength(chunk, e as BufferEncoding) : Buffer.from(chunk, e as BufferEncoding).length;
  }
  return ArrayBuffer.isView(chunk) ? chunk.byteLength : 0;
}

export class PrintedBytes {
  stdout = 0;
  stderr = 0;

  /** Counts what `process.stdout` and `process.stderr` accept from now on. */
  constructor() {
    this.#count(process.stdout, (n) => { this.stdout += n; });
    this.#count(process.stderr, (n) => { this.stderr += n; });
  }

  /**
   * Wraps the stream's own write (console.log and user code call it; a
   * user's later patch of it wraps this one). An own property on the
   * instance, as a user's patch is.
   */
  #count(stream: Writable, add: (n: number) => void): void {
    const write = stream.write;
    stream.write = function countedWrite(this: Writable, chunk: unknown, ...rest: unknown[]): boolean {
      const open = !this.writableEnded && !this.destroyed;
      const ok = (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
      if (open && !this.destroyed) {
        const encoding = typeof rest[0] === 'string' ? rest[0] : defaultEncodingOf(this);
        try {
          add(bytesOf(chunk, encoding));
        } catch {
          // (An encoding Buffer does not know: the write threw above already.)
        }
      }
      return ok;
    } as Writable['write'];
  }
}

/** The stream's default encoding for strings written without one (setDefaultEncoding). */
function defaultEncodingOf(stream: Writable): string {
  const state = (stream as unknown as { _writableState?: { defaultEncoding?: string } })._writableState;
  return state?.defaultEncoding ?? 'utf8';
}
