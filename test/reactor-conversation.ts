// After it answers a blocking call, a reactor waits briefly for the
// caller's next call before its loop goes back to sleep in its poll
// (src/reactor/core.ts, "spin, then park"): also when the answer leaves
// on a later turn than the call came (f's Promise settling on an
// Immediate, a timer, I/O). Each case runs in a child process whose
// callers spin for their answers (REACTOR_THREADS_BRIDGE_SPIN_NS), so
// that each answer is taken at once and the next call follows it.
import test from 'ava';
import { fixture, runChild } from './_helpers/child.js';

async function waitsOf(late: 'late' | 'now', spinNs: number): Promise<{ waits: number; calls: number }> {
  const r = await runChild(fixture('reactor-waits.mjs'), [late], 30_000,
    { ...process.env, REACTOR_THREADS_BRIDGE_SPIN_NS: String(spinNs) });
  const m = /^waits (\d+) calls (\d+)$/.exec(r.stdout.trim());
  if (r.code !== 0 || !m) throw new Error(`the child failed (${String(r.code)}): ${r.stdout} ${r.stderr}`);
  return { waits: Number(m[1]), calls: Number(m[2]) };
}

test('a reactor waits for a spinning caller\'s next call after an answer f\'s Promise gave on a later turn', async (t) => {
  // (At least after the first: the waits stop once most of them missed,
  // which a loaded machine can make them do.)
  const { waits, calls } = await waitsOf('late', 5_000_000);
  t.true(waits >= 1, `the reactor waited after none of ${calls} late answers`);
  t.log(`${waits} waits after ${calls} late answers`);
});

test('a reactor waits for a spinning caller\'s next call after an answer it gave at once', async (t) => {
  const { waits, calls } = await waitsOf('now', 5_000_000);
  t.true(waits >= 1, `the reactor waited after none of ${calls} answers`);
});
