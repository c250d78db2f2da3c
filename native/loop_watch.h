// Whether a pool thread's event loop is blocked in its poll for events,
// where a wake-up (its reactor's TSFN) runs at once, or is running
// callbacks, where a wake-up waits for them: a task's timer that computes
// for 600 ms delays a call woken onto that thread by 600 ms while a
// sibling sleeps. When the pool picks a waiter to wake, it passes over
// one whose loop has run callbacks for over a millisecond, unless the
// thread went back to waiting under a millisecond ago (on its way to its
// poll after a task) (Pool::PopWaiterLocked, WakesSoon).
//
// A prepare handle marks the loop as polling just before it blocks, and a
// check handle marks it as busy just after, noting when; CallJs
// (env_state.cc) marks it busy too, since a drained batch runs JavaScript
// inside the poll phase. The state is the thread's Reactor's
// (Reactor::SetPolling, BusySinceNs), read by any thread as a hint: a
// pick that misreads it is only slower, never wrong, since any waiter
// takes the work. Not seen:
//   - a callback of the user's own I/O (a socket's data), which runs
//     inside the poll phase;
//   - a timer that is due but has not run yet: the loop polls (with no
//     timeout) on its way to it;
//   - the first millisecond of a long callback: a call picked then waits
//     for all of it;
//   - JavaScript that another copy of the package in the same thread runs
//     from its own wake-up (each copy has its reactor and its watch: the
//     state is per copy, not per loop).
// Tests: test/task-spread.ts (a call while a task's timer computes);
// native/test/core_test.cc pool_wakes_a_polling_waiter.
//
// Threads and ownership: everything here runs on the pool thread's own
// JS thread. Start() allocates a LoopWatch that frees itself: at the
// environment's teardown, Node calls its async cleanup hook, which closes
// both handles; the second close callback removes the hook (letting the
// teardown go on) and deletes the LoopWatch. Both handles are unref'd:
// they never keep the loop alive.
#pragma once

#include <node_api.h>
#include <uv.h>

#include <memory>

#include "reactor.h"

namespace rt {

class LoopWatch {
 public:
  // Owning JS thread, once per pool thread (poolAttach): watches the
  // environment's loop for `reactor`. False (nothing kept) if Node
  // refused the loop or the hook: the pool then picks as if the loop
  // were always busy, the most recent waiter first.
  static bool Start(napi_env env, std::shared_ptr<Reactor> reactor);

 private:
  explicit LoopWatch(std::shared_ptr<Reactor> reactor) : reactor_(std::move(reactor)) {}
  static void OnPrepare(uv_prepare_t* handle);
  static void OnCheck(uv_check_t* handle);
  static void OnTeardown(napi_async_cleanup_hook_handle hook, void* arg);
  static void OnClosed(uv_handle_t* handle);

  std::shared_ptr<Reactor> reactor_;
  uv_prepare_t prepare_;
  uv_check_t check_;
  napi_async_cleanup_hook_handle hook_ = nullptr;
  int open_handles_ = 0;
};

}  // namespace rt
