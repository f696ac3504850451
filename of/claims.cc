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

Result<void, ClaimError> ClaimMap::Insert(uint64_t start, uint64_t size, bool in_use) {
  if (count_ == kMaxClaims) return Err(ClaimError::kFull);
  int i = count_;
  while (i > 0 && claims_[i - 1].start > start) {
    claims_[i] = claims_[i - 1];
    in_use_[i] = in_use_[i - 1];
    --i;
  }
  claims_[i] = MemoryRange{start, size};
  in_use_[i] = in_use;
  ++count_;
  if (in_use) ++in_use_count_;
  return Ok<ClaimError>();
}

void ClaimMap::Remove(int index) {
  if (in_use_[index]) --in_use_count_;
  for (int j = index; j + 1 < count_; ++j) {
    claims_[j] = claims_[j + 1];
    in_use_[j] = in_use_[j + 1];
  }
  --count_;
}

int ClaimMap::NearestInUse(uint64_t start, uint64_t end) const {
  // [start, end) overlaps no entry: the entries before `after` end at or below start. Only the
  // entries right next to it qualify: with a claim in between, the client's memory would be
  // withheld, and with another in-use range, that one is nearer.
  int after = 0;
  while (after < count_ && claims_[after].start < end) ++after;
  const int below = after > 0 && in_use_[after - 1] ? after - 1 : -1;
  const int above = after < count_ && in_use_[after] ? after : -1;
  if (below < 0 || above < 0) return below < 0 ? above : below;
  return start - claims_[below].end() <= claims_[above].start - end ? below : above;
}

Result<uint64_t, ClaimError> ClaimMap::Reserve(uint64_t start, uint64_t size) {
  if (size == 0) return Err(ClaimError::kZeroSize);
  if (start >= top_) return Err(ClaimError::kOutOfRange);
  uint64_t end = size > top_ - start ? top_ : start + size;
  for (int i = 0; i < count_; ++i) {
    if (!in_use_[i] && lib::RangesOverlap(start, end - start, claims_[i].start, claims_[i].size)) {
      return Err(ClaimError::kInUse);
    }
  }
  // Every in-use range it overlaps or touches becomes part of it, freeing their entries.
  bool merged = false;
  for (int i = 0; i < count_;) {
    if (in_use_[i] && claims_[i].start <= end && start <= claims_[i].end()) {
      start = lib::Min(start, claims_[i].start);
      end = lib::Max(end, claims_[i].end());
      Remove(i);
      merged = true;
    } else {
      ++i;
    }
  }
  uint64_t withheld = 0;
  if (!merged && (in_use_count_ >= kMaxInUse || count_ == kMaxClaims)) {
    const int nearest = NearestInUse(start, end);
    if (nearest < 0) return Err(ClaimError::kFull);
    const MemoryRange neighbour = claims_[nearest];
    withheld = neighbour.start < start ? start - neighbour.end() : neighbour.start - end;
    start = lib::Min(start, neighbour.start);
    end = lib::Max(end, neighbour.end());
    Remove(nearest);
  }
  TERN_TRY(Insert(start, end - start, true));  // an entry is free: one was removed, or unused
  return withheld;
}

Result<uint64_t, ClaimError> ClaimMap::Claim(uint64_t virt, uint64_t size, uint64_t align) {
  if (size == 0) return Err(ClaimError::kZeroSize);
  if (align == 0) {
    if (!lib::RangeInside(virt, size, 0, top_)) return Err(ClaimError::kOutOfRange);
    if (!IsFree(virt, size)) return Err(ClaimError::kInUse);
    TERN_TRY(Insert(virt, size, false));
    return virt;
  }
  if (!lib::IsPowerOfTwo(align)) return Err(ClaimError::kBadAlignment);
  // First fit from the bottom: try the start of each gap.
  uint64_t candidate = 0;
  for (int i = 0; i <= count_; ++i) {
    const uint64_t gap_end = i < count_ ? claims_[i].start : top_;
    const uint64_t base = lib::AlignUp(candidate, align);
    if (base >= candidate && base <= gap_end && size <= gap_end - base) {
      TERN_TRY(Insert(base, size, false));
      return base;
    }
    if (i < count_) candidate = lib::Max(candidate, claims_[i].end());
  }
  return Err(ClaimError::kOutOfRange);
}

Result<void, ClaimError> ClaimMap::Release(uint64_t virt, uint64_t size) {
  for (int i = 0; i < count_; ++i) {
    if (!in_use_[i] && claims_[i].start == virt && claims_[i].size == size) {
      Remove(i);
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
