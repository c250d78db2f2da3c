// Tracing (src/base/tracing.ts): the `reactor-threads.task` TracingChannel
// on the caller's side, `reactor-threads.task.run` in the pool thread, the
// trace context a start subscriber sets travelling with the task, and
// OpenTelemetry following a task across the hop. Serial: the channels are
// process-wide.
import test from 'ava';
import { tracingChannel, type TracingChannelSubscribers } from 'node:diagnostics_channel';
import { join } from 'node:path';
import {
  deferToThread, deferToThreadPool, fromModule, reactor, ThreadPool, TASK_CHANNEL, TASK_RUN_CHANNEL,
  type TaskRunTraceMessage, type TaskTraceMessage,
} from 'reactor-threads';

type Event = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
const events: Event[] = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'];

/** Records every event of `name` until the returned function is called. */
function record<M extends object>(name: string, seen: [Event, M][]): () => void {
  const channel = tracingChannel<unknown, M>(name);
  const handlers = Object.fromEntries(events.map((e) => [e, (m: M) => { seen.push([e, { ...m }]); }])) as unknown as TracingChannelSubscribers<M>;
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}

test.serial('a task that fulfils publishes start, end, asyncStart and asyncEnd on the caller\'s side', async (t) => {
  const seen: [Event, TaskTraceMessage][] = [];
  const stop = record(TASK_CHANNEL, seen);
  try {
    t.is(await deferToThread(function triple(x: number) { return x * 3; }, 4), 12);
  } finally { stop(); }
  t.deepEqual(seen.map(([e]) => e), ['start', 'end', 'asyncStart', 'asyncEnd']);
  const [, first] = seen[0]!;
  t.is(first.function, 'triple');
  t.is(first.pool, reactor.getThreadPool().name);
  t.deepEqual(first.args, [4]);
  t.true(seen[1]![1].taskId > 0, 'the task id is known at end');
  t.is(seen[2]![1].result, 12);
});

