#include "pool.h"

#include <algorithm>
#include <bitset>

#include "clock.h"
#include "registry.h"

namespace rt {

bool Pool::WakesSoonLocked(const ThreadRecord& rec, uint64_t* now) {
  uint64_t busy_since = rec.reactor ? rec.reactor->BusySinceNs() : 1;
  if (busy_since == 0) return true;
  if (*now == 0) *now = MonotonicNs();
  return WakesSoon(busy_since, rec.waiting_since_ns, *now);
}

std::shared_ptr<Reactor> Pool::PopWaiterLocked(uint32_t* tid, Pick pick) {
  // The best rank there is: a pick that finds it looks no further.
  const int top = pick == Pick::kIdleFirst ? 3 : 2;
  uint64_t now = 0;  // read once, if a waiter is not polling
  size_t best = waiting_.size();
  int best_rank = -1;
  for (size_t i = waiting_.size(); i-- > 0;) {
    auto it = threads_.find(waiting_[i]);
    if (it == threads_.end() || !it->second.waiting) continue;
    const ThreadRecord& rec = it->second;
    bool idle = rec.held.empty();
    if (pick == Pick::kIdleOnly && !idle) continue;
    int rank = (WakesSoonLocked(rec, &now) ? 2 : 0) + (pick == Pick::kIdleFirst && idle ? 1 : 0);
    if (rank > best_rank) {
      best_rank = rank;
      best = i;
      if (rank == top) break;
    }
  }
  if (best == waiting_.size()) return nullptr;
  uint32_t id = waiting_[best];
  waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(best));
  ThreadRecord& rec = threads_.at(id);
  rec.waiting = false;
  rec.woken = true;
  if (tid) *tid = id;
  return rec.reactor;
}

std::shared_ptr<Reactor> Pool::TakeWaiterLocked(uint32_t thread_id) {
  auto at = std::find(waiting_.begin(), waiting_.end(), thread_id);
  auto it = threads_.find(thread_id);
  if (at == waiting_.end() || it == threads_.end() || !it->second.waiting) return nullptr;
  waiting_.erase(at);
  it->second.waiting = false;
  it->second.woken = true;
  return it->second.reactor;
}

uint32_t Pool::IdleTakerLocked() const {
  // (Not one with tasks pinned to it: its Take() takes those first, and
  // the task would wait behind them, its buffers with it.)
  if (idle_spinner_ != 0) {
    auto spinner = threads_.find(idle_spinner_);
    if (spinner != threads_.end() && spinner->second.pinned.empty()) return idle_spinner_;
  }
  for (auto& [tid, r] : threads_) {
    if (r.returning && r.held.empty() && r.pinned.empty() && r.reactor && !r.retiring && !r.gone) return tid;
  }
  return 0;
}

bool Pool::OnWayBackLocked(const ThreadRecord& rec) {
  return rec.returning && rec.held.empty() && rec.pinned.empty() && rec.reactor;
}

bool Pool::CountedOnLocked(const ThreadRecord& rec) const {
  return OnWayBackLocked(rec) && !rec.retiring && spinning_ == 0;
}

size_t Pool::ReturningTakersLocked() const {
  size_t n = 0;
  for (auto& kv : threads_) {
    if (OnWayBackLocked(kv.second) && !kv.second.retiring && !kv.second.gone) ++n;
  }
  return n;
}

bool Pool::ForgoSentTaskLocked(ThreadRecord& rec, std::shared_ptr<Reactor>* heir) {
  // Push() left the siblings asleep for the task it chose this thread
  // for: one of them is woken for it now, and asks the owner for the
  // buffers. This thread sends back what reached it as it parks or exits;
  // what reaches it only after it parked the owner asks back (Return),
  // which it answers once its blocking call is over: the task then waits
  // for that call, as it did when it waited for this thread.
  // A task pinned to this thread waits for it whoever is woken: no one is.
  bool pinned_here = std::any_of(rec.pinned.begin(), rec.pinned.end(),
                                 [&](const Task& t) { return t.id == rec.sent_task; });
  // A push that found it on its way back woke no one for what it queued:
  // a sibling is.
  bool left_work = CountedOnLocked(rec);
  // A sibling with async tasks in flight may have left the queued work to
  // this thread, about to take (FairShareLocked), and waits: one is woken.
  if (!left_work && !queue_.empty()) {
    for (uint32_t tid : waiting_) {
      auto w = threads_.find(tid);
      if (w != threads_.end() && &w->second != &rec && w->second.in_flight > 0) {
        left_work = true;
        break;
      }
    }
  }
  bool orphaned = ((rec.sent_task != 0 && !pinned_here) || left_work) && !queue_.empty();
  rec.sent_task = 0;
  // (The owner's WakeThread() wakes it no more: the sibling instead, once.)
  rec.wake_after_send = false;
  // (Nor is it counted as coming by a push's demand, nor by a sibling's take.)
  rec.returning = false;
  rec.woken = false;
  if (orphaned) *heir = PopWaiterLocked();
  return orphaned;
}

uint32_t Pool::LiveLocked() const {
  uint32_t live = 0;
  // (A gone thread, dead but not yet removed, is not live: counted, it
  // made the one live thread of a parked blockingCallInThread caller
  // retire as surplus after every task.)
  for (auto& kv : threads_) if (!kv.second.retiring && !kv.second.gone) ++live;
  return live;
}

void Pool::StopWaitingLocked(uint32_t thread_id, ThreadRecord& rec) {
  if (!rec.waiting) return;
  rec.waiting = false;
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), thread_id),
                 waiting_.end());
}

int64_t Pool::Push(Task&& task, uint32_t max_queue, uint32_t* target) {
  if (target) *target = 0;
  owner_cpu_.store(CurrentCpu(), std::memory_order_relaxed);
  std::shared_ptr<Reactor> wake;
  {
    // One hold of the lock for the task and its waiter: a spinning thread
    // sees the task as soon as it is stored and wants the lock next.
    std::lock_guard<SpinningMutex> lock(mu_);
    if (QueuedLocked() >= max_queue) return -2;
    int64_t pushed = QueueSharedLocked(std::move(task), target, &wake);
    if (!wake) return pushed;
  }
  return SignalPushed(std::move(wake));
}

int64_t Pool::QueueSharedLocked(Task&& task, uint32_t* target, std::shared_ptr<Reactor>* wake) {
  CountSharedLocked(task.affinity, +1);
  queue_.push_back(std::move(task));
  submitted_ += 1;
  queued_approx_.store(static_cast<uint32_t>(queue_.size()),
                       std::memory_order_relaxed);
  // The buffers go ahead only to a thread that holds nothing: one
  // with async tasks in flight waits for work too, but may be busy
  // in one's continuation while a sibling takes the task and waits
  // for the buffers to come back from it.
  if (target) {
    double task_id = queue_.back().id;
    // A thread that holds nothing and is about to take, the spinner or
    // one on its way back to Take(), takes the task (when nothing else
    // is queued ahead of it): a waiter chosen instead would get the
    // buffers, and the taker would have to ask for them back through
    // the owner.
    if (uint32_t coming = queue_.size() == 1 ? IdleTakerLocked() : 0) {
      *target = coming;
      threads_.at(coming).sent_task = task_id;
      return PushDemandLocked();
    }
    if (PopWaiterLocked(target, Pick::kIdleOnly)) {
      // Chosen asleep: the buffers' message, sent ahead, wakes it (the
      // caller wakes it here, WakeThread, only when it keeps them). The
      // flag is cleared as it takes, or as it forgoes the task (ForgoSentTaskLocked).
      ThreadRecord& rec = threads_.at(*target);
      rec.sent_task = task_id;
      rec.wake_after_send = true;
      return -1;
    }
    // None idle: woken as any task's.
  }
  // A spinning thread takes it (it looks at the queue again under this
  // lock when its spin ends): a waiter woken too would find nothing, and
  // spin in turn beside the thread that runs the task. So does a thread
  // on its way back from its last task, one per task queued. A caller
  // that awaits each result pushes the next as soon as it has one, often
  // before the thread that sent it is back in Take(): a waiter woken
  // then took the task, and calls in sequence moved between threads
  // (130-350 times in 1,000 while the path warms up, bench seq), each
  // move to a thread whose caches are cold, and both threads compiling
  // the path.
  if (spinning_ == 0 && queue_.size() > ReturningTakersLocked()) *wake = PopWaiterLocked();
  return *wake ? 0 : PushDemandLocked();
}

