// dev/spapr-vlan against tests/unit/dev/fake-llan's host: the node, the bring-up through TCEs,
// frames both ways, the receive queue's wrap and toggle, buffers recycled, every way the host can
// lie, the hand-off to the OS, and the driver-table entry.
#include "dev/spapr-vlan.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dev/probe.h"
#include "lib/be.h"
#include "lib/console.h"
#include "lib/cpu.h"
#include "lib/hv.h"
#include "tests/console-capture.h"
#include "tests/fake-hv.h"
#include "tests/host-cpu.h"
#include "tests/unit/dev/fake-llan.h"

namespace {

// The error of `result`, or nothing: a test that gets a value fails instead of panicking.
template <class T, class E>
std::optional<E> ErrorOf(const lib::Result<T, E>& result) {
  if (result.is_ok()) return std::nullopt;
  return result.error();
}

using dev::SpaprVlanError;
using net::DeviceError;
using tests::FakeHypervisor;
using tests::FakeLlanHost;

constexpr uint64_t kTimebaseHz = 512000000;
constexpr uint64_t kWork = 0x10000;
constexpr uint8_t kMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr uint64_t kCorrelatorTag = uint64_t{0x7465726e} << 32;

FakeHypervisor& FreshHypervisor() {
  FakeHypervisor::Get().Reset();
  return FakeHypervisor::Get();
}

// A /vdevice like QEMU 7.2's with `-nic user`: a vty, then l-lan@71000002 with `mac` as its
// local-mac-address (6 bytes, or 8 as QEMU pads some; none when empty) and a window
// `window_cells` long.
std::vector<uint8_t> Tree(std::vector<uint8_t> mac = {kMac, kMac + 6}, int window_cells = 5) {
  std::vector<uint8_t> blob(4096);
  void* fdt = blob.data();
  EXPECT_EQ(fdt_create(fdt, static_cast<int>(blob.size())), 0);
  EXPECT_EQ(fdt_finish_reservemap(fdt), 0);
  EXPECT_EQ(fdt_begin_node(fdt, ""), 0);
  EXPECT_EQ(fdt_begin_node(fdt, "vdevice"), 0);
  EXPECT_EQ(fdt_begin_node(fdt, "vty@71000000"), 0);
  EXPECT_EQ(fdt_property_string(fdt, "compatible", "hvterm1"), 0);
  EXPECT_EQ(fdt_end_node(fdt), 0);
  EXPECT_EQ(fdt_begin_node(fdt, "l-lan@71000002"), 0);
  EXPECT_EQ(fdt_property_u32(fdt, "reg", FakeLlanHost::kUnit), 0);
  EXPECT_EQ(fdt_property_string(fdt, "compatible", "IBM,l-lan"), 0);
  EXPECT_EQ(fdt_property_string(fdt, "device_type", "network"), 0);
  if (!mac.empty()) {  // none: no local-mac-address
    EXPECT_EQ(fdt_property(fdt, "local-mac-address", mac.data(), static_cast<int>(mac.size())), 0);
  }
  EXPECT_EQ(fdt_property_u32(fdt, "ibm,#dma-address-cells", 2), 0);
  EXPECT_EQ(fdt_property_u32(fdt, "ibm,#dma-size-cells", 2), 0);
  const uint32_t window[5] = {FakeLlanHost::kLiobn, 0, 0, 0,
                              static_cast<uint32_t>(FakeLlanHost::kWindowSize)};
  uint8_t cells[20];
  for (int i = 0; i < 5; ++i) lib::StoreBe32(cells + 4 * i, window[i]);
  EXPECT_EQ(fdt_property(fdt, "ibm,my-dma-window", cells, 4 * window_cells), 0);
  EXPECT_EQ(fdt_end_node(fdt), 0);
  EXPECT_EQ(fdt_end_node(fdt), 0);
  EXPECT_EQ(fdt_end_node(fdt), 0);
  EXPECT_EQ(fdt_finish(fdt), 0);
  return blob;
}

int LanNode(const std::vector<uint8_t>& tree) {
  return fdt_path_offset(tree.data(), "/vdevice/l-lan@71000002");
}

// A frame to us from 52:54:00:12:35:02 (slirp's gateway), `length` bytes, numbered `n`.
std::vector<uint8_t> Frame(uint32_t length, uint8_t n) {
  std::vector<uint8_t> frame(std::max<uint32_t>(length, 15));
  for (uint32_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(n + i * 3);
  std::copy(kMac, kMac + 6, frame.begin());
  const uint8_t gateway[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
  std::copy(gateway, gateway + 6, frame.begin() + 6);
  frame[12] = 0x08;
  frame[13] = 0x00;
  frame[14] = n;
  frame.resize(length);
  return frame;
}

class SpaprVlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tests::SetTimebase(1000);
    node = dev::ParseSpaprVlanNode(tree.data(), LanNode(tree)).value();
  }
  void TearDown() override { EXPECT_TRUE(host.violations.empty()) << host.violations.front(); }
  lib::Result<void, SpaprVlanError> Start() {
    return driver->Start(node, memory, kWork, dev::kSpaprVlanWorkBytes, kTimebaseHz);
  }
  const net::Device& nic() const { return driver->device(); }
  lib::Result<void, DeviceError> Send(const std::vector<uint8_t>& frame) {
    return nic().Send(net::Frame{frame.data(), 0, static_cast<uint32_t>(frame.size())});
  }
  // One frame, or an empty vector when none is waiting; the error of a failed receive.
  std::vector<uint8_t> Receive(uint32_t capacity = 2048) {
    std::vector<uint8_t> buffer(capacity);
    auto length = nic().Receive(buffer.data(), capacity);
    EXPECT_TRUE(length.is_ok()) << net::DeviceErrorName(length.error());
    buffer.resize(length.is_ok() ? length.value() : 0);
    return buffer;
  }
  // The NIC is stopped: its LAN freed, no page mapped, every operation kNotReady.
  void ExpectStopped() {
    EXPECT_EQ(driver->state(), dev::DriverState::kStopped);
    EXPECT_FALSE(host.open);
    EXPECT_TRUE(host.tces.empty());
    EXPECT_EQ(driver->mapped_tces(), 0);
    uint8_t buffer[64];
    EXPECT_EQ(ErrorOf(nic().Receive(buffer, sizeof(buffer))), DeviceError::kNotReady);
    EXPECT_EQ(ErrorOf(Send(Frame(60, 0))), DeviceError::kNotReady);
  }

  FakeHypervisor& hv = FreshHypervisor();
  tests::ConsoleCapture capture;  // from construction: the console of the whole test
  std::string& console = capture.text;
  std::vector<uint8_t> tree = Tree();
  std::vector<uint8_t> ram = std::vector<uint8_t>(4 << 20);
  lib::GuestMemory memory{reinterpret_cast<uintptr_t>(ram.data()), ram.size()};
  FakeLlanHost host{hv, memory};
  dev::SpaprVlanNode node;
  std::unique_ptr<dev::SpaprVlan> driver = std::make_unique<dev::SpaprVlan>();
};

TEST_F(SpaprVlanTest, ParsesTheNode) {
  EXPECT_EQ(node.vio.unit_address, FakeLlanHost::kUnit);
  EXPECT_EQ(node.vio.liobn, FakeLlanHost::kLiobn);
  EXPECT_EQ(node.vio.window_base, 0u);
  EXPECT_EQ(node.vio.window_size, FakeLlanHost::kWindowSize);
  EXPECT_STREQ(node.vio.path, "/vdevice/l-lan@71000002");
  EXPECT_EQ(node.mac, (net::MacAddress{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}}));
  // QEMU pads some addresses to 8 bytes, the address in the last 6 (spapr_vlan_devnode).
  const std::vector<uint8_t> padded = Tree({0, 0, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55});
  EXPECT_EQ(dev::ParseSpaprVlanNode(padded.data(), LanNode(padded)).value().mac,
            (net::MacAddress{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}}));
  for (const std::vector<uint8_t>& bad :
       {Tree({1, 2, 3, 4, 5}), Tree({}), Tree({kMac, kMac + 6}, 4)}) {
    EXPECT_EQ(ErrorOf(dev::ParseSpaprVlanNode(bad.data(), LanNode(bad))), SpaprVlanError::kBadNode);
  }
}

