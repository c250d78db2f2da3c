// Sends a plain function whose import is relative to this file (one
// directory below the test files): it must resolve from here, the file
// that made the call, not from the test file or the thread's directory.
import { deferToThread } from 'reactor-threads';

export function tripleFromHere(x: number): Promise<number> {
  return deferToThread(async (n: number) => {
    const { triple } = await import('../tasks-esm.mjs');
    return triple(n);
  }, x);
}
