// Booting an installed disk when QEMU loaded no -kernel, as SLOF does: the disks tern can read
// (virtio-blk on the PHBs QEMU describes) become `device_type "block"` nodes with /aliases (disk,
// disk1, ...); the boot manager tries them in QEMU's order (bootmgr/boot-order.h); the first with
// a loadable PReP partition has its ELF image (GRUB's core.elf) loaded, claimed and entered as an
// IEEE 1275 client. The devices are reset when the OS quiesces.
#pragma once

#include "bootmgr/loader.h"
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

// The disks FindDisks started, for the boot manager.
lib::Span<const bootmgr::BootDevice> BootDevices();

}  // namespace boot
