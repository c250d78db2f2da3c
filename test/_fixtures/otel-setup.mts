// OpenTelemetry for one thread: a tracer whose finished spans stay in
// memory, the W3C trace-context propagator, and a context manager on an
// AsyncLocalStorage of our own, so that a diagnostics_channel store can be
// bound to it (TracingChannel's bindStore).
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, propagation, ROOT_CONTEXT, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

class StorageContextManager implements ContextManager {
  constructor(readonly storage: AsyncLocalStorage<Context>) {}
  active(): Context { return this.storage.getStore() ?? ROOT_CONTEXT; }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const f = target as unknown as (...a: unknown[]) => unknown;
    return ((...a: unknown[]) => this.with(ctx, () => f(...a))) as unknown as T;
  }
  enable(): this { return this; }
  disable(): this { return this; }
}

export function setupOtel() {
  const storage = new AsyncLocalStorage<Context>();
  context.setGlobalContextManager(new StorageContextManager(storage));
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  return { tracer: trace.getTracer('reactor-threads-test'), exporter, storage };
}

/** What a test compares of a finished span. */
export interface SpanFacts { name: string; traceId: string; spanId: string; parentSpanId: string | undefined }
