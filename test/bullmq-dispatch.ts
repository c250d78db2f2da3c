// How a worker hands its jobs to its pool (src/bullmq/job-dispatch.ts),
// with a fake pool and a hand-stepped end of turn: the jobs of one turn
// are submitted together, a job's outcome is its task's, and cancels,
// aborts and run timeouts reach the pool, or settle a job not submitted
// yet. Every
// settle of a job is recorded, so a second one would show.
import test from 'ava';
import { CancelledError } from 'reactor-threads';
import { JobDispatcher, type DispatchPool } from '../dist/bullmq/job-dispatch.js';
import type { JobRun } from '../dist/bullmq/job-runner.js';
import type { TaskSink } from '../dist/pool/threadpool.js';

/** A pool that records what it is asked, and settles tasks when the test says. */
class FakePool implements DispatchPool {
  readonly log: string[] = [];
  readonly sinks = new Map<number, TaskSink>();
  #next = 0;
  /** The id the next submit returns: 0 refuses it (nothing queued). */
  refuseNext = false;
  submit(run: JobRun, sink: TaskSink): number {
    if (this.refuseNext) {
      this.refuseNext = false;
      this.log.push(`refused ${run[3]}`);
      return 0;
    }
    const id = ++this.#next;
    this.sinks.set(id, sink);
    this.log.push(`submit ${run[3]} as ${id}`);
    return id;
  }
  cancel(taskId: number, reason: unknown): void {
    this.log.push(`cancel ${taskId}`);
    this.settle(taskId, false, reason);
  }
  /** (As the pool's kAbort: the task is told; it settles when the test says, as its thread would.) */
  abort(taskId: number): void {
    this.log.push(`abort ${taskId}`);
  }
  timeout(taskId: number, runTimeout: number): void {
    this.log.push(`timeout ${taskId} after ${runTimeout}`);
  }
  settle(taskId: number, ok: boolean, value: unknown): void {
    const sink = this.sinks.get(taskId)!;
    if (typeof sink === 'function') sink(ok ? value : Promise.reject(value));
    else sink.settle(ok, value);
  }
}

/** A turn's end, stepped by the test. */
class Turns {
  readonly queued: (() => void)[] = [];
  readonly schedule = (f: () => void): void => { this.queued.push(f); };
  end(): void {
    for (const f of this.queued.splice(0)) f();
  }
}

function setUp(): { pool: FakePool; turns: Turns; dispatcher: JobDispatcher } {
  const pool = new FakePool();
  const turns = new Turns();
  return { pool, turns, dispatcher: new JobDispatcher(pool, turns.schedule) };
}

const run = (label: string): JobRun => ['t', 'file:///app/tasks.js', label, label, '[]', 'j', false, '/app', '', 1024, 'host pid 1'];

