// A preload (a pool's execArgv --require) that prefixes each line a pool
// thread writes to its stdout with `[t] `, by patching write() before the
// library wraps it: what the stream holds is not what write() was given.
import { isMainThread } from 'node:worker_threads';

if (!isMainThread) {
  const write = process.stdout.write;
  process.stdout.write = function prefixed(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    return Reflect.apply(write, this, [typeof chunk === 'string' ? `[t] ${chunk}` : chunk, ...rest]) as boolean;
  } as typeof process.stdout.write;
}
