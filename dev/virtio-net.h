// virtio-net over the virtio 1.0 PCI transport [virtio 1.1 §5.1]: a net::Device for QEMU's
// virtio-net-pci.
//
// Features: VIRTIO_F_VERSION_1 and VIRTIO_NET_F_MAC, nothing else (no checksum offload, no
// segmentation, no mergeable receive buffers, no control queue): every frame travels whole in
// one buffer behind a virtio_net_hdr of 12 bytes (with VERSION_1 the header always carries
// num_buffers [virtio 1.1 §5.1.6]), all zeros on the way out. Queue 0 receives: it holds up to
// kVirtioNetRxBuffers buffers of kVirtioNetBufferBytes (at least the 1526 bytes a device without
// mergeable buffers or offloads may fill [virtio 1.1 §5.1.6.3.1]), each given back to the device
// as soon as its frame is copied out. Queue 1 transmits one frame at a time: the header and the
// frame copied into the driver's transmit buffer, one descriptor, polled until the device returns
// it (at most kVirtioNetSendSeconds).
//
// Whatever the device writes is checked before use: a used entry must return a buffer the device
// holds, with a length of at least the header and at most the buffer; a frame longer than the
// caller's buffer, or shorter than an Ethernet header, is dropped and its buffer given back.
// Anything else, and a frame the device does not return in time, resets the device (kBadResponse,
// kTimeout), so that nothing it does later reaches memory. ResetForOs resets it for the OS's
// virtio_net. The rings and buffers live in DMA memory the caller provides (kVirtioNetDmaBytes):
// the receive queue's rings at 0, the transmit queue's at 512, the transmit buffer at 1024, the
// receive buffers from 2560. A device offering VIRTIO_F_ACCESS_PLATFORM is refused, as for
// virtio-blk (dev/virtio-device.h).
#pragma once

#include "dev/driver.h"
#include "dev/pci.h"
#include "dev/virtio-device.h"
#include "dev/virtio-pci.h"
#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/types.h"
#include "net/device.h"

namespace dev {

// Feature bits of the network device [virtio 1.1 §5.1.3].
inline constexpr uint64_t kVirtioNetFMac = uint64_t{1} << 5;
inline constexpr uint32_t kVirtioNetHeaderBytes = 12;
inline constexpr uint16_t kVirtioNetRxBuffers = SplitQueue::kMaxSize;
inline constexpr uint32_t kVirtioNetBufferBytes = 1536;
inline constexpr uint64_t kVirtioNetRingBytes = 512;  // one queue's rings (SplitQueue::Bytes)
inline constexpr uint64_t kVirtioNetDmaBytes =
    2 * kVirtioNetRingBytes + kVirtioNetBufferBytes * (1 + uint64_t{kVirtioNetRxBuffers});
inline constexpr uint64_t kVirtioNetDmaAlignment = 16;
inline constexpr int kVirtioNetInstances = 4;
// How long the device may keep a frame to send.
inline constexpr uint64_t kVirtioNetSendSeconds = 1;

// A virtio network device tern can drive: vendor 0x1af4 with the transitional (0x1000) or the
// virtio 1.0 (0x1040 + 1) device ID [virtio 1.1 §4.1.2].
bool IsVirtioNet(const PciDevice& pci);

class VirtioNet {
 public:
  constexpr VirtioNet() = default;
  VirtioNet(const VirtioNet&) = delete;
  VirtioNet& operator=(const VirtioNet&) = delete;

  // Brings `pci` (found by ScanPhbs, its BARs assigned) up through VirtioDevice::Begin (with
  // VIRTIO_NET_F_MAC, which it must offer), reads the MAC address (net::CheckDevice), sets up
  // both queues in [dma_address, dma_address + dma_bytes) of `memory` (16-aligned, at least
  // kVirtioNetDmaBytes), offers every receive buffer, sets DRIVER_OK. `pci` and `memory` must
  // outlive the driver. On failure a line naming the device says why, and the device is left
  // reset with decoding and bus mastering off (untouched when it is refused before the driver
  // turned it on). Starting a driver that runs a device stops that device first.
  lib::Result<void, VirtioError> Start(const PciDevice& pci, lib::GuestMemory& memory,
                                       uint64_t dma_address, uint64_t dma_bytes,
                                       uint64_t timebase_frequency);

  // The NIC (max_frame net::kEthernetFrameSize). After ResetForOs, or after the device was reset
  // for a failure, its operations fail with kNotReady.
  const net::Device& device() const { return device_; }
  DriverState state() const { return device_state_.state(); }
  bool running() const { return state() == DriverState::kRunning; }
  // Receive buffers the device holds.
  uint16_t buffers_posted() const { return rx_.outstanding(); }
  // Frames dropped: longer than the caller's buffer, or shorter than an Ethernet header.
  uint64_t frames_dropped() const { return dropped_; }

  // For the hand-off to the OS: resets the device (VirtioDevice::Stop). Safe to call twice, or on
  // a driver that never started (it then touches nothing).
  lib::Result<void, VirtioError> ResetForOs();

 private:
  static lib::Result<void, net::DeviceError> SendFrame(void* driver, const net::Frame& frame);
  static lib::Result<uint32_t, net::DeviceError> ReceiveFrame(void* driver, uint8_t* buffer,
                                                              uint32_t capacity);
  lib::Result<void, net::DeviceError> Send(const net::Frame& frame);
  lib::Result<uint32_t, net::DeviceError> Receive(uint8_t* buffer, uint32_t capacity);
  lib::Result<void, VirtioError> BringUp(const PciDevice& pci, uint64_t dma_address,
                                         uint64_t dma_bytes, uint64_t timebase_frequency);
  lib::Result<void, VirtioError> ReadMac();
  uint64_t RxBuffer(uint16_t id) const;
  // Resets the device after a failure, saying why; returns `error`.
  net::DeviceError Fail(const char* what, net::DeviceError error);

  VirtioDevice device_state_;
  SplitQueue rx_;
  SplitQueue tx_;
  lib::GuestMemory* memory_ = nullptr;
  uint64_t dma_address_ = 0;
  uint8_t* dma_ = nullptr;  // host view of the DMA memory
  uint64_t send_ticks_ = 0;
  uint64_t dropped_ = 0;
  net::Device device_;
};

}  // namespace dev
