// A pool thread's tracing, loaded with the pool's `preload` option, as an
// APM's instrumentation would be: each task runs in a span that is the
// child of the caller's (its context came in the task's carrier), active
// for the task's whole run, awaits included.
import { tracingChannel } from 'node:diagnostics_channel';
import { propagation, ROOT_CONTEXT, trace, type Span } from '@opentelemetry/api';
import { TASK_RUN_CHANNEL, type TaskRunTraceMessage } from 'reactor-threads';
import { setupOtel } from './otel-setup.mjs';

const { tracer, exporter, storage } = setupOtel();
(globalThis as { otelExporter?: unknown }).otelExporter = exporter;

type Traced = TaskRunTraceMessage & { span?: Span };
const run = tracingChannel<unknown, Traced>(TASK_RUN_CHANNEL);
run.start.bindStore(storage, (m) => {
  const parent = propagation.extract(ROOT_CONTEXT, m.carrier ?? {});
  m.span = tracer.startSpan(`run ${m.function}`, {}, parent);
  return trace.setSpan(parent, m.span);
});
const done = (m: Traced): void => {
  if (m.error) m.span?.recordException(m.error as Error);
  m.span?.end();
};
run.subscribe({
  start() {},
  // A value returned at once is on the message at `end`; a Promise's settles later.
  end(m) { if ('result' in m || 'error' in m) done(m); },
  asyncStart() {},
  asyncEnd(m) { done(m); },
  error() {},
});
