// Several copies of the package in one thread, as jest makes one per test
// file (src/reactor/native.ts, native/env_state.h): each copy has its own
// reactor, and one that nothing reaches any more is retired, so it holds
// neither memory nor the main thread's place.
import test from 'ava';
import { fixture, runChild } from './_helpers/child.js';

interface Seen {
  first: number; second: number; mainWhileTwo: number;
  tasks: [number, number][]; workerWhileTwo: string;
  mainAfter: number; workerAfter: string; firstAfter: [number, number];
}

test('copies of the package in one thread each run tasks and answer their threads, and a dropped copy gives the main thread back to the one before', async (t) => {
  const r = await runChild(fixture('package-copies.cjs'), [], 30_000);
  t.is(r.code, 0, r.stderr);
  const seen = JSON.parse(r.stdout) as Seen;
  t.not(seen.first, seen.second, 'each copy has its own reactor');
  t.is(seen.mainWhileTwo, seen.second, 'Workers are served by the copy loaded last');
  t.deepEqual(seen.tasks, [[5, 42], [5, 42]]);
  t.is(seen.workerWhileTwo, 'by-main');
  t.is(seen.mainAfter, seen.first, 'the dropped copy was retired');
  t.is(seen.workerAfter, 'by-main');
  t.deepEqual(seen.firstAfter, [5, 42]);
});
