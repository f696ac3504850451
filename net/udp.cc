#include "net/udp.h"

namespace net {
namespace {

// The pseudo-header's sum: source, destination, zero and protocol, UDP length [RFC 768].
uint32_t PseudoHeaderSum(Ipv4Address source, Ipv4Address destination, uint16_t udp_length) {
  uint8_t pseudo[12];
  lib::StoreBe32(pseudo, source.value);
  lib::StoreBe32(pseudo + 4, destination.value);
  pseudo[8] = 0;
  pseudo[9] = kIpProtocolUdp;
  lib::StoreBe16(pseudo + 10, udp_length);
  return ChecksumAdd(0, pseudo);
}

}  // namespace

lib::Result<UdpDatagram, DropReason> ParseUdp(const Ipv4Packet& packet) {
  if (packet.payload.size() < kUdpHeaderSize) return lib::Err(DropReason::kMalformed);
  const auto header = lib::LoadWire<UdpHeader>(packet.payload.data());
  const uint16_t length = header.length.value();
  if (length < kUdpHeaderSize || length > packet.payload.size()) {
    return lib::Err(DropReason::kMalformed);
  }
  UdpDatagram datagram;
  datagram.source_port = header.source_port.value();
  datagram.destination_port = header.destination_port.value();
  if (datagram.source_port == 0 || datagram.destination_port == 0) {
    return lib::Err(DropReason::kMalformed);
  }
  if (header.checksum.value() != 0) {
    const uint32_t sum = PseudoHeaderSum(packet.source, packet.destination, length);
    if (ChecksumFold(ChecksumAdd(sum, packet.payload.Subspan(0, length))) != 0) {
      return lib::Err(DropReason::kChecksum);
    }
  }
  datagram.payload = packet.payload.Subspan(kUdpHeaderSize, length - kUdpHeaderSize);
  return datagram;
}

void WriteUdpHeader(uint8_t* out, Ipv4Address source, Ipv4Address destination, uint16_t source_port,
                    uint16_t destination_port, uint16_t payload_length) {
  const uint16_t length = static_cast<uint16_t>(kUdpHeaderSize + payload_length);
  lib::StoreWire(out, UdpHeader{lib::UBe16(source_port), lib::UBe16(destination_port),
                                lib::UBe16(length), lib::UBe16(0)});
  const uint32_t sum = PseudoHeaderSum(source, destination, length);
  uint16_t checksum = ChecksumFold(ChecksumAdd(sum, {out, length}));
  if (checksum == 0) checksum = 0xffff;
  lib::StoreBe16(out + 6, checksum);
}

}  // namespace net
