// dev/virtio-net against a fake virtio-net-pci on tests/unit/dev/fake-pci's platform: bring-up
// and feature negotiation, the MAC address, frames both ways, buffers recycled across the used
// ring's wrap, every way a device can lie or stall, the reset for the OS, the driver-table entry.
#include "dev/virtio-net.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <algorithm>
#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dev/pci.h"
#include "dev/probe.h"
#include "lib/be.h"
#include "lib/console.h"
#include "tests/console-capture.h"
#include "tests/fake-hv.h"
#include "tests/host-cpu.h"
#include "tests/test-data.h"
#include "tests/unit/dev/fake-pci.h"

namespace {

// The error of `result`, or nothing: a test that gets a value fails instead of panicking.
template <class T, class E>
std::optional<E> ErrorOf(const lib::Result<T, E>& result) {
  if (result.is_ok()) return std::nullopt;
  return result.error();
}

using dev::VirtioError;
using net::DeviceError;
using tests::FakeFunction;
using tests::FakeHypervisor;
using tests::FakePlatform;
using tests::FakeVirtioDevice;

constexpr uint64_t kTimebaseHz = 512000000;
constexpr uint64_t kDma = 0x10000;
constexpr uint32_t kHeader = 12;

// A virtio-net-pci as QEMU 7.2 makes it [virtio 1.1 §5.1; QEMU hw/net/virtio-net.c]: queue 0
// receives, queue 1 transmits, queue 2 would be the control queue; it offers what QEMU offers by
// default (offloads, mergeable buffers, the control queue) for the driver to leave alone.
class FakeVirtioNet : public FakeVirtioDevice {
 public:
  static constexpr uint64_t kCsum = uint64_t{1} << 0;
  static constexpr uint64_t kGuestCsum = uint64_t{1} << 1;
  static constexpr uint64_t kMac = uint64_t{1} << 5;
  static constexpr uint64_t kGuestTso4 = uint64_t{1} << 7;
  static constexpr uint64_t kMrgRxbuf = uint64_t{1} << 15;
  static constexpr uint64_t kStatus = uint64_t{1} << 16;
  static constexpr uint64_t kCtrlVq = uint64_t{1} << 17;

  enum class TxAnswer { kNormal, kNever, kBadId, kBadLength, kTwoUsed };

  // Transitional (device 0x1000: I/O BAR 0 too) or modern-only (0x1041), as QEMU makes them.
  explicit FakeVirtioNet(lib::GuestMemory& ram, bool modern_only = false)
      : FakeVirtioDevice(ram, modern_only ? 0x1041 : 0x1000, modern_only ? 0x1100 : 1, 0x020000,
                         modern_only ? 1 : 0, !modern_only, 3, 0) {
    ServeQueue(1);
    offered = kVersion1 | kCsum | kGuestCsum | kMac | kGuestTso4 | kMrgRxbuf | kStatus | kCtrlVq;
  }

  // Delivers `frame` into the receive buffer the driver made available first, behind a header
  // (QEMU virtio_net_receive_rcu: num_buffers 1), the used entry carrying header and frame;
  // false when no buffer is available or holds it.
  bool Deliver(const std::vector<uint8_t>& frame, UsedFault fault = UsedFault::kNone) {
    Poll(0);
    if (rx.empty() || rx.front().length < kHeader + frame.size()) return false;
    const Available buffer = rx.front();
    rx.pop_front();
    uint8_t* bytes = Ram(buffer.address, kHeader + frame.size());
    std::fill(bytes, bytes + kHeader, 0);
    lib::StoreLe16(bytes + 10, 1);
    std::copy(frame.begin(), frame.end(), bytes + kHeader);
    CompleteOn(0, buffer.head, static_cast<uint32_t>(kHeader + frame.size()), fault);
    return true;
  }

