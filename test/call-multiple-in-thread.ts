// callMultipleInThread: one dispatch, one thread, in order; an error stops
// the rest and is reported, never an unhandled rejection.
import test from 'ava';
import { waitFor } from './_helpers/wait.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callMultipleInThread, reactor } from 'reactor-threads';
import { appendLine, fail, sleep } from './_fixtures/tasks.cjs';

const logFile = (): string => join(mkdtempSync(join(tmpdir(), 'rt-multi-')), 'log');
const lines = (file: string): string[][] =>
  readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(':'));

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

// Serial: these two share the reactor pool's 'error' listeners.
test.serial('an error stops the rest, goes to the pool\'s error listeners, and rejects the returned Promise', async (t) => {
  const file = logFile();
  const pool = reactor.getThreadPool();
  const reported: unknown[] = [];
  const listener = (e: unknown): void => { reported.push(e); };
  pool.on('error', listener);
  const done = callMultipleInThread([[appendLine, [file, 'first']], [fail, ['stop here']], [appendLine, [file, 'never']]]);
  await t.throwsAsync(done, { instanceOf: TypeError, message: 'stop here' });
  pool.off('error', listener);
  t.deepEqual(lines(file).map(([, label]) => label), ['first']);
  t.is(reported.length, 1);
  t.true(reported[0] instanceof TypeError);
});

test.serial('an unawaited failing call causes no unhandled rejection', async (t) => {
  const pool = reactor.getThreadPool();
  let reported = 0;
  const listener = (): void => { reported++; };
  pool.on('error', listener);
  let unhandled = 0;
  const onUnhandled = (): void => { unhandled++; };
  process.on('unhandledRejection', onUnhandled);
  void callMultipleInThread([[fail, ['ignored']]]);
  await waitFor(() => reported > 0);
  await new Promise((r) => setTimeout(r, 100));  // an unhandled rejection would surface by now
  process.off('unhandledRejection', onUnhandled);
  pool.off('error', listener);
  t.is(reported, 1);
  t.is(unhandled, 0);
});

test('callMultipleInThread rejects a malformed list', async (t) => {
  await t.throwsAsync(callMultipleInThread('nope' as never), { instanceOf: TypeError });
});
