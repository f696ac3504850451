// UDP [RFC 768]: the 8-byte header, its length checked against the IPv4 payload, its checksum
// over the pseudo-header [RFC 768 "Fields"; RFC 1122 4.1.3.4] checked when the sender computed
// one (non-zero) and always computed on the way out.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "lib/wire.h"
#include "net/drop.h"
#include "net/ipv4.h"

namespace net {

inline constexpr uint32_t kUdpHeaderSize = 8;

struct UdpHeader {
  lib::UBe16 source_port;
  lib::UBe16 destination_port;
  lib::UBe16 length;  // header and payload
  lib::UBe16 checksum;
};
static_assert(sizeof(UdpHeader) == kUdpHeaderSize);

struct UdpDatagram {
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  lib::Span<const uint8_t> payload;  // `length` - 8 bytes: anything after it in the packet cut off
};

// The datagram in an IPv4 packet of protocol 17. kMalformed: shorter than its header, a length
// under 8 or past the packet, source or destination port 0; kChecksum: a non-zero checksum that
// does not match.
lib::Result<UdpDatagram, DropReason> ParseUdp(const Ipv4Packet& packet);

// Writes the header at `out`, in front of `payload_length` bytes already at out + 8, with the
// checksum over both and the pseudo-header (0 is sent as 0xffff).
void WriteUdpHeader(uint8_t* out, Ipv4Address source, Ipv4Address destination, uint16_t source_port,
                    uint16_t destination_port, uint16_t payload_length);

}  // namespace net
