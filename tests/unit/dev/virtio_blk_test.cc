// dev/virtio-pci and dev/virtio-blk against tests/unit/dev/fake-pci's virtio-blk device: bring-up,
// reads, every way a device can fail the driver, the reset for the OS.
#include "dev/virtio-blk.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "block/deblocker.h"
#include "dev/pci.h"
#include "lib/be.h"
#include "lib/console.h"
#include "tests/console-capture.h"
#include "tests/fake-hv.h"
#include "tests/host-cpu.h"
#include "tests/test-data.h"
#include "tests/unit/dev/fake-pci.h"

namespace {

using block::IoError;
using dev::VirtioError;
using tests::FakeFunction;
using tests::FakeHypervisor;
using tests::FakePlatform;
using tests::FakeVirtioBlk;
using Completion = FakeVirtioBlk::Completion;

constexpr uint64_t kTimebaseHz = 512000000;  // QEMU's pseries time base
constexpr uint64_t kRing = 0x1000;
constexpr uint64_t kBuffer = 0x10000;
constexpr uint64_t kDiskBytes = 1 << 20;

// Every 512-byte sector carries its number in its first 8 bytes and a pattern after.
std::vector<uint8_t> DiskImage() {
  std::vector<uint8_t> disk(kDiskBytes);
  for (uint64_t i = 0; i < disk.size(); ++i) disk[i] = static_cast<uint8_t>(i * 7 + i / 512);
  for (uint64_t sector = 0; sector < disk.size() / 512; ++sector) {
    lib::StoreLe64(&disk[sector * 512], sector);
  }
  return disk;
}

class VirtioBlkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tests::SetTimebase(1000);
    auto& phb0 = platform.AddQemuPhb(0);
    platform.AddQemuPhb(1);
    platform.Plug(phb0, 2, 0, blk);
    platform.Plug(phb0, 3, 0, modern);
    platform.Plug(phb0, 0, 0, vga);
    vga.SetBar(0, 0x1000, 0);
    rtas = dev::FindRtasPciConfig(tree.data()).value();
  }
  void TearDown() override {
    EXPECT_TRUE(blk.violations.empty()) << blk.violations.front();
    EXPECT_TRUE(modern.violations.empty()) << modern.violations.front();
    EXPECT_EQ(platform.unclaimed_mmio, 0);
  }
  const dev::PciDevice& Scanned(uint8_t device) {
    dev::ScanPhbs(tree.data(), rtas.Access(), *bus);
    return Device(device);
  }
  // Device `device` of PHB 0, as the last scan found it.
  const dev::PciDevice& Device(uint8_t device) {
    for (int i = 0; i < bus->device_count; ++i) {
      if (bus->devices[i].phb == 0 && bus->devices[i].device == device) return bus->devices[i];
    }
    ADD_FAILURE() << "device " << int{device} << " not found";
    return bus->devices[0];
  }
  lib::Result<void, VirtioError> Start(uint8_t device = 2) {
    return driver->Start(Scanned(device), memory, kRing, dev::kVirtioBlkRingBytes, kTimebaseHz);
  }
  std::vector<uint8_t> Disk(uint64_t offset, uint64_t size) {
    return std::vector<uint8_t>(blk.disk.begin() + offset, blk.disk.begin() + offset + size);
  }
  std::vector<uint8_t> Ram(uint64_t offset, uint64_t size) {
    return std::vector<uint8_t>(ram.begin() + offset, ram.begin() + offset + size);
  }

  FakeHypervisor& hv = tests::FreshHypervisor();  // before the platform installs its handlers
  tests::ConsoleCapture capture;  // from construction: the console of the whole test
  std::string& console = capture.text;
  std::vector<uint8_t> tree = tests::LoadDtb("dev-pseries.dtb");
  std::vector<uint8_t> ram = std::vector<uint8_t>(4 << 20);
  lib::GuestMemory memory{reinterpret_cast<uintptr_t>(ram.data()), ram.size()};
  FakePlatform platform{hv};
  FakeVirtioBlk blk{memory, DiskImage()};
  FakeVirtioBlk modern{memory, DiskImage(), true};
  FakeFunction vga{0x1234, 0x1111, 0x030000, 2};
  dev::RtasPciConfig rtas;
  std::unique_ptr<dev::PciBus> bus = std::make_unique<dev::PciBus>();
  std::unique_ptr<dev::VirtioBlk> driver = std::make_unique<dev::VirtioBlk>();
};

