// Claimable memory for the client interface's claim/release [IEEE 1275 6.3.2.8]: real memory
// below min(RMA, 4 GiB) (client-interface cells are 32 bits), minus what is already claimed.
// The firmware claims its own footprint and the hypervisor's reserve map first, so a client can
// never be handed memory tern or the loaded kernel still uses.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace of {

enum class ClaimError { kZeroSize, kOutOfRange, kInUse, kFull, kNotClaimed, kBadAlignment };

const char* ClaimErrorName(ClaimError error);

struct MemoryRange {
  uint64_t start;
  uint64_t size;
  uint64_t end() const { return start + size; }
};

class ClaimMap {
 public:
  static constexpr int kMaxClaims = 128;

  constexpr ClaimMap() = default;
  // Claimable memory is [0, top), top at most 4 GiB.
  explicit ClaimMap(uint64_t top);

  uint64_t top() const { return top_; }
  // align == 0: exactly [virt, virt + size). Otherwise the lowest free `align`-aligned range
  // (power of two); virt is ignored. Returns the claimed base.
  lib::Result<uint64_t, ClaimError> Claim(uint64_t virt, uint64_t size, uint64_t align);
  // Releases a range claimed earlier with exactly this base and size.
  lib::Result<void, ClaimError> Release(uint64_t virt, uint64_t size);
  bool IsFree(uint64_t start, uint64_t size) const;

  // Claimed ranges, sorted by address.
  lib::Span<const MemoryRange> claimed() const { return {claims_, static_cast<size_t>(count_)}; }
  // Writes the free ranges of [0, limit) into `out`; returns how many there are (may exceed
  // out.size(), then only the first out.size() are written).
  size_t FreeRanges(uint64_t limit, lib::Span<MemoryRange> out) const;

 private:
  lib::Result<void, ClaimError> Insert(uint64_t start, uint64_t size);

  MemoryRange claims_[kMaxClaims] = {};
  int count_ = 0;
  uint64_t top_ = 0;
};

}  // namespace of
