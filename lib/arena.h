// The firmware's only source of dynamic memory: a bump allocator over one fixed range.
//
// There is no free: boot-time structures live until the kernel takes over. Exhaustion returns
// nullptr, and callers turn that into an error of their own domain.
#pragma once

#include "lib/types.h"

namespace lib {

class Arena {
 public:
  constexpr Arena() = default;
  constexpr Arena(uintptr_t start, uintptr_t end) : start_(start), next_(start), end_(end) {}

  // `alignment` must be a power of two. Returns nullptr when the arena cannot hold `size` bytes.
  [[nodiscard]] void* Allocate(size_t size, size_t alignment = 16);

  uintptr_t start() const { return start_; }
  uintptr_t end() const { return end_; }
  size_t used() const { return next_ - start_; }
  size_t remaining() const { return end_ - next_; }

 private:
  uintptr_t start_ = 0;
  uintptr_t next_ = 0;
  uintptr_t end_ = 0;
};

}  // namespace lib
