// The device arguments of a network boot [IEEE 1275 Recommended Practice: TFTP Booting
// Extension, "Device arguments"]:
//   [bootp,]siaddr,filename,ciaddr,giaddr,bootp-retries,tftp-retries,subnet-mask,blksize
// every field optional (empty), trailing fields omitted. Firmware writes them into
// /chosen/bootpath after a network boot, where GRUB's ofnet reads the server, the client's
// address, the router and the mask (grub-core/net/drivers/ieee1275/ofnet.c,
// grub_ieee1275_parse_bootpath); a client opening a network card may pass them, and options of
// the form name=value ("speed=auto", "duplex=auto", which GRUB passes) may come among them.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "net/ipv4.h"

namespace net {

inline constexpr size_t kBootFileNameMax = 255;  // as DHCP's boot file (net/dhcp.h)

struct BootArguments {
  bool bootp = false;  // "bootp" first: use BOOTP rather than DHCP
  Ipv4Address server;  // siaddr (0: not given)
  char file[kBootFileNameMax + 1] = {};
  Ipv4Address client;   // ciaddr (0: not given: ask DHCP)
  Ipv4Address gateway;  // giaddr
  uint32_t bootp_retries = 0;
  uint32_t tftp_retries = 0;
  Ipv4Address netmask;
  uint32_t block_size = 0;  // 0: not given
};

enum class BootArgumentsError {
  kBadAddress,  // an address field that is not a dotted quad
  kBadNumber,   // a retry count or block size that is not a decimal number up to 65535
  kTooLong,     // a file name over kBootFileNameMax bytes
};

const char* BootArgumentsErrorName(BootArgumentsError error);

// Parses `text` (the arguments after the device path's ':'); name=value options are skipped
// wherever they stand, fields after the ninth ignored.
lib::Result<BootArguments, BootArgumentsError> ParseBootArguments(lib::StringView text);

// Writes `arguments` in the order above (without "bootp,"; every field, 0 written for counts of
// 0) into `out`, NUL-terminated; '/' in the file name written as '\' (GRUB's
// grub_ieee1275_get_filename takes the folder of its prefix from it). Returns false, with `out`
// empty, when it does not fit.
bool FormatBootArguments(const BootArguments& arguments, char* out, size_t size);

}  // namespace net
