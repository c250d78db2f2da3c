// An application's own helper around deferToThread (test/functions.ts):
// every function it sends comes from this one line.
import { deferToThread } from 'reactor-threads';

export const runTask = <R,>(f: () => R): Promise<Awaited<R>> => deferToThread(f);
