// A script that used the pool exits by itself once its work is done, with
// no stop() call, from ESM (with top-level await) and from CommonJS.
import test from 'ava';
import { fixture, runChild } from './_helpers/child.js';

test('an ES module that awaited deferToThread at top level exits by itself', async (t) => {
  const r = await runChild(fixture('exit-after-await.mjs'));
  t.false(r.timedOut, 'the process had to be killed');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), '3');
});

test('a CommonJS script that used a ThreadPool without stop() exits by itself', async (t) => {
  const r = await runChild(fixture('exit-after-pool.cjs'));
  t.false(r.timedOut, 'the process had to be killed');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), 'done 10');
});

test('output a thread printed during its task is not lost when the process exits', async (t) => {
  const r = await runChild(fixture('exit-after-logging.mjs'));
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), ['multi 1', 'multi 2', 'multi 3', 'single']);
});

test('process.exit() with tasks running, queued and parked exits at once', async (t) => {
  // The tasks would run for a minute: anything short of that is "at once".
  const r = await runChild(fixture('exit-mid-work.mjs'), [], 20_000);
  t.false(r.timedOut, 'the process waited for its running tasks or its parked thread');
  t.is(r.code, 4, r.stderr);
});
