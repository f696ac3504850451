// Why a received frame was dropped: the one error domain of every parser on the receive path
// (ethernet.h, arp.h, ipv4.h, udp.h, and the DHCP and TFTP messages). A dropped frame is never an
// error of the exchange that was waiting: the stack counts it (StackStats) and polls on.
#pragma once

namespace net {

enum class DropReason {
  kMalformed,    // a length, an offset or a field out of range for its protocol
  kChecksum,     // the IPv4 header checksum or the UDP checksum does not match
  kNotForUs,     // another host's address, a group address we do not listen to, a port not open
  kFragment,     // an IPv4 fragment: tern reassembles none [RFC 791 3.2]
  kUnsupported,  // an EtherType, an IP protocol or an operation tern does not handle
};

inline constexpr int kDropReasons = 5;

constexpr const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kMalformed: return "malformed";
    case DropReason::kChecksum: return "bad checksum";
    case DropReason::kNotForUs: return "not for us";
    case DropReason::kFragment: return "IPv4 fragment";
    case DropReason::kUnsupported: return "unsupported protocol";
  }
  return "dropped";
}

}  // namespace net
