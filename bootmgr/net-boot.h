// Booting from a network card [IEEE 1275 Recommended Practice: TFTP Booting Extension], as SLOF
// does (slof/fs/packages/obp-tftp.fs, lib/libnet/netload.c): DHCP (or BOOTP) for an address, a
// TFTP server and a boot file (net/dhcp.h); the file by TFTP into the staging area (net/tftp.h,
// up to kNetworkStagingBytes); then the ELF load every boot image gets (bootmgr/staging.h): GRUB's
// network image (grub-mknetdir's core.elf), or a Linux vmlinux loaded 4 MiB up. The client learns
// where it came from in /chosen: bootpath names the card with the TFTP extension's arguments and
// bootp-response holds the DHCP reply, which GRUB's ofnet reads for its address, its server and
// the folder of its modules (grub-core/net/drivers/ieee1275/ofnet.c).
//
// Every wait is bounded: DHCP gives up after kNetBootDhcpTries silent transmissions (about 15 s),
// TFTP after net::kTftpTries silent seconds; a card that cannot be booted gets one line saying why,
// and the caller tries the next device.
#pragma once

#include "bootmgr/loader.h"
#include "net/device.h"
#include "net/dhcp.h"
#include "net/tftp.h"

namespace bootmgr {

// DHCP: 4 DISCOVERs 1, 2, 4 and 8 s apart (RFC 2131 4.1's doubling, from 1 s rather than 4: a
// firmware with more devices to try after this one). SLOF: 10 tries of 2 s.
inline constexpr int kNetBootDhcpTries = 4;
inline constexpr uint64_t kNetBootDhcpFirstTimeoutMs = 1000;

// Boots the card `nic` at `path`: prints the address, the server, the file and what was received;
// one line says why when it cannot. Nothing stays claimed for a card that failed.
bool NetBoot(LoaderEnv& env, const net::Device& nic, const char* path, LoadedClient& loaded);

}  // namespace bootmgr
