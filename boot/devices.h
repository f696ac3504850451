// The devices tern drives when it boots from them (no -kernel): the PHBs scanned, every device
// offered to the driver table (dev/probe.h) with the ones QEMU's boot list names first, what the
// drivers found published in the tree (boot/os-tree.h) and bound to the device package of its
// type (of/package.h), and every running driver instance reset before the OS takes over. No
// driver is named here.
#pragma once

#include "bootmgr/loader.h"
#include "lib/guest-memory.h"
#include "lib/span.h"
#include "lib/types.h"
#include "of/package.h"
#include "of/tree.h"

namespace boot {

// Devices (disks and CD-ROMs on every bus together) tern publishes and can boot from.
inline constexpr int kMaxDevices = 64;

// Scans the PHBs, records the BARs it assigned, probes through the driver table, publishes the
// devices found (in device-tree order, with /aliases and /options). `memory` is guest RAM.
void StartDevices(of::Tree& tree, lib::GuestMemory& memory, uint64_t timebase_frequency);

// What StartDevices published: the client interface's bindings and the boot manager's devices.
lib::Span<const of::Binding> DeviceBindings();
lib::Span<const bootmgr::BootDevice> BootDevices();

// Resets every running driver instance (the client interface's quiesce).
void QuiesceDevices();

}  // namespace boot
