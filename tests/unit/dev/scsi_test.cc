// dev/scsi: CDB bytes, answer and sense parsing, LUN decoding, the scan and ScsiDisk, over a fake
// transport in front of tests/unit/dev/fake-scsi's bus.
#include "dev/scsi.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "block/deblocker.h"
#include "lib/console.h"
#include "tests/console-capture.h"
#include "tests/host-cpu.h"
#include "tests/unit/dev/fake-scsi.h"

namespace {

using block::IoError;
using dev::ScsiCommand;
using dev::ScsiError;
using tests::FakeLun;

constexpr uint64_t kTimebaseHz = 512000000;
constexpr uint64_t kScratch = 0x1000;
constexpr uint32_t kScratchBytes = 256;
constexpr uint64_t kBuffer = 0x10000;

lib::Span<const uint8_t> Bytes(const std::vector<uint8_t>& bytes) {
  return lib::Span<const uint8_t>(bytes.data(), bytes.size());
}

std::vector<uint8_t> Cdb(const ScsiCommand& command) {
  return std::vector<uint8_t>(command.cdb, command.cdb + command.cdb_length);
}

// A transport that hands each command to the fake bus and copies the data into guest RAM.
struct FakeTransport {
  tests::FakeScsiBus bus;
  lib::GuestMemory* memory = nullptr;
  std::optional<IoError> fail;     // every command fails so
  uint64_t ticks_per_command = 0;  // the time base moves this much per command
  std::vector<ScsiCommand> commands;

  dev::ScsiTransport Transport(uint32_t max_target = 3) {
    dev::ScsiTransport transport;
    transport.execute = [](void* adapter,
                           const ScsiCommand& command) -> lib::Result<dev::ScsiResponse, IoError> {
      return static_cast<FakeTransport*>(adapter)->Execute(command);
    };
    transport.adapter = this;
    transport.max_target = max_target;
    transport.max_lun = 31;
    transport.max_transfer_bytes = 64 * 1024;
    return transport;
  }

  lib::Result<dev::ScsiResponse, IoError> Execute(const ScsiCommand& command) {
    commands.push_back(command);
    if (ticks_per_command != 0) tests::SetTimebase(lib::ReadTimebase() + ticks_per_command);
    if (fail) return lib::Err(*fail);
    auto answer = bus.Execute(command.target, command.lun, command.cdb, command.cdb_length);
    dev::ScsiResponse response;
    response.status = answer.status;
    const size_t copied = std::min<size_t>(answer.data.size(), command.data_length);
    if (copied > 0) {
      EXPECT_TRUE(memory->Write(command.data, answer.data.data(), copied).is_ok());
    }
    response.residual = static_cast<uint32_t>(command.data_length - copied);
    response.sense_length = static_cast<uint8_t>(std::min<size_t>(answer.sense.size(), 32));
    std::copy_n(answer.sense.begin(), response.sense_length, response.sense);
    return response;
  }
};

class ScsiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tests::SetTimebase(1000);
    fake.memory = &memory;
  }
  std::vector<uint8_t> Ram(uint64_t offset, uint64_t size) {
    return std::vector<uint8_t>(ram.begin() + offset, ram.begin() + offset + size);
  }
  std::vector<uint8_t> Disk(uint64_t offset, uint64_t size) {
    std::vector<uint8_t> bytes(size);
    for (uint64_t i = 0; i < size; ++i) bytes[i] = tests::DiskByte(offset + i);
    return bytes;
  }
  lib::Result<void, ScsiError> StartDisk(dev::ScsiDisk& disk, uint32_t target, uint32_t lun) {
    return disk.Start(transport, memory, kScratch, kScratchBytes, target, lun, kTimebaseHz,
                      "scsi@test/disk@0");
  }

  tests::ConsoleCapture capture;  // from construction: the console of the whole test
  std::string& console = capture.text;
  std::vector<uint8_t> ram = std::vector<uint8_t>(1 << 20);
  lib::GuestMemory memory{reinterpret_cast<uintptr_t>(ram.data()), ram.size()};
  FakeTransport fake;
  dev::ScsiTransport transport = fake.Transport();
};

