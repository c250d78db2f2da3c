// The soak run, short (20,000 tasks), in a child process: mixed
// outcomes, thread deaths and blocking calls, each settling exactly once.
// The full run is `npm run soak` (1,000,000 tasks).
import test from 'ava';
import { join } from 'node:path';
import { runChild } from './_helpers/child.js';

test('20,000 mixed tasks each settle exactly once with the expected outcome', async (t) => {
  const r = await runChild(join(__dirname, 'soak', 'soak.mjs'), ['20000'], 120_000);
  t.false(r.timedOut, 'the soak run hung');
  // The failed checks first: a report may keep only a message's first line.
  const failed = r.stdout.split('\n').find((l) => l.startsWith('FAILED')) ?? '';
  t.is(r.code, 0, `${failed} ${r.stderr.slice(0, 500)}`.trim());
  t.regex(r.stdout, /every task settled exactly once/);
  t.log(r.stdout.trim());
});
