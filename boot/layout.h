// Where the boot payload and the firmware's live device tree sit in real-mode memory: pure checks
// over addresses and the claim map, no hypervisor, so they are tested on the host.
//
// QEMU (hw/ppc/spapr.c) loads a -kernel at 0x400000 and the initrd after the kernel's memory size,
// writes its flattened tree at min(RMA, 2 GiB) - FDT_MAX_SIZE and names the kernel and initrd in
// /chosen (qemu,boot-kernel, linux,initrd-start/-end). QEMU itself refuses a file that is not an
// ELF, an initrd that does not fit below RMA - 40 MiB and overlapping images ("Some ROM regions
// are overlapping"); it loads an ELF whose segments run past RAM or into the place of its own tree.
#pragma once

#include "lib/result.h"
#include "lib/types.h"
#include "of/claims.h"
#include "of/machine-info.h"

namespace boot {

enum class PayloadError : uint8_t {
  kKernelEmpty,           // qemu,boot-kernel gives 0 bytes
  kKernelOutsideMemory,   // not inside real-mode memory above the firmware
  kKernelOverDeviceTree,  // the hypervisor wrote its tree over the kernel's end
  kInitrdOutsideMemory,   // not inside real-mode memory above the firmware
  kInitrdOverlapsKernel,  // the two share memory: one of them is damaged
  kInitrdOverDeviceTree,  // the hypervisor wrote its tree over the initrd
};

const char* PayloadErrorName(PayloadError error);

// The fixed parts of real-mode memory at boot.
struct RealModeLayout {
  uint64_t firmware_end = 0;     // tern's own memory is [0, firmware_end)
  uint64_t rma_bytes = 0;        // real-mode memory is [0, rma_bytes)
  of::AddressRange device_tree;  // the hypervisor's tree, as its header sizes it
};

// Checks the -kernel and -initrd the hypervisor loaded (info.has_kernel, info.has_initrd) against
// `layout`: each non-empty, inside [firmware_end, rma_bytes), clear of the hypervisor's tree and of
// each other. Ok when there is no kernel.
lib::Result<void, PayloadError> CheckPayload(const of::MachineInfo& info,
                                             const RealModeLayout& layout);

// Records what is in use (of::ClaimMap::Reserve) before anything may be claimed: tern's own
// memory [0, firmware_end), the kernel and the initrd first, then every entry of the
// hypervisor's reserve map (QEMU lists the kernel and initrd there again), each clipped to the
// claimable memory and merged with what it overlaps or touches. A reserve map of more separate
// ranges than the claim map keeps in use has the rest merged with their neighbours, free memory
// between them withheld from the client, and tern says so on the console; so it does for an
// entry that could not be recorded at all (only possible once something was claimed). Entries
// the map cannot give are skipped. CheckPayload judges the payload; here it is only kept from
// the client.
void ClaimInUse(of::ClaimMap& claims, const void* tree, const of::MachineInfo& info,
                uint64_t firmware_end);

// The room the live tree gets: its first copy (of::Tree::InitFootprint), one doubling of the blob
// when the client's properties outgrow the slack (of::Tree::Grow), and the re-allocated index.
uint64_t TreeRoomBytes(uint64_t init_footprint);

// The highest `align`-aligned (a power of two) start of `size` free bytes in [floor, claims.top())
// that `claims` leaves unclaimed; kOutOfRange when there is none. Claims nothing.
lib::Result<uint64_t, of::ClaimError> HighestFree(const of::ClaimMap& claims, uint64_t floor,
                                                  uint64_t size, uint64_t align);

}  // namespace boot
