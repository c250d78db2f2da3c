#!/usr/bin/env node
// reactor-threads-worker: serveBullMQ from the command line, for a worker
// machine that runs no code of its own but the modules it allows.
//   reactor-threads-worker --queue jobs --allow ./dist/tasks.js --redis redis://10.0.0.5:6379
// SIGTERM or SIGINT closes it: it takes no more jobs, lets its active
// ones finish (for up to --lock-duration, as serveBullMQ's close()), and
// exits. Worker's main thread. Tests: test/bullmq-bin.ts.
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { serveBullMQ } from './serve.js';

const usage = `usage: reactor-threads-worker --queue NAME --allow MODULE [--allow MODULE \u2026] [options]

  --queue NAME            the queue to serve (a BullMQThreadPool's queueName)
  --allow MODULE          a module whose functions may run here: ./dist/tasks.js,
                          ./dist/tasks/ (a folder), lodash (a package), node:zlib
  --redis URL             redis://[:password@]host:port[/db], or rediss:// for TLS
                          (default: $REDIS_URL, else redis://127.0.0.1:6379)
  --threads N             threads of the local pool (default: the CPU count)
  --concurrency N         jobs taken at once (default: the thread count)
  --root DIR              the app root modules are found under (default: .)
  --prefix PREFIX         the queue's key prefix in Redis (default: bull)
  --max-payload-bytes N   the largest job arguments taken and result sent back
                          (default: 1 MiB)
  --lock-duration MS      BullMQ's job lock, and the longest a close waits for
                          the active jobs (default: 30000)
  --stalled-interval MS   BullMQ's check for jobs of dead workers (default: 30000)
`;

function integer(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  // (Decimal digits only: Number() also reads '0x2', '1e3', ' 2 ' and '0b11'.)
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`--${name} must be an integer >= 1, not ${v}`);
  return n;
}

/** The app root, which must be a folder: a mistyped one left every job refused as not found, the worker serving. */
function folder(name: string, v: string | undefined): string | undefined {
  if (v !== undefined && !statSync(v, { throwIfNoEntry: false })?.isDirectory()) throw new RangeError(`--${name} ${v} is not a folder`);
  return v;
}

/**
 * `url` as it may be printed: its scheme, host, port and database number,
 * and nothing else. Cutting out the credentials by hand missed some: a
 * password with a raw `@` (the first `@` cut), one in the query
 * (`?password=`, which ioredis reads too), and a raw `@` there took the
 * host with it (helper-160, helper-162). A URL that does not parse, or
 * whose path is no database number, is not shown.
 */
function redacted(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '(the --redis URL)';
  }
  const db = /^\/\d*$/.test(u.pathname) && u.pathname !== '/' ? u.pathname : '';
  return `${u.protocol}//${u.host}${db}`;
}

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        queue: { type: 'string' }, allow: { type: 'string', multiple: true }, redis: { type: 'string' },
        threads: { type: 'string' }, concurrency: { type: 'string' }, root: { type: 'string' }, prefix: { type: 'string' },
        'max-payload-bytes': { type: 'string' }, 'lock-duration': { type: 'string' }, 'stalled-interval': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) { process.stdout.write(usage); return; }
  if (!values.queue || !values.allow?.length) {
    process.stderr.write(`--queue and at least one --allow are required\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const url = values.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let server: ReturnType<typeof serveBullMQ>;
  try {
    server = serveBullMQ({
      queueName: values.queue,
      connection: { url },
      allow: values.allow,
      threads: integer('threads', values.threads),
      concurrency: integer('concurrency', values.concurrency),
      root: folder('root', values.root),
      prefix: values.prefix,
      maxPayloadBytes: integer('max-payload-bytes', values['max-payload-bytes']),
      lockDuration: integer('lock-duration', values['lock-duration']),
      stalledInterval: integer('stalled-interval', values['stalled-interval']),
    });
  } catch (e) {
    process.stderr.write(`reactor-threads-worker: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const where = redacted(url);
  server.ready.then(() => {
    process.stdout.write(`reactor-threads-worker: serving ${values.queue} on ${where} (pid ${process.pid})\n`);
  }, (e: unknown) => {
    process.stderr.write(`reactor-threads-worker: cannot serve ${values.queue} on ${where}: ${String(e)}\n`);
    process.exitCode = 1;
    void server.close();
  });
  const close = (): void => {
    process.stdout.write('reactor-threads-worker: closing (active jobs finish first)\n');
    server.close().then(() => {
      process.stdout.write(`reactor-threads-worker: closed ${JSON.stringify(server.stats())}\n`);
    }, (e: unknown) => {
      process.stderr.write(`reactor-threads-worker: close failed: ${String(e)}\n`);
      process.exitCode = 1;
    });
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

main();