int64_t Pool::SignalPushed(std::shared_ptr<Reactor> wake) {
  // A waiter whose thread is gone is skipped for the next one.
  while (!wake->SignalWork()) {
    std::lock_guard<SpinningMutex> lock(mu_);
    wake = PopWaiterLocked();
    if (!wake) return PushDemandLocked();
  }
  return -1;
}

int64_t Pool::PushDemandLocked() const {
  // Waiting threads count too, as in PushBatch(): Push() leaves them asleep
  // while a thread spins, and the spinner's take wakes them in turn (and
  // when none spins, Push() returns a demand only once none waits).
  int64_t coming = spinning_;
  for (auto& kv : threads_) {
    const ThreadRecord& r = kv.second;
    if (!r.gone && !r.retiring && (!r.reactor || r.waiting || r.returning)) ++coming;
  }
  int64_t demand = static_cast<int64_t>(queue_.size()) - coming;
  return demand > 0 ? demand : 0;
}

int64_t Pool::PushBatch(std::vector<Task>& tasks, uint32_t max_queue, uint32_t* accepted) {
  owner_cpu_.store(CurrentCpu(), std::memory_order_relaxed);
  std::shared_ptr<Reactor> wake;
  int64_t demand = 0;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    size_t queued = QueuedLocked();
    size_t room = queued >= max_queue ? 0 : max_queue - queued;
    size_t n = std::min(room, tasks.size());
    for (size_t i = 0; i < n; ++i) queue_.push_back(std::move(tasks[i]));
    *accepted = static_cast<uint32_t>(n);
    if (n == 0) return 0;
    submitted_ += static_cast<double>(n);
    queued_approx_.store(static_cast<uint32_t>(queue_.size()), std::memory_order_relaxed);
    // Every waiting thread is reached by the wake chain (Take()): the
    // demand is what they, the spinners and the starting threads leave.
    int64_t coming = spinning_;
    for (auto& kv : threads_) {
      const ThreadRecord& r = kv.second;
      if (!r.gone && !r.retiring && (!r.reactor || r.waiting || r.returning)) ++coming;
    }
    demand = static_cast<int64_t>(queue_.size()) - coming;
    // A spinning thread takes the batch (and wakes the next if it leaves
    // work): no wake-up from here. Else an idle waiter first: one with
    // async tasks in flight may be busy in a continuation.
    // (Nor does each thread on its way back from its last task: Push().)
    if (spinning_ == 0 && queue_.size() > ReturningTakersLocked()) {
      wake = PopWaiterLocked(nullptr, Pick::kIdleFirst);
    }
  }
  if (!wake) return demand > 0 ? demand : 0;
  // Its thread is going away: the next waiter, or the owner's demand.
  while (!wake->SignalWork()) {
    {
      std::lock_guard<SpinningMutex> lock(mu_);
      wake = PopWaiterLocked();
    }
    if (!wake) return demand > 0 ? demand + 1 : 1;
  }
  return demand > 0 ? demand : -1;
}

void Pool::ReleaseKeyLocked(const AffinityKey& key) {
  if (!key) return;
  auto it = affinity_.find(*key);
  if (it != affinity_.end() && --it->second.tasks == 0) affinity_.erase(it);
}

void Pool::CountSharedLocked(const AffinityKey& key, int delta) {
  if (!key) return;
  auto it = affinity_.find(*key);
  if (it != affinity_.end()) it->second.shared += delta;
}

void Pool::AdoptKeyLocked(uint32_t thread_id, ThreadRecord& rec, const std::string& key) {
  auto it = affinity_.find(key);
  // Bound already: a task of the key that its thread handed back as it
  // parked, which any thread runs.
  if (it == affinity_.end() || it->second.thread != 0) return;
  Binding& b = it->second;
  b.thread = thread_id;
  if (b.shared > 0) GatherSharedLocked(rec, key, b);
  waiting_on_keys_ -= b.waiting.size();
  for (auto& t : b.waiting) rec.pinned.push_back(std::move(t));
  b.waiting.clear();
}

void Pool::GatherSharedLocked(ThreadRecord& rec, const std::string& key, Binding& b) {
  auto is_key = [&key](const Task& t) { return t.affinity && *t.affinity == key; };
  // The prefix of the queue that holds them; what else it holds keeps its
  // order (returned tasks stay ahead of the rest), the tail is untouched.
  size_t end = 0;
  uint32_t found = 0;
  while (end < queue_.size() && found < b.shared) {
    if (is_key(queue_[end])) ++found;
    ++end;
  }
  std::vector<Task> others;
  others.reserve(end - found);
  for (size_t i = 0; i < end; ++i) {
    if (is_key(queue_[i])) rec.pinned.push_back(std::move(queue_[i]));
    else others.push_back(std::move(queue_[i]));
  }
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(end));
  queue_.insert(queue_.begin(), std::make_move_iterator(others.begin()),
                std::make_move_iterator(others.end()));
  b.shared -= found;
}

void Pool::RecordRunLocked(ThreadRecord& rec, const Held& h, uint64_t now) {
  uint64_t from = std::max(h.taken_ns, rec.last_event_ns);
  rec.last_event_ns = now;
  if (h.fn_id == 0 || h.fn_id > fn_timing_.size()) return;
  FnTiming& t = fn_timing_[h.fn_id - 1];
  uint64_t ran = now > from ? now - from : 0;
  // A first run pays for compiling (and a first call's lazy setup), often
  // many times a later one's cost: the second run replaces it, and later
  // ones move the mean half the way, so that the mean follows a function
  // whose first runs are slow (still warming up) or that turns slow
  // within a few runs.
  if (t.samples++ < 2) t.mean_ns = ran;
  else t.mean_ns = (t.mean_ns + ran) / 2;
}

bool Pool::KnownQuickLocked(uint32_t fn_id) const {
  if (fn_id == 0 || fn_id > fn_timing_.size()) return false;
  const FnTiming& t = fn_timing_[fn_id - 1];
  return t.samples >= 2 && t.mean_ns < quick_task_ns_;
}

size_t Pool::QueuedLocked() const {
  size_t n = queue_.size() + waiting_on_keys_;
  for (auto& kv : threads_) n += kv.second.pinned.size();
  return n;
}

