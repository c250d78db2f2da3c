// The one home of process-wide native state: every Pool and every Reactor
// of every JavaScript environment that loaded the addon, by id. Shared by
// all isolates; each entry is owned by shared_ptr, so a thread that looked
// one up keeps it alive even if its environment goes away meanwhile.
//
// Threads: every method, any thread. Locking: mu_ guards the maps; it is
// never held while calling into a Pool or Reactor (lock order in reactor.h).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "pool.h"
#include "reactor.h"

namespace rt {

class Registry {
 public:
  static Registry& Get();

  uint32_t NextReactorId();
  void AddReactor(std::shared_ptr<Reactor> r);
  void RemoveReactor(uint32_t id);
  std::shared_ptr<Reactor> FindReactor(uint32_t id);

  std::shared_ptr<Pool> CreatePool(std::shared_ptr<Reactor> owner, uint32_t min,
                                   uint32_t max);
  void RemovePool(uint32_t id);
  std::shared_ptr<Pool> FindPool(uint32_t id);

 private:
  Registry() = default;
  std::mutex mu_;
  uint32_t next_reactor_id_ = 1;
  uint32_t next_pool_id_ = 1;
  std::unordered_map<uint32_t, std::shared_ptr<Reactor>> reactors_;
  std::unordered_map<uint32_t, std::shared_ptr<Pool>> pools_;
};

}  // namespace rt
