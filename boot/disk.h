// Booting an installed disk when QEMU loaded no -kernel, as SLOF does: the disks tern can read
// (virtio-blk on the PHBs QEMU describes) become `device_type "block"` nodes with /aliases (disk,
// disk1, ...); the boot manager tries them in QEMU's order (bootmgr/boot-order.h); the first with
// a loadable PReP partition has its ELF image (GRUB's core.elf) loaded, claimed and entered as an
// IEEE 1275 client. The devices are reset when the OS quiesces.
#pragma once

#include "lib/guest-memory.h"
#include "lib/span.h"
#include "of/claims.h"
#include "of/client-interface.h"
#include "of/machine-info.h"
#include "of/tree.h"

namespace boot {

// Scans the PHBs, brings up every virtio-blk disk, records the BARs tern assigned in each PCI
// node's `assigned-addresses`, marks the disks `device_type "block"` with /aliases, and adds
// /options (screen-#columns, screen-#rows) for the boot loader's console. Returns
// the disks, for the client interface (storage is static: the firmware boots once).
lib::Span<const of::Disk> FindDisks(of::Tree& tree, lib::GuestMemory& memory,
                                    uint64_t timebase_frequency);

// Client-interface hooks of the disks FindDisks started: partitions for `disk:N`, and the reset
// of every device before the OS's drivers take over.
bool FindPartition(const block::Device& disk, uint32_t number, of::Extent& extent);
void QuiesceDisks();

// Where the image of a boot partition is read before its segments are copied: below QEMU's FDT,
// in the 40 MiB QEMU leaves to the firmware under min(RMA, 2 GiB) (hw/ppc/spapr.c: FW_OVERHEAD).
inline constexpr uint64_t kLoaderStagingBytes = 32u << 20;
// That area for real-mode memory of `rma_bytes`: 64 KiB-aligned, 40 MiB below min(RMA, 2 GiB);
// empty under 64 MiB, where no partition is booted. The live tree is kept out of it.
of::AddressRange LoaderStaging(uint64_t rma_bytes);

struct LoadedClient {
  uint64_t entry = 0;  // a real address
  bool mode32 = false;
};

// Tries the disks in QEMU's boot order and loads the first bootable one's PReP image; prints one
// line per disk that cannot be booted and why. False when no disk could be loaded.
bool LoadFromDisks(of::Tree& tree, of::ClientInterface& client, const of::MachineInfo& info,
                   uint64_t firmware_end, LoadedClient& loaded);

}  // namespace boot