int64_t Pool::PushPinned(Task&& task, const std::string& key, uint32_t max_queue,
                         uint32_t* target) {
  if (target) *target = 0;
  owner_cpu_.store(CurrentCpu(), std::memory_order_relaxed);
  std::shared_ptr<Reactor> wake;
  std::shared_ptr<Reactor> heir;
  bool left_work = false;
  bool shared = false;      // queued unbound: `wake` is a waiter, as Push()'s
  bool wake_later = false;  // pinned, its buffers sent ahead: WakeThread() wakes it
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    if (QueuedLocked() >= max_queue) return -2;
    Binding& b = affinity_.try_emplace(key, Binding{0, 0, 0}).first->second;
    ++b.tasks;
    task.affinity = std::make_unique<const std::string>(key);
    // Bound: its thread keeps the key while it is in the pool, retiring
    // or gone included, since the key's earlier calls wait for it there
    // (RemoveThread puts them back, in order, and unbinds the key). Not
    // bound: to the attached thread with the least work, unless earlier
    // calls of the key wait unbound in the shared queue: then it waits
    // behind them, for the thread that adopts the key.
    uint32_t tid = b.thread;
    if (tid == 0 && b.shared == 0) {
      size_t least = SIZE_MAX;
      for (auto& kv : threads_) {
        const ThreadRecord& r = kv.second;
        if (!r.reactor || r.retiring || r.gone || r.budget_spent) continue;
        size_t load = r.held.size() + r.pinned.size();
        if (load < least) {
          least = load;
          tid = kv.first;
        }
      }
    }
    if (tid == 0 && b.shared > 0) {
      // Behind the key's call in the shared queue, for the thread that
      // takes that one: none can take it before.
      b.waiting.push_back(std::move(task));
      ++waiting_on_keys_;
      submitted_ += 1;
      return PushDemandLocked();
    }
    if (tid == 0) {
      // No thread to bind it to yet: the shared queue holds it, with its key.
      int64_t pushed = QueueSharedLocked(std::move(task), target, &wake);
      if (!wake) return pushed;
      shared = true;
    } else {
      b.thread = tid;
      ThreadRecord& rec = threads_.at(tid);
      bool counted = OnWayBackLocked(rec) && !rec.gone;
      rec.pinned.push_back(std::move(task));
      // A push may have counted on it, on its way back, for shared work
      // (ReturningTakersLocked) and woken no one: that work would now wait
      // behind this task. A sibling is woken for it, unless one spins.
      if (counted && spinning_ == 0 && queue_.size() > ReturningTakersLocked()) {
        left_work = true;
        heir = PopWaiterLocked();
      }
      pinned_pushes_.fetch_add(1, std::memory_order_relaxed);
      submitted_ += 1;
      // (Buffers are sent ahead only to a thread that will take the task:
      // not to one that retires or died, which would take them along.)
      bool takes = rec.reactor && !rec.retiring && !rec.gone;
      if (target && takes) {
        *target = tid;
        rec.sent_task = rec.pinned.back().id;
      }
      if (rec.waiting) {
        StopWaitingLocked(tid, rec);
        wake = rec.reactor;
        // (With `target`, WakeThread() wakes it once the buffers are sent.)
        wake_later = rec.wake_after_send = target != nullptr && takes;
      }
    }
  }
  if (shared) return SignalPushed(std::move(wake));
  if (wake && !wake_later) wake->SignalWork();
  if (left_work) WakeOrDemand(std::move(heir));
  return -1;
}

void Pool::WakeThread(uint32_t thread_id) {
  std::shared_ptr<Reactor> wake;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    auto it = threads_.find(thread_id);
    if (it != threads_.end()) {
      // Chosen while spinning or busy: it takes the task without a wake-up.
      if (!it->second.wake_after_send) return;
      it->second.wake_after_send = false;
      wake = it->second.reactor;
    }
  }
  WakeOrDemand(std::move(wake));
}

bool Pool::SignalOrNextWaiter(std::shared_ptr<Reactor> wake) {
  // A waiter whose thread is going away (as in Push()): the next one.
  while (wake && !wake->SignalWork()) {
    std::lock_guard<SpinningMutex> lock(mu_);
    wake = PopWaiterLocked();
  }
  return wake != nullptr;
}

void Pool::WakeOrDemand(std::shared_ptr<Reactor> wake) {
  if (!wake) {
    std::lock_guard<SpinningMutex> lock(mu_);
    wake = PopWaiterLocked();
  }
  if (!SignalOrNextWaiter(std::move(wake)))
    owner_->Post(Message{MessageKind::kPoolDemand, 0, id_, 0, Frame{}});
}

std::vector<double> Pool::ClearQueue() {
  std::lock_guard<SpinningMutex> lock(mu_);
  std::vector<double> ids;
  for (auto& t : queue_) {
    ids.push_back(t.id);
    CountSharedLocked(t.affinity, -1);
    ReleaseKeyLocked(t.affinity);
  }
  queue_.clear();
  for (auto& kv : threads_) {
    for (auto& t : kv.second.pinned) {
      ids.push_back(t.id);
      ReleaseKeyLocked(t.affinity);
    }
    kv.second.pinned.clear();
  }
  DropWaitingLocked(&ids);
  queued_approx_.store(0, std::memory_order_relaxed);
  return ids;
}

void Pool::DropWaitingLocked(std::vector<double>* ids) {
  if (waiting_on_keys_ == 0) return;
  for (auto it = affinity_.begin(); it != affinity_.end();) {
    Binding& b = it->second;
    for (auto& t : b.waiting) ids->push_back(t.id);
    b.tasks -= static_cast<uint32_t>(b.waiting.size());
    b.waiting.clear();
    it = b.tasks == 0 ? affinity_.erase(it) : std::next(it);
  }
  waiting_on_keys_ = 0;
}

std::pair<Pool::Binding*, std::deque<Task>::iterator> Pool::FindWaitingLocked(double task_id) {
  if (waiting_on_keys_ > 0) {
    for (auto& kv : affinity_) {
      auto& wq = kv.second.waiting;
      for (auto w = wq.begin(); w != wq.end(); ++w) {
        if (w->id == task_id) return {&kv.second, w};
      }
    }
  }
  return {nullptr, {}};
}

void Pool::PromoteWaitingLocked(const AffinityKey& key, std::deque<Task>::iterator at) {
  if (!key) return;
  auto it = affinity_.find(*key);
  if (it == affinity_.end()) return;
  Binding& b = it->second;
  if (b.thread != 0 || b.shared > 0 || b.waiting.empty()) return;
  // Not among the returned tasks that lead the queue, whose order by id
  // ReturnToQueueLocked keeps (it stops at the first task not returned):
  // in that prefix, a later return went ahead of lower ids (helper-122).
  while (at != queue_.end() && at->returned) ++at;
  queue_.insert(at, std::move(b.waiting.front()));
  b.waiting.pop_front();
  --waiting_on_keys_;
  b.shared = 1;
}

uint32_t Pool::Cancel(double task_id, bool queued_only) {
  std::shared_ptr<Reactor> holder;
  uint32_t holder_id = 0;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->id != task_id) continue;
      AffinityKey key = std::move(it->affinity);
      CountSharedLocked(key, -1);
      // (The key's next call, if one waited behind it, takes its place.)
      PromoteWaitingLocked(key, queue_.erase(it));
      ReleaseKeyLocked(key);
      queued_approx_.store(static_cast<uint32_t>(queue_.size()),
                           std::memory_order_relaxed);
      return 1;
    }
    for (auto& kv : threads_) {
      auto& pq = kv.second.pinned;
      for (auto p = pq.begin(); p != pq.end(); ++p) {
        if (p->id != task_id) continue;
        ReleaseKeyLocked(p->affinity);
        pq.erase(p);
        return 1;
      }
    }
    auto [binding, w] = FindWaitingLocked(task_id);
    if (binding) {
      AffinityKey key = std::move(w->affinity);
      binding->waiting.erase(w);
      --waiting_on_keys_;
      ReleaseKeyLocked(key);
      return 1;
    }
    if (queued_only) return 0;
    for (auto& kv : threads_) {
      auto h = kv.second.held.find(task_id);
      if (h == kv.second.held.end()) continue;
      if (h->second.finished) return 0;  // its result is on its way
      h->second.cancelled = true;
      holder = kv.second.reactor;
      holder_id = kv.first;
      break;
    }
  }
  if (!holder_id) return 0;
  if (holder) holder->Post(Message{MessageKind::kCancelTask, 0, id_, task_id, Frame{}});
  return holder_id + 1;
}

