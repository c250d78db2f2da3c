// Type tests, compiled by `npm test` (tsc fails on an unused @ts-expect-error).
import { EventEmitter, once } from 'node:events';
import * as zlib from 'node:zlib';
import {
  callMultipleInThread, currentTask, deferToThread, deferToThreadPool, fromModule, reactor, ThreadPool, transfer,
  type Call, type CallOptions, type OnResult, type StopOptions, type ThreadPoolWithOptions,
} from 'reactor-threads';

const add = (a: number, b: number): number => a + b;
const greet = async (name: string): Promise<string> => `hi ${name}`;

export const sum: Promise<number> = deferToThread(add, 1, 2);
export const hello: Promise<string> = deferToThread(greet, 'x');
// @ts-expect-error a string where f takes a number
deferToThread(add, 1, 'two');
// @ts-expect-error a missing argument
deferToThread(add, 1);
// @ts-expect-error the result is a number, not a string
export const wrong: Promise<string> = deferToThread(add, 1, 2);
// @ts-expect-error an async f unwraps: the result is a string, not a Promise
export const nested: Promise<Promise<string>> = deferToThread(greet, 'x');

const deflate = fromModule<typeof zlib.deflateSync>('node:zlib', 'deflateSync');
export const bytes: Promise<Buffer> = deferToThread(deflate, Buffer.from('x'));
// @ts-expect-error deflateSync takes an input buffer or string
deferToThread(deflate, 42);

const pool = new ThreadPool({ maxThreads: 2 });
export const viaPool: Promise<number> = deferToThreadPool(reactor, pool, add, 1, 2);
export const withSignal: Promise<number> = deferToThread.with({ signal: AbortSignal.timeout(10) })(add, 1, 2);
// @ts-expect-error options are checked
deferToThread.with({ signal: 5 });
pool.callInThreadWithCallback((ok, result) => { void ok; void result; }, add, 1, 2);
// onResult's result is f's, once `ok` says it succeeded.
pool.callInThreadWithCallback((ok, result) => {
  if (ok) {
    const total: number = result;
    // @ts-expect-error add's result is a number
    const text: string = result;
    void total; void text;
  } else {
    // @ts-expect-error a failure carries an error, not add's result
    const total: number = result;
    void total;
  }
}, add, 1, 2);
pool.callInThreadWithCallback((ok) => { void ok; }, add, 1, 2);
pool.callInThreadWithCallback((ok, greeting) => { if (ok) { const text: string = greeting; void text; } }, greet, 'x');
// @ts-expect-error callInThread checks arguments too
pool.callInThread(add, 'a', 'b');

// Per-call options reach any pool that has callInThreadWithOptions: a ThreadPool is one.
export const receivesOptions: ThreadPoolWithOptions = pool;
pool.callInThreadWithOptions({ runTimeout: 100, affinity: 'k' }, (ok, result) => { if (ok) { const n: number = result; void n; } }, add, 1, 2);
// @ts-expect-error callInThreadWithOptions checks arguments too
pool.callInThreadWithOptions({}, (ok) => { void ok; }, add, 1, 'x');
// @ts-expect-error callerStack is the caller's: a pool never receives it
pool.callInThreadWithOptions({ callerStack: true }, (ok) => { void ok; }, add, 1, 2);
const remote: ThreadPoolWithOptions = {
  callInThreadWithCallback(onResult: OnResult<unknown>): void { onResult(true, 0); },
  callInThreadWithOptions(options: CallOptions, onResult: OnResult<unknown>): void { void options; onResult(true, 0); },
};
export const retried: Promise<number> = deferToThreadPool.with({ attempts: 3, backoff: { type: 'exponential', delay: 100 }, priority: 1 })(
  reactor, remote, add, 1, 2);
export const fixedBackoff: CallOptions = { backoff: 250 };
// @ts-expect-error a backoff's type is 'fixed' or 'exponential'
deferToThreadPool.with({ backoff: { type: 'linear', delay: 1 } });
export const many: Promise<void> = callMultipleInThread([[add, [1, 2]], [greet, ['x']], [Date.now], [deflate, [Buffer.from('x')]]]);
// @ts-expect-error each entry's arguments are checked against its own function
callMultipleInThread([[add, [1, 2]], [greet, [1]]]);
// @ts-expect-error so is a module reference's
callMultipleInThread([[deflate, [42]]]);
// @ts-expect-error arguments may be left out only when the function takes none
callMultipleInThread([[add]]);
// @ts-expect-error one argument too many
callMultipleInThread([[greet, ['x', 'y']]]);
// A list built entry by entry, typed Call[], is taken as it is.
const built: Call[] = [];
built.push([add, [1, 2]], [greet, ['x']]);
export const manyBuilt: Promise<void> = callMultipleInThread(built);
export const oneTyped: Call<typeof add> = [add, [1, 2]];
export const moved: Uint8Array = transfer(new Uint8Array(4));

// The public types declare their own EventEmitter and AbortSignal shapes
// (no @types/node needed); with Node's typings they still fit Node's APIs.
export const drained: Promise<unknown[]> = once(pool, 'drain');
export const emitter: EventEmitter = pool;
pool.on('error', (error: Error) => { void error; });
pool.on('error', (error) => { const seen: unknown = error; void seen; });
export const signal: AbortSignal = currentTask().signal;
export async function disposed(): Promise<void> {
  await using scoped = new ThreadPool({ maxThreads: 1 });
  void scoped;
}
const shutdown: StopOptions = { drain: true, timeout: 5_000 };
export const stopped: Promise<void> = pool.stop(shutdown);
// @ts-expect-error a timeout is a number of milliseconds
void pool.stop({ timeout: '5s' });
export class NamedPool extends ThreadPool {
  constructor() { super({ name: 'named' }); }
}
