#include "registry.h"

#include <algorithm>

#include "clock.h"

namespace rt {

Registry& Registry::Get() {
  // Deliberately leaked: worker threads may still look things up while the
  // process runs its static destructors at exit.
  static Registry* instance = new Registry();
  return *instance;
}

uint32_t Registry::NextReactorId() {
  std::lock_guard<SpinningMutex> lock(mu_);
  return next_reactor_id_++;
}

void Registry::AddReactor(std::shared_ptr<Reactor> r) {
  std::lock_guard<SpinningMutex> lock(mu_);
  reactors_[r->id()] = std::move(r);
}

void Registry::RemoveReactor(uint32_t id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  reactors_.erase(id);
  main_reactors_.erase(
      std::remove(main_reactors_.begin(), main_reactors_.end(), id),
      main_reactors_.end());
}

std::shared_ptr<Reactor> Registry::FindReactor(uint32_t id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = reactors_.find(id);
  return it == reactors_.end() ? nullptr : it->second;
}

void Registry::AddMainReactor(uint32_t id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  main_reactors_.push_back(id);
}

uint32_t Registry::MainReactor() {
  std::lock_guard<SpinningMutex> lock(mu_);
  return main_reactors_.empty() ? 0 : main_reactors_.back();
}

uint32_t Registry::InternFunction(const std::vector<uint8_t>& descriptor) {
  std::string key(descriptor.begin(), descriptor.end());
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = function_ids_.find(key);
  if (it != function_ids_.end()) return it->second;
  functions_.push_back(descriptor);
  uint32_t id = static_cast<uint32_t>(functions_.size());  // ids start at 1
  function_ids_.emplace(std::move(key), id);
  return id;
}

std::vector<uint8_t> Registry::InternedFunction(uint32_t id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  if (id == 0 || id > functions_.size()) return {};
  return functions_[id - 1];
}

std::shared_ptr<ReplySlot> Registry::OpenCall(uint32_t caller, uint32_t target,
                                              uint32_t pool, bool* deadlock) {
  std::lock_guard<SpinningMutex> lock(mu_);
  *deadlock = false;
  if (exiting_) return nullptr;
  for (uint32_t at = target;;) {
    if (at == caller) {
      *deadlock = true;
      return nullptr;
    }
    auto next = waits_on_.find(at);
    if (next == waits_on_.end()) break;
    at = next->second;
  }
  auto slot = std::make_shared<ReplySlot>(next_call_id_++, caller, target, pool,
                                          MonotonicNs());
  calls_[slot->id()] = slot;
  waits_on_[caller] = target;
  return slot;
}

size_t Registry::OpenCalls(std::optional<uint32_t> caller) {
  std::lock_guard<SpinningMutex> lock(mu_);
  if (!caller) return calls_.size();
  size_t n = 0;
  for (auto& kv : calls_) n += kv.second->caller() == *caller;
  return n;
}

bool Registry::AllWaitOn(const std::vector<uint32_t>& reactors, uint32_t caller) {
  if (reactors.empty()) return false;
  std::lock_guard<SpinningMutex> lock(mu_);
  for (uint32_t r : reactors) {
    bool reaches = false;
    // (The graph has no cycle: OpenCall refuses one. The bound is for safety.)
    for (uint32_t at = r, hops = 0; hops <= waits_on_.size(); ++hops) {
      auto next = waits_on_.find(at);
      if (next == waits_on_.end()) break;
      at = next->second;
      if (at == caller) {
        reaches = true;
        break;
      }
    }
    if (!reaches) return false;
  }
  return true;
}

bool Registry::Retarget(uint64_t id, uint32_t target) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = calls_.find(id);
  if (it == calls_.end()) return false;
  it->second->Retarget(target);
  waits_on_[it->second->caller()] = target;
  return true;
}

void Registry::Answering(const std::shared_ptr<ReplySlot>& slot) {
  std::lock_guard<SpinningMutex> lock(mu_);
  if (calls_.count(slot->id()) != 0) waits_on_.erase(slot->caller());
}

void Registry::CloseCall(const std::shared_ptr<ReplySlot>& slot) {
  std::lock_guard<SpinningMutex> lock(mu_);
  calls_.erase(slot->id());
  waits_on_.erase(slot->caller());
}

