#include "lib/arena.h"

#include "lib/panic.h"

namespace lib {

void* Arena::Allocate(size_t size, size_t alignment) {
  TERN_ASSERT(IsPowerOfTwo(alignment));
  const uint64_t aligned = AlignUp(next_, alignment);
  if (aligned < next_ || !RangeInside(aligned, size, start_, end_)) return nullptr;
  next_ = static_cast<uintptr_t>(aligned + size);
  return reinterpret_cast<void*>(static_cast<uintptr_t>(aligned));
}

}  // namespace lib
