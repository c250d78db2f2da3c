// callMultipleInThread: one dispatch, one thread, in order; each of
// Twisted's four outcomes (a value, a later value, a throw, a later
// rejection); an error stops the rest and is reported exactly once, never
// an unhandled rejection.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  callMultipleInThread, FunctionNotSendableError, reactor, transfer, ValueNotCloneableError, type Call,
} from 'reactor-threads';
import { add, appendLine, appendLineLater, describePoint, fail, failLater, Point, sleep } from './_fixtures/tasks.cjs';
import { within } from './_helpers/settlements.js';

const logFile = (): string => join(mkdtempSync(join(tmpdir(), 'rt-multi-')), 'log');
const lines = (file: string): string[][] => {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return []; }
  return text.trim().split('\n').filter((l) => l !== '').map((l) => l.split(':'));
};
const labels = (file: string): string[] => lines(file).map(([, label]) => label!);

interface Outcome {
  /** How the returned Promise settled. */
  ok: boolean;
  error: unknown;
  /** Every error the pool reported to its 'error' listeners. */
  reported: unknown[];
}

/**
 * Runs `list` on the reactor's pool, then stops that pool, so that every
 * report has arrived when the counts are read (the next getThreadPool()
 * starts a new pool). Tests that use it are serial: they share the pool.
 */
async function runList(list: readonly Call[]): Promise<Outcome> {
  const pool = reactor.getThreadPool();
  const reported: unknown[] = [];
  const listener = (e: unknown): void => { reported.push(e); };
  pool.on('error', listener);
  try {
    const settled = callMultipleInThread(list).then(() => ({ ok: true, error: undefined }), (error: unknown) => ({ ok: false, error }));
    const { ok, error } = await within(settled, 10_000, 'callMultipleInThread', () => `${reported.length} errors reported so far`);
    await within(pool.stop(), 10_000, 'stop() of the reactor\'s pool', () => `${pool.workers} threads`);
    return { ok, error, reported };
  } finally {
    pool.off('error', listener);
  }
}

test.serial('calls that return values run once each, in order, and nothing is reported', async (t) => {
  const file = logFile();
  const r = await runList([[appendLine, [file, 'a']], [add, [1, 2]], [appendLine, [file, 'b']]]);
  t.true(r.ok);
  t.deepEqual(r.reported, []);
  t.deepEqual(labels(file), ['a', 'b']);
});

test.serial('a fresh thread reads a registered class\'s instance in the list as that class, its module loaded first', async (t) => {
  // runList's pool is new: its thread has imported no module yet, and
  // Point is registered only as tasks.cjs loads there. describePoint
  // calls p.length(), which only a Point has.
  const file = logFile();
  const r = await runList([[appendLine, [file, 'a']], [describePoint, [new Point(3, 4)]], [appendLine, [file, 'b']]]);
  t.is(r.error, undefined);
  t.true(r.ok);
  t.deepEqual(labels(file), ['a', 'b']);
});

test.serial('a call whose value comes later is awaited before the next one starts', async (t) => {
  const file = logFile();
  const r = await runList([[appendLineLater, [file, 'later', 30]], [appendLine, [file, 'next']]]);
  t.true(r.ok);
  t.deepEqual(r.reported, []);
  t.deepEqual(labels(file), ['later', 'next']);
});

test.serial('a throw stops the rest, is reported once to the pool\'s error listeners, and rejects the returned Promise', async (t) => {
  const file = logFile();
  const r = await runList([[appendLine, [file, 'first']], [fail, ['stop here']], [appendLine, [file, 'never']]]);
  t.false(r.ok);
  t.true(r.error instanceof TypeError);
  t.is((r.error as Error).message, 'stop here');
  t.is(r.reported.length, 1);
  t.is(r.reported[0], r.error);
  t.deepEqual(labels(file), ['first']);
});

test.serial('a later rejection stops the rest, is reported once, and rejects the returned Promise', async (t) => {
  const file = logFile();
  const r = await runList([[appendLine, [file, 'first']], [failLater, ['rejected later']], [appendLine, [file, 'never']]]);
  t.false(r.ok);
  t.true(r.error instanceof RangeError);
  t.is((r.error as Error).message, 'rejected later');
  t.is(r.reported.length, 1);
  t.is(r.reported[0], r.error);
  t.deepEqual(labels(file), ['first']);
});

test.serial('an unawaited failing call is reported once and causes no unhandled rejection', async (t) => {
  const pool = reactor.getThreadPool();
  const reported: unknown[] = [];
  const listener = (e: unknown): void => { reported.push(e); };
  pool.on('error', listener);
  let unhandled = 0;
  const onUnhandled = (): void => { unhandled++; };
  process.on('unhandledRejection', onUnhandled);
  try {
    let onReport!: () => void;
    const firstReport = new Promise<void>((resolve) => { onReport = resolve; });
    pool.once('error', () => onReport());
    void callMultipleInThread([[fail, ['ignored']]]);
    await within(firstReport, 10_000, 'the report of the failed call', () => 'its one report');
    await within(pool.stop(), 10_000, 'stop() of the reactor\'s pool', () => `${pool.workers} threads`);
    // An unhandled rejection is announced once the microtasks of its turn ran.
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('unhandledRejection', onUnhandled);
    pool.off('error', listener);
  }
  t.is(reported.length, 1);
  t.is(unhandled, 0);
});

test('callMultipleInThread runs every call in order on a single thread', async (t) => {
  reactor.suggestThreadPoolSize(2);
  const file = logFile();
  await callMultipleInThread([
    [appendLine, [file, 'a']], [sleep, [20]], [appendLine, [file, 'b']], [appendLine, [file, 'c']],
  ]);
  const got = lines(file);
  t.deepEqual(got.map(([, label]) => label), ['a', 'b', 'c']);
  t.is(new Set(got.map(([thread]) => thread)).size, 1);
});

test('callMultipleInThread rejects a malformed list', async (t) => {
  await t.throwsAsync(callMultipleInThread('nope' as never), { instanceOf: TypeError });
});

test.serial('a refused entry is named by its place in the list, and nothing of the list runs', async (t) => {
  const file = logFile();
  const detached = new ArrayBuffer(8);
  structuredClone(detached, { transfer: [detached] });
  const refusals: [Call[], new (...args: never) => Error, string][] = [
    [[[appendLine, [file, 'a']], [add, [1, Symbol('s')]]], ValueNotCloneableError, 'list[1][1][1]'],
    [[[appendLine, [file, 'a']], [add, [1, 2]], [add, [1, transfer(detached)]]], ValueNotCloneableError, 'list[2][1][1]'],
    [[[appendLine, [file, 'a']], [42 as never, [1]]], FunctionNotSendableError, 'list[1][0]: '],
  ];
  for (const [list, type, path] of refusals) {
    const r = await runList(list);
    t.false(r.ok);
    t.true(r.error instanceof type, String(r.error));
    t.true((r.error as Error).message.startsWith(path), (r.error as Error).message);
    if (r.error instanceof ValueNotCloneableError) t.is(r.error.path, path);
  }
  t.deepEqual(labels(file), []);
});
