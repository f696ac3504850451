// dev/vscsi against tests/unit/dev/fake-vscsi's host: the node, the CRQ handshake and SRP login,
// the scan and reads through TCE-mapped buffers, every way an answer can be wrong, the hand-off.
#include "dev/vscsi.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <memory>
#include <string>
#include <vector>

#include "block/deblocker.h"
#include "dev/probe.h"
#include "dev/scsi.h"
#include "lib/be.h"
#include "lib/console.h"
#include "tests/console-capture.h"
#include "tests/fake-hv.h"
#include "tests/host-cpu.h"
#include "tests/unit/dev/fake-scsi.h"
#include "tests/unit/dev/fake-vscsi.h"

namespace {

using block::IoError;
using dev::VscsiError;
using tests::FakeHypervisor;
using tests::FakeLun;
using tests::FakeVscsiHost;

constexpr uint64_t kTimebaseHz = 512000000;
constexpr uint64_t kWork = 0x2000;
constexpr uint64_t kScratch = 0x8000;
constexpr uint32_t kScratchBytes = 4096;
constexpr uint64_t kBuffer = 0x10000;

FakeHypervisor& FreshHypervisor() {
  FakeHypervisor::Get().Reset();
  return FakeHypervisor::Get();
}

// A /vdevice like QEMU 7.2's: a vty, then v-scsi@71000003 (its window one cell short unless
// good_window), and v-scsi@71000004 when asked.
std::vector<uint8_t> Tree(bool good_window = true, bool second_adapter = false) {
  std::vector<uint8_t> blob(4096);
  void* fdt = blob.data();
  EXPECT_EQ(fdt_create(fdt, static_cast<int>(blob.size())), 0);
  EXPECT_EQ(fdt_finish_reservemap(fdt), 0);
  EXPECT_EQ(fdt_begin_node(fdt, ""), 0);
  EXPECT_EQ(fdt_begin_node(fdt, "vdevice"), 0);
  EXPECT_EQ(fdt_begin_node(fdt, "vty@71000000"), 0);
  EXPECT_EQ(fdt_property_string(fdt, "compatible", "hvterm1"), 0);
  EXPECT_EQ(fdt_end_node(fdt), 0);
  auto adapter = [&](const char* name, uint32_t reg, bool good) {
    EXPECT_EQ(fdt_begin_node(fdt, name), 0);
    EXPECT_EQ(fdt_property_u32(fdt, "reg", reg), 0);
    EXPECT_EQ(fdt_property_string(fdt, "compatible", "IBM,v-scsi"), 0);
    EXPECT_EQ(fdt_property_u32(fdt, "ibm,#dma-address-cells", 2), 0);
    EXPECT_EQ(fdt_property_u32(fdt, "ibm,#dma-size-cells", 2), 0);
    uint8_t cells[20];
    lib::StoreBe32(cells, reg);
    lib::StoreBe32(cells + 4, 0);
    lib::StoreBe32(cells + 8, 0);
    lib::StoreBe32(cells + 12, 0);
    lib::StoreBe32(cells + 16, 0x10000000);
    EXPECT_EQ(fdt_property(fdt, "ibm,my-dma-window", cells, good ? 20 : 16), 0);
    EXPECT_EQ(fdt_end_node(fdt), 0);
  };
  adapter("v-scsi@71000003", 0x71000003, good_window);
  if (second_adapter) adapter("v-scsi@71000004", 0x71000004, true);
  EXPECT_EQ(fdt_end_node(fdt), 0);
  EXPECT_EQ(fdt_end_node(fdt), 0);
  EXPECT_EQ(fdt_finish(fdt), 0);
  return blob;
}

class VscsiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tests::SetTimebase(1000);
    host.bus.Add(0, 0);
    host.bus.Add(0, 1, FakeLun{.blocks = 4096});
    node =
        dev::ParseVscsiNode(tree.data(), fdt_path_offset(tree.data(), "/vdevice/v-scsi@71000003"))
            .value();
  }
  void TearDown() override { EXPECT_TRUE(host.violations.empty()) << host.violations.front(); }
  lib::Result<void, VscsiError> Start() {
    return driver->Start(node, memory, kWork, dev::kVscsiWorkBytes, kTimebaseHz);
  }
  std::vector<uint8_t> Ram(uint64_t offset, uint64_t size) {
    return std::vector<uint8_t>(ram.begin() + offset, ram.begin() + offset + size);
  }
  std::vector<uint8_t> Disk(uint64_t offset, uint64_t size) {
    std::vector<uint8_t> bytes(size);
    for (uint64_t i = 0; i < size; ++i) bytes[i] = tests::DiskByte(offset + i);
    return bytes;
  }
  lib::Result<void, dev::ScsiError> StartDisk(dev::ScsiDisk& disk, uint32_t lun) {
    return disk.Start(driver->transport(), memory, kScratch, kScratchBytes, 0, lun, kTimebaseHz,
                      "v-scsi@71000003/disk@8000000000000000");
  }
  // The CRQ and IU pages stay mapped while the driver runs; nothing else.
  void ExpectOnlyQueuePagesMapped() {
    EXPECT_EQ(host.tces.size(), 2u);
    EXPECT_EQ(driver->mapped_tces(), 2);
  }

  FakeHypervisor& hv = FreshHypervisor();
  tests::ConsoleCapture capture;  // from construction: the console of the whole test
  std::string& console = capture.text;
  std::vector<uint8_t> tree = Tree();
  std::vector<uint8_t> ram = std::vector<uint8_t>(4 << 20);
  lib::GuestMemory memory{reinterpret_cast<uintptr_t>(ram.data()), ram.size()};
  FakeVscsiHost host{hv, memory};
  dev::VscsiNode node;
  std::unique_ptr<dev::Vscsi> driver = std::make_unique<dev::Vscsi>();
};

