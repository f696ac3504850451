// The order in which tern tries to boot when QEMU loaded no -kernel, from what QEMU puts in
// /chosen (QEMU hw/ppc/spapr.c: spapr_dt_chosen):
//   qemu,boot-list    the devices with a bootindex, in bootindex order, as firmware paths
//                     separated by spaces; a final "HALT" (-boot strict=on) means only those
//   qemu,boot-device  the device letters of -boot once= (c: disk, d: cdrom, n: network)
// then every device in device-tree order: the disks, then the CD-ROMs, then the network cards (as
// SLOF's qemu-bootlist.fs orders them). Pure logic over device paths, unit-tested.
#pragma once

#include "block/device.h"
#include "lib/span.h"
#include "net/device.h"
#include "lib/types.h"
#include "of/tree.h"

namespace bootmgr {

inline constexpr size_t kMaxBootCandidates = 64;

// What a boot device is, for QEMU's letters ('c', 'd', 'n') and the default order.
enum class BootKind : uint8_t { kDisk, kCdrom, kNetwork };

// A device a boot loader may be read from: its node in the live tree, its blocks (a disk or a
// CD-ROM) or its network card.
struct BootDevice {
  of::Phandle node = 0;
  const block::Device* device = nullptr;  // kDisk, kCdrom
  BootKind kind = BootKind::kDisk;
  const net::Device* nic = nullptr;  // kNetwork
};

struct BootOrder {
  of::Phandle candidates[kMaxBootCandidates] = {};
  size_t count = 0;
  bool strict = false;  // the boot list ended with HALT: nothing after it is tried
  // Boot-list entries that name no disk tern can read (printed by the caller), at most 4.
  lib::StringView unknown[4];
  size_t unknown_count = 0;
};

// The devices to try, in order, without repeats: the boot list's entries that are one of
// `devices` (or a node below one of them, such as a partition of it), then, unless the list is
// strict, `devices` themselves by the letters of `boot_device` in their order ('c' the disks, 'd'
// the CD-ROMs, 'n' the network cards; others name nothing tern boots), or, when it names nothing,
// the disks, the CD-ROMs, then the network cards; each kind in the order given. `boot_list` and
// `boot_device` are the property values without their NUL (empty when absent).
BootOrder PlanBootOrder(const of::Tree& tree, lib::StringView boot_list,
                        lib::StringView boot_device, lib::Span<const BootDevice> devices);

}  // namespace bootmgr
