// Per-call options (CallOptions, public in src/base/public/calls.ts): their
// validation at the public edge (.with(), ThreadPool's
// callInThreadWithOptions), a TypeError or RangeError naming the option
// (an unknown one too: blocking calls' options use refuseUnknownOptions),
// and the refusal of those a pool cannot honour, one TypeError naming
// them all. Caller's thread. Tests: test/defer-to-thread-pool.ts,
// test/cancellation.ts, test/flatten-instances.ts.
import type { CallOptions } from '../base/public/calls.js';
import type { StopOptions } from '../base/public/pool.js';

/** BullMQ's PRIORITY_LIMIT (2 ** 21): the lowest priority a job may have. */
export const LOWEST_PRIORITY = 2_097_152;

/**
 * The longest wait Node's timers hold (2 ** 31 - 1 ms, about 24.8 days):
 * setTimeout(f, 3e9) fires after 1 ms, with a TimeoutOverflowWarning. So
 * every option that ends up in a timer is refused above it: a queueTimeout
 * of 3e9 rejected at once, and a runTimeout of 3e9 re-armed its 1 ms timer
 * in a loop, printing hundreds of warnings a second.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Options only a remote pool (reactor-threads/bullmq's) honours. */
export const REMOTE_OPTIONS = ['attempts', 'backoff', 'priority'] as const;

/** Options a pool receives only through a callInThreadWithOptions() method. */
export const POOL_OPTIONS = ['queueTimeout', 'runTimeout', 'affinity', 'flattenInstances', ...REMOTE_OPTIONS] as const;

/** Every per-call option (CallOptions). */
export const CALL_OPTIONS = ['signal', 'callerStack', ...POOL_OPTIONS] as const;

/** The options a local ThreadPool's callInThreadWithOptions() honours. */
export const LOCAL_POOL_OPTIONS = ['signal', 'queueTimeout', 'runTimeout', 'affinity', 'flattenInstances'] as const;

/** The options a remote pool's (reactor-threads/bullmq's) callInThreadWithOptions() honours. */
export const REMOTE_POOL_OPTIONS = ['signal', 'queueTimeout', 'runTimeout', 'flattenInstances', ...REMOTE_OPTIONS] as const;

/**
 * Throws a TypeError naming the first option of `options` (its own and
 * inherited enumerable keys) that is not one of `known`: a misspelt
 * option (`runTimeOut`, or `timeout` where the call's is `runTimeout`)
 * would otherwise do nothing at all, in silence.
 * `instead` names the option meant for a name that belongs to another call.
 * `honoured`: the options the message lists and suggests, where the call
 * takes fewer than it knows (a pool refuses the others by name, with why).
 */
export function refuseUnknownOptions(options: object, known: readonly string[], instead: Readonly<Record<string, string>> = {},
  honoured: readonly string[] = known): void {
  // An inherited option is read as an own one is, so it is checked too; but
  // not what a library added to Object.prototype, or every call would fail.
  for (let o: object | null = options; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Object.keys(o)) {
      if (known.includes(key)) continue;
      // (A near name the pool does not honour is still the one meant: its refusal says why.)
      const meant = meantOption(key, honoured, instead) ?? meantOption(key, known, instead);
      throw new TypeError(`options.${key} is not an option of this call${meant ? ` (did you mean ${meant}?)` : ''}; `
        + `its options are ${honoured.join(', ')}`);
    }
  }
}

/** The option `key` probably stands for: by `instead`, or a known name at most two edits away, case aside. */
function meantOption(key: string, known: readonly string[], instead: Readonly<Record<string, string>>): string | undefined {
  const lower = key.toLowerCase();
  for (const [name, meant] of Object.entries(instead)) if (name.toLowerCase() === lower) return meant;
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const d = editDistance(lower, name.toLowerCase());
    if (d < bestDistance) { best = name; bestDistance = d; }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions), for short names. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    row = next;
  }
  return row[b.length]!;
}

/**
 * Checks `options` (a TypeError or RangeError naming the option) and
 * returns it. `honoured`: the options the pool that takes the call honours,
 * which an unknown option's message lists (the others it refuses by name).
 */
