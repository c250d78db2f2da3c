#include "loop_watch.h"

namespace rt {

bool LoopWatch::Start(napi_env env, std::shared_ptr<Reactor> reactor) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return false;
  auto* watch = new LoopWatch(std::move(reactor));
  if (napi_add_async_cleanup_hook(env, OnTeardown, watch, &watch->hook_) != napi_ok) {
    delete watch;
    return false;
  }
  uv_prepare_init(loop, &watch->prepare_);
  uv_check_init(loop, &watch->check_);
  watch->prepare_.data = watch;
  watch->check_.data = watch;
  watch->open_handles_ = 2;
  uv_prepare_start(&watch->prepare_, OnPrepare);
  // (Started after Node's own check handle, it runs before it: libuv runs
  // the handles of a phase newest first, so the loop is marked busy before
  // any of the user's immediates run.)
  uv_check_start(&watch->check_, OnCheck);
  uv_unref(reinterpret_cast<uv_handle_t*>(&watch->prepare_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&watch->check_));
  return true;
}

void LoopWatch::OnPrepare(uv_prepare_t* handle) {
  static_cast<LoopWatch*>(handle->data)->reactor_->SetPolling(true);
}

void LoopWatch::OnCheck(uv_check_t* handle) {
  static_cast<LoopWatch*>(handle->data)->reactor_->SetPolling(false);
}

void LoopWatch::OnTeardown(napi_async_cleanup_hook_handle, void* arg) {
  auto* watch = static_cast<LoopWatch*>(arg);
  watch->reactor_->SetUnwatched();
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->prepare_), OnClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->check_), OnClosed);
}

void LoopWatch::OnClosed(uv_handle_t* handle) {
  auto* watch = static_cast<LoopWatch*>(handle->data);
  if (--watch->open_handles_ > 0) return;
  napi_remove_async_cleanup_hook(watch->hook_);
  delete watch;
}

}  // namespace rt
