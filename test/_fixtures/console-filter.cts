// A pool thread's preload (by execArgv --require) that filters its
// stdout: lines starting with "noise" are dropped before they leave. It
// patches write() before the pool's own code runs.
const write = process.stdout.write;
process.stdout.write = function filtered(this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
  if (typeof chunk === 'string' && chunk.startsWith('noise')) return true;
  return (write as (...a: unknown[]) => boolean).apply(this, [chunk, ...rest]);
} as typeof process.stdout.write;