uint64_t Pool::TakenAt(double task_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  for (auto& kv : threads_) {
    auto h = kv.second.held.find(task_id);
    if (h != kv.second.held.end()) return h->second.finished ? 0 : h->second.taken_ns;
  }
  return 0;
}

uint32_t Pool::DefineFunction(std::vector<uint8_t>&& descriptor) {
  std::string key(descriptor.begin(), descriptor.end());
  std::lock_guard<SpinningMutex> lock(mu_);
  auto [it, added] = function_ids_.try_emplace(
      std::move(key), static_cast<uint32_t>(functions_.size() + 1));
  if (added) {
    functions_.push_back(&it->first);
    fn_timing_.emplace_back();
  }
  return it->second;
}

std::vector<uint8_t> Pool::GetFunction(uint32_t fn_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  if (fn_id == 0 || fn_id > functions_.size()) return {};
  const std::string& bytes = *functions_[fn_id - 1];
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

uint32_t Pool::AddThread() {
  std::lock_guard<SpinningMutex> lock(mu_);
  uint32_t tid = next_thread_id_++;
  threads_.emplace(tid, ThreadRecord{});
  return tid;
}

std::vector<double> Pool::RemoveThread(uint32_t thread_id, bool* attached,
                                       uint32_t* requeued, uint32_t* reactor) {
  std::vector<double> died;
  // Held back by the thread, its results (to the owner: target 0) and its
  // calls (HoldPost): posted below, in the order it made them.
  struct Outgoing {
    uint64_t seq;
    uint32_t target;
    Message message;
  };
  std::vector<Outgoing> held_back;
  // A waiting sibling, woken for the tasks put back in the queue.
  std::shared_ptr<Reactor> heir;
  *attached = false;
  *requeued = 0;
  {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it == threads_.end()) return died;
  *attached = it->second.reactor != nullptr;
  std::vector<std::pair<double, Held*>> order;
  for (auto& kv : it->second.held) order.emplace_back(kv.first, &kv.second);
  std::sort(order.begin(), order.end(),
            [](auto& a, auto& b) { return a.second->seq < b.second->seq; });
  bool running_found = false;
  std::vector<Task> back;
  uint32_t sender = it->second.reactor ? it->second.reactor->id() : 0;
  if (reactor) *reactor = sender;
  std::vector<std::pair<double, Held*>> finished;
  for (auto& [id, h] : order) {
    if (h->finished) {
      // It ended; only its result was still in the thread's hands.
      finished.emplace_back(id, h);
      continue;
    }
    bool ran = h->started || (!running_found && !h->loading);
    // Tasks start in take order: once one is running or loading, none
    // after it has started (but for the async ones, marked started).
    if (!h->started) running_found = true;
    bool retry = !ran && !h->cancelled && h->rerunnable && !stopping_ &&
                 (!h->loading || h->lost_while_loading == 0);
    if (!retry) {
      died.push_back(id);
      ReleaseKeyLocked(h->affinity);
      continue;
    }
    // Still in the pool: it keeps its key.
    uint8_t lost = static_cast<uint8_t>(h->lost_while_loading + (h->loading ? 1 : 0));
    back.push_back(Task{id, h->fn_id, lost, false, false, false, Frame{std::move(h->bytes), {}},
                        h->enqueued_ns, std::move(h->affinity)});
  }
  // The ones it had taken, and those queued for it (affinity), go back
  // to everyone, ahead of what no thread took yet, by push order.
  auto& pinned = it->second.pinned;
  for (auto& t : pinned) ReturnToQueueLocked(std::move(t));
  for (auto& t : back) ReturnToQueueLocked(std::move(t));
  *requeued = static_cast<uint32_t>(back.size() + pinned.size());
  // Its keys are bound anew by the thread that takes one of their tasks
  // (AdoptKeyLocked), which gathers the rest: they run in order again,
  // on one thread, and new calls of a key wait behind them.
  for (auto& kv : affinity_) {
    if (kv.second.thread == thread_id) kv.second.thread = 0;
  }
  queued_approx_.store(static_cast<uint32_t>(queue_.size()), std::memory_order_relaxed);
  // Nothing else would wake a sibling for them (tasks pinned to a thread
  // that recycled waited for a waiting sibling's idle timeout). With none
  // waiting or spinning, the owner's caller starts a replacement as the
  // queue needs.
  // (A spinning thread takes them: none is woken beside it, as in Push().)
  // (Off the waiting list first: the heir is never the thread that left.)
  StopWaitingLocked(thread_id, it->second);
  if (*requeued > 0 && spinning_ == 0) heir = PopWaiterLocked();
  // Held results and calls leave in the order the thread made them, as
  // they would have.
  for (auto& [id, h] : finished) {
    held_back.push_back(Outgoing{h->finish_seq, 0,
                                 Message{MessageKind::kTaskResult, h->status, id_, id,
                                         std::move(h->result), sender}});
  }
  for (auto& post : it->second.held_posts) {
    held_back.push_back(Outgoing{post.seq, post.target, std::move(post.message)});
  }
  std::sort(held_back.begin(), held_back.end(),
            [](const Outgoing& a, const Outgoing& b) { return a.seq < b.seq; });
  threads_.erase(it);
  }
  for (auto& out : held_back) {
    if (out.target == 0) {
      owner_->Post(std::move(out.message));
      continue;
    }
    // (No wait for room: the thread that made the call is gone.)
    if (auto target = Registry::Get().FindReactor(out.target)) target->Post(std::move(out.message));
  }
  SignalOrNextWaiter(std::move(heir));
  return died;
}

void Pool::MarkStarted(uint32_t thread_id, double task_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it == threads_.end()) return;
  auto h = it->second.held.find(task_id);
  if (h == it->second.held.end() || h->second.started) return;
  h->second.started = true;
  ++it->second.in_flight;
  // Its synchronous part is over: what follows does not hold the thread.
  RecordRunLocked(it->second, h->second, MonotonicNs());
}

void Pool::MarkLoading(uint32_t thread_id, double task_id, bool loading) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it == threads_.end()) return;
  auto h = it->second.held.find(task_id);
  if (h != it->second.held.end()) h->second.loading = loading;
  // A load that ended is not part of the run that follows it.
  if (!loading) it->second.last_event_ns = MonotonicNs();
}

void Pool::WantBuffers(uint32_t thread_id, double task_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it != threads_.end()) it->second.wants[task_id] = false;
}

bool Pool::ClaimWant(uint32_t thread_id, double task_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it == threads_.end()) return false;
  auto w = it->second.wants.find(task_id);
  if (w == it->second.wants.end() || w->second) return false;
  w->second = true;
  return true;
}

bool Pool::DropWant(uint32_t thread_id, double task_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it == threads_.end()) return false;
  auto w = it->second.wants.find(task_id);
  if (w == it->second.wants.end()) return false;
  bool claimed = w->second;
  it->second.wants.erase(w);
  return claimed;
}

void Pool::AttachThread(uint32_t thread_id, std::shared_ptr<Reactor> reactor) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it != threads_.end()) it->second.reactor = std::move(reactor);
}

uint32_t Pool::SpinningThreads() {
  std::lock_guard<SpinningMutex> lock(mu_);
  return spinning_;
}

void Pool::MarkGone(uint32_t thread_id) {
  std::unique_lock<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it == threads_.end()) return;
  it->second.gone = true;
  // (Nothing would wake it now: a push must not count on it.)
  StopWaitingLocked(thread_id, it->second);
  std::shared_ptr<Reactor> heir;
  if (!ForgoSentTaskLocked(it->second, &heir)) return;
  lock.unlock();
  WakeOrDemand(std::move(heir));
}