class VscsiNode : public ::testing::Test {
 protected:
  void SetUp() override {}
  tests::ConsoleCapture capture;  // from construction: the console of the whole test
  std::string& console = capture.text;
};

// The v-scsi nodes the driver table gives the spapr-vscsi driver, parsed.
std::vector<dev::VscsiNode> MatchedNodes(const std::vector<uint8_t>& tree) {
  std::vector<dev::VscsiNode> nodes;
  const int vdevice = fdt_path_offset(tree.data(), "/vdevice");
  int node = 0;
  fdt_for_each_subnode(node, tree.data(), vdevice) {
    const dev::Driver* driver = dev::MatchNode(dev::Drivers(), tree.data(), node);
    if (driver == nullptr || std::string(driver->name) != "spapr-vscsi") continue;
    auto parsed = dev::ParseVscsiNode(tree.data(), node);
    if (parsed.is_ok()) nodes.push_back(parsed.value());
  }
  return nodes;
}

TEST_F(VscsiNode, ParsesRegAndTheDmaWindow) {
  std::vector<uint8_t> tree = Tree(true, true);
  const std::vector<dev::VscsiNode> nodes = MatchedNodes(tree);
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].unit_address, 0x71000003u);
  EXPECT_EQ(nodes[0].liobn, 0x71000003u);
  EXPECT_EQ(nodes[0].window_base, 0u);
  EXPECT_EQ(nodes[0].window_size, 0x10000000u);
  EXPECT_STREQ(nodes[0].path, "/vdevice/v-scsi@71000003");
  EXPECT_STREQ(nodes[1].path, "/vdevice/v-scsi@71000004");
}

TEST_F(VscsiNode, RefusesAMalformedWindow) {
  std::vector<uint8_t> tree = Tree(false);
  const int offset = fdt_path_offset(tree.data(), "/vdevice/v-scsi@71000003");
  EXPECT_EQ(dev::ParseVscsiNode(tree.data(), offset).error(), VscsiError::kBadNode);
  // The driver says so and takes no instance.
  const dev::Driver* driver = dev::MatchNode(dev::Drivers(), tree.data(), offset);
  ASSERT_NE(driver, nullptr);
  lib::GuestMemory memory;
  dev::DmaPool dma;
  dev::ProbeEnv env{memory, 512000000, dma, {}};
  dev::ProbeTarget target;
  target.fdt = tree.data();
  target.node = offset;
  target.path = "/vdevice/v-scsi@71000003";
  EXPECT_EQ(driver->probe(env, target).error(), dev::ProbeError::kRefused);
  EXPECT_NE(console.find("tern: /vdevice/v-scsi@71000003: malformed v-scsi node: not used"),
            std::string::npos);
}

