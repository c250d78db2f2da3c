// Tasks that report what OpenTelemetry sees in a pool thread set up by
// otel-thread.mts.
import { trace } from '@opentelemetry/api';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { threadable } from 'reactor-threads';
import type { SpanFacts } from './otel-setup.mjs';

/** The span active in the task after an await: the run's own, if the context was restored. */
export const activeSpan = threadable(async function activeSpan(): Promise<{ traceId: string; spanId: string } | null> {
  await new Promise((r) => setTimeout(r, 5));
  const span = trace.getActiveSpan();
  return span ? { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId } : null;
});

export const finishedSpans = threadable(function finishedSpans(): SpanFacts[] {
  const exporter = (globalThis as { otelExporter?: InMemorySpanExporter }).otelExporter;
  return (exporter?.getFinishedSpans() ?? []).map((s) => ({
    name: s.name, traceId: s.spanContext().traceId, spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId,
  }));
});
