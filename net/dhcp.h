// DHCP [RFC 2131, options RFC 2132] and BOOTP [RFC 951] for a boot client: DISCOVER, OFFER,
// REQUEST, ACK (a NAK starts over), with a plain BOOTREPLY (one without option 53, from a BOOTP
// server answering the DISCOVER as a BOOTREQUEST [RFC 1534 3]) taken when no DHCP server offers
// anything. tern keeps no lease: the address is used for the boot and never renewed.
//
// The reply tern accepts is kept whole, with its length, in the caller's buffer: the caller puts
// it in /chosen's `bootp-response`, where GRUB's ofnet (grub-core/net/drivers/ieee1275/ofnet.c)
// finds its address, the server and the boot file. The options read are 1 (subnet mask), 3
// (router), 6 (DNS server), 12 (host name), 52 (overload: options in `file` and `sname`), 53
// (message type), 54 (server identifier), 66 (TFTP server name), 67 (boot file name); 0 and 255
// (pad, end); every other option is skipped by its length.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "lib/wire.h"
#include "net/device.h"
#include "net/drop.h"
#include "net/ipv4.h"
#include "net/stack.h"

namespace net {

inline constexpr uint16_t kDhcpServerPort = 67;
inline constexpr uint16_t kDhcpClientPort = 68;
// The fixed part of a message, op to file [RFC 2131 2, Figure 1].
inline constexpr uint32_t kDhcpFixedSize = 236;
inline constexpr uint32_t kDhcpCookieSize = 4;  // 99.130.83.99 [RFC 2132 2]
// The message every client must accept: a 576-byte IPv4 datagram less its IP and UDP headers
// [RFC 2131 2, "options"].
inline constexpr uint32_t kMinDhcpMessage = 548;
// A BOOTREQUEST's size with its 64-byte vendor area [RFC 951 3]: requests are padded to it.
inline constexpr uint32_t kBootpRequestSize = 300;

// Retransmission [RFC 2131 4.1]: 4 s before the first retransmission, doubled each time up to
// 64 s, each randomized by up to +-1 s; 4 transmissions of DISCOVER, and of REQUEST, so a network
// with no server at all is given up after about 60 s. SLOF waits 2 s per DISCOVER (dhcp.c,
// dhcp_attempt) and tries 10 times (netload.c, DEFAULT_BOOT_RETRIES): 20 s. A NAK starts over
// from DISCOVER, at most kDhcpMaxNaks times.
inline constexpr int kDhcpTries = 4;
inline constexpr uint64_t kDhcpFirstTimeoutMs = 4000;
inline constexpr uint64_t kDhcpMaxTimeoutMs = 64000;
inline constexpr int kDhcpMaxNaks = 2;

enum DhcpMessageType : uint8_t {
  kDhcpNone = 0,  // no option 53: BOOTP
  kDhcpDiscover = 1,
  kDhcpOffer = 2,
  kDhcpRequest = 3,
  kDhcpDecline = 4,
  kDhcpAck = 5,
  kDhcpNak = 6,
};

struct DhcpHeader {
  uint8_t op;     // 1 BOOTREQUEST, 2 BOOTREPLY
  uint8_t htype;  // 1 Ethernet
  uint8_t hlen;   // 6
  uint8_t hops;
  lib::UBe32 xid;
  lib::UBe16 secs;
  lib::UBe16 flags;  // bit 15: BROADCAST
  lib::UBe32 ciaddr;
  lib::UBe32 yiaddr;
  lib::UBe32 siaddr;
  lib::UBe32 giaddr;
  uint8_t chaddr[16];
  uint8_t sname[64];
  uint8_t file[128];
};
static_assert(sizeof(DhcpHeader) == kDhcpFixedSize);

// What tern reads from a BOOTREPLY. The strings point into the message (not NUL-terminated;
// empty when absent).
struct DhcpReply {
  uint8_t type = kDhcpNone;     // option 53
  Ipv4Address your_address;     // yiaddr
  Ipv4Address next_server;      // siaddr
  Ipv4Address server_id;        // option 54
  Ipv4Address netmask;          // option 1 (0: none)
  Ipv4Address router;           // option 3, the first (0: none)
  Ipv4Address dns;              // option 6, the first (0: none)
  lib::StringView host_name;    // option 12
  lib::StringView tftp_server;  // option 66
  lib::StringView boot_file;    // option 67, else `file` (unless it carries options)
  lib::StringView server_name;  // `sname` (unless it carries options)
};

// Parses `message` (a UDP payload from port 67) as a reply to transaction `xid` from client
// `mac`. kNotForUs: a BOOTREQUEST, another transaction or another client's hardware address;
// kMalformed: shorter than the fixed part, a hardware type or length other than Ethernet's, an
// option running past its area, an option tern reads with a length it cannot have (a mask of 3
// bytes, a type of 2, an empty name), a mask whose bits are not contiguous, a message type
// outside 1..8, an overload value outside 1..3 or given twice.
lib::Result<DhcpReply, DropReason> ParseDhcpReply(lib::Span<const uint8_t> message, uint32_t xid,
                                                  const MacAddress& mac);

// What tern sends: a DISCOVER, or a REQUEST for `requested` from `server`.
struct DhcpRequestFields {
  uint8_t type = kDhcpDiscover;
  uint32_t xid = 0;
  uint16_t secs = 0;
  MacAddress mac;
  uint16_t max_message = kMinDhcpMessage + 28;  // option 57: the IPv4 datagram tern accepts
  Ipv4Address requested;                        // option 50 (REQUEST)
  Ipv4Address server;                           // option 54 (REQUEST)
};

// Writes the message into `out` (at least kBootpRequestSize bytes) and returns its length:
// BROADCAST set [RFC 2131 4.1], options 53, 57, 55 (1, 3, 6, 12, 66, 67), 50 and 54 for a REQUEST,
// 255, zeros up to kBootpRequestSize. 0 when `out` is too small.
uint32_t WriteDhcpRequest(lib::Span<uint8_t> out, const DhcpRequestFields& fields);

struct DhcpSettings {
  // Where the accepted reply is kept: at least kMinDhcpMessage bytes. Option 57 asks servers for
  // nothing longer than it (nor than a frame carries); a longer reply is dropped as malformed.
  lib::Span<uint8_t> packet;
  int tries = kDhcpTries;
  uint64_t first_timeout_ms = kDhcpFirstTimeoutMs;
};

// The configuration DHCP (or BOOTP) gave; the strings are NUL-terminated copies.
struct DhcpLease {
  bool bootp = false;       // a BOOTP server's reply, no DHCP server answered
  Ipv4Address address;      // yiaddr
  Ipv4Address netmask;      // option 1, else the class's mask (ClassfulMask)
  Ipv4Address router;       // option 3 (0: none)
  Ipv4Address dns;          // option 6 (0: none)
  Ipv4Address server_id;    // option 54 (0 for BOOTP)
  Ipv4Address next_server;  // siaddr
  // Where to fetch the boot file (BootServer): option 66 when it is an address, else siaddr, else
  // `sname` when it is an address, else the server identifier, as SLOF's dhcpv4() chooses (0:
  // none of them).
  Ipv4Address boot_server;
  char boot_file[256] = {};    // option 67, else `file`
  char server_name[65] = {};   // `sname`
  char tftp_server[256] = {};  // option 66
  char host_name[64] = {};     // option 12, cut at 63 characters
  uint32_t packet_length = 0;  // the reply's bytes at DhcpSettings::packet
};

enum class DhcpError {
  kBadSettings,       // a packet buffer under kMinDhcpMessage bytes, or tries < 1
  kNotStarted,        // the stack was not started
  kDevice,            // the device failed (Stack::last_device_error)
  kNoAnswer,          // no DHCP or BOOTP server answered
  kMalformedReplies,  // no usable answer; replies to our transaction were malformed
  kNoAck,             // a server offered an address but did not acknowledge the REQUEST
  kRefused,           // the servers answered every REQUEST with a NAK (kDhcpMaxNaks + 1 times)
};

constexpr const char* DhcpErrorName(DhcpError error) {
  switch (error) {
    case DhcpError::kBadSettings: return "bad DHCP settings";
    case DhcpError::kNotStarted: return "network stack not started";
    case DhcpError::kDevice: return "network device error";
    case DhcpError::kNoAnswer: return "no DHCP or BOOTP server answered";
    case DhcpError::kMalformedReplies: return "only malformed DHCP replies";
    case DhcpError::kNoAck: return "the DHCP server did not acknowledge its offer";
    case DhcpError::kRefused: return "the DHCP server refused every request (DHCPNAK)";
  }
  return "DHCP error";
}

// Runs DHCP (or BOOTP) on `stack`, which it first makes unconfigured, then configures with the
// address, mask and router it got. Polls the stack throughout (ARP answered once configured).
lib::Result<DhcpLease, DhcpError> RunDhcp(Stack& stack, const DhcpSettings& settings);

// The lease's fields from an accepted `reply` (BootServer included).
DhcpLease LeaseFrom(const DhcpReply& reply);

}  // namespace net