TEST_F(VirtioBlkTest, BringsTheDeviceUpTheWayTheSpecSays) {
  ASSERT_TRUE(Start().is_ok()) << console;
  EXPECT_EQ(console, "");
  EXPECT_TRUE(driver->running());
  EXPECT_EQ(blk.status, 0x0f);  // ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK
  EXPECT_EQ(blk.resets, 1);
  EXPECT_EQ(blk.driver_features, FakeVirtioBlk::kVersion1 | FakeVirtioBlk::kBlkSize);
  EXPECT_EQ(blk.command() & 0x6, 0x6);  // memory decoding and bus mastering
  EXPECT_TRUE(blk.queue_enabled);
  EXPECT_EQ(blk.queue_size, dev::SplitQueue::kMaxSize);
  EXPECT_EQ(blk.queue_desc, kRing);
  EXPECT_GT(blk.queue_driver, kRing);
  EXPECT_LT(blk.queue_device + 6 + 8 * blk.queue_size, kRing + dev::kVirtioBlkRingBytes);
  const block::Device& disk = driver->disk();
  EXPECT_EQ(disk.block_size, 512u);
  EXPECT_EQ(disk.blocks, kDiskBytes / 512);
  // The modern-only device too; and nothing else on the bus was touched.
  dev::VirtioBlk second;
  ASSERT_TRUE(second.Start(Device(3), memory, 0x2000, 4096, kTimebaseHz).is_ok());
  EXPECT_EQ(modern.status, 0x0f);
  EXPECT_EQ(vga.command() & 0x7, 0);
}

TEST_F(VirtioBlkTest, ReadsOneBlock) {
  ASSERT_TRUE(Start().is_ok());
  ASSERT_TRUE(driver->disk().Read(5, 1, kBuffer).is_ok());
  EXPECT_EQ(Ram(kBuffer, 512), Disk(5 * 512, 512));
  EXPECT_EQ(blk.sectors, std::vector<uint64_t>{5});
  EXPECT_EQ(blk.lengths, std::vector<uint32_t>{512});
  EXPECT_EQ(Ram(kBuffer + 512, 4), std::vector<uint8_t>(4, 0));  // not one byte more
}

TEST_F(VirtioBlkTest, SplitsALongReadIntoRequestsTheDataLimitAllows) {
  ASSERT_TRUE(Start().is_ok());
  const uint32_t count = 300;  // 150 KiB: 64 + 64 + 22 KiB
  ASSERT_TRUE(block::ReadBlocks(driver->disk(), 7, count, kBuffer).is_ok());
  EXPECT_EQ(Ram(kBuffer, count * 512), Disk(7 * 512, count * 512));
  EXPECT_EQ(blk.sectors, (std::vector<uint64_t>{7, 7 + 128, 7 + 256}));
  EXPECT_EQ(blk.lengths, (std::vector<uint32_t>{65536, 65536, 44 * 512}));
  // The ring wraps: more requests than entries.
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(driver->disk().Read(i, 1, kBuffer).is_ok());
  EXPECT_EQ(Ram(kBuffer, 512), Disk(39 * 512, 512));
  // A read of nothing asks the device nothing.
  const size_t requests = blk.sectors.size();
  ASSERT_TRUE(driver->disk().Read(0, 0, kBuffer).is_ok());
  EXPECT_EQ(blk.sectors.size(), requests);
}