  // Knobs.
  std::array<uint8_t, 6> mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  uint32_t config_bytes = 10;  // mac, status, max_virtqueue_pairs; 6 with status=off
  TxAnswer tx_answer = TxAnswer::kNormal;
  std::function<void()> on_rx_buffer;  // called for each receive buffer made available

  // What the driver did.
  struct Available {
    uint16_t head;
    uint64_t address;
    uint32_t length;
  };
  std::deque<Available> rx;  // receive buffers available, in the driver's order
  std::vector<std::vector<uint8_t>> sent;

 protected:
  std::vector<uint8_t> DeviceConfig() override {
    std::vector<uint8_t> bytes(config_bytes);
    std::copy(mac.begin(), mac.end(), bytes.begin());
    if (config_bytes >= 8) lib::StoreLe16(&bytes[6], 1);  // VIRTIO_NET_S_LINK_UP
    if (config_bytes >= 10) lib::StoreLe16(&bytes[8], 1);
    return bytes;
  }
  void Serve(uint16_t head, const std::vector<Descriptor>& chain) override {
    if (chain.size() != 1 || (chain[0].flags & 2) == 0 || chain[0].length < 1526) {
      violations.push_back("a receive buffer that is not one writable buffer of 1526 bytes");
      return;
    }
    rx.push_back({head, chain[0].address, chain[0].length});
    if (on_rx_buffer) on_rx_buffer();
  }
  void ServeOn(uint16_t queue, uint16_t head, const std::vector<Descriptor>& chain) override {
    if (queue == 0) return Serve(head, chain);
    std::vector<uint8_t> bytes;
    for (const Descriptor& descriptor : chain) {
      if ((descriptor.flags & 2) != 0) violations.push_back("a writable transmit buffer");
      const uint8_t* data = Ram(descriptor.address, descriptor.length);
      bytes.insert(bytes.end(), data, data + descriptor.length);
    }
    if (bytes.size() < kHeader || std::any_of(bytes.begin(), bytes.begin() + kHeader,
                                              [](uint8_t byte) { return byte != 0; })) {
      violations.push_back("a frame sent without a zeroed 12-byte header");
      return;
    }
    sent.emplace_back(bytes.begin() + kHeader, bytes.end());
    switch (tx_answer) {
      case TxAnswer::kNormal: return CompleteOn(1, head, 0, UsedFault::kNone);
      case TxAnswer::kNever: return Stall();
      case TxAnswer::kBadId: return CompleteOn(1, head, 0, UsedFault::kBadId);
      case TxAnswer::kBadLength: return CompleteOn(1, head, 0, UsedFault::kBadLength);
      case TxAnswer::kTwoUsed: return CompleteOn(1, head, 0, UsedFault::kTwoUsed);
    }
  }
};

// A frame to us from slirp's gateway, `length` bytes, numbered `n`.
std::vector<uint8_t> Frame(uint32_t length, uint8_t n) {
  std::vector<uint8_t> frame(std::max<uint32_t>(length, 15));
  for (uint32_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(n + i * 5);
  const uint8_t header[14] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52,
                              0x55, 0x0a, 0x00, 0x02, 0x02, 0x08, 0x00};
  std::copy(header, header + 14, frame.begin());
  frame[14] = n;
  frame.resize(length);
  return frame;
}

class VirtioNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tests::SetTimebase(1000);
    auto& phb0 = platform.AddQemuPhb(0);
    platform.AddQemuPhb(1);
    platform.Plug(phb0, 2, 0, nic);
    platform.Plug(phb0, 3, 0, modern);
    rtas = dev::FindRtasPciConfig(tree.data()).value();
  }
  void TearDown() override {
    EXPECT_TRUE(nic.violations.empty()) << nic.violations.front();
    EXPECT_TRUE(modern.violations.empty()) << modern.violations.front();
    EXPECT_EQ(platform.unclaimed_mmio, 0);
  }
  // Device `device` of PHB 0, the PHBs scanned once (a scan turns decoding off: a driver
  // running a device keeps the scan that found it).
  const dev::PciDevice& Scanned(uint8_t device) {
    if (!scanned) dev::ScanPhbs(tree.data(), rtas.Access(), *bus);
    scanned = true;
    for (int i = 0; i < bus->device_count; ++i) {
      if (bus->devices[i].phb == 0 && bus->devices[i].device == device) return bus->devices[i];
    }
    ADD_FAILURE() << "device " << int{device} << " not found";
    return bus->devices[0];
  }
  lib::Result<void, VirtioError> Start(uint8_t device = 2) {
    return driver->Start(Scanned(device), memory, kDma, dev::kVirtioNetDmaBytes, kTimebaseHz);
  }
  const net::Device& Nic() const { return driver->device(); }
  lib::Result<void, DeviceError> Send(const std::vector<uint8_t>& frame) {
    return Nic().Send(net::Frame{frame.data(), 0, static_cast<uint32_t>(frame.size())});
  }
  std::vector<uint8_t> Receive(uint32_t capacity = 2048) {
    std::vector<uint8_t> buffer(capacity);
    auto length = Nic().Receive(buffer.data(), capacity);
    EXPECT_TRUE(length.is_ok()) << net::DeviceErrorName(length.error());
    buffer.resize(length.is_ok() ? length.value() : 0);
    return buffer;
  }
  // The device was reset and turned off; every operation is kNotReady.
  void ExpectReset(const FakeVirtioNet& device) {
    EXPECT_EQ(driver->state(), dev::DriverState::kStopped);
    EXPECT_EQ(device.status, 0);
    EXPECT_EQ(device.command() & 0x7, 0);
    EXPECT_FALSE(device.QueueEnabled(0));
    EXPECT_FALSE(device.QueueEnabled(1));
    uint8_t buffer[64];
    EXPECT_EQ(ErrorOf(Nic().Receive(buffer, sizeof(buffer))), DeviceError::kNotReady);
    EXPECT_EQ(ErrorOf(Send(Frame(60, 0))), DeviceError::kNotReady);
  }

  FakeHypervisor& hv = tests::FreshHypervisor();  // before the platform installs its handlers
  tests::ConsoleCapture capture;
  std::string& console = capture.text;
  std::vector<uint8_t> tree = tests::LoadDtb("dev-pseries.dtb");
  std::vector<uint8_t> ram = std::vector<uint8_t>(4 << 20);
  lib::GuestMemory memory{reinterpret_cast<uintptr_t>(ram.data()), ram.size()};
  FakePlatform platform{hv};
  FakeVirtioNet nic{memory};
  FakeVirtioNet modern{memory, true};
  dev::RtasPciConfig rtas;
  std::unique_ptr<dev::PciBus> bus = std::make_unique<dev::PciBus>();
  bool scanned = false;
  std::unique_ptr<dev::VirtioNet> driver = std::make_unique<dev::VirtioNet>();
};

