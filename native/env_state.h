// Per-environment native state: one EnvState per napi_env, that is per
// load of the addon: one in each JavaScript thread (the main thread, each
// Worker), and one more for each further copy of the package in a thread
// (jest gives each test file its own; src/reactor/native.ts loads the
// addon afresh for each copy). Each holds its copy's reactor with the
// thread-safe function (TSFN) that wakes its loop.
// Process-wide state lives in the Registry (registry.h) instead.
// Tests: test/natural-exit.ts, test/reactor-*.ts, test/worker-terminate*.ts.
//
// Threads: everything here runs on the environment's own JS thread (its
// "owning JS thread"), except what the TSFN is called from: any thread
// calls Reactor::Post()/SignalWork() (reactor.h), and Node then runs
// CallJs on the owning JS thread. No member of EnvState is shared: no
// mutex guards it.
//
// Ownership and lifetime, in order:
//   1. Module load (addon.cc): CreateEnvState() hands a new EnvState to
//      Node as instance data; Node deletes it with the napi_env, which
//      outlives CleanupEnv and the TSFN (a TSFN holds a reference on its
//      napi_env until Node deletes it).
//   2. init() -> OpenReactor(): creates the Reactor (shared_ptr, owned by
//      EnvState::reactor and listed in the Registry) and its TSFN. The
//      TSFN's context is a raw Reactor* to this same reactor; what keeps
//      it alive for the TSFN is a heap-allocated shared_ptr<Reactor> (the
//      TSFN's finalize_data), deleted by FinalizeTsfn, the TSFN's
//      finalizer. So the context is valid in every CallJs with a non-null
//      env. Node calls CallJs with a null env for items still queued after
//      the finalizer ran, when the context may already dangle: CallJs
//      returns before touching it then. (The TSFN carries no data: each
//      call's data pointer is null, so a call that never runs frees
//      nothing.)
//   3. The TSFN calls no JS function of its own: CallJs calls the copy's
//      onWake, which EnvState::on_wake holds weakly. The copy holds it
//      strongly (src/reactor/core.ts), so it is collected only once
//      nothing reaches the copy: jest dropped a test file's module
//      registry. (A copy whose pools have threads is reachable from their
//      Workers.) A strong hold would keep every such test file's context
//      alive, some megabytes each.
//   4. Retirement, once, by whichever comes first: CopyGone (onWake's
//      finalizer: the copy was collected) or CleanupEnv (a cleanup hook at
//      environment teardown, registered right after the TSFN, so it runs
//      before Node's own TSFN cleanup). Both stop and forget the pools this
//      copy owns, unlist the reactor, close it (Reactor::Close releases the
//      TSFN; later Post()s fail and drop their message), and wake the
//      callers parked on it. Node then closes the TSFN and runs
//      FinalizeTsfn on this thread.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "reactor.h"
#include "scratch.h"

namespace rt {

// Owning JS thread only, every member.
struct EnvState {
  // This environment's reactor; null until init(). Shared with the
  // Registry, with pools it owns or serves (Pool::owner_, a pool thread's
  // record) and with the TSFN's finalize_data; see the file comment.
  std::shared_ptr<Reactor> reactor;
  // Pools created here (poolCreate), stopped and removed by CleanupEnv if
  // the JS side has not destroyed them by then.
  std::vector<uint32_t> owned_pools;
  // The copy's onWake, held weakly (a reference of count 0); see the file
  // comment, step 3. Null until init().
  napi_ref on_wake = nullptr;
  // Whether this copy is the main thread's (its reactor is a main reactor).
  bool is_main = false;
  // Set by the retirement (step 4): it runs once.
  bool torn_down = false;
  // A pool thread's pool and thread id (MarkPoolThread), 0 elsewhere:
  // its teardown, and the retirement, tell its pool that it is gone
  // (Pool::MarkGone), since the owner sees the thread's exit only on its
  // own loop, which a blockingCallInThread caller blocks.
  uint32_t pool_of_thread = 0;
  uint32_t thread_id = 0;
  // Its loop is watched (LoopWatch, started by poolAttach): once.
  bool loop_watched = false;
  // The copy's Uint8Array that inbox batches are written into when they
  // fit (batch.h Scratch), given to init(); null without one. Deleted
  // with on_wake (CopyGone), else freed by Node at teardown.
  napi_ref inbox_scratch = nullptr;
  // A batch written there is being handled: its messages are views of it
  // until the outermost delivery ends (CallJs after onWake returns, or the
  // copy's endBatch()). A batch drained meanwhile (drain() inside a
  // delivery) gets a buffer of its own.
  bool inbox_scratch_busy = false;
  // Fairness of wake-ups (PastWakeBudget): Node dispatches up to 1,000
  // queued TSFN calls in one callback of the loop, and a sender that
  // refills the inbox after each drain queues the next one, so one poll
  // phase went on for 1,000 batches while timers waited (a task's 100 ms
  // runTimeout fired after 4 to 42 s, helper-117). The loop time (uv_now,
  // fixed within one iteration) of the current run of wake-ups, and when
  // it began.
  uint64_t wake_loop_ms = UINT64_MAX;
  uint64_t wake_run_started_ns = 0;
};

// Owning JS thread. The scratch for this environment's next inbox batch
// (DrainBatch), or an empty one while the scratch holds a batch being
// handled, or when the copy gave none.
Scratch InboxScratch(napi_env env, EnvState* state);

// Owning JS thread (a pool thread's first act, poolThreadStarting; again
// by its entry, harmlessly): this environment is thread `thread_id` of
// pool `pool_id`, and its teardown marks it gone. The cleanup hook for
// that is its own, registered now, not CleanupEnv: a thread can die
// before it opens its reactor (a preload of its execArgv throws), and
// CleanupEnv must be registered after the TSFN (see CleanupEnv).
void MarkPoolThread(napi_env env, EnvState* state, uint32_t pool_id,
                    uint32_t thread_id);

// Owning JS thread, at module load: gives this environment its EnvState,
// owned and freed by Node (instance data).
void CreateEnvState(Napi::Env env);

// Owning JS thread. This environment's EnvState; never null after module
// load.
EnvState* State(Napi::Env env);

// Owning JS thread, once per environment (init()). Creates the reactor and
// the TSFN that calls `on_wake(batch, transfers, workSignalled)` with each
// drained inbox, leaves the loop unref'd (idle), lists the reactor in the
// Registry (as the main reactor when `is_main`: the main thread's latest
// copy of the package, which a Worker's calls then reach), and registers
// CleanupEnv.
// Returns the reactor, or null if Node refused the TSFN (nothing is kept
// then).
std::shared_ptr<Reactor> OpenReactor(napi_env env,
                                     EnvState* state,
                                     napi_value on_wake,
                                     bool is_main);

// Owning JS thread. Whether this environment can still run JS. Once a
// Worker is being terminated, N-API refuses calls that would run JS (with
// napi_pending_exception): that is how a parked caller learns that its own
// thread is going away, since its cleanup hooks run only after it returns.
// Raw N-API, never throws.
bool CanRunJs(napi_env env);

}  // namespace rt