TEST_F(VirtioBlkTest, UsesTheDevicesBlockSize) {
  blk.blk_size = 4096;
  ASSERT_TRUE(Start().is_ok());
  EXPECT_EQ(driver->disk().block_size, 4096u);
  EXPECT_EQ(driver->disk().blocks, kDiskBytes / 4096);
  ASSERT_TRUE(driver->disk().Read(3, 2, kBuffer).is_ok());
  EXPECT_EQ(blk.sectors, std::vector<uint64_t>{24});  // LBA 3 of 4 KiB is sector 24
  EXPECT_EQ(Ram(kBuffer, 8192), Disk(3 * 4096, 8192));
}

TEST_F(VirtioBlkTest, WithoutBlkSizeTheBlockIs512Bytes) {
  blk.offered &= ~FakeVirtioBlk::kBlkSize;
  blk.blk_size = 4096;  // not valid unless the feature is
  ASSERT_TRUE(Start().is_ok());
  EXPECT_EQ(blk.driver_features, FakeVirtioBlk::kVersion1);
  EXPECT_EQ(driver->disk().block_size, 512u);
}

TEST_F(VirtioBlkTest, RefusesReadsPastTheEndAndBuffersOutsideRam) {
  ASSERT_TRUE(Start().is_ok());
  const block::Device& disk = driver->disk();
  EXPECT_EQ(disk.Read(disk.blocks - 1, 2, kBuffer).error(), IoError::kOutOfRange);
  EXPECT_EQ(disk.Read(disk.blocks, 1, kBuffer).error(), IoError::kOutOfRange);
  // The driver checks too, for callers that do not go through BlockDevice::Read.
  EXPECT_EQ(disk.read(disk.driver, disk.blocks, 1, kBuffer).error(), IoError::kOutOfRange);
  EXPECT_EQ(disk.read(disk.driver, ~uint64_t{0}, 2, kBuffer).error(), IoError::kOutOfRange);
  EXPECT_EQ(disk.Read(0, 1, ram.size() - 256).error(), IoError::kBadBuffer);
  EXPECT_EQ(disk.Read(0, 1, ~uint64_t{0} - 100).error(), IoError::kBadBuffer);
  EXPECT_TRUE(blk.sectors.empty());
  ASSERT_TRUE(disk.Read(disk.blocks - 1, 1, kBuffer).is_ok());
  EXPECT_EQ(Ram(kBuffer, 512), Disk(kDiskBytes - 512, 512));
}

TEST_F(VirtioBlkTest, ADeviceErrorFailsTheReadAndTheDiskStaysUsable) {
  ASSERT_TRUE(Start().is_ok());
  blk.completion = Completion::kIoError;
  EXPECT_EQ(driver->disk().Read(9, 1, kBuffer).error(), IoError::kDevice);
  EXPECT_NE(console.find("tern: virtio-blk /pci@800000020000000/scsi@2: read of sector 9: I/O "
                         "error"),
            std::string::npos)
      << console;
  blk.completion = Completion::kUnsupported;
  EXPECT_EQ(driver->disk().Read(9, 1, kBuffer).error(), IoError::kDevice);
  EXPECT_NE(console.find("unsupported"), std::string::npos);
  blk.completion = Completion::kNormal;
  ASSERT_TRUE(driver->disk().Read(9, 1, kBuffer).is_ok());
  EXPECT_EQ(Ram(kBuffer, 512), Disk(9 * 512, 512));
}

TEST_F(VirtioBlkTest, ADeviceThatNeverAnswersTimesOutAndIsReset) {
  ASSERT_TRUE(Start().is_ok());
  blk.completion = Completion::kNever;
  blk.stall_ticks = (dev::kVirtioBlkRequestSeconds + 1) * kTimebaseHz;
  EXPECT_EQ(driver->disk().Read(3, 1, kBuffer).error(), IoError::kTimeout);
  EXPECT_NE(console.find("read of sector 3: device timeout; the device is reset"),
            std::string::npos)
      << console;
  EXPECT_EQ(blk.status, 0);
  EXPECT_EQ(blk.command() & 0x7, 0);  // no more DMA into the buffer
  EXPECT_FALSE(driver->running());
  EXPECT_EQ(driver->disk().Read(3, 1, kBuffer).error(), IoError::kNotReady);
}