TEST_F(SpaprVlanTest, BringsTheLanUpThroughItsWindow) {
  ASSERT_TRUE(Start().is_ok()) << console;
  EXPECT_EQ(console, "");
  EXPECT_TRUE(driver->running());
  EXPECT_TRUE(host.open);
  EXPECT_EQ(host.register_calls, 1);
  EXPECT_EQ(host.mac, 0x525400123456u);
  // The buffer list, the filter list and the queue are pages of the work area, by bus address.
  EXPECT_EQ(host.buffer_list, 0u);
  EXPECT_EQ(host.filter_list, 0x1000u);
  EXPECT_EQ(host.receive_queue, (uint64_t{1} << 63) | (uint64_t{16 * 32} << 32) | 0x2000);
  EXPECT_EQ(host.tces.size(), static_cast<size_t>(dev::kSpaprVlanWorkPages));
  EXPECT_EQ(host.tces[0], kWork | 3);
  EXPECT_EQ(driver->mapped_tces(), dev::kSpaprVlanWorkPages);
  // Every receive buffer: 1536 bytes, 4-aligned, after the first three pages.
  ASSERT_EQ(host.pool.size(), static_cast<size_t>(dev::kSpaprVlanRxBuffers));
  for (uint64_t descriptor : host.pool) {
    EXPECT_EQ((descriptor >> 32) & 0xffffff, dev::kSpaprVlanRxBufferBytes);
    EXPECT_GE(descriptor & 0xffffffff, 0x3000u);
  }
  EXPECT_EQ(driver->buffers_posted(), dev::kSpaprVlanRxBuffers);
  EXPECT_EQ(nic().mac, node.mac);
  EXPECT_EQ(nic().max_frame, net::kEthernetFrameSize);
  EXPECT_TRUE(net::CheckDevice(nic().mac, nic().max_frame).is_ok());
}