// What QEMU 7.2 and 10.0 put in /chosen/qemu,boot-list (hw/ppc/spapr.c spapr_get_fw_dev_path).
TEST_F(VscsiNode, UnitAddressesAreQemusBootListSpelling) {
  char unit[32];
  ASSERT_TRUE(dev::VscsiUnitAddress(0, 0, unit, sizeof(unit)));
  EXPECT_STREQ(unit, "8000000000000000");
  ASSERT_TRUE(dev::VscsiUnitAddress(1, 1, unit, sizeof(unit)));
  EXPECT_STREQ(unit, "8101000000000000");
  ASSERT_TRUE(dev::VscsiUnitAddress(10, 0, unit, sizeof(unit)));
  EXPECT_STREQ(unit, "8A00000000000000");
  ASSERT_TRUE(dev::VscsiUnitAddress(2, 3, unit, sizeof(unit)));
  EXPECT_STREQ(unit, "8203000000000000");
  EXPECT_FALSE(dev::VscsiUnitAddress(64, 0, unit, sizeof(unit)));
  EXPECT_FALSE(dev::VscsiUnitAddress(0, 32, unit, sizeof(unit)));
  EXPECT_FALSE(dev::VscsiUnitAddress(0, 0, unit, 16));  // no room for the NUL
  EXPECT_EQ(dev::VscsiSrpLun(1, 1), 0x8101000000000000u);
}

TEST_F(VscsiTest, StartRegistersTheQueueShakesHandsAndLogsIn) {
  ASSERT_TRUE(Start().is_ok()) << console;
  EXPECT_EQ(console, "");
  EXPECT_TRUE(driver->running());
  EXPECT_TRUE(host.crq_registered);
  EXPECT_EQ(host.crq_size, 4096u);
  // The queue and the IU are reached through the window: bus addresses 0 and 0x1000 map the
  // two work pages, readable and writable.
  EXPECT_EQ(host.crq_address, 0u);
  ASSERT_EQ(host.tces.size(), 2u);
  EXPECT_EQ(host.tces[0], kWork | 3);
  EXPECT_EQ(host.tces[1], (kWork + 0x1000) | 3);
  ASSERT_EQ(host.login_request.size(), 256u);
  EXPECT_EQ(host.login_request[0], 0x00);                          // SRP_LOGIN_REQ
  EXPECT_EQ(lib::LoadBe16(host.login_request.data() + 24), 0x2u);  // direct descriptors
  const dev::ScsiTransport& transport = driver->transport();
  EXPECT_EQ(transport.max_target, 63u);
  EXPECT_EQ(transport.max_lun, 31u);
  EXPECT_EQ(transport.max_transfer_bytes, dev::kVscsiMaxTransferBytes);
  char unit[20];
  ASSERT_TRUE(transport.unit_address(transport.adapter, 0, 1, unit, sizeof(unit)));
  EXPECT_STREQ(unit, "8001000000000000");
}

TEST_F(VscsiTest, ScanFindsBothLunsAndTheirCapacities) {
  host.bus.Add(5, 2, FakeLun{.device_type = 0x05, .product = "QEMU CD-ROM"});
  ASSERT_TRUE(Start().is_ok());
  dev::ScsiScan scan;
  dev::ScanScsi(driver->transport(), memory, kScratch, kScratchBytes, kTimebaseHz, driver->name(),
                scan);
  ASSERT_EQ(scan.count, 3) << console;
  EXPECT_EQ(scan.units[0].lun, 0u);
  EXPECT_EQ(scan.units[0].capacity.blocks, 2048u);
  EXPECT_TRUE(scan.units[0].ready);
  EXPECT_EQ(scan.units[1].lun, 1u);
  EXPECT_EQ(scan.units[1].capacity.blocks, 4096u);
  EXPECT_EQ(scan.units[2].target, 5u);
  EXPECT_EQ(scan.units[2].lun, 2u);
  EXPECT_EQ(scan.units[2].device_type, dev::kScsiTypeCdrom);
  // LUNs go out as QEMU's vscsi_device_find decodes them: 0x8000 | target << 8 | lun.
  bool saw_cdrom = false;
  for (const auto& command : host.commands) {
    EXPECT_EQ(command.srp_lun >> 62, 2u);
    saw_cdrom = saw_cdrom || command.srp_lun == 0x8502000000000000;
  }
  EXPECT_TRUE(saw_cdrom);
  EXPECT_EQ(console, "");
  ExpectOnlyQueuePagesMapped();
}

