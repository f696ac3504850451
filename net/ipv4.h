// IPv4 [RFC 791] as a boot client needs it: one header without options on the way out, any valid
// header on the way in, the header checksum [RFC 791 3.1; RFC 1071] checked, and no fragments:
// a fragment is dropped (kFragment), not reassembled, as a boot file travels over UDP in blocks
// that each fit one frame (TFTP's blksize is chosen for that).
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "lib/wire.h"
#include "net/drop.h"

namespace net {

struct Ipv4Address {
  uint32_t value = 0;  // host order: 10.0.2.15 is 0x0a00020f

  static constexpr Ipv4Address Of(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Address{uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d};
  }
  static constexpr Ipv4Address Broadcast() { return Ipv4Address{0xffffffff}; }
  constexpr bool operator==(const Ipv4Address& other) const { return value == other.value; }
  constexpr bool operator!=(const Ipv4Address& other) const { return value != other.value; }
  constexpr bool IsZero() const { return value == 0; }
  constexpr bool IsBroadcast() const { return value == 0xffffffff; }
  // 224.0.0.0/4 [RFC 1112 4].
  constexpr bool IsMulticast() const { return (value >> 28) == 0xe; }
};

// The network mask of `address`'s class [RFC 791 3.2; RFC 950]: what tern assumes when a DHCP or
// BOOTP server gives no subnet mask, as GRUB does (grub-core/net/net.c, a mask of -1).
constexpr Ipv4Address ClassfulMask(Ipv4Address address) {
  const uint32_t top = address.value >> 24;
  if (top < 128) return Ipv4Address{0xff000000};
  if (top < 192) return Ipv4Address{0xffff0000};
  return Ipv4Address{0xffffff00};
}

// Parses "a.b.c.d" (four decimal numbers of 0..255, no leading '+' or spaces, the whole view).
lib::Result<Ipv4Address, DropReason> ParseDottedQuad(lib::StringView text);

inline constexpr uint8_t kIpProtocolUdp = 17;
inline constexpr uint32_t kIpv4HeaderSize = 20;
inline constexpr uint8_t kDefaultTtl = 64;  // [RFC 1700, "IP TTL"]

struct Ipv4Header {
  uint8_t version_ihl;  // 4 << 4 | header length in 32-bit words
  uint8_t tos;
  lib::UBe16 total_length;
  lib::UBe16 identification;
  lib::UBe16 flags_fragment;  // bit 14 DF, bit 13 MF, offset in 8-byte units below
  uint8_t ttl;
  uint8_t protocol;
  lib::UBe16 checksum;
  lib::UBe32 source;
  lib::UBe32 destination;
};
static_assert(sizeof(Ipv4Header) == kIpv4HeaderSize);

// The Internet checksum [RFC 1071]: ChecksumAdd over the bytes (16-bit big-endian words, an odd
// last byte padded with zero; a span of odd length must be the last one added), ChecksumFold for
// the complemented 16-bit result. A received header or datagram checks when the sum over it,
// its checksum field included, folds to 0.
uint32_t ChecksumAdd(uint32_t sum, lib::Span<const uint8_t> bytes);
uint16_t ChecksumFold(uint32_t sum);

struct Ipv4Packet {
  Ipv4Address source;
  Ipv4Address destination;
  uint8_t protocol = 0;
  lib::Span<const uint8_t> payload;  // total_length - header length bytes: padding cut off
};

// The packet in an Ethernet payload. kMalformed: version not 4, header length under 20 bytes or
// past the total length, total length past the bytes received; kChecksum: the header checksum;
// kFragment: MF set or a fragment offset (a whole datagram has neither); kMalformed too for a
// source address that is broadcast or multicast [RFC 1122 3.2.1.3].
lib::Result<Ipv4Packet, DropReason> ParseIpv4(lib::Span<const uint8_t> bytes);

// Writes a 20-byte header (no options, TTL 64, DF clear, checksum filled in) at `out` for a
// payload of `payload_length` bytes (at most 65515).
void WriteIpv4Header(uint8_t* out, Ipv4Address source, Ipv4Address destination, uint8_t protocol,
                     uint16_t payload_length, uint16_t identification);

}  // namespace net