uint32_t Pool::GoneCount() {
  std::lock_guard<SpinningMutex> lock(mu_);
  uint32_t n = 0;
  // Retiring ones too (recycled, idle, surplus): they take nothing more,
  // and their exits are as unseen by a parked owner as a death.
  for (auto& kv : threads_) if (kv.second.gone || kv.second.retiring) ++n;
  return n;
}

TaskOutlook Pool::Outlook(double task_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  bool live = false;
  for (auto& [tid, rec] : threads_) {
    if (rec.held.count(task_id))
      return rec.gone ? TaskOutlook::kHolderGone : TaskOutlook::kServed;
    if (!rec.gone) live = true;
  }
  bool queued = false;
  for (auto& t : queue_) {
    if (t.id == task_id) {
      queued = true;
      break;
    }
  }
  for (auto& [tid, rec] : threads_) {
    for (auto& t : rec.pinned) {
      if (t.id == task_id) queued = true;
    }
  }
  if (FindWaitingLocked(task_id).first) queued = true;
  if (!queued) return TaskOutlook::kServed;
  return live ? TaskOutlook::kQueued : TaskOutlook::kNoThread;
}

std::vector<uint32_t> Pool::LiveThreadReactors() {
  std::lock_guard<SpinningMutex> lock(mu_);
  std::vector<uint32_t> ids;
  for (auto& [tid, rec] : threads_) {
    if (rec.gone) continue;
    if (rec.reactor) {
      ids.push_back(rec.reactor->id());
    } else if (rec.starting_reactor) {
      ids.push_back(rec.starting_reactor);
    } else {
      return {};
    }
  }
  return ids;
}

void Pool::NoteStartingCaller(uint32_t thread_id, uint32_t reactor_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it != threads_.end() && !it->second.reactor) it->second.starting_reactor = reactor_id;
}

bool Pool::IsGone(uint32_t thread_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  return it == threads_.end() || it->second.gone;
}

bool Pool::IsAttached(uint32_t thread_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  return it != threads_.end() && it->second.reactor != nullptr;
}

bool Pool::SpinPaysLocked(const ThreadRecord& rec) {
  return std::bitset<8>(rec.spin_paid).count() >= 4;
}

bool Pool::HoldsUnfinishedLocked(const ThreadRecord& rec) {
  for (const auto& kv : rec.held) {
    if (!kv.second.finished) return true;
  }
  return false;
}

size_t Pool::FairShareLocked(uint32_t thread_id, const ThreadRecord& rec, size_t queued, uint32_t* wake) const {
  size_t live = std::max<size_t>(threads_.size(), 1);
  size_t mine = rec.in_flight;
  size_t all = mine;
  size_t about_to_take = 0, their_in_flight = 0;
  // The sibling about to take that holds the fewest in flight, and whether
  // it waits (not woken already, spinning or on its way back).
  uint32_t fewest = 0;
  size_t fewest_in_flight = 0;
  bool fewest_waits = false;
  uint64_t now = 0;  // read once, if a sibling's loop is busy
  for (const auto& [tid, r] : threads_) {
    if (tid == thread_id) continue;
    all += r.in_flight;
    bool spins = tid == idle_spinner_;
    if (!r.reactor || r.retiring || r.gone || !(r.waiting || r.woken || r.returning || spins)) continue;
    // A waiting or woken one whose loop runs a callback (a continuation of
    // a task in flight, which may compute, or wait on the queued work
    // itself) is not about to take (helper-158).
    if (!spins && !r.returning && !WakesSoonLocked(r, &now)) continue;
    ++about_to_take;
    their_in_flight += r.in_flight;
    if (fewest == 0 || r.in_flight < fewest_in_flight) {
      fewest = tid;
      fewest_in_flight = r.in_flight;
      fewest_waits = r.waiting && !spins;
    }
  }
  if (all == 0) return (queued + live - 1) / live;
  // Holding none in flight: a share of the queued work and all in flight.
  if (mine == 0) return (queued + all + live - 1) / live;
  // Work is left only to a sibling about to take that holds fewer in
  // flight than this thread: it takes, so no two threads leave it to each
  // other (helper-161: two with 2 each woke each other for ever, while the
  // one with 1, which would take, slept). Else as before.
  if (fewest == 0 || fewest_in_flight >= mine) return (queued + live - 1) / live;
  size_t group = about_to_take + 1;
  size_t fair = (queued + mine + their_in_flight + group - 1) / group;
  if (fair > mine) return fair - mine;
  if (fewest_waits) *wake = fewest;
  return 0;
}

void Pool::EndInFlightLocked(ThreadRecord& rec, const Held& h) {
  if (h.started && !h.finished && rec.in_flight > 0) --rec.in_flight;
}

void Pool::EndIdleLocked(ThreadRecord& rec, const Task& first) {
  if (rec.idle_since_ns == 0) return;
  uint64_t after = first.enqueued_ns > rec.idle_since_ns
                       ? first.enqueued_ns - rec.idle_since_ns : 0;
  rec.spin_paid = static_cast<uint8_t>(rec.spin_paid << 1) |
                  (after <= rec.idle_pays_within_ns ? 1 : 0);
  rec.idle_since_ns = 0;
}

bool Pool::LeaveOwnerCpu(uint32_t thread_id) {
  // (A pool thread serves one pool at a time.)
  thread_local MovePacer pacer(kLeaveOwnerCpuEveryNs);
  int owner = owner_cpu_.load(std::memory_order_relaxed);
  if (!pacer.Due(owner, MonotonicNs())) return false;
  size_t busy;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    auto it = threads_.find(thread_id);
    // Only while calls come back to back: the last task that ended an
    // idle period of this thread's came within its spin's paying window
    // (spin_paid's newest bit). A caller that sleeps between its calls
    // wakes this thread onto its own core nearly every time, and moving
    // then only cost the move (calls 1 ms apart: p50 122-161 us without,
    // 198-299 with a move on 95% of them; helper-74's review).
    if (it == threads_.end() || (it->second.spin_paid & 1) == 0) return false;
    // Only where a core is left for it: beside the owner and the pool's
    // threads that are not waiting (this one among them). Where they
    // outnumber the cores (a burst on 2 cores), some always share one,
    // and moving only trades places with a sibling.
    size_t live = LiveLocked();
    busy = live > waiting_.size() ? live - waiting_.size() : 1;
  }
  return MoveOffCpu(owner, static_cast<int>(busy + 1));
}