TEST_F(SpaprVlanTest, RefusesWhatItCannotUseBeforeTouchingTheHost) {
  dev::SpaprVlanNode group = node;
  group.mac.bytes[0] = 0x01;
  EXPECT_EQ(ErrorOf(driver->Start(group, memory, kWork, dev::kSpaprVlanWorkBytes, kTimebaseHz)),
            SpaprVlanError::kBadMac);
  dev::SpaprVlanNode zero = node;
  zero.mac = net::MacAddress{};
  EXPECT_EQ(ErrorOf(driver->Start(zero, memory, kWork, dev::kSpaprVlanWorkBytes, kTimebaseHz)),
            SpaprVlanError::kBadMac);
  dev::SpaprVlanNode small = node;
  small.vio.window_size = 0x4000;
  EXPECT_EQ(ErrorOf(driver->Start(small, memory, kWork, dev::kSpaprVlanWorkBytes, kTimebaseHz)),
            SpaprVlanError::kWindowTooSmall);
  dev::SpaprVlanNode high = node;
  high.vio.window_base = uint64_t{1} << 32;  // descriptors carry 32-bit bus addresses
  EXPECT_EQ(ErrorOf(driver->Start(high, memory, kWork, dev::kSpaprVlanWorkBytes, kTimebaseHz)),
            SpaprVlanError::kWindowTooSmall);
  EXPECT_EQ(ErrorOf(driver->Start(node, memory, kWork + 8, dev::kSpaprVlanWorkBytes, kTimebaseHz)),
            SpaprVlanError::kBadWorkMemory);
  EXPECT_EQ(ErrorOf(driver->Start(node, memory, ram.size() - 4096, dev::kSpaprVlanWorkBytes,
                                  kTimebaseHz)),
            SpaprVlanError::kBadWorkMemory);
  EXPECT_EQ(ErrorOf(driver->Start(node, memory, kWork, dev::kSpaprVlanWorkBytes, 0)),
            SpaprVlanError::kBadArgument);
  EXPECT_EQ(host.register_calls, 0);
  EXPECT_TRUE(host.tces.empty());
  EXPECT_EQ(driver->state(), dev::DriverState::kIdle);
  EXPECT_NE(console.find("tern: /vdevice/l-lan@71000002: local-mac-address is not a unicast "
                         "address: not used"),
            std::string::npos)
      << console;
}

