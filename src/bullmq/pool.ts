// BullMQThreadPool: a pool whose threads are other machines. Each call is
// a BullMQ job; workers (serve.ts) run it on their own thread pools, and
// its outcome comes back as the job's completed or failed event. It has
// Twisted's pool methods, so deferToThreadPool(reactor, pool, f, ...args)
// and its .with(options) work on it as on a local pool.
//
// Nothing is lost: a call settles exactly once, from the first of its
// job's event, a check of its job (an event missed while the connection
// was down), its signal, its queue timeout, the loss of its job (the
// server restarted without persistence) and stop(). Finished jobs stay a
// bounded while (keepFinished) so that a check can still read them.
// Caller's thread (the pool's owner). Tests: test/bullmq-*.ts.
import { EventEmitter } from 'node:events';
import { inScope } from '../base/async-scope.js';
import { randomBytes } from 'node:crypto';
import type { ConnectionOptions, JobsOptions, Queue, QueueEvents, QueueEventsListener, QueueEventsProducer } from 'bullmq';
import {
  CancelledError, JobLostError, PayloadTooLargeError, PoolStoppedError, RemoteError, TaskTimeoutError, ThreadDiedError,
} from '../errors/errors.js';
import { emitFromBookkeeping, reportError } from '../errors/report.js';
import type { AnyFunction, TaskFunction } from '../base/public/functions.js';
import type { CallOptions } from '../base/public/calls.js';
import { checkOptions, checkTimeout, refuseOptions, REMOTE_POOL_OPTIONS, stopTimeout } from '../pool/call-options.js';
import type { OnResult, StopOptions } from '../base/public/pool.js';
import { bullmq } from './bullmq-module.js';
import { keyToPortable, PortableResolver } from './portable.js';
import { portableFunction } from './remote-functions.js';
import {
  decodeFailure, decodeResult, encodeRemote, failureData, jsonText, WIRE_VERSION, type JobCall,
} from './remote-codec.js';
import { CANCEL_EVENT, controlQueueName } from './control.js';
import { bounded, endClients, refusedCredentials } from './connections.js';
import { followReadPosition, STREAM_END_COMMAND, STREAM_END_LUA, streamIdAtLeast } from './event-stream.js';

/** The per-call options a remote pool honours (deferToThreadPool.with()): all but affinity. */
export type RemoteCallOptions = Omit<CallOptions, 'callerStack' | 'affinity'>;

export interface BullMQThreadPoolOptions {
  /** The queue's name; its workers serve the same name (serveBullMQ). */
  queueName: string;
  /** How to reach Redis: host, port, password, username, tls, db (as ioredis takes them), or a client. */
  connection: ConnectionOptions;
  /** The queue's key prefix in Redis (BullMQ's `prefix`). Default 'bull'. */
  prefix?: string;
  /**
   * The app root: a function's module is named by its path relative to
   * this folder (or by its package), and workers find it under their own
   * root. Default: process.cwd().
   */
  root?: string;
  /** The largest encoded arguments a call may send (results are bounded by each worker's own maxPayloadBytes). Default 1 MiB. */
  maxPayloadBytes?: number;
  /** Defaults for every call: attempts (default 1) and backoff. A call's own options win. */
  attempts?: number;
  backoff?: RemoteCallOptions['backoff'];
  /**
   * How long a finished job stays in Redis, so that a caller that missed
   * its event can still read its outcome: `age` in seconds (default 3600)
   * and at most `count` jobs (default 10,000), finished or failed.
   */
  keepFinished?: { age?: number; count?: number };
  /**
   * Milliseconds between checks for calls whose job ended while this
   * pool did not hear its event, and for jobs lost with the server's data
   * (a restart without persistence). Default 2000.
   */
  checkInterval?: number;
  /** flattenInstances for every call (see CallOptions). Default false. */
  flattenInstances?: boolean;
}

export interface BullMQPoolStats {
  /** Calls made and not settled (sent, or waiting to be). */
  pending: number;
  /**
   * Of those, the calls whose job Redis has not acknowledged yet: waiting
   * for start(), being added, or sent again once a lost connection is back.
   */
  unsent: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Calls whose job was lost (JobLostError). */
  lost: number;
}

