#include "reactor.h"

#include <chrono>
#include <thread>

#include "clock.h"

namespace rt {

bool Reactor::ClaimWakeLocked() {
  if (wake_pending_) return false;
  wake_pending_ = true;
  waking_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool Reactor::Wake() {
  // Non-blocking on an unbounded queue: never waits, so it is safe from the
  // reactor's own thread too. wake_pending_ coalesces every further wake
  // until the next Drain(), so the queue holds one item, or two when a
  // Drain() came between a claim and its call (the second wake then finds
  // the inbox empty).
  // Called with mu_ released: the call wakes the owning thread, which
  // drains under mu_ at once; holding mu_ here made it block on mu_ (a
  // futex wait and a second switch) whenever it ran before this thread
  // returned, which on a busy machine is most of the time. Close() waits
  // for waking_ to reach 0 before it releases the TSFN.
  napi_status s =
      napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
  waking_.fetch_sub(1, std::memory_order_release);
  if (s == napi_ok) return true;
  std::lock_guard<std::mutex> lock(mu_);
  alive_ = false;  // napi_closing: Node is tearing the TSFN down
  return false;
}

namespace {
uint64_t SizeOf(const Message& m) {
  uint64_t n = m.frame.bytes.size();
  for (auto& b : m.frame.transfers) n += b.size();
  return n;
}
}  // namespace

bool Reactor::Post(Message&& m, bool wake) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!alive_) return false;
  uint64_t bytes = SizeOf(m);
  inbox_.push_back(std::move(m));
  queued_bytes_.store(queued_bytes_.load(std::memory_order_relaxed) + bytes,
                      std::memory_order_release);
  queued_.store(static_cast<uint32_t>(inbox_.size()), std::memory_order_release);
  // The owner spinning in AwaitMessage() takes it: no wake-up (a syscall
  // here, and a second, empty wake of the owner's loop later).
  if (!wake || awaiting_) return true;
  if (!ClaimWakeLocked()) return true;
  lock.unlock();
  return Wake();
}

bool Reactor::Full(uint32_t sender) {
  // The inbox first: a Drain() between the loads then moves messages into
  // the held counts read second, so a race over-counts (and WaitForRoom
  // looks again under the lock) rather than missing a batch.
  uint32_t queued = queued_.load(std::memory_order_acquire);
  uint64_t queued_bytes = queued_bytes_.load(std::memory_order_acquire);
  uint32_t held = held_.load(std::memory_order_acquire);
  uint64_t held_bytes = held_bytes_.load(std::memory_order_acquire);
  // Below the mark even counting every held message: not full.
  if (queued + held < kHighWaterMessages && queued_bytes + held_bytes < kHighWaterBytes)
    return false;
  bool inbox_full = queued >= kHighWaterMessages || queued_bytes >= kHighWaterBytes;
  // Full by the inbox alone, or nothing held: no need for the lock.
  if (held == 0 || inbox_full) return inbox_full;
  std::lock_guard<std::mutex> lock(mu_);
  return FullLocked(sender);
}

bool Reactor::FullLocked(uint32_t sender) {
  uint64_t messages = queued_.load(std::memory_order_relaxed);
  uint64_t bytes = queued_bytes_.load(std::memory_order_relaxed);
  for (auto* counts : {&held_by_sender_, &handling_by_sender_}) {
    auto it = counts->find(sender);
    if (it == counts->end()) continue;
    messages += it->second.messages;
    bytes += it->second.bytes;
  }
  return messages >= kHighWaterMessages || bytes >= kHighWaterBytes;
}

void Reactor::SumHeldLocked() {
  uint32_t messages = 0;
  uint64_t bytes = 0;
  for (auto* counts : {&held_by_sender_, &handling_by_sender_}) {
    for (auto& kv : *counts) {
      messages += kv.second.messages;
      bytes += kv.second.bytes;
    }
  }
  held_.store(messages, std::memory_order_release);
  held_bytes_.store(bytes, std::memory_order_release);
}

void Reactor::SetHeld(uint32_t sender, uint32_t messages, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_by_sender_.find(sender);
  bool fewer = it != held_by_sender_.end() &&
               (messages < it->second.messages || bytes < it->second.bytes);
  if (messages == 0 && bytes == 0) {
    if (it != held_by_sender_.end()) held_by_sender_.erase(it);
  } else {
    held_by_sender_[sender] = Held{messages, bytes};
  }
  SumHeldLocked();
  // Under mu_: a sender between its FullLocked() check and its wait holds
  // it, so it is waiting by the time this notifies.
  if (fewer && room_waiters_ > 0) room_.notify_all();
}