/** Every settle of a job's outcome, in order. */
function settles(outcome: Promise<unknown>): [string, unknown][] {
  const seen: [string, unknown][] = [];
  outcome.then((v) => seen.push(['ok', v]), (e: unknown) => seen.push(['failed', e]));
  return seen;
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('the jobs of one turn are submitted together at its end, in order, with one scheduled callback', (t) => {
  const { pool, turns, dispatcher } = setUp();
  dispatcher.dispatch(run('a'), undefined);
  dispatcher.dispatch(run('b'), undefined);
  dispatcher.dispatch(run('c'), undefined);
  t.deepEqual(pool.log, [], 'nothing is submitted before the turn ends');
  t.is(turns.queued.length, 1, 'one callback for the turn');
  t.is(dispatcher.waiting, 3);
  turns.end();
  t.deepEqual(pool.log, ['submit a as 1', 'submit b as 2', 'submit c as 3']);
  t.is(dispatcher.waiting, 0);
  dispatcher.dispatch(run('d'), undefined);
  t.is(turns.queued.length, 1, 'the next turn is scheduled anew');
  turns.end();
  t.deepEqual(pool.log.slice(3), ['submit d as 4']);
});

test('a job\'s outcome is its task\'s: a result, or a failure, settled once', async (t) => {
  const { pool, turns, dispatcher } = setUp();
  const ok = settles(dispatcher.dispatch(run('a'), undefined).outcome);
  const failed = settles(dispatcher.dispatch(run('b'), undefined).outcome);
  turns.end();
  pool.settle(1, true, 'j42');
  const boom = new Error('boom');
  pool.settle(2, false, boom);
  pool.settle(2, true, 'late');
  await tick();
  t.deepEqual(ok, [['ok', 'j42']]);
  t.deepEqual(failed, [['failed', boom]]);
});

test('a job cancelled before its turn ends is never submitted, and fails with a CancelledError of the reason', async (t) => {
  const { pool, turns, dispatcher } = setUp();
  const job = dispatcher.dispatch(run('a'), 500);
  const other = dispatcher.dispatch(run('b'), undefined);
  const seen = settles(job.outcome);
  const otherSeen = settles(other.outcome);
  job.cancel('the caller cancelled');
  job.cancel('again');
  turns.end();
  await tick();
  t.deepEqual(pool.log, ['submit b as 1'], 'only the other one reached the pool');
  t.is(seen.length, 1);
  t.is(seen[0]![0], 'failed');
  t.true(seen[0]![1] instanceof CancelledError);
  t.is((seen[0]![1] as CancelledError).cause, 'the caller cancelled');
  other.cancel('later');
  await tick();
  t.deepEqual(pool.log, ['submit b as 1', 'cancel 1']);
  t.is(otherSeen.length, 1);
});

test('a job cancelled once submitted is cancelled through the pool, which settles it', async (t) => {
  const { pool, turns, dispatcher } = setUp();
  const job = dispatcher.dispatch(run('a'), undefined);
  const seen = settles(job.outcome);
  turns.end();
  job.cancel('lock lost');
  pool.settle(1, true, 'jtoo late');
  await tick();
  t.deepEqual(pool.log, ['submit a as 1', 'cancel 1']);
  t.is(seen.length, 1);
  t.true(seen[0]![1] instanceof CancelledError);
  t.is((seen[0]![1] as CancelledError).cause, 'lock lost');
});

test('a job aborted once submitted is aborted through the pool and settles with its task\'s outcome; a cancel may follow', async (t) => {
  const { pool, turns, dispatcher } = setUp();
  const job = dispatcher.dispatch(run('a'), undefined);
  const seen = settles(job.outcome);
  turns.end();
  job.abort('taken again');
  await tick();
  t.deepEqual(pool.log, ['submit a as 1', 'abort 1']);
  t.deepEqual(seen, [], 'it waits for its task');
  job.cancel('the later run ended');
  await tick();
  t.deepEqual(pool.log, ['submit a as 1', 'abort 1', 'cancel 1']);
  t.is((seen[0]![1] as CancelledError).cause, 'the later run ended');
  const other = dispatcher.dispatch(run('b'), undefined);
  const otherSeen = settles(other.outcome);
  turns.end();
  other.abort('taken again');
  pool.settle(2, true, 'jfinished anyway');
  other.cancel('too late');
  await tick();
  t.deepEqual(pool.log.slice(3), ['submit b as 2', 'abort 2'], 'a settled job is not cancelled');
  t.deepEqual(otherSeen, [['ok', 'jfinished anyway']]);
});

test('a job aborted before its turn ends is never submitted, and fails with a CancelledError of the reason', async (t) => {
  const { pool, turns, dispatcher } = setUp();
  const job = dispatcher.dispatch(run('a'), 500);
  const seen = settles(job.outcome);
  job.abort('taken again');
  turns.end();
  await tick();
  t.deepEqual(pool.log, []);
  t.true(seen[0]![1] instanceof CancelledError);
  t.is((seen[0]![1] as CancelledError).cause, 'taken again');
});

test('a run timeout reaches the pool with its task, once submitted; a job the pool refused is not timed', (t) => {
  const { pool, turns, dispatcher } = setUp();
  pool.refuseNext = true;
  dispatcher.dispatch(run('refused'), 300);
  dispatcher.dispatch(run('timed'), 300);
  dispatcher.dispatch(run('untimed'), undefined);
  t.deepEqual(pool.log, []);
  turns.end();
  t.deepEqual(pool.log, ['refused refused', 'submit timed as 1', 'timeout 1 after 300', 'submit untimed as 2']);
});