TEST_F(VirtioBlkTest, MalformedUsedEntriesAreRefusedAndTheDeviceReset) {
  for (Completion completion : {Completion::kBadId, Completion::kBadLength, Completion::kTwoUsed}) {
    ASSERT_TRUE(Start().is_ok());
    blk.completion = completion;
    EXPECT_EQ(driver->disk().Read(2, 1, kBuffer).error(), IoError::kBadResponse);
    EXPECT_NE(console.find("malformed used-ring entry; the device is reset"), std::string::npos)
        << console;
    EXPECT_EQ(blk.status, 0);
    EXPECT_FALSE(driver->running());
    blk.completion = Completion::kNormal;
    console.clear();
  }
}

TEST_F(VirtioBlkTest, AnUnwrittenStatusByteIsAMalformedAnswer) {
  ASSERT_TRUE(Start().is_ok());
  blk.completion = Completion::kNoStatus;
  EXPECT_EQ(driver->disk().Read(2, 1, kBuffer).error(), IoError::kBadResponse);
  EXPECT_NE(console.find("status byte 0xff"), std::string::npos) << console;
}

TEST_F(VirtioBlkTest, RefusesAnIommuPlatformDeviceByName) {
  modern.offered |= FakeVirtioBlk::kAccessPlatform;
  auto started = driver->Start(Scanned(3), memory, kRing, 4096, kTimebaseHz);
  ASSERT_TRUE(started.is_error());
  EXPECT_EQ(started.error(), VirtioError::kAccessPlatform);
  EXPECT_EQ(console,
            "tern: virtio-blk /pci@800000020000000/scsi@3: the device offers "
            "VIRTIO_F_ACCESS_PLATFORM (iommu_platform=on), and tern does not map TCEs yet: not "
            "used\n");
  EXPECT_EQ(modern.status, 0);  // left reset
  EXPECT_EQ(modern.command() & 0x7, 0);
  EXPECT_FALSE(driver->running());
  EXPECT_EQ(driver->disk().Read(0, 1, kBuffer).error(), IoError::kNotReady);
}

TEST_F(VirtioBlkTest, RefusesDevicesThatCannotNegotiate) {
  blk.offered &= ~FakeVirtioBlk::kVersion1;
  EXPECT_EQ(Start().error(), VirtioError::kNoVersion1);
  EXPECT_NE(console.find("does not offer VIRTIO_F_VERSION_1: not used"), std::string::npos)
      << console;
  EXPECT_EQ(blk.status, 0);
  blk.offered |= FakeVirtioBlk::kVersion1;
  blk.reject_features = true;
  EXPECT_EQ(Start().error(), VirtioError::kFeaturesRejected);
  EXPECT_EQ(blk.command() & 0x7, 0);
}

TEST_F(VirtioBlkTest, ResetForOsLeavesTheDeviceResetAndQuiet) {
  ASSERT_TRUE(Start().is_ok());
  ASSERT_TRUE(driver->disk().Read(0, 1, kBuffer).is_ok());
  ASSERT_TRUE(driver->ResetForOs().is_ok());
  EXPECT_EQ(blk.status, 0);
  EXPECT_EQ(blk.resets, 2);
  EXPECT_FALSE(blk.queue_enabled);
  EXPECT_EQ(blk.command() & 0x7, 0);  // no decoding, no bus mastering
  EXPECT_EQ(driver->disk().Read(0, 1, kBuffer).error(), IoError::kNotReady);
  // Twice, or on a driver that never started, is harmless.
  EXPECT_TRUE(driver->ResetForOs().is_ok());
  dev::VirtioBlk never;
  EXPECT_TRUE(never.ResetForOs().is_ok());
}

TEST_F(VirtioBlkTest, AResetThatNeverCompletesIsBounded) {
  ASSERT_TRUE(Start().is_ok());
  blk.reset_sticks = true;
  blk.ticks_per_status_read = kTimebaseHz / 4;
  EXPECT_EQ(driver->ResetForOs().error(), VirtioError::kResetTimeout);
  EXPECT_NE(console.find("reset: device did not finish its reset"), std::string::npos) << console;
  EXPECT_EQ(blk.command() & 0x7, 0);  // mastering off all the same
  // At start, the same device is refused.
  EXPECT_EQ(Start().error(), VirtioError::kResetTimeout);
}

