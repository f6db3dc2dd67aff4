// Lock annotations checked by clang's -Wthread-safety (CMake option PDNSD_THREAD_SAFETY, which
// scripts/test builds with clang++), and the annotated Mutex they need: libstdc++'s std::mutex
// carries no annotations. Under gcc the macros expand to nothing.
//
//   Mutex mutex_;
//   int held_ GUARDED_BY(mutex_) = 0;
//   void Bump() EXCLUDES(mutex_) { MutexLock lock(mutex_); ++held_; }
//
// A condition variable waits on lock.native(): std::condition_variable needs the
// std::unique_lock. Wait in a loop (`while (!ready_) cv_.wait(lock.native());`) rather than with a
// predicate lambda: the analysis sees a lambda as a function of its own that holds no lock.
#pragma once

#include <mutex>

#if defined(__clang__)
#define PDNSD_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define PDNSD_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) PDNSD_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY PDNSD_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) PDNSD_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) PDNSD_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) PDNSD_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) PDNSD_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) PDNSD_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define EXCLUDES(...) PDNSD_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS PDNSD_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace pdnsd {

// std::mutex with the annotations; lock it with MutexLock.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mutex_.lock(); }
  void Unlock() RELEASE() { mutex_.unlock(); }

 private:
  friend class MutexLock;
  std::mutex mutex_;
};

// Holds `mutex` from construction to destruction (or an explicit Unlock()/Lock() in between).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) ACQUIRE(mutex) : lock_(mutex.mutex_) {}
  ~MutexLock() RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() { lock_.unlock(); }
  void Lock() ACQUIRE() { lock_.lock(); }

  // For std::condition_variable::wait/wait_for/wait_until (which return with the lock held).
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace pdnsd
