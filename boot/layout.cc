#include "boot/layout.h"

#include <libfdt.h>

#include "lib/console.h"

namespace boot {

using lib::Err;
using lib::Ok;
using lib::Result;

const char* PayloadErrorName(PayloadError error) {
  switch (error) {
    case PayloadError::kKernelEmpty: return "the kernel is empty";
    case PayloadError::kKernelOutsideMemory:
      return "the kernel does not fit in real-mode memory above the firmware";
    case PayloadError::kKernelOverDeviceTree:
      return "the kernel runs into the hypervisor's device tree: it is too large for this memory";
    case PayloadError::kInitrdOutsideMemory:
      return "the initrd does not fit in real-mode memory above the firmware";
    case PayloadError::kInitrdOverlapsKernel: return "the initrd overlaps the kernel";
    case PayloadError::kInitrdOverDeviceTree:
      return "the initrd runs into the hypervisor's device tree";
  }
  return "payload error";
}

namespace {

bool Overlap(const of::AddressRange& a, const of::AddressRange& b) {
  return lib::RangesOverlap(a.start, a.size, b.start, b.size);
}

bool InsideUsable(const of::AddressRange& range, const RealModeLayout& layout) {
  return lib::RangeInside(range.start, range.size, layout.firmware_end, layout.rma_bytes);
}

}  // namespace

Result<void, PayloadError> CheckPayload(const of::MachineInfo& info, const RealModeLayout& layout) {
  if (!info.has_kernel) return Ok<PayloadError>();
  if (info.kernel.size == 0) return Err(PayloadError::kKernelEmpty);
  // The tree first: QEMU places it inside real-mode memory, so a kernel reaching it is the more
  // precise diagnosis of a kernel that is simply too large.
  if (Overlap(info.kernel, layout.device_tree)) return Err(PayloadError::kKernelOverDeviceTree);
  if (!InsideUsable(info.kernel, layout)) return Err(PayloadError::kKernelOutsideMemory);
  if (!info.has_initrd) return Ok<PayloadError>();
  if (Overlap(info.initrd, info.kernel)) return Err(PayloadError::kInitrdOverlapsKernel);
  if (Overlap(info.initrd, layout.device_tree)) return Err(PayloadError::kInitrdOverDeviceTree);
  if (!InsideUsable(info.initrd, layout)) return Err(PayloadError::kInitrdOutsideMemory);
  return Ok<PayloadError>();
}

void ClaimInUse(of::ClaimMap& claims, const void* tree, const of::MachineInfo& info,
                uint64_t firmware_end) {
  // The table is empty: these three are recorded whatever the reserve map holds, which can only
  // widen them.
  if (firmware_end != 0) (void)claims.Reserve(0, firmware_end);
  if (info.has_kernel && info.kernel.size != 0) {
    (void)claims.Reserve(info.kernel.start, info.kernel.size);
  }
  if (info.has_initrd && info.initrd.size != 0) {
    (void)claims.Reserve(info.initrd.start, info.initrd.size);
  }
  // libfdt counts the entries anew on every call: once.
  const int entries = fdt_num_mem_rsv(tree);
  uint64_t withheld = 0;
  int unrecorded = 0;
  for (int i = 0; i < entries; ++i) {
    uint64_t start = 0;
    uint64_t size = 0;
    if (fdt_get_mem_rsv(tree, i, &start, &size) != 0 || size == 0) continue;
    auto recorded = claims.Reserve(start, size);
    if (recorded.is_ok()) {
      withheld += recorded.value();
    } else if (recorded.error() != of::ClaimError::kOutOfRange) {
      ++unrecorded;  // above the claimable memory is no loss: no client can claim there
    }
  }
  if (withheld != 0) {
    lib::Printf(
        "tern: the reserve map's %d entries need more than the %d in-use ranges tern keeps:"
        " %llu KiB of free memory between them is kept from the client\n",
        entries, of::ClaimMap::kMaxInUse,
        static_cast<unsigned long long>((withheld + 1023) / 1024));
  }
  if (unrecorded != 0) {
    lib::Printf("tern: %d reserve-map entries could not be recorded: the client may claim them\n",
                unrecorded);
  }
}

uint64_t TreeRoomBytes(uint64_t init_footprint) {
  // The first copy (1), a doubled blob (2) and the index again (at most 1): the blob and its
  // index are never larger than the footprint.
  return 4 * init_footprint;
}

Result<uint64_t, of::ClaimError> HighestFree(const of::ClaimMap& claims, uint64_t floor,
                                             uint64_t size, uint64_t align) {
  if (size == 0) return Err(of::ClaimError::kZeroSize);
  if (!lib::IsPowerOfTwo(align)) return Err(of::ClaimError::kBadAlignment);
  of::MemoryRange free[of::ClaimMap::kMaxClaims + 1];
  const size_t count =
      lib::Min(claims.FreeRanges(claims.top(), free), sizeof(free) / sizeof(free[0]));
  for (size_t i = count; i > 0; --i) {
    const of::MemoryRange& range = free[i - 1];
    if (range.end() < floor || range.size < size) continue;
    const uint64_t start = (range.end() - size) & ~(align - 1);
    if (start >= range.start && start >= floor) return start;
  }
  return Err(of::ClaimError::kOutOfRange);
}

}  // namespace boot