TEST_F(VirtioBlkTest, RefusesBadArgumentsAndOtherDevices) {
  const dev::PciDevice& pci = Scanned(2);
  EXPECT_EQ(driver->Start(pci, memory, kRing, 4096, 0).error(), VirtioError::kBadArgument);
  EXPECT_EQ(driver->Start(pci, memory, kRing + 8, 4096, kTimebaseHz).error(),
            VirtioError::kBadRingMemory);
  EXPECT_EQ(driver->Start(pci, memory, kRing, 512, kTimebaseHz).error(),
            VirtioError::kBadRingMemory);
  EXPECT_EQ(driver->Start(pci, memory, ram.size() - 512, 1024, kTimebaseHz).error(),
            VirtioError::kBadRingMemory);
  EXPECT_EQ(blk.command() & 0x7, 0);
  EXPECT_EQ(blk.resets, 0);  // never touched
  dev::PciDevice other = pci;
  other.device_id = 0x1000;  // virtio-net
  EXPECT_FALSE(dev::IsVirtioBlk(other));
  ASSERT_TRUE(dev::EnableDevice(pci).is_ok());
  EXPECT_EQ(driver->Start(other, memory, kRing, 4096, kTimebaseHz).error(),
            VirtioError::kNotVirtioBlk);
  EXPECT_TRUE(driver->ResetForOs().is_ok());
  EXPECT_EQ(blk.command() & 0x7, 0x7);  // a device the driver refused is not the driver's to touch
  EXPECT_STREQ(dev::VirtioErrorName(VirtioError::kNotVirtioBlk), "not a virtio block device");
}

TEST_F(VirtioBlkTest, RefusesQueuesAndConfigurationsOutOfRange) {
  blk.queue_max = 2;
  EXPECT_EQ(Start().error(), VirtioError::kBadQueue);
  blk.queue_max = 256;
  blk.notify_off = 0x400;  // * 4 is past the 4 KiB notify structure
  EXPECT_EQ(Start().error(), VirtioError::kBadQueue);
  blk.notify_off = 0;
  blk.blk_size = 1000;
  EXPECT_EQ(Start().error(), VirtioError::kBadDeviceConfig);
  EXPECT_NE(console.find("blk_size 1000 is not a power of two"), std::string::npos) << console;
  blk.blk_size = 32768;
  EXPECT_EQ(Start().error(), VirtioError::kBadDeviceConfig);
  blk.blk_size = 512;
  blk.generation_changes = 1000;  // the configuration never holds still
  EXPECT_EQ(Start().error(), VirtioError::kBadDeviceConfig);
  blk.generation_changes = 1;  // changed once: read again
  ASSERT_TRUE(Start().is_ok());
  EXPECT_EQ(blk.status, 0x0f);
}

// The geometry rule (block::CheckGeometry), issue 26: a capacity whose size in bytes wraps 64
// bits, and one smaller than a block, are refused at start with a line saying so; the largest
// capacity that fits is taken, and a read at its end gets the device's answer.
TEST_F(VirtioBlkTest, RefusesACapacityWhoseBytesWrapOrThatHoldsNoBlock) {
  blk.capacity_sectors = uint64_t{1} << 55;  // 2^64 bytes
  EXPECT_EQ(Start().error(), VirtioError::kBadDeviceConfig);
  EXPECT_NE(console.find("capacity of 36028797018963968 sectors in blocks of 512 bytes: size in "
                         "bytes does not fit 64 bits"),
            std::string::npos)
      << console;
  EXPECT_EQ(blk.status, 0);  // left reset
  EXPECT_EQ(blk.command() & 0x7, 0);
  blk.blk_size = 4096;
  blk.capacity_sectors = 7;  // less than one 4 KiB block
  EXPECT_EQ(Start().error(), VirtioError::kBadDeviceConfig);
  EXPECT_NE(console.find("capacity of 7 sectors in blocks of 4096 bytes: capacity of less than "
                         "one block"),
            std::string::npos)
      << console;
  EXPECT_FALSE(driver->running());
  blk.blk_size = 512;
  blk.capacity_sectors = (uint64_t{1} << 55) - 1;
  ASSERT_TRUE(Start().is_ok()) << console;
  const block::Device& disk = driver->disk();
  EXPECT_EQ(disk.blocks, (uint64_t{1} << 55) - 1);
  EXPECT_EQ(disk.Read(disk.blocks - 1, 1, kBuffer).error(), IoError::kDevice);  // past the image
  EXPECT_EQ(blk.sectors, std::vector<uint64_t>{(uint64_t{1} << 55) - 2});
}