// After a kexec, or an earlier boot stage, the LAN may still be registered (Linux's ibmveth does
// the same): freed, and registered again.
TEST_F(SpaprVlanTest, FreesALanLeftRegistered) {
  host.already_registered = true;
  ASSERT_TRUE(Start().is_ok()) << console;
  EXPECT_EQ(host.register_calls, 2);
  EXPECT_EQ(host.free_calls, 1);
  EXPECT_TRUE(host.open);
}

TEST_F(SpaprVlanTest, ARegistrationRefusedLeavesNothingMapped) {
  hv.overrides[lib::hv::H_REGISTER_LOGICAL_LAN] = [](const FakeHypervisor::Call&) {
    return lib::hv::HcallReturn{lib::hv::HcallStatus::kParameter, {}};
  };
  EXPECT_EQ(ErrorOf(Start()), SpaprVlanError::kRegister);
  EXPECT_TRUE(host.tces.empty());
  EXPECT_EQ(driver->state(), dev::DriverState::kStopped);
  EXPECT_NE(console.find("H_REGISTER_LOGICAL_LAN: H_PARAMETER"), std::string::npos) << console;
}

TEST_F(SpaprVlanTest, SendsAFrameTheHostCopies) {
  ASSERT_TRUE(Start().is_ok());
  const std::vector<uint8_t> frame = Frame(60, 7);
  ASSERT_TRUE(Send(frame).is_ok());
  const std::vector<uint8_t> longest = Frame(net::kEthernetFrameSize, 8);
  ASSERT_TRUE(Send(longest).is_ok());
  ASSERT_EQ(host.sent.size(), 2u);
  EXPECT_EQ(host.sent[0], frame);
  EXPECT_EQ(host.sent[1], longest);
  EXPECT_EQ(ErrorOf(Send(Frame(13, 0))), DeviceError::kBadFrame);
  EXPECT_EQ(ErrorOf(Send(Frame(net::kEthernetFrameSize + 1, 0))), DeviceError::kBadFrame);
  // Past the contract's own check: the driver's.
  EXPECT_EQ(ErrorOf(nic().send(nic().driver, net::Frame{nullptr, 0, 60})), DeviceError::kBadBuffer);
  EXPECT_EQ(ErrorOf(nic().send(nic().driver, net::Frame{frame.data(), 0, 9000})),
            DeviceError::kBadFrame);
  EXPECT_EQ(host.send_calls, 2);
}

TEST_F(SpaprVlanTest, SendFailuresAreTheContractsErrors) {
  ASSERT_TRUE(Start().is_ok());
  host.busy_sends = 3;
  EXPECT_TRUE(Send(Frame(60, 1)).is_ok());
  EXPECT_EQ(host.send_calls, 4);
  host.send_status = lib::hv::HcallStatus::kDropped;  // lost, as on a wire
  EXPECT_EQ(ErrorOf(Send(Frame(60, 2))), DeviceError::kBusy);
  host.send_status = lib::hv::HcallStatus::kHardware;
  EXPECT_EQ(ErrorOf(Send(Frame(60, 3))), DeviceError::kDevice);
  EXPECT_NE(console.find("H_SEND_LOGICAL_LAN: H_HARDWARE"), std::string::npos) << console;
  EXPECT_TRUE(driver->running());  // the hypervisor holds no frame: nothing to stop
}

