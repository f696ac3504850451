#include "net/ipv4.h"

namespace net {

lib::Result<Ipv4Address, DropReason> ParseDottedQuad(lib::StringView text) {
  uint32_t value = 0;
  uint32_t number = 0;
  int parts = 0;
  int digits = 0;
  // The end of the text closes the last part as a '.' would.
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : '.';
    if (c >= '0' && c <= '9' && digits < 3) {
      number = number * 10 + static_cast<uint32_t>(c - '0');
      ++digits;
      continue;
    }
    if (c != '.' || digits == 0 || number > 255 || ++parts > 4) {
      return lib::Err(DropReason::kMalformed);
    }
    value = value << 8 | number;
    number = 0;
    digits = 0;
  }
  if (parts != 4) return lib::Err(DropReason::kMalformed);
  return Ipv4Address{value};
}

uint32_t ChecksumAdd(uint32_t sum, lib::Span<const uint8_t> bytes) {
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) {
    sum += uint32_t{bytes[i]} << 8 | bytes[i + 1];
    sum = (sum & 0xffff) + (sum >> 16);  // never more than 17 bits: no overflow at any length
  }
  if (i < bytes.size()) sum += uint32_t{bytes[i]} << 8;
  return (sum & 0xffff) + (sum >> 16);
}

uint16_t ChecksumFold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

lib::Result<Ipv4Packet, DropReason> ParseIpv4(lib::Span<const uint8_t> bytes) {
  if (bytes.size() < kIpv4HeaderSize) return lib::Err(DropReason::kMalformed);
  const auto header = lib::LoadWire<Ipv4Header>(bytes.data());
  const uint32_t header_length = uint32_t{header.version_ihl & 0xfu} * 4;
  const uint32_t total = header.total_length.value();
  if ((header.version_ihl >> 4) != 4 || header_length < kIpv4HeaderSize || total < header_length ||
      total > bytes.size()) {
    return lib::Err(DropReason::kMalformed);
  }
  if (ChecksumFold(ChecksumAdd(0, bytes.Subspan(0, header_length))) != 0) {
    return lib::Err(DropReason::kChecksum);
  }
  if ((header.flags_fragment.value() & 0x3fff) != 0) return lib::Err(DropReason::kFragment);
  Ipv4Packet packet;
  packet.source = Ipv4Address{header.source.value()};
  packet.destination = Ipv4Address{header.destination.value()};
  if (packet.source.IsBroadcast() || packet.source.IsMulticast()) {
    return lib::Err(DropReason::kMalformed);
  }
  packet.protocol = header.protocol;
  packet.payload = bytes.Subspan(header_length, total - header_length);
  return packet;
}

void WriteIpv4Header(uint8_t* out, Ipv4Address source, Ipv4Address destination, uint8_t protocol,
                     uint16_t payload_length, uint16_t identification) {
  Ipv4Header header{};
  header.version_ihl = 0x45;
  header.total_length = lib::UBe16(static_cast<uint16_t>(kIpv4HeaderSize + payload_length));
  header.identification = lib::UBe16(identification);
  header.ttl = kDefaultTtl;
  header.protocol = protocol;
  header.source = lib::UBe32(source.value);
  header.destination = lib::UBe32(destination.value);
  lib::StoreWire(out, header);
  const uint16_t sum = ChecksumFold(ChecksumAdd(0, {out, kIpv4HeaderSize}));
  lib::StoreWire(out + 10, lib::UBe16(sum));
}

}  // namespace net