void Reactor::EndBatch() {
  if (!handling_any_) return;
  handling_any_ = false;
  std::lock_guard<std::mutex> lock(mu_);
  handling_by_sender_.clear();
  SumHeldLocked();
  if (room_waiters_ > 0) room_.notify_all();
}

void Reactor::WaitForRoom(uint32_t sender, uint64_t slice_ns,
                          const std::function<bool()>& keep_waiting) {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!alive_ || !FullLocked(sender)) return;
      ++room_waiters_;
      room_.wait_for(lock, std::chrono::nanoseconds(slice_ns));
      --room_waiters_;
      if (!alive_ || !FullLocked(sender)) return;
    }
    if (!keep_waiting()) return;
  }
}

bool Reactor::SignalWork() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!alive_) return false;
  work_signal_ = true;
  if (!ClaimWakeLocked()) return true;
  lock.unlock();
  return Wake();
}

void Reactor::Drain(std::deque<Message>* out, bool* work_signalled) {
  std::lock_guard<std::mutex> lock(mu_);
  wake_pending_ = false;
  *work_signalled = work_signal_;
  work_signal_ = false;
  if (out->empty()) {
    out->swap(inbox_);
  } else {
    for (auto& m : inbox_) out->push_back(std::move(m));
    inbox_.clear();
  }
  // While the owner holds a sender's messages back (SetHeld), the ones of
  // that sender it drains now will join them: they count as held until it
  // reports again (it does after this batch), so that sender cannot post
  // a second inbox-full meanwhile. Any other sender's calls count until
  // the owner has handled them (EndBatch), for the same reason: one of
  // them may be held back in turn. (Only calls: nothing else waits for
  // room, and a pool's results are the most of what is drained.)
  bool counted = false;
  for (auto& m : *out) {
    if (m.sender == 0) continue;
    auto held = held_by_sender_.find(m.sender);
    if (held != held_by_sender_.end()) {
      held->second.messages += 1;
      held->second.bytes += SizeOf(m);
    } else if (m.kind == MessageKind::kCall) {
      Held& handling = handling_by_sender_[m.sender];
      handling.messages += 1;
      handling.bytes += SizeOf(m);
      handling_any_ = true;
    } else {
      continue;
    }
    counted = true;
  }
  if (counted) SumHeldLocked();
  queued_.store(0, std::memory_order_relaxed);
  queued_bytes_.store(0, std::memory_order_relaxed);
  if (room_waiters_ > 0) room_.notify_all();
}

bool Reactor::AwaitMessage(uint64_t spin_ns) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!inbox_.empty()) return true;
    awaiting_ = true;
  }
  SpinUntil(MonotonicNs() + spin_ns,
            [this] { return queued_.load(std::memory_order_acquire) != 0; });
  // Under mu_, as Post() reads awaiting_: a message posted before this
  // skipped its wake-up and is in the inbox now; one posted after wakes.
  std::lock_guard<std::mutex> lock(mu_);
  awaiting_ = false;
  return !inbox_.empty();
}

void Reactor::Ref(napi_env env) {
  std::lock_guard<std::mutex> lock(mu_);
  if (alive_) napi_ref_threadsafe_function(env, tsfn_);
}

void Reactor::Unref(napi_env env) {
  std::lock_guard<std::mutex> lock(mu_);
  if (alive_) napi_unref_threadsafe_function(env, tsfn_);
}

void Reactor::Close() {
  napi_threadsafe_function tsfn = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (alive_) tsfn = tsfn_;
    alive_ = false;
    inbox_.clear();
    room_.notify_all();
  }
  // A wake claimed before alive_ went false may still be calling the TSFN
  // (Wake(), with mu_ released): it must return before the TSFN goes. It
  // is a non-blocking call, so this wait is short.
  while (waking_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  if (tsfn != nullptr) napi_release_threadsafe_function(tsfn, napi_tsfn_abort);
}

void Reactor::MarkClosed() {
  std::lock_guard<std::mutex> lock(mu_);
  alive_ = false;
  inbox_.clear();
  room_.notify_all();
}

bool Reactor::IsAlive() {
  std::lock_guard<std::mutex> lock(mu_);
  return alive_;
}

}  // namespace rt