// A host that answers busy for ever: the send gives up after kSpaprVlanSendSeconds.
TEST_F(SpaprVlanTest, ASendBusyForEverTimesOut) {
  ASSERT_TRUE(Start().is_ok());
  host.send_always_busy = true;
  host.ticks_per_busy = kTimebaseHz / 100;  // 10 ms an answer
  const int before = host.send_calls;
  EXPECT_EQ(ErrorOf(Send(Frame(60, 1))), DeviceError::kTimeout);
  const int calls = host.send_calls - before;
  EXPECT_GE(calls, 100);
  EXPECT_LE(calls, 102);
  // And with a time base that stands still, a bounded number of tries.
  host.ticks_per_busy = 0;
  EXPECT_EQ(ErrorOf(Send(Frame(60, 2))), DeviceError::kTimeout);
}

TEST_F(SpaprVlanTest, ReceivesFramesInOrder) {
  ASSERT_TRUE(Start().is_ok());
  EXPECT_EQ(Receive(), std::vector<uint8_t>{});
  for (uint8_t n = 0; n < 3; ++n) ASSERT_TRUE(host.Deliver(Frame(60 + n * 100, n)));
  for (uint8_t n = 0; n < 3; ++n) EXPECT_EQ(Receive(), Frame(60 + n * 100, n));
  EXPECT_EQ(Receive(), std::vector<uint8_t>{});
  EXPECT_EQ(driver->buffers_posted(), dev::kSpaprVlanRxBuffers);
  EXPECT_EQ(host.pool.size(), static_cast<size_t>(dev::kSpaprVlanRxBuffers));
  EXPECT_EQ(host.DroppedCount(), 0u);
}

TEST_F(SpaprVlanTest, TheLargestFramesFit) {
  ASSERT_TRUE(Start().is_ok());
  // 1528 bytes fit a buffer after its correlator; QEMU drops longer ones itself.
  ASSERT_TRUE(host.Deliver(Frame(net::kEthernetFrameSize, 1)));
  ASSERT_TRUE(host.Deliver(Frame(1528, 2)));
  EXPECT_FALSE(host.Deliver(Frame(1529, 3)));
  EXPECT_EQ(Receive(), Frame(net::kEthernetFrameSize, 1));
  EXPECT_EQ(Receive(), Frame(1528, 2));
  EXPECT_EQ(host.DroppedCount(), 1u);
}

TEST_F(SpaprVlanTest, FramesTooLongForTheCallerOrTooShortAreDropped) {
  ASSERT_TRUE(Start().is_ok());
  ASSERT_TRUE(host.Deliver(Frame(600, 1)));
  ASSERT_TRUE(host.Deliver(Frame(10, 2)));  // shorter than an Ethernet header
  ASSERT_TRUE(host.Deliver(Frame(100, 3)));
  EXPECT_EQ(Receive(590), Frame(100, 3));
  EXPECT_EQ(driver->frames_dropped(), 2u);
  EXPECT_EQ(driver->buffers_posted(), dev::kSpaprVlanRxBuffers);
  EXPECT_EQ(host.pool.size(), static_cast<size_t>(dev::kSpaprVlanRxBuffers));
}

// Many more frames than buffers and queue entries: the queue wraps and its toggle flips many
// times, every buffer goes back to the host after its frame.
TEST_F(SpaprVlanTest, RecyclesBuffersAcrossManyFrames) {
  ASSERT_TRUE(Start().is_ok());
  for (int n = 0; n < 1000; ++n) {
    ASSERT_TRUE(host.Deliver(Frame(60 + n % 1400, static_cast<uint8_t>(n)))) << n;
    ASSERT_EQ(Receive(), Frame(60 + n % 1400, static_cast<uint8_t>(n))) << n;
  }
  EXPECT_EQ(Receive(), std::vector<uint8_t>{});
  EXPECT_EQ(host.DroppedCount(), 0u);
  EXPECT_EQ(host.add_calls, dev::kSpaprVlanRxBuffers + 1000);
}