TEST_F(VirtioNetTest, BringsTheDeviceUpWithOnlyVersion1AndMac) {
  ASSERT_TRUE(Start().is_ok()) << console;
  EXPECT_EQ(console, "");
  EXPECT_TRUE(driver->running());
  EXPECT_EQ(nic.status, 0x0f);
  EXPECT_EQ(nic.driver_features, FakeVirtioNet::kVersion1 | FakeVirtioNet::kMac);
  EXPECT_EQ(nic.command() & 0x6, 0x6);
  EXPECT_TRUE(nic.QueueEnabled(0));
  EXPECT_TRUE(nic.QueueEnabled(1));
  EXPECT_EQ(nic.queue_size, dev::SplitQueue::kMaxSize);
  EXPECT_EQ(nic.queue_desc, kDma);
  // Every receive buffer was made available and the device told (after DRIVER_OK).
  ASSERT_EQ(nic.rx.size(), static_cast<size_t>(dev::kVirtioNetRxBuffers));
  for (const FakeVirtioNet::Available& buffer : nic.rx) {
    EXPECT_EQ(buffer.length, dev::kVirtioNetBufferBytes);
    EXPECT_GE(buffer.address, kDma + 2560);
    EXPECT_LE(buffer.address + buffer.length, kDma + dev::kVirtioNetDmaBytes);
  }
  EXPECT_EQ(driver->buffers_posted(), dev::kVirtioNetRxBuffers);
  EXPECT_EQ(Nic().mac, (net::MacAddress{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}}));
  EXPECT_EQ(Nic().max_frame, net::kEthernetFrameSize);
  // The modern-only device too.
  dev::VirtioNet second;
  ASSERT_TRUE(
      second.Start(Scanned(3), memory, 0x30000, dev::kVirtioNetDmaBytes, kTimebaseHz).is_ok());
  EXPECT_EQ(modern.status, 0x0f);
  EXPECT_TRUE(second.ResetForOs().is_ok());
}

