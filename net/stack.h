// The polling stack: one network device, its IPv4 configuration, ARP (requests for our address
// answered on every poll, next hops resolved with retries, a small cache), and one UDP port open
// at a time. It never waits on its own: Poll takes at most one frame from the device and handles
// it; the exchanges above it (net/dhcp.h, net/tftp.h) loop on Poll against lib::Deadline bounds,
// so ARP is answered for as long as a transfer runs. Single-threaded: one CPU polls.
//
// Memory is the caller's: a transmit buffer the device can DMA from (kArpRoom bytes for ARP
// frames, then one IPv4 frame, so an ARP answered while an exchange builds a datagram never
// overwrites it) and a receive buffer; the stack has no other storage.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/timeout.h"
#include "lib/types.h"
#include "net/arp.h"
#include "net/device.h"
#include "net/drop.h"
#include "net/ipv4.h"
#include "net/udp.h"

namespace net {

// Firmware memory a device can DMA from: `host` for the CPU, `address` its real address.
struct Buffer {
  uint8_t* host = nullptr;
  uint64_t address = 0;
  uint32_t size = 0;
};

// The start of the transmit buffer that ARP frames use.
inline constexpr uint32_t kArpRoom = 64;
// Ethernet, IPv4 and UDP headers in front of a datagram's payload.
inline constexpr uint32_t kUdpOverhead = kEthernetHeaderSize + kIpv4HeaderSize + kUdpHeaderSize;

// ARP resolution of a next hop: a request every second, at most 4 [RFC 1122 2.3.2.1: at most one
// request a second to one destination]; GRUB tries for longer (40 tries from 400 ms, net.h's
// GRUB_NET_TRIES), but a neighbour silent for 4 s on a virtual LAN is not there.
inline constexpr int kArpTries = 4;
inline constexpr uint64_t kArpIntervalMs = 1000;

struct Ipv4Config {
  Ipv4Address address;  // 0: not configured (DHCP has not finished)
  Ipv4Address netmask;
  Ipv4Address router;  // 0: none
};

// One UDP datagram for the open port. `payload` lies in the receive buffer: valid until the next
// Poll.
struct Datagram {
  MacAddress source_mac;
  Ipv4Address source;
  Ipv4Address destination;
  uint16_t source_port = 0;
  uint16_t port = 0;
  lib::Span<const uint8_t> payload;
};

struct StackStats {
  uint64_t frames_received = 0;
  uint64_t frames_sent = 0;
  uint64_t dropped[kDropReasons] = {};  // by DropReason
  uint64_t arp_answered = 0;            // requests for our address answered
  uint64_t arp_requests = 0;            // requests sent to resolve a next hop
  uint64_t send_busy = 0;  // frames the device had no room for (DeviceError::kBusy): lost

  uint64_t Dropped(DropReason reason) const { return dropped[static_cast<int>(reason)]; }
};

enum class StackError {
  kNotStarted,      // Start has not succeeded
  kBadDevice,       // Start: the device breaks its contract (CheckDevice), or lacks send/receive
  kBufferTooSmall,  // Start: no room for a frame of kMinMaxFrame bytes in a buffer
  kBadFrequency,    // Start: a time base frequency outside lib/timeout.h's range
  kDevice,          // the device failed (last_device_error() says how)
  kNotConfigured,   // a unicast destination before an address was configured
  kNoRoute,         // an off-link destination without a router
  kNoArpAnswer,     // the next hop did not answer kArpTries ARP requests
  kTooLarge,        // a payload larger than max_udp_payload()
};

constexpr const char* StackErrorName(StackError error) {
  switch (error) {
    case StackError::kNotStarted: return "network stack not started";
    case StackError::kBadDevice: return "network device breaks its contract";
    case StackError::kBufferTooSmall: return "network buffers too small";
    case StackError::kBadFrequency: return "time base frequency out of range";
    case StackError::kDevice: return "network device error";
    case StackError::kNotConfigured: return "no IPv4 address configured";
    case StackError::kNoRoute: return "no route to the host";
    case StackError::kNoArpAnswer: return "no ARP answer from the next hop";
    case StackError::kTooLarge: return "datagram too large for one frame";
  }
  return "network stack error";
}

class Stack {
 public:
  // Takes `device` (kept by reference: it must outlive the stack), the transmit buffer `tx`
  // (at least kArpRoom + kMinMaxFrame bytes) and the receive buffer `rx` (at least kMinMaxFrame
  // bytes); frames are at most the smallest of the device's max_frame and the buffers' room.
  // The stack starts unconfigured, its ARP cache empty.
  lib::Result<void, StackError> Start(const Device& device, const Buffer& tx, lib::Span<uint8_t> rx,
                                      uint64_t timebase_frequency);

