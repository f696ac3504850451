#include "of/claims.h"

namespace of {

using lib::Err;
using lib::Ok;
using lib::Result;

const char* ClaimErrorName(ClaimError error) {
  switch (error) {
    case ClaimError::kZeroSize: return "zero size";
    case ClaimError::kOutOfRange: return "outside claimable memory";
    case ClaimError::kInUse: return "already claimed";
    case ClaimError::kFull: return "claim table full";
    case ClaimError::kNotClaimed: return "not claimed";
    case ClaimError::kBadAlignment: return "alignment not a power of two";
  }
  return "claim error";
}

ClaimMap::ClaimMap(uint64_t top) : top_(lib::Min<uint64_t>(top, lib::GiB(4))) {}

bool ClaimMap::IsFree(uint64_t start, uint64_t size) const {
  if (size == 0 || !lib::RangeInside(start, size, 0, top_)) return false;
  for (int i = 0; i < count_; ++i) {
    if (start < claims_[i].end() && claims_[i].start < start + size) return false;
  }
  return true;
}

Result<void, ClaimError> ClaimMap::Insert(uint64_t start, uint64_t size) {
  if (count_ == kMaxClaims) return Err(ClaimError::kFull);
  int i = count_;
  while (i > 0 && claims_[i - 1].start > start) {
    claims_[i] = claims_[i - 1];
    --i;
  }
  claims_[i] = MemoryRange{start, size};
  ++count_;
  return Ok<ClaimError>();
}

Result<uint64_t, ClaimError> ClaimMap::Claim(uint64_t virt, uint64_t size, uint64_t align) {
  if (size == 0) return Err(ClaimError::kZeroSize);
  if (align == 0) {
    if (!lib::RangeInside(virt, size, 0, top_)) return Err(ClaimError::kOutOfRange);
    if (!IsFree(virt, size)) return Err(ClaimError::kInUse);
    TERN_TRY(Insert(virt, size));
    return virt;
  }
  if (!lib::IsPowerOfTwo(align)) return Err(ClaimError::kBadAlignment);
  // First fit from the bottom: try the start of each gap.
  uint64_t candidate = 0;
  for (int i = 0; i <= count_; ++i) {
    const uint64_t gap_end = i < count_ ? claims_[i].start : top_;
    const uint64_t base = lib::AlignUp(candidate, align);
    if (base >= candidate && base <= gap_end && size <= gap_end - base) {
      TERN_TRY(Insert(base, size));
      return base;
    }
    if (i < count_) candidate = lib::Max(candidate, claims_[i].end());
  }
  return Err(ClaimError::kOutOfRange);
}

Result<void, ClaimError> ClaimMap::Release(uint64_t virt, uint64_t size) {
  for (int i = 0; i < count_; ++i) {
    if (claims_[i].start == virt && claims_[i].size == size) {
      for (int j = i; j + 1 < count_; ++j) claims_[j] = claims_[j + 1];
      --count_;
      return Ok<ClaimError>();
    }
  }
  return Err(ClaimError::kNotClaimed);
}

size_t ClaimMap::FreeRanges(uint64_t limit, lib::Span<MemoryRange> out) const {
  size_t n = 0;
  uint64_t cursor = 0;
  for (int i = 0; i <= count_ && cursor < limit; ++i) {
    const uint64_t gap_end = lib::Min(i < count_ ? claims_[i].start : limit, limit);
    if (gap_end > cursor) {
      if (n < out.size()) out[n] = MemoryRange{cursor, gap_end - cursor};
      ++n;
    }
    if (i < count_) cursor = lib::Max(cursor, claims_[i].end());
  }
  return n;
}

}  // namespace of
