// A test-and-set spinlock for the few places where several CPUs may enter firmware code.
// On POWER the __atomic builtins compile to lwarx/stwcx. with the barriers acquire/release need;
// the host build uses the same code.
#pragma once

#include "lib/types.h"

namespace lib {

class Spinlock {
 public:
  constexpr Spinlock() = default;

  void Lock() {
    while (__atomic_exchange_n(&word_, 1u, __ATOMIC_ACQUIRE) != 0) {
      while (__atomic_load_n(&word_, __ATOMIC_RELAXED) != 0) {
        Relax();
      }
    }
  }
  // Returns true if the lock was free and is now held.
  bool TryLock() { return __atomic_exchange_n(&word_, 1u, __ATOMIC_ACQUIRE) == 0; }
  void Unlock() { __atomic_store_n(&word_, 0u, __ATOMIC_RELEASE); }
  bool IsLocked() const { return __atomic_load_n(&word_, __ATOMIC_RELAXED) != 0; }

 private:
  static void Relax() {
#if defined(__powerpc64__)
    asm volatile("or 1,1,1\n\tor 2,2,2" ::: "memory");  // low then medium SMT priority
#endif
  }
  uint32_t word_ = 0;
};

class SpinlockGuard {
 public:
  explicit SpinlockGuard(Spinlock& lock) : lock_(lock) { lock_.Lock(); }
  ~SpinlockGuard() { lock_.Unlock(); }
  SpinlockGuard(const SpinlockGuard&) = delete;
  SpinlockGuard& operator=(const SpinlockGuard&) = delete;

 private:
  Spinlock& lock_;
};

}  // namespace lib