// The MAC address is read byte by byte: a device whose configuration ends after it
// (status=off) gives it whole.
TEST_F(VirtioNetTest, ReadsTheMacByteByByte) {
  nic.mac = {0x02, 0xab, 0xcd, 0xef, 0x01, 0x23};
  nic.config_bytes = 6;
  ASSERT_TRUE(Start().is_ok()) << console;
  EXPECT_EQ(Nic().mac, (net::MacAddress{{0x02, 0xab, 0xcd, 0xef, 0x01, 0x23}}));
  ASSERT_TRUE(driver->ResetForOs().is_ok());
  nic.generation_changes = 3;  // changed under the reads: read again
  ASSERT_TRUE(Start().is_ok()) << console;
  nic.generation_changes = 1000;  // never holds still
  EXPECT_EQ(ErrorOf(Start()), VirtioError::kBadDeviceConfig);
}

TEST_F(VirtioNetTest, RefusesDevicesItCannotUse) {
  nic.offered = FakeVirtioNet::kVersion1;  // no MAC address
  EXPECT_EQ(ErrorOf(Start()), VirtioError::kNoMac);
  EXPECT_EQ(nic.status, 0);
  EXPECT_EQ(nic.command() & 0x7, 0);
  nic.offered = FakeVirtioNet::kMac;  // legacy only
  EXPECT_EQ(ErrorOf(Start()), VirtioError::kNoVersion1);
  nic.offered = FakeVirtioNet::kVersion1 | FakeVirtioNet::kMac | FakeVirtioNet::kAccessPlatform;
  EXPECT_EQ(ErrorOf(Start()), VirtioError::kAccessPlatform);
  nic.offered = FakeVirtioNet::kVersion1 | FakeVirtioNet::kMac;
  nic.mac = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};  // multicast
  EXPECT_EQ(ErrorOf(Start()), VirtioError::kBadDeviceConfig);
  EXPECT_NE(console.find("MAC 01:00:5e:00:00:01 is not a unicast address"), std::string::npos)
      << console;
  nic.mac = {};
  EXPECT_EQ(ErrorOf(Start()), VirtioError::kBadDeviceConfig);
  nic.mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  nic.queue_max = 2;
  EXPECT_EQ(ErrorOf(Start()), VirtioError::kBadQueue);
  EXPECT_EQ(nic.status, 0);
  EXPECT_EQ(nic.command() & 0x7, 0);
  EXPECT_EQ(driver->state(), dev::DriverState::kStopped);
  uint8_t buffer[64];
  EXPECT_EQ(ErrorOf(Nic().Receive(buffer, sizeof(buffer))), DeviceError::kNotReady);
}