// A disk of no bytes at all is not started (it would take a driver instance for nothing).
TEST_F(VirtioBlkTest, AnEmptyDiskIsNotStarted) {
  FakeVirtioBlk empty{memory, std::vector<uint8_t>()};
  platform.Plug(*platform.phbs.front(), 5, 0, empty);
  EXPECT_EQ(Start(5).error(), VirtioError::kBadDeviceConfig);
  EXPECT_NE(console.find("capacity of 0 sectors"), std::string::npos) << console;
  EXPECT_EQ(empty.status, 0);
}

TEST_F(VirtioBlkTest, FindsTheStructuresThroughTheCapabilityList) {
  const dev::PciDevice& pci = Scanned(2);
  auto transport = dev::FindVirtioPciTransport(pci);
  ASSERT_TRUE(transport.is_ok());
  const uint64_t bar4 = pci.bars[4].cpu_address;
  EXPECT_EQ(transport.value().common.address, bar4);
  EXPECT_EQ(transport.value().isr.address, bar4 + 0x1000);
  EXPECT_EQ(transport.value().device.address, bar4 + 0x2000);
  EXPECT_EQ(transport.value().notify.address, bar4 + 0x3000);
  EXPECT_EQ(transport.value().notify.length, 0x1000u);
  EXPECT_EQ(transport.value().notify_off_multiplier, 4u);
}

TEST_F(VirtioBlkTest, RefusesBrokenCapabilityLists) {
  blk.config[0x95] = 0x40;  // the last capability points back to the first: a loop
  EXPECT_EQ(Start().error(), VirtioError::kBadCapability);
  blk.config[0x95] = 0x20;  // into the header
  EXPECT_EQ(Start().error(), VirtioError::kBadCapability);
  blk.config[0x95] = 0;
  blk.config[0x54] = 5;  // the common structure in a BAR that does not exist
  EXPECT_EQ(Start().error(), VirtioError::kNoModernInterface);
  blk.config[0x54] = 0;  // in the I/O BAR
  EXPECT_EQ(Start().error(), VirtioError::kNoModernInterface);
  blk.config[0x54] = 4;
  lib::StoreLe32(&blk.config[0x58], 0x3ff0);  // running past the end of BAR 4
  EXPECT_EQ(Start().error(), VirtioError::kNoModernInterface);
  lib::StoreLe32(&blk.config[0x58], 0);
  blk.config[0x06] &= ~0x10;  // no capability list at all: a legacy-only device
  EXPECT_EQ(Start().error(), VirtioError::kNoModernInterface);
  blk.config[0x06] |= 0x10;
  ASSERT_TRUE(Start().is_ok());
}

TEST_F(VirtioBlkTest, AFailingHcallIsAnError) {
  ASSERT_TRUE(Start().is_ok());
  const dev::PciDevice& pci = Device(2);
  hv.overrides[lib::hv::H_LOGICAL_CI_LOAD] = [](const FakeHypervisor::Call&) {
    return lib::hv::HcallReturn{lib::hv::HcallStatus::kFunction, {}};
  };
  dev::VirtioBlk second;
  EXPECT_EQ(second.Start(pci, memory, 0x3000, 4096, kTimebaseHz).error(), VirtioError::kMmio);
}

}  // namespace