interface PendingCall {
  readonly settle: (ok: boolean, value: unknown) => void;
  readonly since: number;
  /** Set once its job was added; checks look only at these. */
  added: boolean;
  checkedAt: number;
  cleanup?: () => void;
}

const DEFAULT_LIMIT = 1024 * 1024;
/** The states of a job no worker took yet. */
const WAITING_STATES = new Set<string>(['waiting', 'prioritized', 'delayed', 'waiting-children']);
/** How long a batch of jobs waits to be sent again after the connection dropped. */
const RESEND_MS = 500;
/** How many checkIntervals a call waits for its check while outcomes are being heard (see #check). */
const FLOWING_WAIT = 5;
/** Calls whose jobs one check reads (in one burst of pipelined reads). */
const CHECK_BATCH = 1000;
/** Jobs per addBulk: one MULTI of this many stays well under Redis's limits and keeps each round trip short. */
const ADD_BULK = 500;

/** A Lua command: refreshes a key's TTL if the key exists; 1 if it did. */
const REFRESH_COMMAND = 'reactorThreadsRefresh';
const REFRESH_LUA = "return redis.call('EXPIRE', KEYS[1], ARGV[1])";
/** The Lua commands each client knows (#runScript). */
const scripted = new WeakMap<object, Set<string>>();

/** The event a pool writes to its queue's events to learn that it reads them (#listening). */
const HELLO_EVENT = 'reactor-threads:hello';
interface HelloListener extends QueueEventsListener {
  [HELLO_EVENT]: (args: { token?: string }) => void;
}

export class BullMQThreadPool extends EventEmitter {
  readonly queueName: string;
  readonly #connection: ConnectionOptions;
  /** A refusal of the credentials was warned of (no 'error' listener). */
  #saidRefused = false;
  readonly #prefix: string | undefined;
  readonly #root: string;
  readonly #limit: number;
  readonly #defaults: RemoteCallOptions;
  readonly #keep: { age: number; count: number };
  readonly #checkInterval: number;
  readonly #flatten: boolean;
  readonly #local: PortableResolver;
  readonly #localKey = (key: string): string => this.#local.key(key);
  /**
   * Job ids: this prefix (unique per pool: 48 random bits) and a count. Short: a job's id is in each of
   * its keys, events and commands, a dozen times a job.
   */
  readonly #idPrefix = `rt${randomBytes(6).toString('base64url')}.`;
  #nextId = 0;
  readonly #pending = new Map<string, PendingCall>();
  #outgoing: { name: string; data: JobCall; opts: JobsOptions }[] = [];
  #queue: Queue | undefined;
  #events: QueueEvents | undefined;
  #control: QueueEventsProducer | undefined;
  #ready: Promise<void> | undefined;
  /** Opened by start() (or stop()): calls made before it wait for it, as on a ThreadPool. */
  readonly #started: Promise<void>;
  #openStart!: () => void;
  #timer: NodeJS.Timeout | undefined;
  /** The token of this pool's liveness key: gone means the server lost its data. */
  #epoch: string | undefined;
  #stopped = false;
  /** stop()'s Promise, once it was called. */
  #stopping: Promise<void> | undefined;
  /** stop({ drain: true }) waiting for no call to be pending (not an event: a listener of the user's could throw in a settle). */
  readonly #idleWaiters: (() => void)[] = [];
  #checking = false;
  /** When this pool's events last gave it a job's outcome (any caller's): while they flow, checks wait longer. */
  #heardAt = 0;
  /** The newest event id this pool's events have delivered ('' before the first); set by #connect. */
  #eventsRead: () => string = () => '';
  /** Set once the events are no longer read (closed, or BullMQ's reader ended on an error). */
  #eventsEnded = false;
  /**
   * Calls whose job a check found gone from Redis, and the end of the
   * events stream then: lost unless its event comes before the pool reads
   * past that end (#loseUnheard).
   */
  readonly #gone = new Map<string, string>();
  #counts = { completed: 0, failed: 0, cancelled: 0, lost: 0 };

