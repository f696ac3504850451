#include "net/ethernet.h"

namespace net {

lib::Result<EthernetFrame, DropReason> ParseEthernet(lib::Span<const uint8_t> frame,
                                                     const MacAddress& own) {
  if (frame.size() < kEthernetHeaderSize) return lib::Err(DropReason::kMalformed);
  EthernetFrame parsed;
  parsed.header = lib::LoadWire<EthernetHeader>(frame.data());
  if (parsed.header.destination != own && parsed.header.destination != MacAddress::Broadcast()) {
    return lib::Err(DropReason::kNotForUs);
  }
  const uint16_t type = parsed.header.type.value();
  if (type != kEtherTypeIpv4 && type != kEtherTypeArp) return lib::Err(DropReason::kUnsupported);
  parsed.payload = frame.Subspan(kEthernetHeaderSize);
  return parsed;
}

void WriteEthernetHeader(uint8_t* out, const MacAddress& destination, const MacAddress& source,
                         uint16_t type) {
  lib::StoreWire(out, EthernetHeader{destination, source, lib::UBe16(type)});
}

}  // namespace net
