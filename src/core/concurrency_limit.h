// ConcurrencyLimit: at most N holders of a slot at once; the others wait in Acquire(). A limit
// of 0 means no limit (Acquire never waits). Used by the api-proxy to send writes to a primary
// whose backend cannot take concurrent writers (gsqlite3) one at a time.
#pragma once

#include <condition_variable>
#include <mutex>

#include "core/thread_annotations.h"

namespace pdnsd {

class ConcurrencyLimit {
 public:
  explicit ConcurrencyLimit(int limit) : limit_(limit) {}
  ConcurrencyLimit(const ConcurrencyLimit&) = delete;
  ConcurrencyLimit& operator=(const ConcurrencyLimit&) = delete;

  // Holds one slot from construction to destruction.
  class Slot {
   public:
    explicit Slot(ConcurrencyLimit& limit) : limit_(limit) { limit_.Acquire(); }
    ~Slot() { limit_.Release(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    ConcurrencyLimit& limit_;
  };

  void Acquire() EXCLUDES(mutex_) {
    if (limit_ <= 0) return;
    MutexLock lock(mutex_);
    while (held_ >= limit_) free_.wait(lock.native());
    ++held_;
  }
  void Release() EXCLUDES(mutex_) {
    if (limit_ <= 0) return;
    {
      MutexLock lock(mutex_);
      --held_;
    }
    free_.notify_one();
  }

 private:
  const int limit_;
  Mutex mutex_;
  std::condition_variable free_;
  int held_ GUARDED_BY(mutex_) = 0;
};

}  // namespace pdnsd
