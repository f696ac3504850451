// Ethernet II framing [IEEE 802.3 3.1.1; RFC 894]: a 14-byte header (destination, source,
// EtherType) before the payload. Frames with a length field instead of an EtherType (IEEE 802.3
// with LLC, values up to 1500) and VLAN-tagged frames (0x8100) are not tern's: kUnsupported.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "lib/wire.h"
#include "net/device.h"
#include "net/drop.h"

namespace net {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;

struct EthernetHeader {
  MacAddress destination;
  MacAddress source;
  lib::UBe16 type;
};
static_assert(sizeof(EthernetHeader) == kEthernetHeaderSize);

struct EthernetFrame {
  EthernetHeader header;
  lib::Span<const uint8_t> payload;  // everything after the header, padding included
};

// The header of `frame` and its payload. kMalformed when shorter than a header; kNotForUs when
// the destination is neither `own` nor broadcast (multicast included: tern joins no group);
// kUnsupported for an EtherType that is neither IPv4 nor ARP.
lib::Result<EthernetFrame, DropReason> ParseEthernet(lib::Span<const uint8_t> frame,
                                                     const MacAddress& own);

// Writes the header of a frame from `source` to `destination` at `out` (kEthernetHeaderSize
// bytes).
void WriteEthernetHeader(uint8_t* out, const MacAddress& destination, const MacAddress& source,
                         uint16_t type);

}  // namespace net