TEST_F(VirtioNetTest, RefusesBadArgumentsWithoutTouchingTheDevice) {
  const dev::PciDevice& pci = Scanned(2);
  EXPECT_EQ(ErrorOf(driver->Start(pci, memory, kDma, dev::kVirtioNetDmaBytes, 0)),
            VirtioError::kBadArgument);
  EXPECT_EQ(ErrorOf(driver->Start(pci, memory, kDma + 8, dev::kVirtioNetDmaBytes, kTimebaseHz)),
            VirtioError::kBadRingMemory);
  EXPECT_EQ(ErrorOf(driver->Start(pci, memory, kDma, dev::kVirtioNetDmaBytes - 1, kTimebaseHz)),
            VirtioError::kBadRingMemory);
  EXPECT_EQ(
      ErrorOf(driver->Start(pci, memory, ram.size() - 4096, dev::kVirtioNetDmaBytes, kTimebaseHz)),
      VirtioError::kBadRingMemory);
  EXPECT_EQ(nic.resets, 0);
  EXPECT_EQ(nic.command() & 0x7, 0);
  dev::PciDevice blk = pci;
  blk.device_id = 0x1001;
  EXPECT_FALSE(dev::IsVirtioNet(blk));
  EXPECT_EQ(ErrorOf(driver->Start(blk, memory, kDma, dev::kVirtioNetDmaBytes, kTimebaseHz)),
            VirtioError::kNotVirtioNet);
  EXPECT_STREQ(dev::VirtioErrorName(VirtioError::kNotVirtioNet), "not a virtio network device");
  EXPECT_STREQ(dev::VirtioErrorName(VirtioError::kNoMac), "device does not offer VIRTIO_NET_F_MAC");
}

TEST_F(VirtioNetTest, SendsAFrameBehindAZeroedHeader) {
  ASSERT_TRUE(Start().is_ok());
  const std::vector<uint8_t> frame = Frame(60, 1);
  const std::vector<uint8_t> longest = Frame(net::kEthernetFrameSize, 2);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Send(i % 2 == 0 ? frame : longest).is_ok()) << i;
  ASSERT_EQ(nic.sent.size(), 40u);
  EXPECT_EQ(nic.sent[0], frame);
  EXPECT_EQ(nic.sent[39], longest);
  EXPECT_EQ(ErrorOf(Send(Frame(13, 0))), DeviceError::kBadFrame);
  EXPECT_EQ(ErrorOf(Send(Frame(net::kEthernetFrameSize + 1, 0))), DeviceError::kBadFrame);
  EXPECT_EQ(ErrorOf(Nic().send(Nic().driver, net::Frame{nullptr, 0, 60})), DeviceError::kBadBuffer);
  EXPECT_EQ(ErrorOf(Nic().send(Nic().driver, net::Frame{frame.data(), 0, 9000})),
            DeviceError::kBadFrame);
  EXPECT_EQ(nic.sent.size(), 40u);
}

// A device that never returns a frame to send: kTimeout after kVirtioNetSendSeconds, and the
// device is reset, as the frame may still be in it.
TEST_F(VirtioNetTest, AFrameNeverReturnedTimesOutAndResetsTheDevice) {
  ASSERT_TRUE(Start().is_ok());
  nic.tx_answer = FakeVirtioNet::TxAnswer::kNever;
  nic.stall_ticks = 2 * kTimebaseHz;
  const uint64_t before = lib::ReadTimebase();
  EXPECT_EQ(ErrorOf(Send(Frame(60, 1))), DeviceError::kTimeout);
  EXPECT_LT(lib::ReadTimebase() - before, 3 * kTimebaseHz);
  EXPECT_NE(console.find("tern: virtio-net /pci@800000020000000/scsi@2: a frame to send was not "
                         "returned in time; the device is reset"),
            std::string::npos)
      << console;
  ExpectReset(nic);
}