  // Sets the address, mask and router (after DHCP, or by hand); the ARP cache is kept.
  void Configure(const Ipv4Config& config) { config_ = config; }
  const Ipv4Config& config() const { return config_; }
  const MacAddress& mac() const { return device_->mac; }
  uint64_t timebase_frequency() const { return frequency_; }
  // The largest UDP payload one frame carries (1472 on a 1500-byte MTU).
  uint32_t max_udp_payload() const { return frame_limit_ - kUdpOverhead; }

  // Takes at most one frame from the device. ARP is handled (requests for our address answered,
  // neighbours cached); a UDP datagram for `port` (0: none open) is returned in `datagram` with
  // true; anything else is dropped and counted in stats(). False: nothing for the caller.
  lib::Result<bool, StackError> Poll(uint16_t port, Datagram& datagram);

  // Where the payload of the next SendUdp goes: max_udp_payload() bytes in the transmit buffer.
  lib::Span<uint8_t> UdpPayload() const;
  // Sends the first `length` bytes of UdpPayload() from `source_port` to `destination` (any
  // address: broadcasts go to the Ethernet broadcast address, unicasts to the next hop's MAC,
  // resolved by ARP first when not cached: up to kArpTries seconds of polling, during which
  // datagrams are dropped as no port is open).
  lib::Result<void, StackError> SendUdp(Ipv4Address destination, uint16_t source_port,
                                        uint16_t destination_port, uint32_t length);
  // The MAC address to send to `destination` through (itself on the link, else the router).
  lib::Result<MacAddress, StackError> Resolve(Ipv4Address destination);

  // A deadline `milliseconds` from now on the stack's time base.
  lib::Deadline AfterMilliseconds(uint64_t milliseconds) const;
  // Pseudo-random numbers (xorshift, seeded by the MAC address and the time base at Start): DHCP
  // transaction IDs, TFTP ports, back-off jitter. Not for anything secret.
  uint32_t Random();

  const StackStats& stats() const { return stats_; }
  DeviceError last_device_error() const { return last_device_error_; }
  ArpCache& arp_cache() { return arp_; }

 private:
  lib::Result<bool, DropReason> Handle(lib::Span<const uint8_t> frame, uint16_t port,
                                       Datagram& datagram);
  lib::Result<void, DropReason> HandleArp(lib::Span<const uint8_t> payload);
  lib::Result<void, StackError> SendArp(uint16_t operation, const MacAddress& to,
                                        const MacAddress& target_mac, Ipv4Address target_ip);
  lib::Result<void, StackError> SendFrame(uint32_t offset, uint32_t length);
  bool OnLink(Ipv4Address address) const;
  bool IsSubnetBroadcast(Ipv4Address address) const;
  bool Accepts(Ipv4Address destination) const;

  const Device* device_ = nullptr;
  Buffer tx_;
  lib::Span<uint8_t> rx_;
  uint32_t frame_limit_ = 0;
  uint64_t frequency_ = 0;
  Ipv4Config config_;
  ArpCache arp_;
  StackStats stats_;
  DeviceError last_device_error_ = DeviceError::kNotReady;
  uint64_t random_ = 0;
  uint16_t identification_ = 0;
};

}  // namespace net
