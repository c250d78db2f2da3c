// ThreadPool's options: their defaults and their validation at the public
// edge (a TypeError or RangeError that names the option); their type,
// ThreadPoolOptions, is public (src/base/public/pool.ts). Owner thread.
// Tests: test/threadpool-options.ts, test/threadpool-sizing.ts.
import { availableParallelism } from 'node:os';
import type { AnyFunction, TaskFunction } from '../base/public/functions.js';
import type { ResourceLimits, ThreadPoolOptions } from '../base/public/pool.js';
import { userCallerURL } from '../identity/specifiers.js';
import { loaderPreloads, userPreloads } from './preloads.js';
import { checkTimeout } from './call-options.js';
import type { ThreadPreload } from '../base/pool-thread-data.js';

export interface ResolvedOptions {
  min: number;
  max: number;
  name: string;
  idleTimeout: number;
  concurrency: number;
  starvationTimeout: number;
  cancelGrace: number;
  maxQueue: number;
  onThreadStart: TaskFunction<AnyFunction> | undefined;
  onThreadExit: TaskFunction<AnyFunction> | undefined;
  maxTasksPerThread: number;
  maxHeapPerThread: number;
  resourceLimits: ResourceLimits | undefined;
  env: Record<string, string | undefined> | undefined;
  execArgv: string[] | undefined;
  /** What each thread imports first: `preload`, then the hooks of this process's loaders it must register itself. */
  preloads: ThreadPreload[];
  flattenInstances: boolean;
}

/** Every option: one not here (a typo, another pool's) is refused, not ignored. */
const optionNames: Record<keyof ThreadPoolOptions, true> = {
  minThreads: true, maxThreads: true, name: true, idleTimeout: true, concurrentTasksPerThread: true,
  starvationTimeout: true, cancelGrace: true, maxQueue: true, onThreadStart: true, onThreadExit: true,
  maxTasksPerThread: true, maxHeapPerThread: true, resourceLimits: true, env: true, execArgv: true, preload: true,
  flattenInstances: true,
};

function refuseUnknown(o: object): void {
  const unknown = Object.keys(o).filter((k) => !Object.hasOwn(optionNames, k));
  if (unknown.length === 0) return;
  // piscina's and tinypool's pools run one worker file; users of those
  // reach for it first.
  const advice = unknown.includes('filename')
    ? 'reactor-threads needs no worker file: pass the functions themselves (threadable() functions, '
      + 'fromModule() references) to the pool\'s methods, as in pool.callInThread(f, ...args)'
    : `the options are ${Object.keys(optionNames).join(', ')}`;
  throw new TypeError(`ThreadPool: unknown option${unknown.length > 1 ? 's' : ''} `
    + `${unknown.map((k) => `'${k}'`).join(', ')}; ${advice}`);
}

function count(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer, got ${typeof v === 'number' ? v : typeof v}`);
  }
  if (v < min) throw new RangeError(`${name} must be at least ${min}, got ${v}`);
  return v;
}

export function resolveOptions(o: ThreadPoolOptions = {}): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('ThreadPool options must be an object');
  refuseUnknown(o);
  const min = o.minThreads === undefined ? 0 : count('minThreads', o.minThreads, 0);
  const max = o.maxThreads === undefined ? Math.max(availableParallelism(), min, 1) : count('maxThreads', o.maxThreads, 1);
  if (min > max) throw new RangeError(`minThreads (${min}) must not exceed maxThreads (${max})`);
  if (o.name !== undefined && typeof o.name !== 'string') throw new TypeError('name must be a string');
  // (Each ends up in a timer: a finite value above MAX_TIMER_MS would fire at once.)
  if (o.idleTimeout !== undefined) checkTimeout('idleTimeout', o.idleTimeout, 'keeps idle threads');
  if (o.starvationTimeout !== undefined) checkTimeout('starvationTimeout', o.starvationTimeout, 'never');
  if (o.cancelGrace !== undefined) checkTimeout('cancelGrace', o.cancelGrace, 'never terminate');
  if (o.execArgv !== undefined && (!Array.isArray(o.execArgv) || o.execArgv.some((a) => typeof a !== 'string'))) {
    throw new TypeError('execArgv must be an array of strings');
  }
  if (o.preload !== undefined && (!Array.isArray(o.preload) || o.preload.some((a) => typeof a !== 'string' || a === ''))) {
    throw new TypeError('preload must be an array of module specifiers (non-empty strings)');
  }
  if (o.flattenInstances !== undefined && typeof o.flattenInstances !== 'boolean') {
    throw new TypeError('flattenInstances must be a boolean');
  }
  return {
    min, max,
    name: o.name ?? 'ThreadPool',
    idleTimeout: o.idleTimeout ?? 10_000,
    concurrency: o.concurrentTasksPerThread === undefined ? 8
      : count('concurrentTasksPerThread', o.concurrentTasksPerThread, 1),
    starvationTimeout: o.starvationTimeout ?? 1000,
    cancelGrace: o.cancelGrace ?? 1000,
    maxQueue: o.maxQueue === undefined ? 0xffffffff : count('maxQueue', o.maxQueue, 1),
    onThreadStart: o.onThreadStart as TaskFunction<AnyFunction> | undefined,
    onThreadExit: o.onThreadExit as TaskFunction<AnyFunction> | undefined,
    maxTasksPerThread: o.maxTasksPerThread === undefined ? 0 : count('maxTasksPerThread', o.maxTasksPerThread, 1),
    maxHeapPerThread: o.maxHeapPerThread === undefined ? 0 : count('maxHeapPerThread', o.maxHeapPerThread, 1),
    resourceLimits: o.resourceLimits,
    env: o.env,
    execArgv: o.execArgv,
    // The loaders' first: a preload may itself be TypeScript.
    preloads: [
      ...loaderPreloads(o.execArgv),
      ...(o.preload?.length ? userPreloads(o.preload, userCallerURL()) : []),
    ],
    flattenInstances: o.flattenInstances ?? false,
  };
}

/** adjustPoolsize()'s bounds: unspecified ones keep their value. */
export function resolveBounds(min: unknown, max: unknown, current: { min: number; max: number }): { min: number; max: number } {
  const lo = min === undefined ? current.min : count('minThreads', min, 0);
  const hi = max === undefined ? Math.max(current.max, lo) : count('maxThreads', max, 1);
  if (lo > hi) throw new RangeError(`minThreads (${lo}) must not exceed maxThreads (${hi})`);
  return { min: lo, max: hi };
}
