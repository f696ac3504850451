// The staging area of a boot image, shared by the loaders of disks and CDs (bootmgr/loader.cc)
// and of the network (bootmgr/net-boot.cc): the image is read into it (from a device, or by
// TFTP), planned (bootmgr/elf.h), and its segments claimed and copied from it to where they run.
// The area is claimed while an image is in it and released on every path, whatever the outcome.
#pragma once

#include "bootmgr/elf.h"
#include "bootmgr/loader.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace bootmgr {

// The staging area of one load: claimed at `address` for `bytes`, and the same bytes for the CPU
// (in the firmware the pointer is the real address a device writes to; host tests back guest RAM
// with an array, whose fake devices take host pointers).
struct Staging {
  uint64_t address = 0;
  uint64_t bytes = 0;
  uint8_t* host = nullptr;
};

// Claims and maps LoaderStaging(env.rma_bytes, bytes) (which may be shorter than `bytes` in a
// small RMA); says why not on the console, for the device at `path`.
bool OpenStaging(LoaderEnv& env, uint64_t bytes, const char* path, Staging& staging);
void CloseStaging(LoaderEnv& env, const Staging& staging);

// Where a 64-bit image linked where the firmware is (a Linux vmlinux, at real address 0) is loaded
// instead: QEMU's -kernel address (hw/ppc/spapr.c KERNEL_LOAD_ADDR).
inline constexpr uint64_t kKernelLoadOffset = 0x400000;

// PlanElfLoad of `image` (bytes inside the staging area) for what the client may use: below
// min(RMA, 2 GiB), clear of the firmware and of the staging area itself. A 64-bit image that
// would overlap the firmware is planned kKernelLoadOffset up instead (bootmgr/elf.h).
lib::Result<LoadPlan, ElfError> PlanStaged(const LoaderEnv& env, const Staging& staging,
                                           lib::Span<const uint8_t> image);

// Claims every segment of `plan` and copies it from `image`, then makes the copied code
// executable and sets the entry in `loaded`; prints the "booting" line naming `path` and `what`.
// On a failure it says why and releases every segment it claimed, so nothing stays claimed.
bool CommitLoad(LoaderEnv& env, const LoadPlan& plan, lib::Span<const uint8_t> image,
                const char* path, const char* what, LoadedClient& loaded);

}  // namespace bootmgr
