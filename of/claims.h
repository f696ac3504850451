// Claimable memory for the client interface's claim/release [IEEE 1275 6.3.2.8]: real memory
// below min(RMA, 4 GiB) (client-interface cells are 32 bits), minus what is already claimed.
// The firmware records its own footprint, the payload and the hypervisor's reserve map first
// (Reserve), so a client can never be handed memory tern or the loaded kernel still uses.
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
  // Entries of the table: in-use ranges (Reserve) and the claims of tern and its client (Claim).
  //
  // In-use ranges take at most kMaxInUse of them, merged and, past that, widened (Reserve), so a
  // hypervisor's reserve map, however long, leaves the client kMaxClaims - kMaxInUse entries.
  // QEMU needs 3: tern's own memory, and the kernel and the initrd, which are QEMU's whole
  // reserve map (hw/ppc/spapr.c spapr_build_fdt writes those two entries and no others);
  // kMaxInUse leaves room for ten times that from another host. A client needs a few: Linux's
  // prom_init claims its RTAS area, its flattened tree and a few buffers, GRUB its heap and the
  // kernel and initrd it loads; tern's own claims at boot (the live tree's room, the disk
  // loader's staging) and during CAS (the answer buffer) are one or two at a time.
  static constexpr int kMaxClaims = 128;
  static constexpr int kMaxInUse = 32;

  constexpr ClaimMap() = default;
  // Claimable memory is [0, top), top at most 4 GiB.
  explicit ClaimMap(uint64_t top);

  uint64_t top() const { return top_; }
  // align == 0: exactly [virt, virt + size). Otherwise the lowest free `align`-aligned range
  // (power of two); virt is ignored. Returns the claimed base.
  lib::Result<uint64_t, ClaimError> Claim(uint64_t virt, uint64_t size, uint64_t align);
  // Releases a range claimed earlier with exactly this base and size; in-use ranges (Reserve)
  // are never released.
  lib::Result<void, ClaimError> Release(uint64_t virt, uint64_t size);

  // Records [start, start + size) as in use for as long as the firmware runs (its own memory,
  // the kernel and initrd, the hypervisor's reserve map), before any Claim. The range is clipped
  // to [0, top) (kOutOfRange when nothing is left: no client can claim it anyway) and merged
  // with every in-use range it overlaps or touches, so that memory listed twice, or in pieces,
  // takes one entry. When kMaxInUse entries (or the whole table) are taken, it is merged with
  // its nearest in-use neighbour instead, free memory between them included: memory may be
  // withheld from the client, never handed out. Returns how many free bytes that withheld (0
  // normally). kInUse when the range overlaps a Claim, kFull when it can be neither recorded nor
  // merged (a Claim sits between it and every in-use range).
  //
  // Merged here rather than by the caller: the table is the one sorted list of what is taken,
  // and a reserve map can list up to a hundred thousand ranges (2 MiB of tree), more than the
  // boot stack could sort. Claims are never merged: release names exactly what claim returned.
  lib::Result<uint64_t, ClaimError> Reserve(uint64_t start, uint64_t size);
  int in_use_count() const { return in_use_count_; }
  bool IsFree(uint64_t start, uint64_t size) const;

  // Claimed ranges, sorted by address.
  lib::Span<const MemoryRange> claimed() const { return {claims_, static_cast<size_t>(count_)}; }
  // Writes the free ranges of [0, limit) into `out`; returns how many there are (may exceed
  // out.size(), then only the first out.size() are written).
  size_t FreeRanges(uint64_t limit, lib::Span<MemoryRange> out) const;

 private:
  lib::Result<void, ClaimError> Insert(uint64_t start, uint64_t size, bool in_use);
  void Remove(int index);
  // The index of the in-use entry to merge [start, end) into when it cannot have its own: the
  // nearest one with no Claim between them; -1 when there is none.
  int NearestInUse(uint64_t start, uint64_t end) const;

  MemoryRange claims_[kMaxClaims] = {};
  bool in_use_[kMaxClaims] = {};  // claims_[i] was recorded by Reserve
  int count_ = 0;
  int in_use_count_ = 0;
  uint64_t top_ = 0;
};

}  // namespace of
