// Everything tern adds to the device tree the OS gets, in one place: what the PCI scan assigned
// (`assigned-addresses`), the PCI-to-PCI bridge nodes QEMU describes in part, the nodes of the
// devices tern drives (`device_type`, the LUN nodes under a SCSI adapter), /aliases, /options and
// /chosen bootpath. dev/ and bootmgr/ only say what to add; the tree is written here. (The client
// interface keeps its own live properties: /chosen stdout and stdin, /memory@0 available,
// /rtas rtas-size.)
#pragma once

#include "bootmgr/loader.h"
#include "dev/driver.h"
#include "dev/pci.h"
#include "lib/span.h"
#include "lib/types.h"
#include "net/device.h"
#include "of/tree.h"

namespace boot {

// Records the BARs dev::ScanPhbs assigned in each function's node, so that the OS sees the PCI
// setup tern programmed (IEEE 1275 PCI binding: assigned-addresses).
void PublishAssignedAddresses(of::Tree& tree, const dev::PciBus& bus);

struct BridgeCount {
  int completed = 0;  // nodes that got the properties
  int skipped = 0;    // bridges reported and left as they were
};

// Completes the PCI-to-PCI bridge nodes under every PHB (dev/pci-bridge.h), reading their bus
// numbers through `access`; on every boot, as the OS probes PCI from the tree.
BridgeCount CompletePciBridges(of::Tree& tree, const dev::PciConfigAccess& access);

// The node of a device a driver found: `path` itself, or its child `unit` (added when QEMU made
// none), with the device's `device_type`. 0 when the tree cannot take it (said on the console).
of::Phandle PublishDevice(of::Tree& tree, const char* path, const char* unit,
                          const char* device_type);

// The properties of a network card's node a client reads [IEEE 1275 PowerPC binding, "network"]:
// mac-address (the address in use), local-mac-address (kept when QEMU gave one: spapr-vlan's),
// max-frame-size (GRUB sizes its buffers by it) and address-bits (48).
void PublishNetworkProperties(of::Tree& tree, of::Phandle node, const net::Device& nic);

// /aliases disk, disk1, ... for the disks of `devices` in order, cdrom, cdrom1, ... for their
// CD-ROMs, net, net1, ... for their network cards: how GRUB (grub-core/disk/ieee1275/ofdisk.c)
// finds the disks when the model names an IBM machine, and the names `disk:2` and `cdrom:,\file`
// style paths use.
void PublishAliases(of::Tree& tree, lib::Span<const bootmgr::BootDevice> devices);

// /options, the node of the firmware's configuration variables [IEEE 1275 7.4.4], with the two
// a boot loader on a vty console reads (GRUB's ofconsole takes its screen size from them).
void PublishOptions(of::Tree& tree);

// /chosen for the boot loader `loaded`: bootpath, the path of the device it came from with the
// device's arguments when there are any ("<path>:,\boot\grub\powerpc.elf" for a file of a disk
// or a CD: GRUB takes its prefix from the file's folder, grub-core/kern/ieee1275/openfw.c
// grub_ieee1275_get_filename; "<path>:<siaddr>,<file>,..." for a network card); bootargs when the
// boot command gave arguments (IEEE 1275 7.6.2 "boot"), left as QEMU set it otherwise; and
// bootp-response, the DHCP reply of a network boot, where GRUB's ofnet finds its configuration
// (grub-core/net/drivers/ieee1275/ofnet.c).
void PublishBootPath(of::Tree& tree, const bootmgr::LoadedClient& loaded);

}  // namespace boot