TEST_F(VirtioNetTest, AMalformedTransmitAnswerResetsTheDevice) {
  using TxAnswer = FakeVirtioNet::TxAnswer;
  for (TxAnswer answer : {TxAnswer::kBadId, TxAnswer::kBadLength, TxAnswer::kTwoUsed}) {
    nic.tx_answer = TxAnswer::kNormal;
    ASSERT_TRUE(Start().is_ok());
    nic.tx_answer = answer;
    EXPECT_EQ(ErrorOf(Send(Frame(60, 1))), DeviceError::kBadResponse);
    ExpectReset(nic);
  }
  EXPECT_NE(console.find("malformed used-ring entry; the device is reset"), std::string::npos)
      << console;
}

TEST_F(VirtioNetTest, ReceivesFramesInOrder) {
  ASSERT_TRUE(Start().is_ok());
  EXPECT_EQ(Receive(), std::vector<uint8_t>{});
  for (uint8_t n = 0; n < 3; ++n) ASSERT_TRUE(nic.Deliver(Frame(60 + n * 500, n)));
  ASSERT_TRUE(nic.Deliver(Frame(net::kEthernetFrameSize, 3)));
  for (uint8_t n = 0; n < 3; ++n) EXPECT_EQ(Receive(), Frame(60 + n * 500, n));
  EXPECT_EQ(Receive(), Frame(net::kEthernetFrameSize, 3));
  EXPECT_EQ(Receive(), std::vector<uint8_t>{});
  EXPECT_EQ(driver->buffers_posted(), dev::kVirtioNetRxBuffers);
  nic.Poll(0);
  EXPECT_EQ(nic.rx.size(), static_cast<size_t>(dev::kVirtioNetRxBuffers));
}

TEST_F(VirtioNetTest, FramesTooLongForTheCallerOrTooShortAreDropped) {
  ASSERT_TRUE(Start().is_ok());
  ASSERT_TRUE(nic.Deliver(Frame(600, 1)));
  ASSERT_TRUE(nic.Deliver(Frame(10, 2)));
  ASSERT_TRUE(nic.Deliver(Frame(0, 3)));  // a header alone
  ASSERT_TRUE(nic.Deliver(Frame(100, 4)));
  EXPECT_EQ(Receive(590), Frame(100, 4));
  EXPECT_EQ(driver->frames_dropped(), 3u);
  EXPECT_EQ(driver->buffers_posted(), dev::kVirtioNetRxBuffers);
}

// More frames than the used ring's 16-bit index counts: the ring wraps thousands of times and
// its index once, every buffer goes back to the device after its frame.
TEST_F(VirtioNetTest, RecyclesBuffersAcrossTheUsedIndexWrap) {
  ASSERT_TRUE(Start().is_ok());
  for (int n = 0; n < 70000; ++n) {
    const std::vector<uint8_t> frame = Frame(60 + n % 1400, static_cast<uint8_t>(n));
    ASSERT_TRUE(nic.Deliver(frame)) << n;
    ASSERT_EQ(Receive(), frame) << n;
  }
  EXPECT_EQ(Receive(), std::vector<uint8_t>{});
  EXPECT_EQ(driver->buffers_posted(), dev::kVirtioNetRxBuffers);
}

// Bursts that fill every buffer: frames come out in the device's order; the device has no
// buffer for one more.
TEST_F(VirtioNetTest, BurstsFillEveryBuffer) {
  ASSERT_TRUE(Start().is_ok());
  uint8_t n = 0;
  for (int burst = 0; burst < 5; ++burst) {
    const uint8_t first = n;
    for (int i = 0; i < dev::kVirtioNetRxBuffers; ++i) ASSERT_TRUE(nic.Deliver(Frame(64, n++)));
    EXPECT_FALSE(nic.Deliver(Frame(64, 0xff)));
    for (int i = 0; i < dev::kVirtioNetRxBuffers; ++i) {
      ASSERT_EQ(Receive(), Frame(64, static_cast<uint8_t>(first + i))) << burst << " " << i;
    }
    EXPECT_EQ(Receive(), std::vector<uint8_t>{});
  }
}