TakeResult Pool::Take(uint32_t thread_id, uint32_t max, uint64_t spin_ns,
                      uint64_t pays_within_ns, std::vector<Task>* out) {
  uint64_t spin_until = spin_ns ? MonotonicNs() + spin_ns : 0;
  bool spinning = false;
  // The records of the tasks taken that keep a copy of their bytes; the
  // copies are made after mu_ is released (see Held::bytes).
  std::vector<std::pair<Held*, const Bytes*>> keep;
  // A sibling to wake for the work this take leaves queued.
  std::shared_ptr<Reactor> next;
  // PushPinned()'s count when the spin began (see pinned_pushes_).
  uint32_t pinned_seen = 0;
  for (bool first_pass = true;; first_pass = false) {
    {
      std::unique_lock<SpinningMutex> lock(mu_);
      if (spinning) {
        --spinning_;
        spinning = false;
        if (idle_spinner_ == thread_id) idle_spinner_ = 0;
      }
      auto it = threads_.find(thread_id);
      if (it == threads_.end()) return TakeResult::kStopping;
      ThreadRecord& rec = it->second;
      rec.returning = false;
      rec.woken = false;
      // Once stop() without drain began, only what this thread handed back
      // since is left to take: its own (Requeue), which it takes even if
      // it retires or recycles (else they would fail with the queue).
      bool own_after_stop = stopping_ && !drain_on_stop_ && !rec.pinned.empty();
      // Else a thread that agreed to retire takes nothing more: it is
      // exiting. If it was chosen for a task on its way back here (its buffers sent
      // ahead to it: IdleTakerLocked), a sibling is woken for the task
      // (and asks for them), or the owner hears of the demand.
      if (rec.retiring && !own_after_stop) {
        std::shared_ptr<Reactor> heir;
        bool orphaned = ForgoSentTaskLocked(rec, &heir);
        std::shared_ptr<Reactor> pinned_heir;
        bool released = ReleaseRetiringLocked(thread_id, rec, &pinned_heir);
        lock.unlock();
        if (orphaned) WakeOrDemand(std::move(heir));
        if (released) WakeOrDemand(std::move(pinned_heir));
        return TakeResult::kRetire;
      }
      bool may_take = !stopping_ || drain_on_stop_ || own_after_stop;
      // Tasks queued for this thread (affinity) come first, all of them.
      std::deque<Task>& source = may_take && !rec.pinned.empty() ? rec.pinned : queue_;
      bool shared = &source == &queue_;
      // Its fair share of the shared queue (FairShareLocked): none when it
      // leaves them to siblings about to take. (All of those pinned here.)
      uint32_t wake = 0;  // a waiting sibling to wake for work left to it
      size_t share = !may_take || source.empty() ? 0
          : !shared ? source.size()
          // (A drain after stop() takes as before: only the else branch
          // below, which sees the stop, is left with nothing taken.)
          : stopping_ ? (source.size() + threads_.size() - 1) / std::max<size_t>(threads_.size(), 1)
          : FairShareLocked(thread_id, rec, source.size(), &wake);
      if (share > 0) {
        size_t n = std::min<size_t>({source.size(), share, max});
        // Only known-quick tasks are taken together (see Take() in pool.h).
        // Tasks pinned here (affinity) have no other thread to wait for;
        // taken with a task that parks, they go to a sibling with it
        // (Requeue), and a batch of them that runs long comes back here
        // (MayHandBack's kToItself).
        if (shared && n > 1) {
          size_t quick = 0;
          while (quick < n && KnownQuickLocked(source[quick].fn_id)) ++quick;
          n = std::max<size_t>(quick, 1);
        }
        uint64_t now = MonotonicNs();
        EndIdleLocked(rec, source.front());
        out->reserve(out->size() + n);
        keep.reserve(n);
        // Keys of the tasks taken from the shared queue (owned by their
        // Held records): this thread adopts those bound to none.
        std::vector<const std::string*> keys;
        for (size_t i = 0; i < n; ++i) {
          Task& t = out->emplace_back(std::move(source.front()));
          source.pop_front();
          if (shared && t.affinity) {
            CountSharedLocked(t.affinity, -1);
            keys.push_back(t.affinity.get());
          }
          t.sent_to_taker = t.moves_by_port && rec.sent_task == t.id;
          times_.queue_wait.Record(now - t.enqueued_ns);
          // A fresh record: a task id is held by one thread at a time.
          Held& h = rec.held.try_emplace(t.id).first->second;
          h.taken_ns = now;
          h.seq = next_seq_++;
          h.fn_id = t.fn_id;
          h.enqueued_ns = t.enqueued_ns;
          h.affinity = std::move(t.affinity);
          h.lost_while_loading = t.lost_while_loading;
          if (t.frame.transfers.empty() && !t.moves_by_port &&
              t.frame.bytes.size() <= kKeepBytesUpTo) {
            h.rerunnable = true;
            // out was reserved: &t stays valid while it is filled.
            keep.emplace_back(&h, &t.frame.bytes);
          }
        }
        for (const std::string* key : keys) AdoptKeyLocked(thread_id, rec, *key);
        queued_approx_.store(static_cast<uint32_t>(queue_.size()),
                             std::memory_order_relaxed);
        // (What was sent ahead for a task it did not take goes back when
        // asked: Return.)
        rec.sent_task = 0;
        rec.wake_after_send = false;
        StopWaitingLocked(thread_id, rec);
        // Work left for the siblings and none spinning for it: wake one
        // (it wakes the next in turn), so that a batch pushed with one
        // wake-up (PushBatch) reaches every idle thread.
        // (Also when it took tasks pinned here: the shared queue's work
        // may be a batch whose one wake-up this thread was.)
        if (!queue_.empty() && spinning_ == 0) {
          next = PopWaiterLocked(nullptr, Pick::kIdleFirst);
        }
      } else {
        if (stopping_) return TakeResult::kStopping;
        if (rec.held.empty() && !rec.retiring && LiveLocked() > max_) {
          rec.retiring = true;
          StopWaitingLocked(thread_id, rec);
          return TakeResult::kRetire;
        }
        // An idle period begins (again, for a thread woken for a task a
        // sibling took): whether a spin from now would catch the task that
        // ends it is what SpinPaysLocked weighs, spun or not. A result held
        // behind console output leaves the thread idle all the same.
        uint64_t now = MonotonicNs();
        if (first_pass && spin_ns && !HoldsUnfinishedLocked(rec)) {
          rec.idle_since_ns = now;
          rec.idle_pays_within_ns = std::min(pays_within_ns, spin_ns);
        }
        // It left queued work to a sibling about to take it: it waits, with
        // no spin (the queued work would end it at once), and wakes that
        // sibling if it waits (unless a thread spins: it takes the work).
        std::shared_ptr<Reactor> leave_to;
        bool left = may_take && !source.empty();
        if (left) {
          spin_until = 0;
          if (wake != 0 && spinning_ == 0) leave_to = TakeWaiterLocked(wake);
        }
        // One spinner at a time, as Go's scheduler bounds its spinning
        // threads: it takes the next batch and wakes a sibling for work it
        // leaves, so a second spinner gains nothing, and it would take a
        // core from the owner that feeds them (or from a busy sibling).
        if (spin_until == 0 || now >= spin_until || spinning_ > 0 ||
            !SpinPaysLocked(rec)) {
          // Registered under the same lock that Push() takes: a task pushed
          // after this point finds the thread in waiting_ and wakes it.
          if (!rec.waiting && !rec.retiring) {
            rec.waiting = true;
            waiting_.push_back(thread_id);
          }
          // (Back in library code, on its way to its loop's poll: see
          // WakesSoonLocked.)
          rec.waiting_since_ns = now;
          lock.unlock();
          if (leave_to) SignalOrNextWaiter(std::move(leave_to));
          return left ? TakeResult::kLeft : TakeResult::kNone;
        }
        ++spinning_;  // Push() counts it as about to take work
        spinning = true;
        if (rec.held.empty()) idle_spinner_ = thread_id;
        pinned_seen = pinned_pushes_.load(std::memory_order_relaxed);
      }
    }
    if (!spinning) {
      // Taken. The copies that let a task re-run if this thread dies are
      // made here, off the lock that the owner's Push() and the siblings
      // wait on.
      for (auto& [held, bytes] : keep) held->bytes = *bytes;
      SignalOrNextWaiter(std::move(next));
      return TakeResult::kTasks;
    }
    // Spin outside the lock on the atomic count, so the owner's Push()
    // never contends with a spinner.
    // A task queued for this thread (affinity) ends it too, as for any
    // thread's: this one's is then taken, another's leaves it spinning on.
    SpinUntil(spin_until, [this, pinned_seen] {
      return queued_approx_.load(std::memory_order_relaxed) != 0 ||
             pinned_pushes_.load(std::memory_order_relaxed) != pinned_seen;
    });
  }
}

