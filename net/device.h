// The network device contract: an Ethernet NIC as the protocols above the drivers see it, whatever
// carries its frames (spapr-vlan through H_SEND_LOGICAL_LAN and its receive queue, virtio-net
// through its TX and RX virtqueues). Drivers (dev/) fill one in; the protocol stack (net/stack.h)
// and the IEEE 1275 `network` package (of/) use it and never know which driver is behind it.
//
// Frames are Ethernet II frames [IEEE 802.3 3.1.1] from the destination address to the end of the
// payload: no preamble, no frame check sequence, no VLAN tag, no virtio-net header (a driver adds
// and strips what its device needs). One rule for every device, checked once when a driver starts
// one (CheckDevice): a unicast MAC address that is not all zeros, and a largest frame of at least
// kMinMaxFrame bytes (a 576-byte IPv4 datagram, which every IPv4 host must accept [RFC 1122
// 3.3.2]).
//
// Both operations poll: neither waits for the network. `send` hands one frame to the device;
// `receive` takes at most one frame the device has already received.
#pragma once

#include "lib/result.h"
#include "lib/types.h"

namespace net {

inline constexpr uint32_t kEthernetHeaderSize = 14;
// The shortest Ethernet frame without its FCS [IEEE 802.3 4.4.2]: the stack pads shorter ones.
inline constexpr uint32_t kMinFrameSize = 60;
// Ethernet's 1500-byte MTU plus the header: what spapr-vlan and virtio-net carry without jumbo
// frames (a device may say more; the stack uses at most its buffers' size).
inline constexpr uint32_t kEthernetFrameSize = 1514;
inline constexpr uint32_t kMinMaxFrame = kEthernetHeaderSize + 576;
inline constexpr uint32_t kMaxMaxFrame = 65535;

struct MacAddress {
  uint8_t bytes[6] = {};

  static constexpr MacAddress Broadcast() {
    return MacAddress{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  }
  constexpr bool operator==(const MacAddress& other) const {
    for (int i = 0; i < 6; ++i) {
      if (bytes[i] != other.bytes[i]) return false;
    }
    return true;
  }
  constexpr bool operator!=(const MacAddress& other) const { return !(*this == other); }
  // Broadcast and multicast addresses: the I/G bit, the first on the wire [IEEE 802].
  constexpr bool IsGroup() const { return (bytes[0] & 1) != 0; }
  constexpr bool IsZero() const { return *this == MacAddress{}; }
};

enum class DeviceError {
  kNotReady,     // the device was never brought up, or has been reset for the OS
  kBadFrame,     // a frame to send shorter than kEthernetHeaderSize or longer than max_frame
  kBadBuffer,    // the frame's address is not memory the device can DMA from
  kBusy,         // no room to queue the frame now (a full TX ring): the stack counts it as lost
  kDevice,       // the device or the hypervisor reported an error
  kTimeout,      // the device did not take the frame in time
  kBadResponse,  // the device's answer failed a range check (a received length over capacity)
};

constexpr const char* DeviceErrorName(DeviceError error) {
  switch (error) {
    case DeviceError::kNotReady: return "device not ready";
    case DeviceError::kBadFrame: return "frame length out of range";
    case DeviceError::kBadBuffer: return "frame buffer not DMA-able";
    case DeviceError::kBusy: return "device busy";
    case DeviceError::kDevice: return "device error";
    case DeviceError::kTimeout: return "device timeout";
    case DeviceError::kBadResponse: return "malformed device response";
  }
  return "network device error";
}

enum class DeviceCheckError {
  kBadMac,       // a group (broadcast, multicast) or all-zero address
  kBadMaxFrame,  // largest frame outside [kMinMaxFrame, kMaxMaxFrame]
};

constexpr const char* DeviceCheckErrorName(DeviceCheckError error) {
  switch (error) {
    case DeviceCheckError::kBadMac: return "MAC address is not a unicast address";
    case DeviceCheckError::kBadMaxFrame: return "largest frame outside 590..65535 bytes";
  }
  return "bad network device";
}

// The rule above.
constexpr lib::Result<void, DeviceCheckError> CheckDevice(const MacAddress& mac,
                                                          uint32_t max_frame) {
  if (mac.IsGroup() || mac.IsZero()) return lib::Err(DeviceCheckError::kBadMac);
  if (max_frame < kMinMaxFrame || max_frame > kMaxMaxFrame) {
    return lib::Err(DeviceCheckError::kBadMaxFrame);
  }
  return lib::Ok<DeviceCheckError>();
}

// One frame to send, in firmware memory: `bytes` for the CPU and `address`, the real
// (guest-physical) address of the same bytes. A driver either copies `bytes` into a buffer of its
// own (spapr-vlan: a TCE-mapped page whose I/O address goes into H_SEND_LOGICAL_LAN's buffer
// descriptor [LoPAPR, the Logical LAN option]) or hands `address` to its device (virtio-net without
// VIRTIO_F_ACCESS_PLATFORM: a descriptor after the one of its virtio_net_hdr [virtio 1.1 5.1.6]).
// The stack always sends from the same buffer it was given (net::Buffer), so a driver may map
// that buffer once.
struct Frame {
  const uint8_t* bytes = nullptr;
  uint64_t address = 0;
  uint32_t length = 0;  // kMinFrameSize..max_frame: the stack pads short frames
};

struct Device {
  MacAddress mac;          // CheckDevice
  uint32_t max_frame = 0;  // the largest frame it carries, header included (1514 for MTU 1500)
  // Hands `frame` to the device. When it returns, the device no longer reads the frame's memory
  // (H_SEND_LOGICAL_LAN copies before it returns; a virtio driver waits for the used entry, with
  // a lib::Deadline, or copies): the stack reuses the buffer at once.
  lib::Result<void, DeviceError> (*send)(void* driver, const Frame& frame) = nullptr;
  // Copies the oldest frame the device has received into `buffer` (`capacity` bytes) and returns
  // its length, or 0 when none is waiting; never waits. A frame longer than `capacity` is dropped
  // by the driver (the next one is returned, or 0). The receive buffers the device fills are the
  // driver's (H_ADD_LOGICAL_LAN_BUFFER, virtio-net's RX queue), given back to it after the copy.
  lib::Result<uint32_t, DeviceError> (*receive)(void* driver, uint8_t* buffer,
                                                uint32_t capacity) = nullptr;
  void* driver = nullptr;

  // `send`, with the frame's length checked against the contract.
  lib::Result<void, DeviceError> Send(const Frame& frame) const {
    if (send == nullptr) return lib::Err(DeviceError::kNotReady);
    if (frame.length < kEthernetHeaderSize || frame.length > max_frame) {
      return lib::Err(DeviceError::kBadFrame);
    }
    return send(driver, frame);
  }
  // `receive`, with the length the driver returns checked against `capacity`.
  lib::Result<uint32_t, DeviceError> Receive(uint8_t* buffer, uint32_t capacity) const {
    if (receive == nullptr) return lib::Err(DeviceError::kNotReady);
    auto length = receive(driver, buffer, capacity);
    if (length.is_ok() && length.value() > capacity) return lib::Err(DeviceError::kBadResponse);
    return length;
  }
};

}  // namespace net