// Whatever the device writes into the used ring is checked: an id out of range, a length over
// the buffer or under the header, an index moved past more buffers than it holds.
TEST_F(VirtioNetTest, AHostileUsedEntryResetsTheDevice) {
  using Used = FakeVirtioDevice::UsedEntry;
  const std::vector<std::function<void(Used&)>> lies = {
      [](Used& used) { used.id = dev::SplitQueue::kMaxSize; },
      [](Used& used) { used.id = 0xffffffff; },
      [](Used& used) { used.length = dev::kVirtioNetBufferBytes + 1; },
      [](Used& used) { used.length = kHeader - 1; },
      [](Used& used) { used.advance = dev::kVirtioNetRxBuffers + 1; },
  };
  for (const auto& lie : lies) {
    ASSERT_TRUE(Start().is_ok());
    nic.tamper_used = lie;
    ASSERT_TRUE(nic.Deliver(Frame(60, 1)));
    nic.tamper_used = nullptr;
    uint8_t buffer[2048];
    EXPECT_EQ(ErrorOf(Nic().Receive(buffer, sizeof(buffer))), DeviceError::kBadResponse);
    ExpectReset(nic);
  }
  EXPECT_NE(console.find("a received buffer shorter than its header; the device is reset"),
            std::string::npos)
      << console;
  // A buffer the device returns twice without the driver giving it back: the second time it
  // names a buffer the device does not hold... which the driver gives back at once, so the second
  // entry of an index moved by two is a stale one: refused by its length.
  ASSERT_TRUE(Start().is_ok());
  ASSERT_TRUE(nic.Deliver(Frame(60, 1), FakeVirtioDevice::UsedFault::kTwoUsed));
  EXPECT_EQ(Receive(), Frame(60, 1));
  uint8_t buffer[2048];
  EXPECT_EQ(ErrorOf(Nic().Receive(buffer, sizeof(buffer))), DeviceError::kBadResponse);
  ExpectReset(nic);
}

// A device that fills every buffer given back at once cannot keep Receive looping.
TEST_F(VirtioNetTest, ReceiveIsBoundedByTheQueue) {
  ASSERT_TRUE(Start().is_ok());
  ASSERT_TRUE(nic.Deliver(Frame(30, 1)));
  nic.on_rx_buffer = [&] { ASSERT_TRUE(nic.Deliver(Frame(30, 1))); };
  EXPECT_EQ(Receive(20), std::vector<uint8_t>{});
  nic.on_rx_buffer = nullptr;
  EXPECT_EQ(driver->frames_dropped(), static_cast<uint64_t>(dev::kVirtioNetRxBuffers));
  EXPECT_EQ(Receive(), Frame(30, 1));
}

TEST_F(VirtioNetTest, ResetForOsLeavesTheDeviceResetAndQuiet) {
  ASSERT_TRUE(Start().is_ok());
  ASSERT_TRUE(nic.Deliver(Frame(60, 1)));
  ASSERT_TRUE(driver->ResetForOs().is_ok());
  EXPECT_EQ(nic.resets, 2);
  ExpectReset(nic);
  EXPECT_TRUE(driver->ResetForOs().is_ok());
  EXPECT_EQ(nic.resets, 2);
  dev::VirtioNet never;
  EXPECT_TRUE(never.ResetForOs().is_ok());
  // What Linux's virtio_net does next works: the device comes up again from reset.
  ASSERT_TRUE(Start().is_ok());
  EXPECT_EQ(nic.status, 0x0f);
}

// ---------------------------------------------------------------------------------------------
// The driver table.