// Bursts that fill every buffer, across the queue's wrap: frames come out in the host's order,
// the one the host had no buffer for is the host's to drop.
TEST_F(SpaprVlanTest, BurstsAcrossTheQueuesWrap) {
  ASSERT_TRUE(Start().is_ok());
  uint8_t n = 0;
  for (int burst = 0; burst < 10; ++burst) {
    const uint8_t first = n;
    for (int i = 0; i < dev::kSpaprVlanRxBuffers; ++i) ASSERT_TRUE(host.Deliver(Frame(64, n++)));
    EXPECT_FALSE(host.Deliver(Frame(64, 0xff)));
    for (int i = 0; i < dev::kSpaprVlanRxBuffers; ++i) {
      ASSERT_EQ(Receive(), Frame(64, static_cast<uint8_t>(first + i))) << burst << " " << i;
    }
    EXPECT_EQ(Receive(), std::vector<uint8_t>{});
  }
  EXPECT_EQ(host.DroppedCount(), 10u);
}

// An entry whose valid bit is clear carries no frame; its buffer is given back.
TEST_F(SpaprVlanTest, AnInvalidEntryGivesItsBufferBack) {
  ASSERT_TRUE(Start().is_ok());
  host.tamper = [](FakeLlanHost::Entry& entry) { entry.control &= ~uint8_t{0x40}; };
  ASSERT_TRUE(host.Deliver(Frame(60, 1)));
  host.tamper = nullptr;
  ASSERT_TRUE(host.Deliver(Frame(60, 2)));
  EXPECT_EQ(Receive(), Frame(60, 2));
  EXPECT_EQ(driver->buffers_posted(), dev::kSpaprVlanRxBuffers);
  EXPECT_EQ(driver->frames_dropped(), 0u);
}

// The correlator comes from the host: anything but a buffer the host holds stops the NIC.
TEST_F(SpaprVlanTest, AHostileCorrelatorStopsTheNic) {
  const std::vector<uint64_t> correlators = {
      kCorrelatorTag | dev::kSpaprVlanRxBuffers,  // one past the buffers
      kCorrelatorTag | 0xffffffff,
      kWork + 0x3000,  // the buffer's real address: a pointer, not an index
      0,               // the tag missing
  };
  for (uint64_t correlator : correlators) {
    ASSERT_TRUE(Start().is_ok());
    host.tamper = [&](FakeLlanHost::Entry& entry) { entry.correlator = correlator; };
    ASSERT_TRUE(host.Deliver(Frame(60, 1)));
    host.tamper = nullptr;
    uint8_t buffer[2048];
    EXPECT_EQ(ErrorOf(nic().Receive(buffer, sizeof(buffer))), DeviceError::kBadResponse);
    ExpectStopped();
  }
  EXPECT_NE(console.find("tern: /vdevice/l-lan@71000002: receive queue entry with a correlator "
                         "of no buffer it holds (correlator 0x7465726e00000010, offset 8, "
                         "length 60); the NIC is stopped"),
            std::string::npos)
      << console;
}