TEST_F(VscsiTest, ReadsLandThroughTceMappedPagesAndAreUnmappedAfter) {
  ASSERT_TRUE(Start().is_ok());
  dev::ScsiDisk disk;
  ASSERT_TRUE(StartDisk(disk, 1).is_ok()) << console;
  EXPECT_EQ(disk.disk().blocks, 4096u);
  // 200 blocks (100 KiB) into a buffer that starts mid-page: two commands, the first over 17
  // pages.
  const uint64_t buffer = kBuffer + 0x234;
  host.commands.clear();
  ASSERT_TRUE(block::ReadBlocks(disk.disk(), 33, 200, buffer).is_ok()) << console;
  EXPECT_EQ(Ram(buffer, 200 * 512), Disk(33 * 512, 200 * 512));
  ASSERT_EQ(host.commands.size(), 2u);
  EXPECT_EQ(lib::LoadBe32(host.commands[0].iu.data() + 60), 64u * 1024);
  EXPECT_EQ(lib::LoadBe64(host.commands[0].iu.data() + 48), 0x2000u + 0x234);
  EXPECT_EQ(host.commands[0].iu[32], 0x28);  // READ(10)
  EXPECT_EQ(host.max_data_tces, 17);
  EXPECT_EQ(ram[buffer - 1], 0);  // nothing before the buffer
  EXPECT_EQ(ram[buffer + 200 * 512], 0);
  ExpectOnlyQueuePagesMapped();
}

TEST_F(VscsiTest, CheckConditionWithFixedAndDescriptorSense) {
  host.bus.luns[{0, 0}].bad_lba = 12;
  host.bus.luns[{0, 1}].bad_lba = 13;
  host.bus.luns[{0, 1}].descriptor_sense = true;
  ASSERT_TRUE(Start().is_ok());
  dev::ScsiDisk fixed;
  dev::ScsiDisk descriptor;
  ASSERT_TRUE(StartDisk(fixed, 0).is_ok());
  ASSERT_TRUE(StartDisk(descriptor, 1).is_ok());
  EXPECT_EQ(fixed.disk().Read(10, 4, kBuffer).error(), IoError::kDevice);
  EXPECT_NE(console.find("tern: v-scsi@71000003/disk@8000000000000000: read of block 10: CHECK "
                         "CONDITION, sense key 3 (MEDIUM ERROR), ASC 11h ASCQ 00h\n"),
            std::string::npos)
      << console;
  console.clear();
  EXPECT_EQ(descriptor.disk().Read(13, 1, kBuffer).error(), IoError::kDevice);
  EXPECT_NE(console.find("read of block 13: CHECK CONDITION, sense key 3 (MEDIUM ERROR), ASC 11h "
                         "ASCQ 00h\n"),
            std::string::npos)
      << console;
  ExpectOnlyQueuePagesMapped();
}

TEST_F(VscsiTest, UnitAttentionIsRetried) {
  host.bus.luns[{0, 0}].unit_attentions = 2;  // as after QEMU's reset
  ASSERT_TRUE(Start().is_ok());
  dev::ScsiDisk disk;
  ASSERT_TRUE(StartDisk(disk, 0).is_ok()) << console;
  host.bus.luns[{0, 0}].unit_attentions = 1;
  ASSERT_TRUE(disk.disk().Read(0, 1, kBuffer).is_ok());
  EXPECT_EQ(Ram(kBuffer, 512), Disk(0, 512));
}

TEST_F(VscsiTest, ATargetThatNeverAnswersTimesOutAndStopsTheAdapter) {
  ASSERT_TRUE(Start().is_ok());
  dev::ScsiDisk disk;
  ASSERT_TRUE(StartDisk(disk, 0).is_ok());
  host.silent = true;
  host.stall_ticks = (dev::kVscsiCommandSeconds + 1) * kTimebaseHz;
  EXPECT_EQ(disk.disk().Read(0, 8, kBuffer).error(), IoError::kTimeout);
  EXPECT_NE(console.find("tern: /vdevice/v-scsi@71000003: command 0x28 to target 0 LUN 0: no "
                         "answer in 10 s; the adapter is stopped\n"),
            std::string::npos)
      << console;
  // Nothing of the guest stays reachable for a late answer.
  EXPECT_FALSE(driver->running());
  EXPECT_FALSE(host.crq_registered);
  EXPECT_TRUE(host.tces.empty());
  EXPECT_EQ(disk.disk().Read(0, 1, kBuffer).error(), IoError::kNotReady);
}

TEST_F(VscsiTest, StaleAnswersAreSkipped) {
  ASSERT_TRUE(Start().is_ok());
  dev::ScsiDisk disk;
  ASSERT_TRUE(StartDisk(disk, 0).is_ok());
  host.stale_answers = 2;
  ASSERT_TRUE(disk.disk().Read(5, 1, kBuffer).is_ok());
  EXPECT_EQ(Ram(kBuffer, 512), Disk(5 * 512, 512));
}