bool Pool::Complete(uint32_t thread_id, double task_id, uint32_t status,
                    Frame&& result, bool hold_result, bool quiet) {
  uint32_t sender = 0;
  // The ended task's record, freed (with its copy of the bytes) after
  // mu_ is released, off the lock that Push() and Take() wait on.
  decltype(ThreadRecord::held)::node_type ended;
  // A recycled thread's last task ended: what its keys pinned to it goes
  // to a sibling (ReleaseRetiringLocked), woken once mu_ is released.
  std::shared_ptr<Reactor> heir;
  bool left_work = false;
  {
    std::unique_lock<SpinningMutex> lock(mu_);
    bool kept = false;
    auto it = threads_.find(thread_id);
    if (it != threads_.end()) {
      if (it->second.reactor) sender = it->second.reactor->id();
      auto held = it->second.held.find(task_id);
      if (held != it->second.held.end() && !held->second.finished) {
        uint64_t now = MonotonicNs();
        times_.run.Record(now - held->second.taken_ns);
        if (held->second.started) it->second.last_event_ns = now;
        else RecordRunLocked(it->second, held->second, now);
        EndInFlightLocked(it->second, held->second);
        ReleaseKeyLocked(held->second.affinity);
        held->second.affinity.reset();
        if (hold_result) {
          Held& h = held->second;
          h.finished = true;
          h.status = status;
          h.result = std::move(result);
          h.finish_seq = next_seq_++;
          kept = true;
        } else {
          ended = it->second.held.extract(held);
        }
        it->second.returning = !HoldsUnfinishedLocked(it->second);
        left_work = ReleaseRetiringLocked(thread_id, it->second, &heir);
        // Counted as a taker on its way back now (ReturningTakersLocked),
        // it leaves the waiting list, where an async task in flight had
        // put it: else a push counted it twice, as that taker and as the
        // waiter it woke for the next task, and asked the owner for no
        // thread (found by a cold review).
        if (OnWayBackLocked(it->second)) StopWaitingLocked(thread_id, it->second);
      }
    }
    if (CountsAsCompleted(status)) completed_ += 1; else failed_ += 1;
    if (kept) {
      lock.unlock();
      if (left_work) WakeOrDemand(std::move(heir));
      return true;
    }
  }
  // A result with no held record to keep it in goes now, never nowhere;
  // before any demand for the work that went back.
  bool posted = owner_->Post(Message{MessageKind::kTaskResult, status, id_, task_id,
                                     std::move(result), sender}, !quiet);
  if (left_work) WakeOrDemand(std::move(heir));
  return posted;
}

bool Pool::ReleaseResult(uint32_t thread_id, double task_id) {
  uint32_t sender = 0, status = 0;
  Frame result;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    auto it = threads_.find(thread_id);
    if (it == threads_.end()) return false;
    auto held = it->second.held.find(task_id);
    if (held == it->second.held.end() || !held->second.finished) return false;
    if (it->second.reactor) sender = it->second.reactor->id();
    status = held->second.status;
    result = std::move(held->second.result);
    it->second.held.erase(held);
  }
  return owner_->Post(Message{MessageKind::kTaskResult, status, id_, task_id,
                              std::move(result), sender});
}

bool Pool::HoldPost(uint32_t thread_id, uint32_t target, bool may_wait, Message&& message) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it == threads_.end()) return false;
  it->second.held_posts.push_back(
      ThreadRecord::HeldPost{next_seq_++, target, may_wait, std::move(message)});
  return true;
}

bool Pool::ReleasePost(uint32_t thread_id, uint32_t* target, bool* may_wait, Message* message) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it == threads_.end() || it->second.held_posts.empty()) return false;
  auto& post = it->second.held_posts.front();
  *target = post.target;
  *may_wait = post.may_wait;
  *message = std::move(post.message);
  it->second.held_posts.pop_front();
  return true;
}

void Pool::Requeue(uint32_t thread_id, std::vector<Task>&& tasks, bool parking) {
  std::shared_ptr<Reactor> wake;
  uint32_t sender = 0;
  std::vector<double> dropped;
  size_t kept = 0;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    auto it = threads_.find(thread_id);
    ThreadRecord* rec = it != threads_.end() ? &it->second : nullptr;
    if (rec) {
      if (rec->reactor) sender = rec->reactor->id();
      // It is about to park: it must not be the waiter woken for its own
      // tasks (it would take nothing, and no demand would reach the owner).
      // (A thread ending a long batch is not waiting: it is running.)
      StopWaitingLocked(thread_id, *rec);
    }
    // All under this one lock: no sibling can take a later one before an
    // earlier one is back (one call per task ran them reversed). Each goes
    // back to the queue's head by push order (ReturnToQueueLocked), among
    // tasks other threads handed back too; a pinned one to the front of its
    // thread's queue, so last first.
    for (auto t = tasks.rbegin(); t != tasks.rend(); ++t) {
      auto held = rec ? rec->held.find(t->id) : decltype(rec->held.end()){};
      if (rec && held != rec->held.end()) {
        bool cancelled = held->second.cancelled;
        if (cancelled) {
          ReleaseKeyLocked(held->second.affinity);
        } else {
          // Back in the queue, still the same task: it keeps its key, and
          // its place in time (queue-wait figures count from its push).
          t->affinity = std::move(held->second.affinity);
          t->lost_while_loading = held->second.lost_while_loading;
          t->enqueued_ns = held->second.enqueued_ns;
        }
        EndInFlightLocked(*rec, held->second);  // (none: only unstarted tasks go back)
        rec->held.erase(held);
        if (cancelled) {
          dropped.push_back(t->id);
          continue;
        }
      }
      // A task pinned to this thread (its key bound here) stays its own
      // unless it parks or leaves: queued for it again, ahead of its other
      // pinned tasks, as it was taken before them (a long batch handed
      // back to itself: MayHandBack's kToItself).
      bool own = false;
      if (rec && !rec->gone && stopping_ && !drain_on_stop_) {
        // stop() without drain began: it rejected the queue, and no thread
        // takes from it now, but this thread took these before, and stop()
        // lets taken tasks run. It takes them again (Take(), retiring or
        // not; Stop() emptied every pinned queue, so nothing else waits
        // there). A batch that ran long asks MayHandBack first, but stop()
        // may come between; a thread parking while the pool stops gets
        // here too (before, such tasks waited in the queue until the
        // pool's end, and failed with PoolStoppedError).
        own = true;
      } else if (rec && !rec->retiring && !rec->gone && !parking && t->affinity) {
        auto bound = affinity_.find(*t->affinity);
        own = bound != affinity_.end() && bound->second.thread == thread_id;
      }
      if (own) {
        rec->pinned.push_front(std::move(*t));
        continue;
      }
      ReturnToQueueLocked(std::move(*t));
      ++kept;
    }
    if (kept > 0) {
      queued_approx_.store(static_cast<uint32_t>(queue_.size()),
                           std::memory_order_relaxed);
      wake = PopWaiterLocked();
    }
  }
  // A task its caller gave up on, which never started, ends here. The
  // owner learns that no thread holds it any more (and frees what the
  // task carried); no other thread runs it. (In take order: `dropped`
  // was filled last first.)
  for (auto id = dropped.rbegin(); id != dropped.rend(); ++id) {
    owner_->Post(Message{MessageKind::kTaskResult, kTaskDropped, id_, *id,
                         Frame{}, sender});
  }
  if (kept == 0) return;
  // One wake-up for all, as for a pushed batch: the woken thread hands on
  // what it leaves (HandOnCountedWorkLocked).
  if (wake && wake->SignalWork()) return;
  // Nobody took them: the owner may start a thread, or see starvation.
  owner_->Post(Message{MessageKind::kPoolDemand, 0, id_, 0, Frame{}});
}

void Pool::ReturnToQueueLocked(Task&& task) {
  // Returned tasks lead the queue, in push order among themselves: the
  // scan passes only those (at most what the threads held and had queued
  // for them), never the backlog that no thread took yet.
  task.returned = true;
  CountSharedLocked(task.affinity, +1);
  auto at = queue_.begin();
  while (at != queue_.end() && at->returned && at->id < task.id) ++at;
  queue_.insert(at, std::move(task));
}