export function checkOptions(options: unknown, honoured: readonly string[] = CALL_OPTIONS): CallOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  // (Blocking calls' `timeout` is deferToThread's runTimeout or queueTimeout: the first is the usual meaning.)
  refuseUnknownOptions(options, CALL_OPTIONS, { timeout: 'runTimeout' }, honoured);
  const { signal } = options as CallOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
  const { callerStack, queueTimeout, runTimeout, affinity } = options as CallOptions;
  if (affinity !== undefined && typeof affinity !== 'string' && typeof affinity !== 'number') {
    throw new TypeError('options.affinity must be a string or a number');
  }
  if (callerStack !== undefined && typeof callerStack !== 'boolean') throw new TypeError('options.callerStack must be a boolean');
  const { flattenInstances } = options as CallOptions;
  if (flattenInstances !== undefined && typeof flattenInstances !== 'boolean') {
    throw new TypeError('options.flattenInstances must be a boolean');
  }
  for (const [name, v] of [['queueTimeout', queueTimeout], ['runTimeout', runTimeout]] as const) {
    if (v !== undefined) checkTimeout(`options.${name}`, v);
  }
  checkRemoteOptions(options as CallOptions);
  return options as CallOptions;
}

/**
 * Throws a RangeError naming `name` unless `ms` is a number of
 * milliseconds > 0 that a timer holds (at most MAX_TIMER_MS); `infinite`
 * names what Infinity means where it is allowed, and 0 is allowed then too.
 */
export function checkTimeout(name: string, ms: unknown, infinite?: string): void {
  if (typeof ms === 'number' && (infinite === undefined ? ms > 0 : ms >= 0)
    && (ms <= MAX_TIMER_MS || (infinite !== undefined && ms === Infinity))) return;
  throw new RangeError(`${name} must be a number of milliseconds ${infinite === undefined ? '> 0' : '>= 0'} and at most `
    + `${MAX_TIMER_MS} (Node's timers hold no more)${infinite === undefined ? '' : `, or Infinity (${infinite})`}`);
}

function checkRemoteOptions({ attempts, backoff, priority }: CallOptions): void {
  if (attempts !== undefined) {
    if (typeof attempts !== 'number') throw new TypeError('options.attempts must be a number');
    if (!Number.isSafeInteger(attempts) || attempts < 1) throw new RangeError('options.attempts must be an integer >= 1');
  }
  if (backoff !== undefined) {
    if (typeof backoff === 'number') {
      checkDelay('options.backoff', backoff);
    } else if (typeof backoff !== 'object' || backoff === null) {
      throw new TypeError('options.backoff must be a number of milliseconds or { type, delay }');
    } else {
      if (backoff.type !== 'fixed' && backoff.type !== 'exponential') {
        throw new TypeError('options.backoff.type must be \'fixed\' or \'exponential\'');
      }
      checkDelay('options.backoff.delay', backoff.delay);
    }
  }
  if (priority !== undefined) {
    if (typeof priority !== 'number') throw new TypeError('options.priority must be a number');
    if (!Number.isInteger(priority) || priority < 0 || priority > LOWEST_PRIORITY) {
      throw new RangeError(`options.priority must be an integer from 0 to ${LOWEST_PRIORITY}`);
    }
  }
}

function checkDelay(name: string, ms: unknown): void {
  if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
    throw new RangeError(`${name} must be a finite number of milliseconds >= 0`);
  }
}

/**
 * Throws one TypeError naming every option of `names` that `options` sets
 * (`options.runTimeout, options.affinity: <why('them')>`); returns if it
 * sets none.
 */
export function refuseOptions(options: CallOptions | undefined, names: readonly (keyof CallOptions)[],
  why: (them: 'it' | 'them') => string): void {
  if (options === undefined) return;
  const given = names.filter((name) => options[name] !== undefined);
  if (given.length === 0) return;
  throw new TypeError(`${given.map((name) => `options.${name}`).join(', ')}: ${why(given.length === 1 ? 'it' : 'them')}`);
}

/** stop()'s options, checked before anything stops: its timeout, if it has one. */
export function stopTimeout(options: StopOptions | undefined): number | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw new TypeError('stop(options): options must be an object');
  if (options.timeout !== undefined) checkTimeout('options.timeout', options.timeout, 'no timeout');
  return options.timeout;
}
