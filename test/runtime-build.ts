// A thread's runtime (src/runtime/this-thread.ts) is built once: when its
// build fails once the thread's reactor exists, every later import of the
// package in that thread gets that failure, not a second native init().
import test from 'ava';
import { fixture, runChild } from './_helpers/child.js';

test('a runtime that failed to build reports its first failure on the next import, not "init() called twice"', async (t) => {
  const r = await runChild(fixture('runtime-build-fails.cjs'));
  t.false(r.timedOut, r.stderr);
  const [first, second] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; message?: string; cause?: string });
  t.like(first, { ok: false, message: 'no WeakMap for the callables table' }, r.stdout);
  t.false(second!.ok, r.stdout);
  t.notRegex(second!.message!, /init\(\) called twice/);
  t.regex(second!.message!, /runtime could not be built \(no WeakMap for the callables table\)/);
  t.is(second!.cause, 'no WeakMap for the callables table');
});