Pool::HandBack Pool::MayHandBack(uint32_t thread_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  if (stopping_) return HandBack::kNo;
  auto it = threads_.find(thread_id);
  if (it == threads_.end() || it->second.retiring || it->second.gone) return HandBack::kNo;
  for (auto& kv : it->second.held) {
    const Held& h = kv.second;
    if (!h.started && !h.finished && h.affinity) return HandBack::kToItself;
  }
  return HandBack::kToSiblings;
}

bool Pool::HandOnCountedWorkLocked(ThreadRecord& rec, std::shared_ptr<Reactor>* heir) {
  // A task whose buffers a push sent ahead to it stays its own: they are
  // in its port, and a sibling would have to ask for them back, which
  // this same thread's loop answers.
  bool left_work = CountedOnLocked(rec) && rec.sent_task == 0 && !queue_.empty();
  rec.returning = false;
  rec.woken = false;
  if (left_work) *heir = PopWaiterLocked();
  return left_work;
}

void Pool::StepAway(uint32_t thread_id) {
  std::shared_ptr<Reactor> heir;
  bool left_work = false;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    auto it = threads_.find(thread_id);
    if (it == threads_.end()) return;
    // (Not on the waiting list: it just took a batch. Its next Take()
    // counts it again.)
    left_work = HandOnCountedWorkLocked(it->second, &heir);
  }
  if (left_work) WakeOrDemand(std::move(heir));
}

bool Pool::LeaveWaitingList(uint32_t thread_id) {
  bool was_waiting = false;
  bool unmet = false;
  bool orphaned = false;
  std::shared_ptr<Reactor> heir;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    auto it = threads_.find(thread_id);
    if (it == threads_.end()) return false;
    was_waiting = it->second.waiting;
    StopWaitingLocked(thread_id, it->second);
    // Chosen for a task it will not take while parked: a sibling is.
    orphaned = ForgoSentTaskLocked(it->second, &heir);
    // Work is queued and no thread waits for it: the owner must hear of
    // it (to start a thread, or watch for starvation), since no Push()
    // or Requeue() may come to tell it.
    unmet = !orphaned && !stopping_ && QueuedLocked() > 0 && waiting_.empty();
  }
  if (orphaned) WakeOrDemand(std::move(heir));
  if (unmet) owner_->Post(Message{MessageKind::kPoolDemand, 0, id_, 0, Frame{}});
  return was_waiting;
}

void Pool::Recycle(uint32_t thread_id) {
  std::shared_ptr<Reactor> heir, pinned_heir;
  bool left_work = false, released = false;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    auto it = threads_.find(thread_id);
    if (it == threads_.end()) return;
    ThreadRecord& rec = it->second;
    // A task it was chosen for is handed on by Take()'s retiring path
    // (once it has taken back what it handed back after stop() began).
    // (The thread recycles as its last task ends, before it posts the
    // result, so this is for other callers' order.) Asked before it is
    // marked retiring, which CountedOnLocked() leaves aside.
    StopWaitingLocked(thread_id, rec);
    left_work = HandOnCountedWorkLocked(rec, &heir);
    rec.retiring = true;
    released = ReleaseRetiringLocked(thread_id, rec, &pinned_heir);
  }
  if (left_work) WakeOrDemand(std::move(heir));
  if (released) WakeOrDemand(std::move(pinned_heir));
}

void Pool::BudgetSpent(uint32_t thread_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it != threads_.end()) it->second.budget_spent = true;
}

bool Pool::ReleaseRetiringLocked(uint32_t thread_id, ThreadRecord& rec,
                                 std::shared_ptr<Reactor>* heir) {
  if (!rec.retiring || rec.gone || HoldsUnfinishedLocked(rec) ||
      (stopping_ && !drain_on_stop_)) {
    return false;
  }
  // Its keys' calls wait on it only while it runs the ones before them.
  for (auto& kv : affinity_) {
    if (kv.second.thread == thread_id) kv.second.thread = 0;
  }
  if (rec.pinned.empty()) return false;
  for (auto& t : rec.pinned) ReturnToQueueLocked(std::move(t));
  rec.pinned.clear();
  queued_approx_.store(static_cast<uint32_t>(queue_.size()), std::memory_order_relaxed);
  // (A spinning thread takes them: none is woken beside it, as in Push().)
  if (spinning_ == 0) *heir = PopWaiterLocked();
  return true;
}

bool Pool::TryRetire(uint32_t thread_id) {
  std::lock_guard<SpinningMutex> lock(mu_);
  auto it = threads_.find(thread_id);
  if (it == threads_.end()) return true;
  ThreadRecord& rec = it->second;
  if (!rec.held.empty() || !rec.pinned.empty() || !queue_.empty() || LiveLocked() <= min_) return false;
  rec.retiring = true;
  StopWaitingLocked(thread_id, rec);
  return true;
}

std::vector<double> Pool::Stop(bool drain) {
  std::vector<double> rejected;
  std::vector<std::shared_ptr<Reactor>> wake;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    stopping_ = true;
    drain_on_stop_ = drain;
    if (!drain) {
      for (auto& t : queue_) {
        rejected.push_back(t.id);
        CountSharedLocked(t.affinity, -1);
        ReleaseKeyLocked(t.affinity);
      }
      queue_.clear();
      queued_approx_.store(0, std::memory_order_relaxed);
      for (auto& kv : threads_) {
        for (auto& t : kv.second.pinned) {
          rejected.push_back(t.id);
          ReleaseKeyLocked(t.affinity);
        }
        kv.second.pinned.clear();
      }
      DropWaitingLocked(&rejected);
    }
    waiting_.clear();
    for (auto& kv : threads_) {
      kv.second.waiting = false;
      if (kv.second.reactor) wake.push_back(kv.second.reactor);
    }
  }
  for (auto& r : wake) r->SignalWork();
  return rejected;
}

void Pool::SetBounds(uint32_t min, uint32_t max) {
  std::vector<std::shared_ptr<Reactor>> wake;
  {
    std::lock_guard<SpinningMutex> lock(mu_);
    min_ = min;
    max_ = max;
    if (LiveLocked() <= max_) return;
    for (uint32_t tid : waiting_) {
      auto it = threads_.find(tid);
      if (it == threads_.end()) continue;
      it->second.waiting = false;
      if (it->second.reactor) wake.push_back(it->second.reactor);
    }
    waiting_.clear();
  }
  for (auto& r : wake) r->SignalWork();
}

bool Pool::IsStopping() {
  std::lock_guard<SpinningMutex> lock(mu_);
  return stopping_;
}

PoolCounts Pool::Counts() {
  std::lock_guard<SpinningMutex> lock(mu_);
  PoolCounts c{};
  for (auto& kv : threads_) {
    // Threads on their way out are not counted: those that agreed to
    // retire, and those whose environment is gone (MarkGone), which the
    // owner learns of only on its next turn (a blockingCallInThread caller
    // reads the counts before it has one).
    if (kv.second.retiring || kv.second.gone) continue;
    ++c.threads;
    if (!kv.second.held.empty()) ++c.busy;
    else if (kv.second.reactor) ++c.idle;
  }
  c.queued = static_cast<uint32_t>(QueuedLocked());
  c.submitted = submitted_;
  c.completed = completed_;
  c.failed = failed_;
  c.functions = static_cast<uint32_t>(functions_.size());
  c.affinity_keys = static_cast<uint32_t>(affinity_.size());
  return c;
}

PoolTimes Pool::Times() {
  std::lock_guard<SpinningMutex> lock(mu_);
  return times_;
}

}  // namespace rt