TEST_F(VscsiTest, CapacityZeroIsRefused) {
  host.bus.luns[{0, 1}].blocks = 0;
  ASSERT_TRUE(Start().is_ok());
  dev::ScsiDisk disk;
  EXPECT_EQ(StartDisk(disk, 1).error(), dev::ScsiError::kBadCapacity);
  EXPECT_NE(console.find("disk@8000000000000000: capacity of 0 bytes: not used"),
            std::string::npos);
  dev::ScsiScan scan;
  dev::ScanScsi(driver->transport(), memory, kScratch, kScratchBytes, kTimebaseHz, driver->name(),
                scan);
  ASSERT_EQ(scan.count, 2);
  EXPECT_FALSE(scan.units[1].ready);
}

TEST_F(VscsiTest, AReportLunsListLongerThanTheBufferIsUsedAsFarAsItFits) {
  host.bus.extra_report_entries = 40;
  ASSERT_TRUE(Start().is_ok());
  dev::ScsiScan scan;
  dev::ScanScsi(driver->transport(), memory, kScratch, 256, kTimebaseHz, driver->name(), scan);
  EXPECT_EQ(scan.count, 2);
  EXPECT_NE(console.find("tern: /vdevice/v-scsi@71000003: target 0 lists 42 LUNs, 31 fit in the "
                         "buffer: using those\n"),
            std::string::npos)
      << console;
}

TEST_F(VscsiTest, MalformedSrpResponsesAreRefused) {
  ASSERT_TRUE(Start().is_ok());
  dev::ScsiDisk disk;
  ASSERT_TRUE(StartDisk(disk, 0).is_ok());
  struct Case {
    const char* what;
    std::function<void(std::vector<uint8_t>&, uint16_t&)> mangle;
  };
  const Case cases[] = {
      {"shorter than an SRP_RSP", [](std::vector<uint8_t>&, uint16_t& length) { length = 35; }},
      {"longer than an IU", [](std::vector<uint8_t>&, uint16_t& length) { length = 257; }},
      {"sense past the end",
       [](std::vector<uint8_t>& iu, uint16_t&) {
         iu[18] |= 2;
         lib::StoreBe32(iu.data() + 28, 18);
       }},
      {"huge sense length",
       [](std::vector<uint8_t>& iu, uint16_t& length) {
         iu[18] |= 2;
         lib::StoreBe32(iu.data() + 28, 0xfffffff0);
         length = 60;
       }},
      {"response data of 3 bytes",
       [](std::vector<uint8_t>& iu, uint16_t& length) {
         iu[18] |= 1;
         lib::StoreBe32(iu.data() + 32, 3);
         length = 40;
       }},
      {"residual beyond the buffer",
       [](std::vector<uint8_t>& iu, uint16_t&) {
         iu[18] |= 1 << 5;
         lib::StoreBe32(iu.data() + 24, 513);
       }},
      {"not an SRP_RSP", [](std::vector<uint8_t>& iu, uint16_t&) { iu[0] = 0xc0; }},
  };
  for (const Case& c : cases) {
    host.mangle_response = c.mangle;
    EXPECT_EQ(disk.disk().Read(0, 1, kBuffer).error(), IoError::kBadResponse) << c.what;
  }
  // Response data that says the command failed.
  host.mangle_response = [](std::vector<uint8_t>& iu, uint16_t& length) {
    iu[18] |= 1;
    lib::StoreBe32(iu.data() + 32, 4);
    iu[39] = 0x02;
    length = 40;
  };
  EXPECT_EQ(disk.disk().Read(0, 1, kBuffer).error(), IoError::kDevice);
  host.mangle_response = nullptr;
  EXPECT_TRUE(disk.disk().Read(0, 1, kBuffer).is_ok());  // the adapter still works
  ExpectOnlyQueuePagesMapped();
}