namespace {
// Requires the registry's mu_.
bool Waits(const std::unordered_map<uint32_t, uint32_t>& waits_on,
           const std::unordered_map<uint32_t, uint32_t>& room_waits,
           uint32_t reactor) {
  return waits_on.count(reactor) != 0 || room_waits.count(reactor) != 0;
}
}  // namespace

bool Registry::BeginRoomWait(uint32_t sender, uint32_t target) {
  std::lock_guard<SpinningMutex> lock(mu_);
  if (exiting_ || Waits(waits_on_, room_waits_, target)) return false;
  room_waits_[sender] = target;
  return true;
}

bool Registry::MayKeepWaitingForRoom(uint32_t target) {
  std::lock_guard<SpinningMutex> lock(mu_);
  return !exiting_ && !Waits(waits_on_, room_waits_, target);
}

void Registry::EndRoomWait(uint32_t sender) {
  std::lock_guard<SpinningMutex> lock(mu_);
  room_waits_.erase(sender);
}

std::shared_ptr<ReplySlot> Registry::FindCall(uint64_t id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : it->second;
}

namespace {
template <typename Pred>
std::vector<std::shared_ptr<ReplySlot>> Matching(
    const std::unordered_map<uint64_t, std::shared_ptr<ReplySlot>>& calls,
    Pred pred) {
  std::vector<std::shared_ptr<ReplySlot>> out;
  for (auto& kv : calls)
    if (pred(*kv.second)) out.push_back(kv.second);
  return out;
}
}  // namespace

// The slots are resolved after mu_ is released: Resolve() takes the slot's
// own lock, which must never nest inside the registry's.
void Registry::WakeCallsTo(uint32_t target, CallStatus status) {
  std::vector<std::shared_ptr<ReplySlot>> wake;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    wake = Matching(calls_, [&](ReplySlot& s) { return s.target() == target; });
  }
  for (auto& s : wake) s->Resolve(status, Frame{});
}

void Registry::AttendCallsOf(uint32_t caller) {
  std::vector<std::shared_ptr<ReplySlot>> attend;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    attend = Matching(calls_, [&](ReplySlot& s) { return s.caller() == caller; });
  }
  for (auto& s : attend) s->Attend();
}

void Registry::WakeCallsOfPool(uint32_t pool, CallStatus status) {
  std::vector<std::shared_ptr<ReplySlot>> wake;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    wake = Matching(calls_, [&](ReplySlot& s) { return pool && s.pool() == pool; });
  }
  for (auto& s : wake) s->Resolve(status, Frame{});
}

void Registry::WakeCallsOfStoppedPool(uint32_t pool) {
  std::vector<std::shared_ptr<ReplySlot>> wake;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    wake = Matching(calls_, [&](ReplySlot& s) {
      return pool && (s.pool() == pool || s.stops_with_pool() == pool);
    });
  }
  for (auto& s : wake) s->Resolve(CallStatus::kPoolStopped, Frame{});
}

bool Registry::StopsWithPool(uint64_t id, uint32_t pool) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = calls_.find(id);
  if (it == calls_.end()) return false;
  it->second->set_stops_with_pool(pool);
  return true;
}

void Registry::WakeAllCalls(CallStatus status) {
  std::vector<std::shared_ptr<ReplySlot>> wake;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    exiting_ = true;
    wake = Matching(calls_, [](ReplySlot&) { return true; });
  }
  for (auto& s : wake) s->Resolve(status, Frame{});
}

uint32_t Registry::CallsOfPool(uint32_t pool, uint64_t since_ns) {
  std::lock_guard<SpinningMutex> lock(mu_);
  uint32_t n = 0;
  for (auto& kv : calls_) {
    if (pool && kv.second->pool() == pool &&
        (since_ns == 0 || kv.second->opened_ns() <= since_ns))
      ++n;
  }
  return n;
}

std::shared_ptr<Pool> Registry::CreatePool(std::shared_ptr<Reactor> owner,
                                           uint32_t min, uint32_t max,
                                           uint64_t quick_task_ns) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto pool = std::make_shared<Pool>(next_pool_id_++, std::move(owner), min,
                                     max, quick_task_ns);
  pools_[pool->id()] = pool;
  return pool;
}

void Registry::RemovePool(uint32_t id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  pools_.erase(id);
}

std::shared_ptr<Pool> Registry::FindPool(uint32_t id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = pools_.find(id);
  return it == pools_.end() ? nullptr : it->second;
}

}  // namespace rt