TEST(ScsiCdb, BuildersWriteTheSpcAndSbcLayouts) {
  ScsiCommand command;
  dev::BuildInquiry(command, 36);
  EXPECT_EQ(Cdb(command), (std::vector<uint8_t>{0x12, 0, 0, 0, 36, 0}));
  dev::BuildTestUnitReady(command);
  EXPECT_EQ(Cdb(command), (std::vector<uint8_t>{0, 0, 0, 0, 0, 0}));
  dev::BuildReadCapacity10(command);
  EXPECT_EQ(Cdb(command), (std::vector<uint8_t>{0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  dev::BuildReadCapacity16(command, 32);
  EXPECT_EQ(Cdb(command),
            (std::vector<uint8_t>{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}));
  dev::BuildReportLuns(command, 0x1008);
  EXPECT_EQ(Cdb(command), (std::vector<uint8_t>{0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x08, 0, 0}));
}

TEST(ScsiCdb, ReadUsesReadTenWhileLbaAndCountFitAndReadSixteenAfter) {
  ScsiCommand command;
  dev::BuildRead(command, 0x12345678, 0x80);
  EXPECT_EQ(Cdb(command), (std::vector<uint8_t>{0x28, 0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0x80, 0}));
  dev::BuildRead(command, 0xffffffff, 0xffff);  // both at their READ(10) limits
  EXPECT_EQ(command.cdb[0], 0x28);
  dev::BuildRead(command, 0x100000000, 1);  // the LBA does not fit 32 bits
  EXPECT_EQ(Cdb(command),
            (std::vector<uint8_t>{0x88, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}));
  dev::BuildRead(command, 7, 0x10000);  // the count does not fit 16 bits
  EXPECT_EQ(Cdb(command),
            (std::vector<uint8_t>{0x88, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 1, 0, 0, 0, 0}));
}

TEST(ScsiParse, SenseInFixedAndDescriptorFormat) {
  const uint8_t fixed[18] = {0xf0, 0, 0x03, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x11, 0x04};
  auto sense = dev::ParseSense(fixed);
  ASSERT_TRUE(sense.is_ok());
  EXPECT_EQ(sense.value().key, 3);
  EXPECT_EQ(sense.value().asc, 0x11);
  EXPECT_EQ(sense.value().ascq, 0x04);
  EXPECT_FALSE(sense.value().deferred);
  EXPECT_FALSE(sense.value().descriptor_format);

  const uint8_t descriptor[8] = {0x73, 0x06, 0x29, 0x02};
  sense = dev::ParseSense(descriptor);
  ASSERT_TRUE(sense.is_ok());
  EXPECT_EQ(sense.value().key, 6);
  EXPECT_EQ(sense.value().asc, 0x29);
  EXPECT_EQ(sense.value().ascq, 0x02);
  EXPECT_TRUE(sense.value().deferred);
  EXPECT_TRUE(sense.value().descriptor_format);
}

TEST(ScsiParse, SenseIsBoundsChecked) {
  // ASC/ASCQ beyond what arrived, or beyond the additional length: the key alone.
  const uint8_t short_fixed[8] = {0x70, 0, 0x05, 0, 0, 0, 0, 10};
  auto sense = dev::ParseSense(short_fixed);
  ASSERT_TRUE(sense.is_ok());
  EXPECT_EQ(sense.value().key, 5);
  EXPECT_EQ(sense.value().asc, 0);
  const uint8_t small_additional[18] = {0x70, 0, 0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0x24, 0};
  EXPECT_EQ(dev::ParseSense(small_additional).value().asc, 0);
  const uint8_t two_bytes[2] = {0x70, 0};
  EXPECT_EQ(dev::ParseSense(two_bytes).error(), ScsiError::kBadData);
  const uint8_t short_descriptor[3] = {0x72, 0x05, 0x24};
  EXPECT_EQ(dev::ParseSense(short_descriptor).error(), ScsiError::kBadData);
  const uint8_t unknown[18] = {0x7f, 0, 0x05};
  EXPECT_EQ(dev::ParseSense(unknown).error(), ScsiError::kBadData);
  EXPECT_EQ(dev::ParseSense(lib::Span<const uint8_t>()).error(), ScsiError::kBadData);
}

TEST(ScsiParse, InquiryTypeQualifierAndIdentification) {
  std::vector<uint8_t> data(36, ' ');
  data[0] = 0x05;
  data[1] = 0x80;
  data[4] = 31;
  std::copy_n("QEMU", 4, data.begin() + 8);
  std::copy_n("QEMU CD-ROM\x01", 12, data.begin() + 16);
  auto inquiry = dev::ParseInquiry(Bytes(data));
  ASSERT_TRUE(inquiry.is_ok());
  EXPECT_EQ(inquiry.value().qualifier, 0);
  EXPECT_EQ(inquiry.value().device_type, dev::kScsiTypeCdrom);
  EXPECT_TRUE(inquiry.value().removable);
  EXPECT_STREQ(inquiry.value().vendor, "QEMU");
  EXPECT_STREQ(inquiry.value().product, "QEMU CD-ROM?");

  data[0] = 0x7f;  // QEMU's "no device here"
  EXPECT_EQ(dev::ParseInquiry(Bytes(data)).value().qualifier, 3);
  EXPECT_EQ(dev::ParseInquiry(Bytes(data)).value().device_type, 0x1f);
  // Short data: the type, no strings.
  const uint8_t one[1] = {0x00};
  EXPECT_STREQ(dev::ParseInquiry(one).value().vendor, "");
  EXPECT_EQ(dev::ParseInquiry(lib::Span<const uint8_t>()).error(), ScsiError::kBadData);
}

TEST(ScsiParse, ReadCapacityTenAndSixteen) {
  const uint8_t ten[8] = {0, 0, 0x07, 0xff, 0, 0, 0x02, 0};
  auto capacity = dev::ParseReadCapacity10(ten);
  ASSERT_TRUE(capacity.is_ok());
  EXPECT_EQ(capacity.value().capacity.blocks, 2048u);
  EXPECT_EQ(capacity.value().capacity.block_size, 512u);
  EXPECT_FALSE(capacity.value().needs_16);
  const uint8_t huge[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0x10, 0};
  EXPECT_TRUE(dev::ParseReadCapacity10(huge).value().needs_16);
  EXPECT_EQ(dev::ParseReadCapacity10(lib::Span<const uint8_t>(ten, 7)).error(),
            ScsiError::kBadData);

  const uint8_t sixteen[12] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x10, 0};
  auto big = dev::ParseReadCapacity16(sixteen);
  ASSERT_TRUE(big.is_ok());
  EXPECT_EQ(big.value().blocks, 0x100000001u);
  EXPECT_EQ(big.value().block_size, 4096u);
  EXPECT_EQ(dev::ParseReadCapacity16(lib::Span<const uint8_t>(sixteen, 11)).error(),
            ScsiError::kBadData);
  const uint8_t overflow[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 2, 0};
  EXPECT_EQ(dev::ParseReadCapacity16(overflow).error(), ScsiError::kBadCapacity);

  EXPECT_TRUE(dev::CheckCapacity({1, 512}).is_ok());
  EXPECT_TRUE(dev::CheckCapacity({1, 16384}).is_ok());
  EXPECT_EQ(dev::CheckCapacity({0, 512}).error(), ScsiError::kBadCapacity);
  EXPECT_EQ(dev::CheckCapacity({1, 0}).error(), ScsiError::kBadCapacity);
  EXPECT_EQ(dev::CheckCapacity({8, 520}).error(), ScsiError::kBadBlockSize);
  EXPECT_EQ(dev::CheckCapacity({8, 256}).error(), ScsiError::kBadBlockSize);
  EXPECT_EQ(dev::CheckCapacity({8, 32768}).error(), ScsiError::kBadBlockSize);
  // The geometry rule (block::CheckGeometry), issue 26: a size in bytes past 64 bits.
  EXPECT_EQ(dev::CheckCapacity({~uint64_t{0}, 512}).error(), ScsiError::kBadCapacity);
  EXPECT_EQ(dev::CheckCapacity({uint64_t{1} << 52, 4096}).error(), ScsiError::kBadCapacity);
  EXPECT_TRUE(dev::CheckCapacity({(uint64_t{1} << 52) - 1, 4096}).is_ok());
}

TEST(ScsiParse, LunFormatsOfSam) {
  dev::ScsiLunAddress address;
  const uint8_t peripheral[8] = {0x00, 0x05};
  ASSERT_TRUE(dev::DecodeLun(peripheral, address));
  EXPECT_EQ(address.lun, 5u);
  EXPECT_EQ(address.bus, 0u);
  EXPECT_FALSE(address.has_target);
  const uint8_t flat[8] = {0x41, 0x23};
  ASSERT_TRUE(dev::DecodeLun(flat, address));
  EXPECT_EQ(address.lun, 0x123u);
  const uint8_t logical_unit[8] = {0x83, 0x42};  // target 3, bus 2, LUN 2
  ASSERT_TRUE(dev::DecodeLun(logical_unit, address));
  EXPECT_TRUE(address.has_target);
  EXPECT_EQ(address.target, 3u);
  EXPECT_EQ(address.bus, 2u);
  EXPECT_EQ(address.lun, 2u);
  const uint8_t extended[8] = {0xc1, 0};
  EXPECT_FALSE(dev::DecodeLun(extended, address));
  const uint8_t two_level[8] = {0x00, 0x01, 0x00, 0x02};
  EXPECT_FALSE(dev::DecodeLun(two_level, address));
}

TEST(ScsiParse, ReportLunsUsesWhatFits) {
  std::vector<uint8_t> data = {0, 0, 0, 24, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2};
  data.resize(20);  // one whole entry and a partial one of the three listed
  auto list = dev::ParseReportLuns(Bytes(data));
  ASSERT_TRUE(list.is_ok());
  EXPECT_EQ(list.value().listed, 3u);
  EXPECT_EQ(list.value().entries, 1u);
  EXPECT_EQ(list.value().list, data.data() + 8);
  EXPECT_EQ(dev::ParseReportLuns(lib::Span<const uint8_t>(data.data(), 7)).error(),
            ScsiError::kBadData);
}

TEST_F(ScsiTest, ScanListsDisksAndCdromsOfEveryTarget) {
  fake.bus.Add(0, 0);
  fake.bus.Add(0, 1, FakeLun{.blocks = 4096});
  fake.bus.Add(2, 3, FakeLun{.device_type = 0x05, .product = "QEMU CD-ROM", .no_medium = true});
  fake.bus.Add(3, 0, FakeLun{.device_type = 0x01});  // a tape: not listed
  dev::ScsiScan scan;
  dev::ScanScsi(transport, memory, kScratch, kScratchBytes, kTimebaseHz, "scsi@test", scan);
  ASSERT_EQ(scan.count, 3) << console;
  EXPECT_FALSE(scan.truncated);
  EXPECT_EQ(scan.units[0].target, 0u);
  EXPECT_EQ(scan.units[0].lun, 0u);
  EXPECT_TRUE(scan.units[0].ready);
  EXPECT_EQ(scan.units[0].capacity.blocks, 2048u);
  EXPECT_EQ(scan.units[0].capacity.block_size, 512u);
  EXPECT_STREQ(scan.units[0].vendor, "QEMU");
  EXPECT_STREQ(scan.units[0].product, "QEMU HARDDISK");
  EXPECT_EQ(scan.units[1].lun, 1u);
  EXPECT_EQ(scan.units[1].capacity.blocks, 4096u);
  EXPECT_EQ(scan.units[2].target, 2u);
  EXPECT_EQ(scan.units[2].lun, 3u);
  EXPECT_EQ(scan.units[2].device_type, dev::kScsiTypeCdrom);
  EXPECT_TRUE(scan.units[2].removable);
  EXPECT_FALSE(scan.units[2].ready);  // its tray is empty: noted, not an error
  EXPECT_TRUE(scan.units[2].no_medium);
  EXPECT_EQ(console, "");
  // Target 1 has nothing: REPORT LUNS refused, then INQUIRY of LUN 0 says qualifier 3.
  int target1_commands = 0;
  for (const auto& command : fake.bus.log) target1_commands += command.target == 1 ? 1 : 0;
  EXPECT_EQ(target1_commands, 2);
}

TEST_F(ScsiTest, ScanSkipsOtherTargetsLunsAndUnknownFormatsInTheList) {
  fake.bus.Add(0, 0);
  fake.bus.Add(1, 2);
  fake.bus.report_all_targets = true;  // target 0's list names 1/2 too, in logical unit format
  fake.bus.extra_report_entries = 2;   // flat LUNs 256, 257: above max_lun
  dev::ScsiScan scan;
  dev::ScanScsi(transport, memory, kScratch, kScratchBytes, kTimebaseHz, "scsi@test", scan);
  ASSERT_EQ(scan.count, 2) << console;
  EXPECT_EQ(scan.units[0].target, 0u);
  EXPECT_EQ(scan.units[1].target, 1u);
  EXPECT_EQ(scan.units[1].lun, 2u);
  for (const auto& command : fake.bus.log) EXPECT_LE(command.lun, 31u);
}

TEST_F(ScsiTest, ScanFallsBackToLunZeroWhenReportLunsIsRefused) {
  fake.bus.Add(0, 0);
  fake.bus.Add(0, 1);
  fake.bus.refuse_report_luns = true;
  dev::ScsiScan scan;
  dev::ScanScsi(transport, memory, kScratch, kScratchBytes, kTimebaseHz, "scsi@test", scan);
  ASSERT_EQ(scan.count, 1);
  EXPECT_EQ(scan.units[0].lun, 0u);
}

TEST_F(ScsiTest, ScanSaysWhenTheLunListIsLongerThanTheBuffer) {
  fake.bus.Add(0, 0);
  fake.bus.Add(0, 4);
  fake.bus.extra_report_entries = 40;  // 42 entries: 336 bytes + 8, the buffer takes 31
  dev::ScsiScan scan;
  dev::ScanScsi(transport, memory, kScratch, kScratchBytes, kTimebaseHz, "scsi@test", scan);
  EXPECT_EQ(scan.count, 2);
  EXPECT_NE(console.find("tern: scsi@test: target 0 lists 42 LUNs, 31 fit in the buffer: using "
                         "those\n"),
            std::string::npos)
      << console;
}

TEST_F(ScsiTest, ScanStopsAtSixteenUnitsAndSaysSo) {
  for (uint32_t lun = 0; lun < 20; ++lun) fake.bus.Add(0, lun);
  dev::ScsiScan scan;
  dev::ScanScsi(transport, memory, kScratch, kScratchBytes, kTimebaseHz, "scsi@test", scan);
  EXPECT_EQ(scan.count, dev::kScsiMaxUnits);
  EXPECT_TRUE(scan.truncated);
  EXPECT_NE(console.find("more than 16 disks and CD-ROMs"), std::string::npos);
}

TEST_F(ScsiTest, ScanEndsOnATransportFailure) {
  fake.bus.Add(0, 0);
  fake.fail = IoError::kTimeout;
  dev::ScsiScan scan;
  dev::ScanScsi(transport, memory, kScratch, kScratchBytes, kTimebaseHz, "scsi@test", scan);
  EXPECT_EQ(scan.count, 0);
  EXPECT_EQ(fake.commands.size(), 1u);
  EXPECT_NE(console.find("tern: scsi@test: REPORT LUNS on target 0: no answer in time (device "
                         "timeout); scan ended"),
            std::string::npos)
      << console;
}

TEST_F(ScsiTest, ScanReportsADiskThatIsNotReady) {
  fake.bus.Add(0, 0, FakeLun{.no_medium = true});
  dev::ScsiScan scan;
  dev::ScanScsi(transport, memory, kScratch, kScratchBytes, kTimebaseHz, "scsi@test", scan);
  ASSERT_EQ(scan.count, 1);
  EXPECT_FALSE(scan.units[0].ready);
  EXPECT_NE(console.find("tern: scsi@test: disk at target 0 LUN 0: CHECK CONDITION, sense key 2 "
                         "(NOT READY), ASC 3ah ASCQ 00h"),
            std::string::npos)
      << console;
}

TEST_F(ScsiTest, WaitReadyRetriesUnitAttentionAndBecomingReady) {
  fake.bus.Add(0, 0, FakeLun{.unit_attentions = 2, .becoming_ready = 3});
  dev::ScsiLun lun(transport, memory, kScratch, kScratchBytes, 0, 0);
  ASSERT_TRUE(lun.WaitReady(kTimebaseHz).is_ok());
  EXPECT_EQ(fake.commands.size(), 6u);
}

TEST_F(ScsiTest, WaitReadyIsBoundedInAttemptsAndTime) {
  fake.bus.Add(0, 0, FakeLun{.becoming_ready = 1000});
  dev::ScsiLun lun(transport, memory, kScratch, kScratchBytes, 0, 0);
  EXPECT_EQ(lun.WaitReady(kTimebaseHz).error(), ScsiError::kNotReady);
  EXPECT_EQ(fake.commands.size(), static_cast<size_t>(dev::kScsiReadyAttempts));

  fake.commands.clear();
  fake.ticks_per_command = 3 * kTimebaseHz;  // 3 s a command: the 10 s bound ends it first
  EXPECT_EQ(lun.WaitReady(kTimebaseHz).error(), ScsiError::kNotReady);
  EXPECT_EQ(fake.commands.size(), 4u);
  // No medium is not worth waiting for.
  fake.bus.luns[{0, 0}] = FakeLun{.no_medium = true};
  fake.commands.clear();
  EXPECT_EQ(lun.WaitReady(kTimebaseHz).error(), ScsiError::kCheckCondition);
  EXPECT_EQ(fake.commands.size(), 1u);
  EXPECT_EQ(lun.WaitReady(0).error(), ScsiError::kBadArgument);
}

// READ CAPACITY(16) of 2^64 - 1 blocks (last LBA 2^64 - 2): the size in bytes wraps; the disk
// is refused with a line, not listed as "0 MiB" (issue 26).
TEST_F(ScsiTest, ADiskWhoseSizeWrapsIsRefused) {
  fake.bus.Add(0, 0, FakeLun{.blocks = ~uint64_t{0}});
  dev::ScsiDisk disk;
  EXPECT_EQ(StartDisk(disk, 0, 0).error(), ScsiError::kBadCapacity);
  EXPECT_NE(console.find("18446744073709551615 blocks of 512 bytes: the size does not fit 64 "
                         "bits: not used"),
            std::string::npos)
      << console;
  EXPECT_NE(disk.state(), dev::DriverState::kRunning);
  EXPECT_EQ(disk.disk().Read(0, 1, kBuffer).error(), IoError::kNotReady);
}

TEST_F(ScsiTest, DiskReadsInChunksTheTransportAllows) {
  fake.bus.Add(0, 1, FakeLun{.blocks = 4096});
  dev::ScsiDisk disk;
  ASSERT_TRUE(StartDisk(disk, 0, 1).is_ok()) << console;
  EXPECT_EQ(disk.disk().block_size, 512u);
  EXPECT_EQ(disk.disk().blocks, 4096u);
  fake.commands.clear();
  // 300 blocks = 150 KiB: 128 + 128 + 44 blocks.
  ASSERT_TRUE(block::ReadBlocks(disk.disk(), 10, 300, kBuffer).is_ok());
  EXPECT_EQ(Ram(kBuffer, 300 * 512), Disk(10 * 512, 300 * 512));
  ASSERT_EQ(fake.commands.size(), 3u);
  EXPECT_EQ(fake.commands[0].data_length, 64u * 1024);
  EXPECT_EQ(fake.commands[2].data_length, 44u * 512);
  EXPECT_EQ(fake.commands[1].cdb[5], 10 + 128);
  for (const auto& command : fake.commands) EXPECT_EQ(command.lun, 1u);
  EXPECT_EQ(disk.disk().Read(4090, 7, kBuffer).error(), IoError::kOutOfRange);
  EXPECT_EQ(disk.disk().Read(0, 1, ram.size()).error(), IoError::kBadBuffer);
  EXPECT_TRUE(disk.disk().Read(0, 0, kBuffer).is_ok());
}

TEST_F(ScsiTest, HugeDisksUseReadCapacitySixteenAndReadSixteen) {
  fake.bus.Add(0, 0, FakeLun{.block_size = 4096, .blocks = uint64_t{1} << 33});
  dev::ScsiDisk disk;
  ASSERT_TRUE(StartDisk(disk, 0, 0).is_ok()) << console;
  EXPECT_EQ(disk.disk().blocks, uint64_t{1} << 33);
  EXPECT_EQ(disk.disk().block_size, 4096u);
  fake.commands.clear();
  const uint64_t lba = (uint64_t{1} << 32) + 5;
  ASSERT_TRUE(disk.disk().Read(lba, 2, kBuffer).is_ok());
  ASSERT_EQ(fake.commands.size(), 1u);
  EXPECT_EQ(fake.commands[0].cdb[0], 0x88);
  EXPECT_EQ(Ram(kBuffer, 8192), Disk(lba * 4096, 8192));
}

TEST_F(ScsiTest, DiskRefusesCapacityZeroAndOddBlockSizes) {
  fake.bus.Add(0, 0, FakeLun{.blocks = 0});
  fake.bus.Add(0, 1, FakeLun{.block_size = 520});
  dev::ScsiDisk empty;
  EXPECT_EQ(StartDisk(empty, 0, 0).error(), ScsiError::kBadCapacity);
  EXPECT_NE(console.find("tern: scsi@test/disk@0: capacity of 0 bytes: not used\n"),
            std::string::npos);
  EXPECT_EQ(empty.disk().Read(0, 1, kBuffer).error(), IoError::kNotReady);
  dev::ScsiDisk odd;
  EXPECT_EQ(StartDisk(odd, 0, 1).error(), ScsiError::kBadBlockSize);
  EXPECT_NE(console.find("block size 520 is not a power of two from 512 to 16384: not used"),
            std::string::npos);
}

TEST_F(ScsiTest, CheckConditionOnAReadIsADeviceErrorWithTheSenseOnOneLine) {
  fake.bus.Add(0, 0, FakeLun{.bad_lba = 100});
  fake.bus.Add(0, 1, FakeLun{.descriptor_sense = true, .bad_lba = 7});
  dev::ScsiDisk disk;
  ASSERT_TRUE(StartDisk(disk, 0, 0).is_ok());
  EXPECT_EQ(disk.disk().Read(99, 4, kBuffer).error(), IoError::kDevice);
  EXPECT_NE(console.find("tern: scsi@test/disk@0: read of block 99: CHECK CONDITION, sense key 3 "
                         "(MEDIUM ERROR), ASC 11h ASCQ 00h\n"),
            std::string::npos)
      << console;
  dev::ScsiDisk descriptor;
  ASSERT_TRUE(StartDisk(descriptor, 0, 1).is_ok());
  console.clear();
  EXPECT_EQ(descriptor.disk().Read(7, 1, kBuffer).error(), IoError::kDevice);
  EXPECT_NE(console.find("read of block 7: CHECK CONDITION, sense key 3 (MEDIUM ERROR), ASC 11h"),
            std::string::npos)
      << console;
}

TEST_F(ScsiTest, ReadsRetryUnitAttentionAndBusyAFewTimes) {
  auto& lun = fake.bus.Add(0, 0);
  dev::ScsiDisk disk;
  ASSERT_TRUE(StartDisk(disk, 0, 0).is_ok());
  lun.unit_attentions = 1;
  lun.busy = 2;
  fake.commands.clear();
  ASSERT_TRUE(disk.disk().Read(1, 1, kBuffer).is_ok());
  EXPECT_EQ(fake.commands.size(), 4u);
  lun.busy = 100;
  EXPECT_EQ(disk.disk().Read(1, 1, kBuffer).error(), IoError::kDevice);
  EXPECT_NE(console.find("read of block 1: unexpected status, status 0x08"), std::string::npos)
      << console;
}

TEST_F(ScsiTest, TransportFailuresOnReadsKeepTheirIoError) {
  fake.bus.Add(0, 0);
  dev::ScsiDisk disk;
  ASSERT_TRUE(StartDisk(disk, 0, 0).is_ok());
  fake.fail = IoError::kBadResponse;
  EXPECT_EQ(disk.disk().Read(1, 1, kBuffer).error(), IoError::kBadResponse);
  fake.fail = IoError::kTimeout;
  EXPECT_EQ(disk.disk().Read(1, 1, kBuffer).error(), IoError::kTimeout);
  EXPECT_NE(console.find("read of block 1: no answer in time (device timeout)"), std::string::npos);
}

TEST_F(ScsiTest, DiskNeedsAnAdapterThatCarriesAtLeastOneBlock) {
  fake.bus.Add(0, 0, FakeLun{.block_size = 4096});
  dev::ScsiDisk disk;
  transport.max_transfer_bytes = 0;
  EXPECT_EQ(StartDisk(disk, 0, 0).error(), ScsiError::kBadArgument);
  EXPECT_NE(console.find("tern: scsi@test/disk@0: the adapter cannot carry reads: not used"),
            std::string::npos);
  transport.max_transfer_bytes = 2048;
  EXPECT_EQ(StartDisk(disk, 0, 0).error(), ScsiError::kBadArgument);
  EXPECT_NE(console.find("blocks of 4096 bytes, but the adapter carries 2048 bytes a command"),
            std::string::npos);
  EXPECT_EQ(disk.disk().Read(0, 1, kBuffer).error(), IoError::kNotReady);
  transport.max_transfer_bytes = 4096;  // one block a command
  ASSERT_TRUE(StartDisk(disk, 0, 0).is_ok());
  fake.commands.clear();
  ASSERT_TRUE(block::ReadBlocks(disk.disk(), 3, 3, kBuffer).is_ok());
  EXPECT_EQ(fake.commands.size(), 3u);
  EXPECT_EQ(Ram(kBuffer, 3 * 4096), Disk(3 * 4096, 3 * 4096));
}

TEST_F(ScsiTest, ScratchMemoryIsChecked) {
  fake.bus.Add(0, 0);
  dev::ScsiLun small(transport, memory, kScratch, 64, 0, 0);
  EXPECT_EQ(small.Inquiry().error(), ScsiError::kBadArgument);
  dev::ScsiLun outside(transport, memory, ram.size() - 16, kScratchBytes, 0, 0);
  EXPECT_EQ(outside.ReadCapacity().error(), ScsiError::kBadArgument);
  EXPECT_EQ(outside.ReportLuns().error(), ScsiError::kBadArgument);
  EXPECT_TRUE(fake.commands.empty());
}

}  // namespace