TEST_F(VscsiTest, HandOffFreesTheQueueAndUnmapsEverything) {
  ASSERT_TRUE(Start().is_ok());
  dev::ScsiDisk disk;
  ASSERT_TRUE(StartDisk(disk, 0).is_ok());
  ASSERT_TRUE(disk.disk().Read(0, 4, kBuffer).is_ok());
  ASSERT_TRUE(driver->ResetForOs().is_ok());
  EXPECT_FALSE(host.crq_registered);
  EXPECT_EQ(host.free_crq_calls, 1);
  EXPECT_TRUE(host.tces.empty());
  EXPECT_EQ(driver->mapped_tces(), 0);
  EXPECT_FALSE(driver->running());
  EXPECT_EQ(disk.disk().Read(0, 1, kBuffer).error(), IoError::kNotReady);
  // Twice is harmless: nothing left to free.
  const size_t calls = hv.calls.size();
  ASSERT_TRUE(driver->ResetForOs().is_ok());
  EXPECT_EQ(hv.calls.size(), calls);
  // A driver that never started touches nothing.
  dev::Vscsi idle;
  ASSERT_TRUE(idle.ResetForOs().is_ok());
  EXPECT_EQ(hv.calls.size(), calls);
}

TEST_F(VscsiTest, AQueueLeftRegisteredIsFreedFirst) {
  host.already_registered = true;
  ASSERT_TRUE(Start().is_ok()) << console;
  EXPECT_EQ(host.register_calls, 2);
  EXPECT_EQ(host.free_crq_calls, 1);
}

TEST_F(VscsiTest, ARefusedLoginLeavesNothingBehind) {
  host.reject_login = true;
  EXPECT_EQ(Start().error(), VscsiError::kLoginRejected);
  EXPECT_NE(console.find("SRP_LOGIN_REJ, reason 0x00010001"), std::string::npos) << console;
  EXPECT_FALSE(host.crq_registered);
  EXPECT_TRUE(host.tces.empty());
  EXPECT_FALSE(driver->running());
  EXPECT_EQ(driver->transport().execute, nullptr);
}

TEST_F(VscsiTest, APartnerThatNeverInitializesTimesOut) {
  host.answer_init = false;
  // The fake answers nothing: let the time base run past the bound at the first poll.
  hv.overrides[lib::hv::H_SEND_CRQ] = [](const FakeHypervisor::Call&) {
    tests::SetTimebase(lib::ReadTimebase() + (dev::kVscsiInitSeconds + 1) * kTimebaseHz);
    return lib::hv::HcallReturn{lib::hv::HcallStatus::kSuccess, {}};
  };
  EXPECT_EQ(Start().error(), VscsiError::kTimeout);
  EXPECT_NE(console.find("no answer to the CRQ initialization in 5 s"), std::string::npos);
  EXPECT_FALSE(host.crq_registered);
  EXPECT_TRUE(host.tces.empty());
}

TEST_F(VscsiTest, RefusesBadWorkMemoryAndSmallWindows) {
  EXPECT_EQ(driver->Start(node, memory, kWork + 8, dev::kVscsiWorkBytes, kTimebaseHz).error(),
            VscsiError::kBadWorkMemory);
  EXPECT_EQ(driver->Start(node, memory, kWork, 4096, kTimebaseHz).error(),
            VscsiError::kBadWorkMemory);
  EXPECT_EQ(
      driver->Start(node, memory, ram.size() - 4096, dev::kVscsiWorkBytes, kTimebaseHz).error(),
      VscsiError::kBadWorkMemory);
  EXPECT_EQ(driver->Start(node, memory, kWork, dev::kVscsiWorkBytes, 0).error(),
            VscsiError::kBadArgument);
  dev::VscsiNode small = node;
  small.window_size = 0x4000;
  EXPECT_EQ(driver->Start(small, memory, kWork, dev::kVscsiWorkBytes, kTimebaseHz).error(),
            VscsiError::kWindowTooSmall);
  EXPECT_EQ(host.register_calls, 0);
  EXPECT_TRUE(host.tces.empty());
}

TEST_F(VscsiTest, CommandsOutsideTheAdaptersLimitsAreRefused) {
  ASSERT_TRUE(Start().is_ok());
  const dev::ScsiTransport& transport = driver->transport();
  dev::ScsiCommand command;
  dev::BuildTestUnitReady(command);
  command.target = 64;
  EXPECT_EQ(transport.execute(transport.adapter, command).error(), IoError::kOutOfRange);
  command.target = 0;
  command.data = ram.size() - 100;
  command.data_length = 512;
  EXPECT_EQ(transport.execute(transport.adapter, command).error(), IoError::kBadBuffer);
  command.data = kBuffer;
  command.data_length = dev::kVscsiMaxTransferBytes + 512;
  EXPECT_EQ(transport.execute(transport.adapter, command).error(), IoError::kOutOfRange);
  EXPECT_TRUE(host.commands.empty());
  ExpectOnlyQueuePagesMapped();
}

}  // namespace