test.serial('a task that fails publishes error before asyncStart', async (t) => {
  const seen: [Event, TaskTraceMessage][] = [];
  const stop = record(TASK_CHANNEL, seen);
  try {
    await t.throwsAsync(deferToThread(() => { throw new RangeError('no'); }), { instanceOf: RangeError });
  } finally { stop(); }
  t.deepEqual(seen.map(([e]) => e), ['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
  t.true(seen[2]![1].error instanceof RangeError);
});

test.serial('a call refused before it was queued is traced too, with task id 0', async (t) => {
  const seen: [Event, TaskTraceMessage][] = [];
  const stop = record(TASK_CHANNEL, seen);
  const outer = 1;
  try {
    await t.throwsAsync(deferToThread(() => outer));
  } finally { stop(); }
  t.deepEqual(seen.map(([e]) => e), ['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
  t.is(seen[1]![1].taskId, 0);
});

test.serial('onResult runs between asyncStart and asyncEnd', async (t) => {
  const order: string[] = [];
  const channel = tracingChannel<unknown, TaskTraceMessage>(TASK_CHANNEL);
  const handlers = {
    start() {}, end() {}, error() {},
    asyncStart() { order.push('asyncStart'); },
    asyncEnd() { order.push('asyncEnd'); },
  };
  channel.subscribe(handlers);
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  try {
    await new Promise<void>((resolve) => {
      pool.callInThreadWithCallback((ok) => { order.push(`onResult ${ok}`); resolve(); }, (x: number) => x, 1);
    });
  } finally {
    channel.unsubscribe(handlers);
    await pool.stop();
  }
  t.deepEqual(order, ['asyncStart', 'onResult true', 'asyncEnd']);
});

test.serial('the carrier a start subscriber sets reaches the thread\'s run channel; one that is not strings does not', async (t) => {
  const fixture = join(__dirname, '_fixtures', 'run-channel-probe.mjs');
  const pool = new ThreadPool({ maxThreads: 1, preload: [fixture] });
  pool.start();
  const channel = tracingChannel<unknown, TaskTraceMessage>(TASK_CHANNEL);
  let carrier: unknown = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
  const handlers = { start(m: TaskTraceMessage) { m.carrier = carrier as Record<string, string>; }, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
  channel.subscribe(handlers);
  try {
    const probe = fromModule<() => TaskRunTraceMessage[]>(fixture, 'seen');
    await deferToThreadPool(reactor, pool, function sendsCarrier(a: string) { return a; }, 'x');
    // (Beside the other mark a payload may carry: a call's own flattenInstances.)
    class Point { constructor(readonly x: number) {} }
    t.deepEqual(await deferToThreadPool.with({ flattenInstances: true })(reactor, pool,
      function sendsFlattened(p: { x: number }) { return p.x; }, new Point(3)), 3);
    carrier = { traceparent: 7 };
    await deferToThreadPool(reactor, pool, function sendsNumber(a: string) { return a; }, 'y');
    channel.unsubscribe(handlers);
    const seen = await deferToThreadPool(reactor, pool, probe);
    const runs = seen.filter((m) => m.function.startsWith('sends'));
    const sent = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    t.deepEqual(runs.map((m) => [m.function, m.carrier, m.args, m.result]), [
      ['sendsCarrier', sent, ['x'], 'x'],
      ['sendsFlattened', sent, [{ x: 3 }], 3],
      ['sendsNumber', undefined, ['y'], 'y'],
    ]);
  } finally {
    channel.unsubscribe(handlers);
    await pool.stop();
  }
});

test.serial('a carrier that throws when read is dropped: the call runs, and rejects or resolves, never throws', async (t) => {
  const channel = tracingChannel<unknown, TaskTraceMessage>(TASK_CHANNEL);
  const handlers = {
    start(m: TaskTraceMessage) {
      m.carrier = Object.defineProperty({}, 'traceparent', { enumerable: true, get() { throw new Error('getter'); } });
    },
    end() {}, asyncStart() {}, asyncEnd() {}, error() {},
  };
  channel.subscribe(handlers);
  try {
    let call: Promise<number> | undefined;
    t.notThrows(() => { call = deferToThread((x: number) => x + 1, 1); });
    t.is(await call, 2);
  } finally {
    channel.unsubscribe(handlers);
  }
});

test.serial('with OpenTelemetry, the thread\'s span is the child of the caller\'s, and active in the task', async (t) => {
  const { setupOtel } = await import('./_fixtures/otel-setup.mjs');
  const { activeSpan, finishedSpans } = await import('./_fixtures/otel-tasks.mjs');
  const { propagation, context } = await import('@opentelemetry/api');
  const { tracer } = setupOtel();
  const inject = {
    start(m: TaskTraceMessage) {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      m.carrier = carrier;
    },
    end() {}, asyncStart() {}, asyncEnd() {}, error() {},
  };
  const channel = tracingChannel<unknown, TaskTraceMessage>(TASK_CHANNEL);
  channel.subscribe(inject);
  const pool = new ThreadPool({ maxThreads: 1, preload: [join(__dirname, '_fixtures', 'otel-thread.mjs')] });
  pool.start();
  try {
    const { caller, seenInTask } = await tracer.startActiveSpan('caller', async (span) => {
      const seenInTask = await deferToThreadPool(reactor, pool, activeSpan);
      span.end();
      return { caller: span.spanContext(), seenInTask };
    });
    channel.unsubscribe(inject);
    const spans = await deferToThreadPool(reactor, pool, finishedSpans);
    const run = spans.find((s) => s.name === 'run activeSpan');
    t.truthy(run, JSON.stringify(spans));
    t.is(run!.traceId, caller.traceId, 'one trace');
    t.is(run!.parentSpanId, caller.spanId, 'the thread\'s span is the caller\'s child');
    t.deepEqual(seenInTask, { traceId: caller.traceId, spanId: run!.spanId }, 'the task ran in its span, after an await too');
  } finally {
    channel.unsubscribe(inject);
    await pool.stop();
  }
});