class VirtioNetProbeTest : public VirtioNetTest {
 protected:
  void SetUp() override {
    VirtioNetTest::SetUp();
    tree.resize(tree.size() + 4096);
    ASSERT_EQ(fdt_open_into(tree.data(), tree.data(), static_cast<int>(tree.size())), 0);
    // The fixture's nodes of slots 2 and 3 are virtio-blk's: each test names its own NICs.
    for (const char* path : {"/pci@800000020000000/scsi@2", "/pci@800000020000000/scsi@3"}) {
      ASSERT_EQ(fdt_del_node(tree.data(), fdt_path_offset(tree.data(), path)), 0);
    }
  }
  void TearDown() override {
    dev::QuiesceAll(dev::Drivers());
    VirtioNetTest::TearDown();
  }
  // A node for slot `slot` of PHB 0, as QEMU gives one.
  void AddNode(uint8_t slot) {
    const int phb = fdt_path_offset(tree.data(), "/pci@800000020000000");
    const std::string name = "ethernet@" + std::to_string(slot);
    const int node = fdt_add_subnode(tree.data(), phb, name.c_str());
    ASSERT_GE(node, 0);
    uint8_t reg[20] = {};
    lib::StoreBe32(reg, uint32_t{slot} << 11);
    ASSERT_EQ(fdt_setprop(tree.data(), node, "reg", reg, sizeof(reg)), 0);
  }
  static bool Add(void* context, const dev::FoundDevice& found) {
    auto* test = static_cast<VirtioNetProbeTest*>(context);
    if (test->refuse) return false;
    test->found.push_back(found);
    test->descriptions.push_back(found.description);
    return true;
  }
  dev::ProbeCount Probe() {
    dev::ScanPhbs(tree.data(), rtas.Access(), *bus);
    dma = dev::DmaPool(0x100000, 0x100000);
    dev::ProbeEnv env{memory, kTimebaseHz, dma, {Add, this}};
    return dev::ProbeAll(dev::Drivers(), tree.data(), *bus, env);
  }

  dev::DmaPool dma;
  std::vector<dev::FoundDevice> found;
  std::vector<std::string> descriptions;
  bool refuse = false;
};

TEST_F(VirtioNetProbeTest, TheTableStartsTheNicAndQuiesceResetsIt) {
  AddNode(2);
  modern.mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
  AddNode(3);
  ASSERT_EQ(Probe().started, 2) << console;
  ASSERT_EQ(found.size(), 2u);
  EXPECT_STREQ(found[0].path, "/pci@800000020000000/ethernet@2");
  EXPECT_STREQ(found[0].device_type, "network");
  EXPECT_EQ(found[0].block, nullptr);
  ASSERT_NE(found[0].net, nullptr);
  EXPECT_EQ(descriptions[0], "virtio-net, MAC 52:54:00:12:34:56");
  EXPECT_EQ(descriptions[1], "virtio-net, MAC 52:54:00:12:34:57");
  EXPECT_EQ(dma.remaining(), 0x100000 - 2 * dev::kVirtioNetDmaBytes);
  EXPECT_EQ(nic.status, 0x0f);
  dev::QuiesceAll(dev::Drivers());
  EXPECT_EQ(nic.status, 0);
  EXPECT_EQ(modern.status, 0);
  uint8_t buffer[64];
  EXPECT_EQ(ErrorOf(found[0].net->Receive(buffer, sizeof(buffer))), DeviceError::kNotReady);
}

TEST_F(VirtioNetProbeTest, ANicTheCallerRefusesIsResetAndGivesItsMemoryBack) {
  AddNode(2);
  refuse = true;
  EXPECT_EQ(Probe().started, 0);
  EXPECT_EQ(nic.status, 0);
  EXPECT_EQ(nic.command() & 0x7, 0);
  EXPECT_EQ(dma.remaining(), 0x100000u);
}

TEST_F(VirtioNetProbeTest, ANicWithoutANodeIsNotUsed) {
  EXPECT_EQ(Probe().started, 0);
  EXPECT_NE(console.find("virtio-net without a device-tree node: not used"), std::string::npos)
      << console;
  EXPECT_EQ(nic.resets, 0);
}

}  // namespace