// A buffer the driver could not add again is one the host does not hold: an entry naming it
// stops the NIC. A failed add is retried at the next receive.
TEST_F(SpaprVlanTest, ABufferTheHostDoesNotHoldStopsTheNic) {
  ASSERT_TRUE(Start().is_ok());
  uint64_t returned = 0;
  host.tamper = [&](FakeLlanHost::Entry& entry) { returned = entry.correlator; };
  ASSERT_TRUE(host.Deliver(Frame(60, 1)));
  host.tamper = nullptr;
  host.failing_adds = 1;
  EXPECT_EQ(Receive(), Frame(60, 1));
  EXPECT_EQ(driver->buffers_posted(), dev::kSpaprVlanRxBuffers - 1);
  EXPECT_EQ(Receive(), std::vector<uint8_t>{});  // added again
  EXPECT_EQ(driver->buffers_posted(), dev::kSpaprVlanRxBuffers);
  ASSERT_TRUE(host.Deliver(Frame(60, 2)));
  host.failing_adds = 2;  // after the frame, and before the next receive
  EXPECT_EQ(Receive(), Frame(60, 2));
  host.WriteEntry({0xc0, 8, 60, returned});
  uint8_t buffer[2048];
  EXPECT_EQ(ErrorOf(nic().Receive(buffer, sizeof(buffer))), DeviceError::kBadResponse);
  ExpectStopped();
}

TEST_F(SpaprVlanTest, AFrameOutsideItsBufferStopsTheNic) {
  const std::vector<std::pair<uint16_t, uint32_t>> lies = {
      {8, 1529}, {8, 0xffffffff}, {0, 60}, {7, 60}, {1536, 1}, {0xffff, 16}};
  for (auto [offset, length] : lies) {
    ASSERT_TRUE(Start().is_ok());
    host.tamper = [&](FakeLlanHost::Entry& entry) {
      entry.offset = offset;
      entry.length = length;
    };
    ASSERT_TRUE(host.Deliver(Frame(60, 1)));
    host.tamper = nullptr;
    uint8_t buffer[4096];
    EXPECT_EQ(ErrorOf(nic().Receive(buffer, sizeof(buffer))), DeviceError::kBadResponse)
        << offset << " " << length;
    ExpectStopped();
  }
  EXPECT_NE(console.find("a frame outside its buffer"), std::string::npos) << console;
  // The frame ends at the buffer's end: accepted.
  ASSERT_TRUE(Start().is_ok());
  host.tamper = [](FakeLlanHost::Entry& entry) {
    entry.offset = 1536 - 60;
    entry.length = 60;
  };
  ASSERT_TRUE(host.Deliver(Frame(60, 1)));
  EXPECT_EQ(Receive().size(), 60u);
}

// A host that keeps delivering (a frame for each buffer added again) cannot keep Receive
// looping: at most a queue's worth of entries a call.
TEST_F(SpaprVlanTest, ReceiveIsBoundedByTheQueue) {
  ASSERT_TRUE(Start().is_ok());
  ASSERT_TRUE(host.Deliver(Frame(30, 1)));
  host.on_add = [&] { (void)host.Deliver(Frame(30, 1)); };
  EXPECT_EQ(Receive(20), std::vector<uint8_t>{});  // every frame too long: all dropped
  host.on_add = nullptr;
  EXPECT_EQ(driver->frames_dropped(), static_cast<uint64_t>(dev::kSpaprVlanQueueEntries));
  EXPECT_EQ(Receive(), Frame(30, 1));
  EXPECT_EQ(Receive(), std::vector<uint8_t>{});
}

TEST_F(SpaprVlanTest, ResetForOsFreesTheLanAndUnmapsItsPages) {
  ASSERT_TRUE(Start().is_ok());
  host.busy_frees = 5;  // retried
  ASSERT_TRUE(driver->ResetForOs().is_ok()) << console;
  EXPECT_EQ(host.free_calls, 6);
  ExpectStopped();
  // Twice is harmless, and touches nothing.
  ASSERT_TRUE(driver->ResetForOs().is_ok());
  EXPECT_EQ(host.free_calls, 6);
  // What Linux's ibmveth does next works: the unit takes a new registration.
  ASSERT_TRUE(Start().is_ok());
  EXPECT_EQ(host.register_calls, 2);
  EXPECT_EQ(host.free_calls, 6);
  // And a driver that never started touches nothing.
  dev::SpaprVlan idle;
  EXPECT_TRUE(idle.ResetForOs().is_ok());
  EXPECT_EQ(host.free_calls, 6);
}