  constructor(options: BullMQThreadPoolOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError('BullMQThreadPool(options): options must be an object');
    const { queueName, connection } = options;
    if (typeof queueName !== 'string' || queueName === '' || queueName.includes(':')) {
      throw new TypeError('options.queueName must be a non-empty string without ":"');
    }
    if (typeof connection !== 'object' || connection === null) throw new TypeError('options.connection must be an object');
    this.queueName = queueName;
    this.#connection = connection;
    this.#prefix = options.prefix;
    this.#root = options.root ?? process.cwd();
    this.#limit = positive(options.maxPayloadBytes, 'maxPayloadBytes') ?? DEFAULT_LIMIT;
    this.#defaults = checkOptions({ attempts: options.attempts, backoff: options.backoff });
    this.#keep = {
      age: positive(options.keepFinished?.age, 'keepFinished.age') ?? 3600,
      count: positive(options.keepFinished?.count, 'keepFinished.count') ?? 10_000,
    };
    if (options.checkInterval !== undefined) checkTimeout('options.checkInterval', options.checkInterval);
    this.#checkInterval = options.checkInterval ?? 2000;
    this.#flatten = options.flattenInstances ?? false;
    this.#local = new PortableResolver(this.#root);
    this.#started = new Promise((resolve) => { this.#openStart = resolve; });
  }

  /** Connects to the queue. Calls made before start() wait for it. */
  start(): void {
    if (this.#stopped) throw new PoolStoppedError('this BullMQThreadPool was stopped: make a new one');
    this.#ready ??= this.#connect();
    // (A failure to connect rejects every call; it is theirs to report.)
    this.#ready.catch(() => {});
    this.#openStart();
  }

  get started(): boolean {
    return this.#ready !== undefined;
  }

  async #connect(): Promise<void> {
    const { Queue, QueueEvents, QueueEventsProducer } = bullmq();
    const base = { connection: this.#connection, ...(this.#prefix === undefined ? {} : { prefix: this.#prefix }) };
    this.#queue = new Queue(this.queueName, base);
    this.#events = new QueueEvents(this.queueName, { ...base, autorun: false });
    this.#eventsRead = followReadPosition(this.#events);
    this.#control = new QueueEventsProducer(controlQueueName(this.queueName), base);
    // (ioredis reconnects by itself; a listener keeps its errors from ending the process.)
    const onError = (e: unknown): void => {
      if (this.listenerCount('error') > 0) {
        emitFromBookkeeping(this, 'error', e);
      } else if (refusedCredentials(e) && !this.#saidRefused) {
        // (Calls wait for a connection that never comes: said once, as ioredis says nothing. helper-160.)
        this.#saidRefused = true;
        process.emitWarning(`reactor-threads/bullmq: Redis refused the credentials of pool '${this.queueName}' (${String(e)}): `
          + 'until it accepts them, calls not sent yet wait (or fail, once the pool had connected), and those sent get no outcome',
        { code: 'REACTOR_THREADS_REDIS_AUTH' });
      }
    };
    this.#queue.on('error', onError);
    this.#events.on('error', onError);
    this.#control.on('error', onError);
    this.#events.on('completed', ({ jobId, returnvalue }) => { this.#heardAt = Date.now(); this.#completed(jobId, returnvalue); });
    this.#events.on('failed', ({ jobId, failedReason }) => { this.#heardAt = Date.now(); this.#failed(jobId, failedReason); });
    // Its reading ends when it closes, or for good on an event it cannot parse (BullMQ 6.7 parses each outside its
    // error guard): then only checks settle calls, and that is reported.
    this.#events.run().catch((e: unknown) => this.#report(e, 'the reader of the queue\'s events, whose calls settle by checks from now on'))
      .finally(() => { this.#eventsEnded = true; });
    await Promise.all([this.#queue.waitUntilReady(), this.#events.waitUntilReady(), this.#control.waitUntilReady()]);
    await this.#listening();
    if (this.#stopped) return;
    await this.#markEpoch();
    // (Stopped while it marked: stop() cleared no timer yet to come.)
    if (this.#stopped) return;
    this.#timer = setInterval(() => {
      // (One at a time: while the server is unreachable, a check waits for it.)
      if (this.#checking) return;
      this.#checking = true;
      this.#check().catch((e: unknown) => this.#report(e, 'a check of pending calls')).finally(() => { this.#checking = false; });
    }, this.#checkInterval);
    this.#timer.unref();
  }

  /**
   * Resolves once this pool's QueueEvents reads the queue's events. It is
   * ready before its first read, which starts from the newest event then:
   * the events of a job that ended in between would be missed, and the
   * call would wait for a check. So it waits until it hears an event of
   * its own, written again every 50 ms until one is heard.
   */
  async #listening(): Promise<void> {
    const token = randomBytes(8).toString('hex');
    const client = await this.#queue!.getBackend().client;
    const heard = new Promise<void>((resolve) => {
      const onHello = ({ token: t }: { token?: string }): void => {
        if (t !== token) return;
        this.#events!.off<HelloListener>(HELLO_EVENT, onHello);
        resolve();
      };
      this.#events!.on<HelloListener>(HELLO_EVENT, onHello);
    });
    let done = false;
    void heard.then(() => { done = true; });
    while (!done && !this.#stopped) {
      // (A reader that ended, on an event it cannot parse or a refused CLIENT SETNAME, would never hear it.)
      if (this.#eventsEnded) throw new Error(`the events reader of queue ${this.queueName} ended before it read any event`);
      await client.xadd(this.#queue!.keys.events!, '*', { event: HELLO_EVENT, token }, { MAXLEN: 10_000, approximate: true });
      let retry: NodeJS.Timeout | undefined;
      await Promise.race([heard, new Promise((r) => { retry = setTimeout(r, 50); })]);
      // (Heard: a caller that stops at once must not wait for it at its exit.)
      clearTimeout(retry);
    }
  }

  /**
   * Stops the pool and closes its connections. Calls still pending reject
   * with a PoolStoppedError, and their jobs are removed unless a worker
   * holds them (those run, and their results are dropped); with
   * `{ drain: true }` it waits for every pending call to settle first, up
   * to `timeout` ms (a drain waits for a Redis that is gone, as calls do:
   * helper-160's stop() with Redis down never ended).
   */
  stop(options?: StopOptions): Promise<void> {
    const timeout = stopTimeout(options);
    // A second stop(), from a callback this one runs included, gets the
    // first one's Promise, its options ignored, as on a ThreadPool
    // (changed after 0.1.1: it resolved at once, before the connections
    // were closed).
    // (Begun a microtask later, so that it is set before the callbacks
    // of the calls it rejects run.)
    this.#stopping ??= Promise.resolve().then(() => this.#stop(options?.drain === true, timeout));
    return this.#stopping;
  }

  async #stop(drain: boolean, timeout: number | undefined): Promise<void> {
    // (Before start(), nothing was sent: there is nothing to drain.)
    if (drain && this.#ready) {
      let timer: NodeJS.Timeout | undefined;
      const late = timeout === undefined || timeout === Infinity ? undefined
        : new Promise<void>((resolve) => { timer = setTimeout(resolve, timeout); });
      let ended = false;
      void late?.then(() => { ended = true; });
      while (this.#pending.size > 0 && !ended) {
        const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
        await (late ? Promise.race([idle, late]) : idle);
      }
      clearTimeout(timer);
    }
    this.#stopped = true;
    this.#openStart();
    clearInterval(this.#timer);
    const ids = [...this.#pending.keys()];
    for (const id of ids) this.#settle(id, false, new PoolStoppedError('the BullMQThreadPool was stopped before the call settled'));
    const queue = this.#queue;
    // Each step is bounded: with Redis unreachable, a removal waits for it and a close never ends (BullMQ 6.7's
    // QueueEvents), and stop() must not keep the process alive.
    if (queue) {
      await bounded(Promise.all([...ids.map((id) => queue.remove(id)), this.#dropEpoch()]));
    }
    // (Still connecting, with Redis gone, it would wait for Redis.)
    if (this.#ready) await bounded(this.#ready);
    await Promise.all([this.#events, this.#control, queue].map(async (part) => {
      if (!part) return;
      await bounded(part.close());
      await endClients(part);
    }));
  }


  stats(): BullMQPoolStats {
    let unsent = 0;
    for (const call of this.#pending.values()) if (!call.added) unsent++;
    return { pending: this.#pending.size, unsent, ...this.#counts };
  }

  callInThread<F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): void {
    this.#call({}, (ok, value) => { if (!ok) reportError(this, value, 'callInThread'); }, f, args);
  }

  callInThreadWithCallback<F extends AnyFunction>(
    onResult: OnResult<Awaited<ReturnType<F>>>, f: TaskFunction<F>, ...args: Parameters<F>): void;
  callInThreadWithCallback<F extends AnyFunction>(
    onResult: (success: boolean) => void, f: TaskFunction<F>, ...args: Parameters<F>): void;
  callInThreadWithCallback<F extends AnyFunction>(
    onResult: (success: boolean, result: unknown) => void, f: TaskFunction<F>, ...args: Parameters<F>): void {
    this.callInThreadWithOptions({}, onResult, f, ...args);
  }

  /**
   * As callInThreadWithCallback, with per-call options (what
   * deferToThreadPool.with(options) calls): signal, queueTimeout,
   * runTimeout (enforced by the worker's pool, which can end a thread),
   * flattenInstances, attempts, backoff and priority. Throws a TypeError
   * naming any other option.
   */
  callInThreadWithOptions<F extends AnyFunction>(options: CallOptions, onResult: (success: boolean, result: unknown) => void,
    f: TaskFunction<F>, ...args: Parameters<F>): void {
    if (typeof onResult !== 'function') throw new TypeError('onResult must be a function');
    const checked = checkOptions(options, REMOTE_POOL_OPTIONS);
    refuseOptions({ ...checked, callerStack: checked.callerStack || undefined }, ['affinity', 'callerStack'],
      (them) => `a BullMQThreadPool cannot honour ${them} (its calls run on other machines; callerStack is for deferToThreadPool.with())`);
    // onResult runs in the caller's async context.
    const inCallers = inScope(onResult, 'reactor-threads:BullMQThreadPool.call');
    this.#call(checked, (ok, value) => {
      try { inCallers(ok, value); } catch (e) { reportError(this, e, 'onResult'); }
    }, f, args);
  }

  #call(options: RemoteCallOptions, settle: (ok: boolean, value: unknown) => void, f: unknown, args: readonly unknown[]): void {
    const id = `${this.#idPrefix}${++this.#nextId}`;
    const call: PendingCall = { settle, since: Date.now(), added: false, checkedAt: 0 };
    this.#pending.set(id, call);
    const fail = (e: unknown): void => { this.#settle(id, false, e); };
    if (this.#stopped) { queueMicrotask(() => fail(new PoolStoppedError('the BullMQThreadPool is stopped'))); return; }
    let job: { name: string; data: JobCall };
    try {
      job = this.#encode(f, args, options);
    } catch (e) {
      queueMicrotask(() => fail(e));
      return;
    }
    const { signal } = options;
    if (signal?.aborted) { queueMicrotask(() => fail(new CancelledError(signal.reason))); return; }
    if (signal || options.queueTimeout !== undefined) this.#watch(id, call, options, fail);
    this.#add(id, job.name, job.data, options);
  }

  /** A call's signal and queue timeout, undone when it settles. */
  #watch(id: string, call: PendingCall, options: RemoteCallOptions, fail: (e: unknown) => void): void {
    const { signal } = options;
    const cleanups: (() => void)[] = [];
    if (signal) {
      const onAbort = (): void => {
        if (!this.#settle(id, false, new CancelledError(signal.reason))) return;
        this.#counts.cancelled++;
        this.#withdraw(id);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    if (options.queueTimeout !== undefined) {
      const timeout = options.queueTimeout;
      const timer = setTimeout(() => { this.#queueTimedOut(id, timeout).catch(fail); }, timeout);
      cleanups.push(() => clearTimeout(timer));
    }
    call.cleanup = () => { for (const c of cleanups) c(); };
  }

  /** A call's job: its name (the function's label) and data. Throws what refuses the call. */
  #encode(f: unknown, args: readonly unknown[], options: RemoteCallOptions): { name: string; data: JobCall } {
    const { fn, label } = portableFunction(f, this.#root);
    const flatten = options.flattenInstances ?? this.#flatten;
    let data: JobCall;
    const text = jsonText(args);
    if (text !== undefined) {
      if (text.length > this.#limit) throw new PayloadTooLargeError('the arguments', text.length, this.#limit);
      data = { v: WIRE_VERSION, f: fn, j: text };
    } else {
      const a = encodeRemote(args, 'args', flatten, (key) => keyToPortable(key, this.#root), this.#limit, 'the arguments');
      data = { v: WIRE_VERSION, f: fn, a: a.data, node: process.version };
      if (a.markers) data.x = 1;
    }
    if (options.runTimeout !== undefined || flatten) {
      data.o = {};
      if (options.runTimeout !== undefined) data.o.runTimeout = options.runTimeout;
      if (flatten) data.o.flatten = true;
    }
    return { name: label, data };
  }

  /** Queues call `id`'s job for this turn's addBulk. */
  #add(id: string, name: string, data: JobCall, options: RemoteCallOptions): void {
    const attempts = options.attempts ?? this.#defaults.attempts ?? 1;
    const backoff = options.backoff ?? this.#defaults.backoff;
    const opts: JobsOptions = {
      jobId: id,
      attempts,
      ...(backoff === undefined ? {} : { backoff: typeof backoff === 'number' ? { type: 'fixed', delay: backoff } : backoff }),
      ...(options.priority ? { priority: options.priority } : {}),
      removeOnComplete: this.#keep,
      removeOnFail: this.#keep,
      // (No stackTraceLimit: a worker's failures carry no stack for BullMQ to keep, see serve.ts failure().)
    };
    this.#outgoing.push({ name, data, opts });
    if (this.#outgoing.length === 1) setImmediate(() => { void this.#sendOutgoing(); });
  }

  /**
   * Adds the jobs of the calls made since the last turn, in one round trip
   * per ADD_BULK of them (a burst of calls costs a few round trips, not
   * one each).
   */
  async #sendOutgoing(): Promise<void> {
    const jobs = this.#outgoing;
    this.#outgoing = [];
    try {
      await this.#started;
      await this.#ready;
    } catch (e) {
      for (const job of jobs) this.#settle(job.opts.jobId!, false, e);
      return;
    }
    for (let at = 0; at < jobs.length; at += ADD_BULK) {
      const batch = jobs.slice(at, at + ADD_BULK);
      for (;;) {
        // (Calls settled meanwhile, by their signal, a timeout or stop(), are not sent.)
        const live = batch.filter((job) => this.#pending.has(job.opts.jobId!));
        if (live.length === 0) break;
        try {
          await this.#queue!.addBulk(live);
        } catch (e) {
          // The connection dropped (Redis restarting, or unreachable): send them again once it is back. A job
          // that got there is not added twice: its id is taken.
          if (connectionFailed(e) && !this.#stopped) {
            await new Promise((r) => setTimeout(r, RESEND_MS));
            continue;
          }
          for (const job of live) this.#settle(job.opts.jobId!, false, e);
          break;
        }
        for (const job of live) {
          const id = job.opts.jobId!;
          const call = this.#pending.get(id);
          if (call) call.added = true;
          // Settled while it was being added: its removal may have come first.
          else this.#withdraw(id);
        }
        break;
      }
    }
  }


  /** Settles call `id` once; false when it had settled already. */
  #settle(id: string, ok: boolean, value: unknown): boolean {
    const call = this.#pending.get(id);
    if (!call) return false;
    this.#pending.delete(id);
    call.cleanup?.();
    if (ok) this.#counts.completed++;
    else if (!(value instanceof CancelledError)) this.#counts.failed++;
    call.settle(ok, value);
    if (this.#pending.size === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    return true;
  }

  #completed(id: string, returnvalue: unknown): void {
    if (!this.#pending.has(id)) return;
    let value: unknown;
    try {
      value = decodeResult(returnvalue, this.#localKey);
    } catch (e) {
      this.#settle(id, false, e);
      return;
    }
    this.#settle(id, true, value);
  }

  #failed(id: string, failedReason: string): void {
    if (!this.#pending.has(id)) return;
    this.#settle(id, false, this.#failure(failedReason));
  }

  #failure(reason: string): unknown {
    try {
      const data = failureData(reason);
      if (data !== undefined) return decodeFailure(data, this.#localKey);
    } catch (e) {
      return e;
    }
    // A failure of the queue itself, not of the function.
    if (/stalled more than allowable limit/.test(reason)) {
      return new ThreadDiedError(`the job's workers stopped renewing its lock (they died or hung) too often: ${reason}`, undefined);
    }
    const e = new RemoteError(reason);
    e.remoteClass = 'Error';
    return e;
  }

  /**
   * A cancelled call's job: removed if it waits, else cancelled on the
   * worker that holds it (or, not added yet, by the worker that takes it:
   * workers keep early cancellations a while).
   */
  #withdraw(id: string): void {
    if (!this.#ready) return;
    const work = async (): Promise<void> => {
      await this.#ready;
      const removed = await this.#queue!.remove(id);
      if (removed !== 1) await this.#control!.publishEvent({ eventName: CANCEL_EVENT, jobId: id });
    };
    work().catch((e: unknown) => this.#report(e, 'cancelling a job'));
  }

  async #queueTimedOut(id: string, timeout: number): Promise<void> {
    const call = this.#pending.get(id);
    if (!call) return;
    // Not in Redis yet (not started, or being added: #sendOutgoing removes it again).
    if (!call.added) {
      this.#settle(id, false, new TaskTimeoutError('queue', timeout));
      return;
    }
    // Only a job that still waits times out: one that runs keeps running, and one that ended settles by its
    // outcome (remove() would delete a finished job too). Nor one a worker took already, that waits out its
    // backoff before its next attempt: the README's queueTimeout is for a job no worker took (helper-160: its
    // retries were thrown away).
    const job = await this.#queue!.getJob(id);
    if (!job || job.attemptsStarted > 0 || job.attemptsMade > 0) return;
    if (!WAITING_STATES.has(await job.getState())) return;
    if (await this.#queue!.remove(id) === 1) this.#settle(id, false, new TaskTimeoutError('queue', timeout));
  }

  // ---- checks: events missed, jobs lost ----

  /** Sets this pool's liveness key, which a server that lost its data no longer has. */
  async #markEpoch(): Promise<void> {
    const client = await this.#queue!.getBackend().client;
    // Stopped meanwhile (a check that found the key gone while stop() ran, or #connect): stop()'s DEL went
    // first or is on its way, and a SET now would leave the key behind for its TTL.
    if (this.#stopped) return;
    this.#epoch ??= randomBytes(8).toString('hex');
    await client.set(this.#epochKey(), this.#epoch, { EX: this.#epochTTL() });
  }

  /**
   * Whether the liveness key is still there, refreshing it if so, in one
   * atomic step: a GET then a SET could read the old server and write the
   * new one, and the loss would go unseen.
   */
  async #epochAlive(): Promise<boolean> {
    return await this.#runScript(REFRESH_COMMAND, REFRESH_LUA, [this.#epochKey(), this.#epochTTL()]) === 1;
  }

  /** Runs a Lua command of one key, defining it on the queue's client the first time. */
  async #runScript(name: string, lua: string, args: (string | number)[]): Promise<unknown> {
    const client = await this.#queue!.getBackend().client;
    let known = scripted.get(client);
    if (!known) scripted.set(client, known = new Set());
    if (!known.has(name)) {
      client.defineCommand(name, { numberOfKeys: 1, lua });
      known.add(name);
    }
    return await client.runCommand(name, args);
  }

  async #dropEpoch(): Promise<void> {
    const client = await this.#queue!.getBackend().client;
    await client.del(this.#epochKey());
  }

  #epochKey(): string {
    return `${this.#prefix ?? 'bull'}:${this.queueName}:reactor-threads:pool:${this.#idPrefix}`;
  }

  #epochTTL(): number {
    return Math.ceil(this.#keep.age + this.#checkInterval / 100);
  }

  async #check(): Promise<void> {
    if (this.#stopped) return;
    const alive = await this.#epochAlive();
    if (!alive) await this.#markEpoch();
    if (this.#pending.size === 0) return;
    if (!alive) {
      // The server lost its data (restarted without persistence): the jobs sent before are gone. (Not
      // those sent since it came back: only a job that is not there is lost.)
      for (const [id, call] of [...this.#pending]) {
        if (!call.added || await this.#queue!.getJob(id)) continue;
        this.#lost(id, new JobLostError(id, `job ${id} of queue ${this.queueName} was lost: the Redis server `
          + 'lost its data (restarted without persistence?) before the job finished; it may or may not have run'));
      }
      return;
    }
    // Calls whose job may have ended unheard (an event missed while the
    // connection was down, or trimmed from the events stream before it
    // was read): read together, CHECK_BATCH per check, oldest first. A
    // call is due once it waited a checkInterval; while outcomes are
    // being heard (the events flow, and its own most likely waits in line
    // behind them, or its job does in the queue) FLOWING_WAIT of them:
    // reading every call of a burst that takes over a checkInterval cost
    // a read of a whole job each, in Redis and here.
    const now = Date.now();
    const wait = this.#checkInterval * (now - this.#heardAt < this.#checkInterval ? FLOWING_WAIT : 1);
    const due = [...this.#pending].filter(([id, c]) => c.added && now - c.checkedAt > this.#checkInterval * 5
      && now - c.since > wait && !this.#gone.has(id)).slice(0, CHECK_BATCH);
    const jobs = await Promise.all(due.map(([id, call]) => {
      call.checkedAt = now;
      return this.#queue!.getJob(id);
    }));
    // (Read after the jobs: an event of a job found gone was written before this end.)
    const streamEnd = jobs.some((job) => !job)
      ? await this.#runScript(STREAM_END_COMMAND, STREAM_END_LUA, [this.#queue!.keys.events!]) as string | null
      : null;
    due.forEach(([id], i) => {
      const job = jobs[i];
      if (!job) {
        this.#gone.set(id, streamEnd ?? '');
      } else if (job.finishedOn && job.returnvalue == null && job.failedReason) {
        this.#failed(id, job.failedReason);
      } else if (job.finishedOn) {
        // Completed (a worker's result is never null), perhaps after failed
        // attempts, whose last failedReason BullMQ keeps beside it: read
        // first, it rejected a call whose retry succeeded (helper-160).
        this.#completed(id, job.returnvalue);
      }
    });
    this.#loseUnheard();
  }

  /**
   * Fails the calls whose job was found gone once this pool's events have
   * been read up to where the stream ended then, and the job's event was
   * not among them (it would have settled the call). With no event in the
   * stream then, at once; and at once when the events are no longer read
   * (BullMQ's reader ends for good on an event it cannot parse): nothing
   * would settle them then.
   */
  #loseUnheard(): void {
    const read = this.#eventsEnded ? undefined : this.#eventsRead();
    for (const [id, end] of this.#gone) {
      if (!this.#pending.has(id)) {
        this.#gone.delete(id);
      } else if (read === undefined || streamIdAtLeast(read, end)) {
        this.#gone.delete(id);
        this.#lost(id, new JobLostError(id, `job ${id} of queue ${this.queueName} is gone before it finished `
          + '(removed by someone else, or kept too briefly: see keepFinished)'));
      }
    }
  }


  #lost(id: string, error: JobLostError): void {
    if (this.#settle(id, false, error)) this.#counts.lost++;
  }

  #report(e: unknown, context: string): void {
    reportError(this, e, `BullMQThreadPool (${context})`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Whether `e` says the connection to Redis failed (the command may be sent again), not that Redis refused it. */
function connectionFailed(e: unknown): boolean {
  const { name, message } = (typeof e === 'object' && e !== null ? e : {}) as { name?: unknown; message?: unknown };
  return name === 'AbortError' || name === 'MaxRetriesPerRequestError'
    || (typeof message === 'string' && /Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Stream isn't writeable/.test(message));
}

function positive(v: number | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`options.${name} must be a finite number > 0`);
  return v;
}
