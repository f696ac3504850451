// ARP for IPv4 over Ethernet [RFC 826]: the 28-byte packet, and a small cache of the neighbours
// tern talks to (the DHCP server, the TFTP server, a router). The stack (net/stack.h) answers
// requests for its own address and asks for a next hop's address with retries; this file holds
// only the packet and the cache.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "lib/wire.h"
#include "net/device.h"
#include "net/drop.h"
#include "net/ipv4.h"

namespace net {

inline constexpr uint32_t kArpPacketSize = 28;
inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;

struct ArpPacket {
  lib::UBe16 hardware_type;  // 1: Ethernet
  lib::UBe16 protocol_type;  // 0x0800: IPv4
  uint8_t hardware_length;   // 6
  uint8_t protocol_length;   // 4
  lib::UBe16 operation;      // kArpRequest, kArpReply
  MacAddress sender_mac;
  lib::UBe32 sender_ip;
  MacAddress target_mac;
  lib::UBe32 target_ip;
};
static_assert(sizeof(ArpPacket) == kArpPacketSize);

struct ArpMessage {
  uint16_t operation = 0;
  MacAddress sender_mac;
  Ipv4Address sender_ip;
  MacAddress target_mac;
  Ipv4Address target_ip;
};

// The message in an Ethernet payload of type 0x0806 (padding after the 28 bytes ignored).
// kMalformed: shorter than 28 bytes, or a sender MAC that is a group address; kUnsupported:
// another hardware or protocol type or address length, an operation other than request or reply.
lib::Result<ArpMessage, DropReason> ParseArp(lib::Span<const uint8_t> payload);

// Writes `message` at `out` (kArpPacketSize bytes).
void WriteArp(uint8_t* out, const ArpMessage& message);

// IPv4 address to MAC address, for a few neighbours. No entry ages out: a boot lasts minutes, and
// every entry is refreshed by the neighbour's own ARP traffic [RFC 826, "merge_flag"]. When full,
// the oldest insertion is replaced.
class ArpCache {
 public:
  static constexpr int kEntries = 4;

  // The MAC address of `ip`, when cached.
  bool Find(Ipv4Address ip, MacAddress& mac) const;
  // Updates the entry of `ip` when there is one; returns whether there was [RFC 826].
  bool Update(Ipv4Address ip, const MacAddress& mac);
  // Updates or adds the entry of `ip`.
  void Insert(Ipv4Address ip, const MacAddress& mac);
  void Clear();

 private:
  struct Entry {
    Ipv4Address ip;
    MacAddress mac;
    bool used = false;
  };
  Entry entries_[kEntries] = {};
  int next_ = 0;
};

}  // namespace net