TEST_F(SpaprVlanTest, AFreeBusyForEverIsBoundedAndThePagesStillGo) {
  ASSERT_TRUE(Start().is_ok());
  host.free_always_busy = true;
  host.ticks_per_busy = kTimebaseHz / 10;
  EXPECT_EQ(ErrorOf(driver->ResetForOs()), SpaprVlanError::kFree);
  EXPECT_LE(host.free_calls, 52);
  EXPECT_TRUE(host.tces.empty());  // the host's DMA now fails instead of landing
  EXPECT_EQ(driver->state(), dev::DriverState::kStopped);
  EXPECT_NE(console.find("H_FREE_LOGICAL_LAN: H_BUSY"), std::string::npos) << console;
  host.free_always_busy = false;
}

// ---------------------------------------------------------------------------------------------
// The driver table.

struct Reported {
  std::string path;
  std::string device_type;
  std::string description;
  const net::Device* net;
  const block::Device* block;
};

class SpaprVlanProbeTest : public SpaprVlanTest {
 protected:
  static bool Add(void* context, const dev::FoundDevice& found) {
    auto* test = static_cast<SpaprVlanProbeTest*>(context);
    if (test->refuse) return false;
    test->reported.push_back(
        {found.path, found.device_type, found.description, found.net, found.block});
    return true;
  }
  dev::ProbeCount Probe() {
    dma = dev::DmaPool(0x100000, 0x100000);
    dev::ProbeEnv env{memory, kTimebaseHz, dma, {Add, this}};
    return dev::ProbeAll(dev::Drivers(), tree.data(), *bus, env);
  }
  void TearDown() override {
    dev::QuiesceAll(dev::Drivers());
    SpaprVlanTest::TearDown();
  }

  std::unique_ptr<dev::PciBus> bus = std::make_unique<dev::PciBus>();
  dev::DmaPool dma;
  std::vector<Reported> reported;
  bool refuse = false;
};

TEST_F(SpaprVlanProbeTest, TheTableStartsTheNicAndQuiesceFreesIt) {
  ASSERT_EQ(Probe().started, 1) << console;
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].path, "/vdevice/l-lan@71000002");
  EXPECT_EQ(reported[0].device_type, "network");
  EXPECT_EQ(reported[0].description, "spapr-vlan, MAC 52:54:00:12:34:56");
  EXPECT_EQ(reported[0].block, nullptr);
  ASSERT_NE(reported[0].net, nullptr);
  EXPECT_EQ(reported[0].net->mac, node.mac);
  EXPECT_TRUE(host.open);
  EXPECT_EQ(dma.remaining(), 0x100000 - dev::kSpaprVlanWorkBytes);
  dev::QuiesceAll(dev::Drivers());
  EXPECT_FALSE(host.open);
  EXPECT_TRUE(host.tces.empty());
  uint8_t buffer[64];
  EXPECT_EQ(ErrorOf(reported[0].net->Receive(buffer, sizeof(buffer))), DeviceError::kNotReady);
}

TEST_F(SpaprVlanProbeTest, ANicTheCallerRefusesIsFreedAndGivesItsMemoryBack) {
  refuse = true;
  EXPECT_EQ(Probe().started, 0);
  EXPECT_FALSE(host.open);
  EXPECT_TRUE(host.tces.empty());
  EXPECT_EQ(dma.remaining(), 0x100000u);
}

TEST_F(SpaprVlanProbeTest, AMalformedNodeIsSaidAndSkipped) {
  tree = Tree({1, 2, 3});
  EXPECT_EQ(Probe().started, 0);
  EXPECT_NE(console.find("tern: /vdevice/l-lan@71000002: malformed l-lan node: not used"),
            std::string::npos)
      << console;
  EXPECT_EQ(host.register_calls, 0);
}

}  // namespace
