// A reactor's wake-ups are never lost: a thread that drains its inbox
// early (while serving calls) still sees the work its pool signalled.
import test from 'ava';
import { fixture, runChild } from './_helpers/child.js';

test('a pool thread that serves a flood of calls still takes every task it is woken for', async (t) => {
  const r = await runChild(fixture('wake-while-serving.mjs'), [], 30_000);
  t.false(r.timedOut, `the child hung: ${r.stdout} ${r.stderr}`);
  t.regex(r.stdout.trim(), /^done \d+$/, r.stderr);
  t.is(r.code, 0);
});
