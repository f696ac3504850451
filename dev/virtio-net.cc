#include "dev/virtio-net.h"

#include "lib/console.h"
#include "lib/string.h"
#include "lib/timeout.h"

namespace dev {

namespace {

constexpr uint16_t kVirtioVendor = 0x1af4;
constexpr uint16_t kTransitionalNet = 0x1000;
constexpr uint16_t kModernNet = 0x1040 + 1;

constexpr uint16_t kReceiveQueue = 0;   // receiveq1 [virtio 1.1 §5.1.2]
constexpr uint16_t kTransmitQueue = 1;  // transmitq1

// The DMA memory's layout (dev/virtio-net.h).
constexpr uint64_t kRxRings = 0;
constexpr uint64_t kTxRings = kVirtioNetRingBytes;
constexpr uint64_t kTxBuffer = 2 * kVirtioNetRingBytes;
constexpr uint64_t kRxBuffers = kTxBuffer + kVirtioNetBufferBytes;
static_assert(SplitQueue::Bytes(SplitQueue::kMaxSize) <= kVirtioNetRingBytes);
static_assert(kRxBuffers + uint64_t{kVirtioNetBufferBytes} * kVirtioNetRxBuffers ==
              kVirtioNetDmaBytes);
static_assert(kVirtioNetBufferBytes >= kVirtioNetHeaderBytes + net::kEthernetFrameSize);

// The device configuration [virtio 1.1 §5.1.4]: the MAC address first.
constexpr uint32_t kMacOffset = 0;

}  // namespace

bool IsVirtioNet(const PciDevice& pci) {
  return pci.vendor_id == kVirtioVendor &&
         (pci.device_id == kTransitionalNet || pci.device_id == kModernNet);
}

lib::Result<void, VirtioError> VirtioNet::Start(const PciDevice& pci, lib::GuestMemory& memory,
                                                uint64_t dma_address, uint64_t dma_bytes,
                                                uint64_t timebase_frequency) {
  (void)device_state_.Stop("virtio-net");  // the device this driver ran before
  device_ = net::Device{};
  memory_ = &memory;
  if (!IsVirtioNet(pci)) return lib::Err(VirtioError::kNotVirtioNet);
  if (auto started = BringUp(pci, dma_address, dma_bytes, timebase_frequency); started.is_error()) {
    lib::Printf("tern: virtio-net %s: %s: not used\n", pci.name, VirtioErrorName(started.error()));
    (void)device_state_.Stop("virtio-net");
    device_ = net::Device{};
    return started;
  }
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioNet::BringUp(const PciDevice& pci, uint64_t dma_address,
                                                  uint64_t dma_bytes, uint64_t timebase_frequency) {
  if (timebase_frequency == 0) return lib::Err(VirtioError::kBadArgument);
  auto dma = memory_->Map(dma_address, kVirtioNetDmaBytes, false);
  if (dma_address % kVirtioNetDmaAlignment != 0 || dma_bytes < kVirtioNetDmaBytes ||
      dma.is_error()) {
    return lib::Err(VirtioError::kBadRingMemory);
  }
  dma_address_ = dma_address;
  dma_ = dma.value();
  send_ticks_ = lib::SecondsToTicks(kVirtioNetSendSeconds, timebase_frequency);
  dropped_ = 0;
  auto accepted = device_state_.Begin(pci, kVirtioNetFMac, timebase_frequency);
  if (accepted.is_error()) return lib::Err(accepted.error());
  if ((accepted.value() & kVirtioNetFMac) == 0) return lib::Err(VirtioError::kNoMac);
  TERN_TRY(ReadMac());
  TERN_TRY(device_state_.StartQueue(rx_, kReceiveQueue, *memory_, dma_address + kRxRings,
                                    kVirtioNetRingBytes));
  TERN_TRY(device_state_.StartQueue(tx_, kTransmitQueue, *memory_, dma_address + kTxRings,
                                    kVirtioNetRingBytes));
  for (uint16_t id = 0; id < rx_.size() && id < kVirtioNetRxBuffers; ++id) {
    TERN_TRY(rx_.Offer(id, RxBuffer(id), kVirtioNetBufferBytes));
  }
  // Buffers may be made available before DRIVER_OK; the device is told only after it
  // [virtio 1.1 §3.1.1, §2.6.13].
  TERN_TRY(device_state_.Ready());
  TERN_TRY(rx_.Notify());
  device_.max_frame = net::kEthernetFrameSize;
  device_.send = SendFrame;
  device_.receive = ReceiveFrame;
  device_.driver = this;
  return lib::Ok<VirtioError>();
}

lib::Result<void, VirtioError> VirtioNet::ReadMac() {
  uint8_t mac[6] = {};
  TERN_TRY(device_state_.ReadConfigBytes(kMacOffset, mac));
  lib::MemCopy(device_.mac.bytes, mac, sizeof(mac));
  if (net::CheckDevice(device_.mac, net::kEthernetFrameSize).is_error()) {
    lib::Printf("tern: virtio-net %s: MAC %02x:%02x:%02x:%02x:%02x:%02x is not a unicast address\n",
                device_state_.pci()->name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return lib::Err(VirtioError::kBadDeviceConfig);
  }
  return lib::Ok<VirtioError>();
}

uint64_t VirtioNet::RxBuffer(uint16_t id) const {
  return dma_address_ + kRxBuffers + uint64_t{kVirtioNetBufferBytes} * id;
}

lib::Result<void, VirtioError> VirtioNet::ResetForOs() {
  return device_state_.Stop("virtio-net");
}

lib::Result<void, net::DeviceError> VirtioNet::SendFrame(void* driver, const net::Frame& frame) {
  return static_cast<VirtioNet*>(driver)->Send(frame);
}

lib::Result<uint32_t, net::DeviceError> VirtioNet::ReceiveFrame(void* driver, uint8_t* buffer,
                                                                uint32_t capacity) {
  return static_cast<VirtioNet*>(driver)->Receive(buffer, capacity);
}

net::DeviceError VirtioNet::Fail(const char* what, net::DeviceError error) {
  lib::Printf("tern: virtio-net %s: %s; the device is reset\n", device_state_.pci()->name, what);
  (void)device_state_.Stop("virtio-net");
  return error;
}

lib::Result<void, net::DeviceError> VirtioNet::Send(const net::Frame& frame) {
  if (!running()) return lib::Err(net::DeviceError::kNotReady);
  if (frame.length < net::kEthernetHeaderSize || frame.length > device_.max_frame) {
    return lib::Err(net::DeviceError::kBadFrame);
  }
  if (frame.bytes == nullptr) return lib::Err(net::DeviceError::kBadBuffer);
  // struct virtio_net_hdr, all zeros: no offload asked for [virtio 1.1 §5.1.6.2].
  lib::MemSet(dma_ + kTxBuffer, 0, kVirtioNetHeaderBytes);
  lib::MemCopy(dma_ + kTxBuffer + kVirtioNetHeaderBytes, frame.bytes, frame.length);
  const VirtqBuffer chain[1] = {
      {dma_address_ + kTxBuffer, kVirtioNetHeaderBytes + frame.length, false}};
  auto used = tx_.Run(chain, 1, send_ticks_);
  if (used.is_error()) {
    // The frame may still be in the device: reset it, and use it no more.
    if (used.error() == VirtioError::kTimeout) {
      return lib::Err(Fail("a frame to send was not returned in time", net::DeviceError::kTimeout));
    }
    return lib::Err(Fail(VirtioErrorName(used.error()), net::DeviceError::kBadResponse));
  }
  return lib::Ok<net::DeviceError>();
}

// Returned buffers in the order the device used them [virtio 1.1 §5.1.6.4]; each goes back at
// once. Bounded by the queue's size: a device cannot keep the driver here.
lib::Result<uint32_t, net::DeviceError> VirtioNet::Receive(uint8_t* buffer, uint32_t capacity) {
  if (!running()) return lib::Err(net::DeviceError::kNotReady);
  for (uint16_t taken = 0; taken < rx_.size(); ++taken) {
    SplitQueue::Used used;
    auto returned = rx_.TakeUsed(used);
    if (returned.is_error()) {
      return lib::Err(Fail(VirtioErrorName(returned.error()), net::DeviceError::kBadResponse));
    }
    if (!returned.value()) return 0u;
    if (used.length < kVirtioNetHeaderBytes) {
      return lib::Err(
          Fail("a received buffer shorter than its header", net::DeviceError::kBadResponse));
    }
    const uint32_t length = used.length - kVirtioNetHeaderBytes;
    const bool keep = length >= net::kEthernetHeaderSize && length <= capacity;
    const uint64_t address = RxBuffer(used.id);
    if (keep) lib::MemCopy(buffer, dma_ + (address - dma_address_) + kVirtioNetHeaderBytes, length);
    if (!keep) ++dropped_;
    if (rx_.Offer(used.id, address, kVirtioNetBufferBytes).is_error() || rx_.Notify().is_error()) {
      return lib::Err(Fail("a receive buffer could not be given back", net::DeviceError::kDevice));
    }
    if (keep) return length;
  }
  return 0u;
}

// ---------------------------------------------------------------------------------------------
// The driver table's entry: QEMU's virtio-net-pci.

namespace {

struct Instance {
  VirtioNet driver;
  char description[64] = {};
  DriverState state() const { return driver.state(); }
};

constinit Pool<Instance, kVirtioNetInstances> pool;

constexpr PciId kIds[] = {{kVirtioVendor, kTransitionalNet}, {kVirtioVendor, kModernNet}};

lib::Result<void, ProbeError> Probe(ProbeEnv& env, const ProbeTarget& target) {
  const PciDevice& pci = *target.pci;
  if (target.path[0] == '\0') {
    lib::Printf("tern: %s: virtio-net without a device-tree node: not used\n", pci.name);
    return lib::Err(ProbeError::kRefused);
  }
  Instance* instance = pool.Take();
  if (instance == nullptr) return lib::Err(ProbeError::kPoolFull);
  DmaLease dma(env.dma);
  const uint64_t memory = dma.Take(kVirtioNetDmaBytes, 64);
  if (memory == 0) {
    lib::Printf("tern: virtio-net %s: no DMA memory left: not used\n", pci.name);
    return lib::Err(ProbeError::kRefused);
  }
  VirtioNet& driver = instance->driver;
  if (driver.Start(pci, env.memory, memory, kVirtioNetDmaBytes, env.timebase_frequency)
          .is_error()) {
    return lib::Err(ProbeError::kRefused);  // Start said why
  }
  if (!ReportNetworkDevice(env, target.path, driver.device(), "virtio-net",
                           instance->description)) {
    (void)driver.ResetForOs();
    return lib::Err(ProbeError::kRefused);  // the sink said why
  }
  dma.Keep();
  return lib::Ok<ProbeError>();
}

void Quiesce() {
  pool.ForEachRunning([](Instance& instance) {
    if (auto reset = instance.driver.ResetForOs(); reset.is_error()) {
      lib::Printf("tern: virtio-net reset for the OS failed: %s\n", VirtioErrorName(reset.error()));
    }
  });
}

}  // namespace

TERN_DRIVER(kVirtioNetDriver) = {{"virtio-net", kIds, nullptr, Probe, Quiesce}};

}  // namespace dev
