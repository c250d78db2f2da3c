// A thread that waits on another for a blocking call moves off that
// thread's CPU when it finds itself sharing it while another CPU is free
// (native/cpu.h MoveOffCpu): on two cores the two otherwise took turns on
// one for hundreds of calls. The native pieces have their own tests
// (native/test/core_test.cc pool_leaves_owner_cpu,
// move_pacer_and_answered_cpu); these show that the calls reach them: a
// child puts both threads on one CPU and gives the others back mid-run
// (test/_fixtures/cpu-moves.mts). Linux only, with 2+ CPUs and `taskset`
// (util-linux).
import anyTest from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fixture, runChild } from './_helpers/child.js';

function cpusAllowed(): number {
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  let n = 0;
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - a! + 1;
  }
  return n;
}

const why = process.platform !== 'linux' ? 'Linux only'
  : cpusAllowed() < 2 ? 'this process may run on one CPU only'
    : spawnSync('taskset', ['-V']).error ? 'no taskset here (apt-get install -y util-linux)' : undefined;
if (why) process.stderr.write(`test/cpu-moves.ts: skipped: ${why}\n`);
const test = why ? anyTest.skip : anyTest.serial;

async function movesOf(mode: 'in' | 'from'): Promise<{ pool: number; callers: number; tries: number }> {
  const r = await runChild(fixture('cpu-moves.mjs'), [mode], 60_000);
  const m = /^moves (\d+) (\d+) tries (\d+)$/.exec(r.stdout.trim());
  if (r.code !== 0 || !m) throw new Error(`the child failed (${String(r.code)}): ${r.stdout} ${r.stderr}`);
  return { pool: Number(m[1]), callers: Number(m[2]), tries: Number(m[3]) };
}

test('a pool thread that answered a blockingCallInThread moves off its caller\'s CPU when the two share one', async (t) => {
  const { pool, tries } = await movesOf('in');
  t.true(pool > 0, `no move in ${tries} tries`);
  t.log(`${pool} moves, ${tries} tries`);
});

test('a blockingCallFromThread caller moves off the CPU its reactor answered on when the two share one', async (t) => {
  const { callers, tries } = await movesOf('from');
  t.true(callers > 0, `no move in ${tries} tries`);
  t.log(`${callers} moves, ${tries} tries`);
});
