#include "registry.h"

namespace rt {

Registry& Registry::Get() {
  // Deliberately leaked: worker threads may still look things up while the
  // process runs its static destructors at exit.
  static Registry* instance = new Registry();
  return *instance;
}

uint32_t Registry::NextReactorId() {
  std::lock_guard<std::mutex> lock(mu_);
  return next_reactor_id_++;
}

void Registry::AddReactor(std::shared_ptr<Reactor> r) {
  std::lock_guard<std::mutex> lock(mu_);
  reactors_[r->id()] = std::move(r);
}

void Registry::RemoveReactor(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  reactors_.erase(id);
}

std::shared_ptr<Reactor> Registry::FindReactor(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = reactors_.find(id);
  return it == reactors_.end() ? nullptr : it->second;
}

std::shared_ptr<Pool> Registry::CreatePool(std::shared_ptr<Reactor> owner,
                                           uint32_t min, uint32_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  auto pool = std::make_shared<Pool>(next_pool_id_++, std::move(owner), min, max);
  pools_[pool->id()] = pool;
  return pool;
}

void Registry::RemovePool(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  pools_.erase(id);
}

std::shared_ptr<Pool> Registry::FindPool(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pools_.find(id);
  return it == pools_.end() ? nullptr : it->second;
}

}  // namespace rt
