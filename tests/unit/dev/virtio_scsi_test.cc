// dev/virtio-scsi against a fake virtio-scsi-pci host on tests/unit/dev/fake-pci's bus: bring-up,
// the request layout (LUN bytes, CDB, chain), INQUIRY and READ(10) on two LUNs, absent targets,
// CHECK CONDITION and sense data, every way a device can fail the adapter, the reset for the OS,
// and QEMU's boot-list unit addresses.
#include "dev/virtio-scsi.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

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
using dev::ScsiCommand;
using dev::ScsiResponse;
using dev::VirtioError;
using tests::FakeHypervisor;
using tests::FakePlatform;
using tests::FakeVirtioDevice;

constexpr uint64_t kTimebaseHz = 512000000;  // QEMU's pseries time base
constexpr uint64_t kRing = 0x1000;
constexpr uint64_t kBuffer = 0x10000;
constexpr uint32_t kBlock = 512;

// A virtio-scsi-pci host as QEMU makes it (hw/scsi/virtio-scsi.c; virtio 1.1 §5.6): queues 0
// (control), 1 (event) and 2 (the one request queue), of which only 2 may be set up here. Each
// request is decoded as QEMU does (virtio_scsi_parse_req, virtio_scsi_device_get) and served
// from the logical units in `units`: INQUIRY, READ(10) and TEST UNIT READY.
class FakeVirtioScsi : public FakeVirtioDevice {
 public:
  enum class Answer {
    kNormal,
    kNever,            // takes the request and never answers (the time base jumps by stall_ticks)
    kBadId,            // a used entry whose id is no descriptor of the chain
    kBadLength,        // a used entry claiming more bytes than the chain could take
    kTwoUsed,          // advances the used index by two for one request
    kNoResponse,       // completes without writing the response
    kResponse,         // answers `forced_response` with nothing else
    kSenseTooLong,     // CHECK CONDITION with sense_len = sense_size + 1
    kResidualTooLong,  // GOOD with a residual larger than the data-in buffer
  };
  struct Unit {
    uint8_t target = 0;
    uint16_t lun = 0;
    std::vector<uint8_t> image;
  };
  struct Request {
    std::array<uint8_t, 8> lun{};
    uint64_t tag = 0;
    std::vector<uint8_t> cdb;  // cdb_size bytes
    size_t descriptors = 0;
    uint32_t data_in = 0;
  };

  FakeVirtioScsi(lib::GuestMemory& ram, bool modern_only = false)
      : FakeVirtioDevice(ram, modern_only ? 0x1048 : 0x1004, modern_only ? 0x1100 : 8, 0x010000,
                         modern_only ? 1 : 0, !modern_only, 3, 2) {
    offered = kVersion1 | kHotplug | kChange;
    queue_max = 128;
  }

  static constexpr uint64_t kHotplug = uint64_t{1} << 1;
  static constexpr uint64_t kChange = uint64_t{1} << 2;

  // Knobs: struct virtio_scsi_config with QEMU's defaults.
  uint32_t num_queues = 1;
  uint32_t seg_max = 126;
  uint32_t max_sectors = 0xffff;
  uint32_t sense_size = 96;
  uint32_t cdb_size = 32;
  uint16_t max_target = 255;
  uint32_t max_lun = 16383;
  std::vector<Unit> units;
  Answer answer = Answer::kNormal;
  uint8_t forced_response = 0;
  bool incorrect_lun = false;  // an absent LUN of a present target: INCORRECT_LUN, not sense
  uint32_t extra_sense = 0;    // bytes of additional sense beyond the 18 of fixed format

  std::vector<Request> requests;

 protected:
  std::vector<uint8_t> DeviceConfig() override {
    std::vector<uint8_t> bytes(36);
    lib::StoreLe32(&bytes[0], num_queues);
    lib::StoreLe32(&bytes[4], seg_max);
    lib::StoreLe32(&bytes[8], max_sectors);
    lib::StoreLe32(&bytes[12], 128);  // cmd_per_lun
    lib::StoreLe32(&bytes[16], 16);   // event_info_size
    lib::StoreLe32(&bytes[20], sense_size);
    lib::StoreLe32(&bytes[24], cdb_size);
    lib::StoreLe16(&bytes[28], 0);  // max_channel
    lib::StoreLe16(&bytes[30], max_target);
    lib::StoreLe32(&bytes[32], max_lun);
    return bytes;
  }

  void Serve(uint16_t head, const std::vector<Descriptor>& chain) override {
    // virtio 1.1 §5.6.6: the request, then the response, then data-in.
    if (chain.size() < 2 || chain.size() > 3 || (chain[0].flags & 2) != 0 ||
        chain[0].length != 19 + cdb_size || (chain[1].flags & 2) == 0 ||
        chain[1].length != 12 + sense_size || (chain.size() == 3 && (chain[2].flags & 2) == 0)) {
      violations.push_back("not a request / response / data-in chain of the configured sizes");
      return;
    }
    const uint8_t* in = Ram(chain[0].address, chain[0].length);
    uint8_t* out = Ram(chain[1].address, chain[1].length);
    const uint32_t data_length = chain.size() == 3 ? chain[2].length : 0;
    uint8_t* data = chain.size() == 3 ? Ram(chain[2].address, data_length) : nullptr;
    Request request;
    std::memcpy(request.lun.data(), in, 8);
    request.tag = lib::LoadLe64(in + 8);
    request.cdb.assign(in + 19, in + 19 + cdb_size);
    request.descriptors = chain.size();
    request.data_in = data_length;
    requests.push_back(request);
    if (in[16] != 0 || in[17] != 0 || in[18] != 0) violations.push_back("not a SIMPLE task");
    const uint32_t written = chain[1].length + data_length;  // QEMU pushes both whole

    switch (answer) {
      case Answer::kNever: Stall(); return;
      case Answer::kBadId: Complete(head, written, UsedFault::kBadId); return;
      case Answer::kBadLength: Complete(head, written, UsedFault::kBadLength); return;
      case Answer::kTwoUsed: Complete(head, written, UsedFault::kTwoUsed); return;
      case Answer::kNoResponse: Complete(head, written, UsedFault::kNone); return;
      case Answer::kResponse:
        out[11] = forced_response;
        Complete(head, written, UsedFault::kNone);
        return;
      default: break;
    }

    // QEMU hw/scsi/virtio-scsi.c: virtio_scsi_device_get, virtio_scsi_get_lun.
    const uint8_t* lun = request.lun.data();
    if (lun[0] != 1 || (lun[2] & 0xc0) != 0x40 || lun[4] != 0 || lun[5] != 0 || lun[6] != 0 ||
        lun[7] != 0) {
      violations.push_back("a LUN field not of the form {1, target, 0x40 | lun >> 8, lun}");
    }
    const uint8_t target = lun[1];
    const uint16_t number = static_cast<uint16_t>(((lun[2] << 8) | lun[3]) & 0x3fff);
    const Unit* unit = nullptr;
    bool target_present = false;
    for (const Unit& u : units) {
      if (u.target != target) continue;
      target_present = true;
      if (u.lun == number) unit = &u;
    }
    if (!target_present || (unit == nullptr && incorrect_lun)) {
      out[11] = target_present ? 12 : 3;  // INCORRECT_LUN, BAD_TARGET
      Complete(head, written, UsedFault::kNone);
      return;
    }

    const uint8_t* cdb = request.cdb.data();
    uint32_t transfer = 0;
    std::vector<uint8_t> payload;
    uint8_t sense_key = 0, asc = 0;
    if (unit == nullptr) {
      sense_key = 5, asc = 0x25;  // ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED
    } else if (cdb[0] == 0x12) {  // INQUIRY
      transfer = static_cast<uint32_t>(cdb[3] << 8 | cdb[4]);
      payload.assign(36, 0);
      payload[2] = 5;   // SPC-3
      payload[3] = 2;   // response data format
      payload[4] = 31;  // additional length
      std::memcpy(&payload[8], "QEMU    QEMU HARDDISK   2.5+", 28);
      payload[36 - 1] = static_cast<uint8_t>(unit->lun);
    } else if (cdb[0] == 0x28) {  // READ(10)
      const uint32_t lba = lib::LoadBe32(cdb + 2);
      const uint32_t blocks = static_cast<uint32_t>(cdb[7] << 8 | cdb[8]);
      transfer = blocks * kBlock;
      if (uint64_t{lba} + blocks > unit->image.size() / kBlock) {
        sense_key = 5, asc = 0x21;  // LOGICAL BLOCK ADDRESS OUT OF RANGE
        transfer = 0;
      } else {
        payload.assign(unit->image.begin() + uint64_t{lba} * kBlock,
                       unit->image.begin() + uint64_t{lba} * kBlock + transfer);
      }
    } else if (cdb[0] != 0x00) {  // anything but TEST UNIT READY
      sense_key = 5, asc = 0x20;  // INVALID COMMAND OPERATION CODE
    }
    // QEMU: a transfer larger than the data-in buffer, or a buffer the command has no use for.
    if (transfer > data_length) {
      out[11] = 1;  // OVERRUN
      Complete(head, written, UsedFault::kNone);
      return;
    }
    const uint32_t copied = std::min<uint32_t>(transfer, static_cast<uint32_t>(payload.size()));
    if (copied > 0) std::memcpy(data, payload.data(), copied);
    uint32_t residual = data_length - copied;
    if (answer == Answer::kResidualTooLong) residual = data_length + 1;
    lib::StoreLe32(out + 4, residual);
    out[11] = 0;  // VIRTIO_SCSI_S_OK
    if (sense_key != 0 || answer == Answer::kSenseTooLong) {
      out[10] = 2;  // CHECK CONDITION
      std::vector<uint8_t> sense(18 + extra_sense, 0);
      sense[0] = 0x70;
      sense[2] = sense_key;
      sense[7] = static_cast<uint8_t>(10 + extra_sense);
      sense[12] = asc;
      for (uint32_t i = 18; i < sense.size(); ++i) sense[i] = static_cast<uint8_t>(i);
      const uint32_t length = std::min<uint32_t>(static_cast<uint32_t>(sense.size()), sense_size);
      std::memcpy(out + 12, sense.data(), length);
      lib::StoreLe32(out, answer == Answer::kSenseTooLong ? sense_size + 1 : length);
    }
    Complete(head, written, UsedFault::kNone);
  }
};

// Every block carries its LUN and number in its first bytes; block 0 ends in the MBR signature.
std::vector<uint8_t> Image(uint8_t tag, uint32_t blocks) {
  std::vector<uint8_t> image(blocks * kBlock);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>(i * 13 + tag);
  for (uint32_t block = 0; block < blocks; ++block) {
    image[block * kBlock] = tag;
    lib::StoreBe32(&image[block * kBlock + 4], block);
  }
  image[510] = 0x55;
  image[511] = 0xaa;
  return image;
}

ScsiCommand Inquiry(uint32_t target, uint32_t lun, uint16_t length) {
  ScsiCommand command;
  command.target = target;
  command.lun = lun;
  command.cdb[0] = 0x12;
  command.cdb[3] = static_cast<uint8_t>(length >> 8);
  command.cdb[4] = static_cast<uint8_t>(length);
  command.cdb_length = 6;
  command.data = kBuffer;
  command.data_length = length;
  return command;
}

ScsiCommand Read10(uint32_t target, uint32_t lun, uint32_t lba, uint16_t blocks) {
  ScsiCommand command;
  command.target = target;
  command.lun = lun;
  command.cdb[0] = 0x28;
  lib::StoreBe32(&command.cdb[2], lba);
  command.cdb[7] = static_cast<uint8_t>(blocks >> 8);
  command.cdb[8] = static_cast<uint8_t>(blocks);
  command.cdb_length = 10;
  command.data = kBuffer;
  command.data_length = blocks * kBlock;
  return command;
}

class VirtioScsiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tests::SetTimebase(1000);
    auto& phb0 = platform.AddQemuPhb(0);
    platform.AddQemuPhb(1);
    platform.Plug(phb0, 2, 0, scsi);
    platform.Plug(phb0, 3, 0, modern);
    scsi.units = {{0, 0, Image(0xa0, 64)}, {3, 2, Image(0xb2, 32)}};
    rtas = dev::FindRtasPciConfig(tree.data()).value();
  }
  void TearDown() override {
    EXPECT_TRUE(scsi.violations.empty()) << scsi.violations.front();
    EXPECT_TRUE(modern.violations.empty()) << modern.violations.front();
    EXPECT_EQ(platform.unclaimed_mmio, 0);
  }
  const dev::PciDevice& Scanned(uint8_t device) {
    dev::ScanPhbs(tree.data(), rtas.Access(), *bus);
    return Device(device);
  }
  const dev::PciDevice& Device(uint8_t device) {
    for (int i = 0; i < bus->device_count; ++i) {
      if (bus->devices[i].phb == 0 && bus->devices[i].device == device) return bus->devices[i];
    }
    ADD_FAILURE() << "device " << int{device} << " not found";
    return bus->devices[0];
  }
  // Scans once: a scan turns every function's decoding off, under a running driver too.
  lib::Result<void, VirtioError> Start(uint8_t device = 2) {
    const dev::PciDevice& pci = bus->device_count == 0 ? Scanned(device) : Device(device);
    return driver->Start(pci, memory, kRing, dev::kVirtioScsiRingBytes, kTimebaseHz);
  }
  lib::Result<ScsiResponse, IoError> Execute(const ScsiCommand& command) {
    const dev::ScsiTransport transport = driver->transport();
    return transport.execute(transport.adapter, command);
  }
  std::vector<uint8_t> Ram(uint64_t offset, uint64_t size) {
    return std::vector<uint8_t>(ram.begin() + offset, ram.begin() + offset + size);
  }
  std::vector<uint8_t> Bytes(const std::vector<uint8_t>& from, uint64_t offset, uint64_t size) {
    return std::vector<uint8_t>(from.begin() + offset, from.begin() + offset + size);
  }

  FakeHypervisor& hv = tests::FreshHypervisor();  // before the platform installs its handlers
  tests::ConsoleCapture capture;  // from construction: the console of the whole test
  std::string& console = capture.text;
  std::vector<uint8_t> tree = tests::LoadDtb("dev-pseries.dtb");
  std::vector<uint8_t> ram = std::vector<uint8_t>(4 << 20);
  lib::GuestMemory memory{reinterpret_cast<uintptr_t>(ram.data()), ram.size()};
  FakePlatform platform{hv};
  FakeVirtioScsi scsi{memory};
  FakeVirtioScsi modern{memory, true};
  dev::RtasPciConfig rtas;
  std::unique_ptr<dev::PciBus> bus = std::make_unique<dev::PciBus>();
  std::unique_ptr<dev::VirtioScsi> driver = std::make_unique<dev::VirtioScsi>();
};

TEST_F(VirtioScsiTest, BringsTheDeviceUpWithTheRequestQueueOnly) {
  ASSERT_TRUE(Start().is_ok()) << console;
  EXPECT_EQ(console, "");
  EXPECT_TRUE(driver->running());
  EXPECT_EQ(scsi.status, 0x0f);  // ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK
  EXPECT_EQ(scsi.resets, 1);
  EXPECT_EQ(scsi.driver_features, FakeVirtioScsi::kVersion1);  // no hotplug, no change events
  EXPECT_EQ(scsi.command() & 0x6, 0x6);                        // memory decoding and bus mastering
  // Queue 2 set up (queues 0 and 1 untouched: the fake counts any access to them a violation).
  EXPECT_TRUE(scsi.queue_enabled);
  EXPECT_EQ(scsi.queue_size, dev::SplitQueue::kMaxSize);
  EXPECT_EQ(scsi.queue_desc, kRing);
  EXPECT_LT(scsi.queue_device + 6 + 8 * scsi.queue_size, kRing + dev::kVirtioScsiRingBytes);
  EXPECT_EQ(driver->request_queues(), 1u);
  EXPECT_EQ(driver->cdb_size(), 32u);
  EXPECT_EQ(driver->sense_size(), 96u);
  EXPECT_EQ(driver->max_transfer_bytes(), 0xffffu * 512);
  // QEMU's max_target 255 and max_lun 16383, bounded.
  const dev::ScsiTransport transport = driver->transport();
  EXPECT_EQ(transport.adapter, driver.get());
  EXPECT_EQ(transport.max_target, dev::kVirtioScsiMaxTarget);
  EXPECT_EQ(transport.max_lun, dev::kVirtioScsiMaxLun);
  EXPECT_EQ(dev::kVirtioScsiMaxTarget, 31u);
  EXPECT_EQ(dev::kVirtioScsiMaxLun, 7u);
  // The modern-only device too.
  modern.units = scsi.units;
  dev::VirtioScsi second;
  ASSERT_TRUE(second.Start(Device(3), memory, 0x2000, 4096, kTimebaseHz).is_ok());
  EXPECT_EQ(modern.status, 0x0f);
  const dev::ScsiTransport second_transport = second.transport();
  auto answer = second_transport.execute(second_transport.adapter, Inquiry(0, 0, 36));
  ASSERT_TRUE(answer.is_ok());
  EXPECT_EQ(answer.value().status, 0);
}

TEST_F(VirtioScsiTest, SmallDeviceLimitsBoundTheTransport) {
  scsi.max_target = 2;
  scsi.max_lun = 0;
  ASSERT_TRUE(Start().is_ok());
  EXPECT_EQ(driver->transport().max_target, 2u);
  EXPECT_EQ(driver->transport().max_lun, 0u);
  EXPECT_EQ(Execute(Inquiry(3, 0, 36)).error(), IoError::kOutOfRange);
  EXPECT_EQ(Execute(Inquiry(0, 1, 36)).error(), IoError::kOutOfRange);
  EXPECT_TRUE(scsi.requests.empty());
}

TEST_F(VirtioScsiTest, InquiryAndReadOnTwoLogicalUnits) {
  ASSERT_TRUE(Start().is_ok());
  auto inquiry = Execute(Inquiry(0, 0, 36));
  ASSERT_TRUE(inquiry.is_ok());
  EXPECT_EQ(inquiry.value().status, 0);
  EXPECT_EQ(inquiry.value().residual, 0u);
  EXPECT_EQ(inquiry.value().sense_length, 0);
  EXPECT_FALSE(inquiry.value().no_such_target);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&ram[kBuffer + 8]), 16), "QEMU    QEMU HAR");
  ASSERT_EQ(scsi.requests.size(), 1u);
  EXPECT_EQ(scsi.requests[0].lun, (std::array<uint8_t, 8>{1, 0, 0x40, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Bytes(scsi.requests[0].cdb, 0, 6), (std::vector<uint8_t>{0x12, 0, 0, 0, 36, 0}));
  EXPECT_EQ(Bytes(scsi.requests[0].cdb, 6, 26), std::vector<uint8_t>(26, 0));  // padded
  EXPECT_EQ(scsi.requests[0].descriptors, 3u);
  EXPECT_EQ(scsi.requests[0].data_in, 36u);

  // A larger buffer than the target fills: the residual says how much was not.
  auto larger = Execute(Inquiry(3, 2, 96));
  ASSERT_TRUE(larger.is_ok());
  EXPECT_EQ(larger.value().residual, 60u);
  EXPECT_EQ(ram[kBuffer + 35], 2);  // LUN 2 answered
  EXPECT_EQ(scsi.requests[1].lun, (std::array<uint8_t, 8>{1, 3, 0x40, 2, 0, 0, 0, 0}));
  EXPECT_NE(scsi.requests[1].tag, scsi.requests[0].tag);

  // READ(10) of block 0 on each: the MBR signature at 510.
  auto read = Execute(Read10(0, 0, 0, 1));
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read.value().status, 0);
  EXPECT_EQ(read.value().residual, 0u);
  EXPECT_EQ(Ram(kBuffer, kBlock), Bytes(scsi.units[0].image, 0, kBlock));
  EXPECT_EQ(ram[kBuffer + 510], 0x55);
  EXPECT_EQ(ram[kBuffer + 511], 0xaa);
  EXPECT_EQ(Bytes(scsi.requests[2].cdb, 0, 10),
            (std::vector<uint8_t>{0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}));
  ASSERT_TRUE(Execute(Read10(3, 2, 5, 8)).is_ok());
  EXPECT_EQ(Ram(kBuffer, 8 * kBlock), Bytes(scsi.units[1].image, 5 * kBlock, 8 * kBlock));
  EXPECT_EQ(ram[kBuffer], 0xb2);
  EXPECT_EQ(Ram(kBuffer + 8 * kBlock, 4), std::vector<uint8_t>(4, 0));  // not one byte more

  // The ring wraps: more commands than entries.
  for (uint32_t i = 0; i < 40; ++i) ASSERT_TRUE(Execute(Read10(0, 0, i, 1)).is_ok());
  EXPECT_EQ(Ram(kBuffer, kBlock), Bytes(scsi.units[0].image, 39 * kBlock, kBlock));
}

TEST_F(VirtioScsiTest, ACommandWithoutDataHasNoDataDescriptor) {
  ASSERT_TRUE(Start().is_ok());
  ScsiCommand test_unit_ready;
  test_unit_ready.cdb_length = 6;
  auto answer = Execute(test_unit_ready);
  ASSERT_TRUE(answer.is_ok());
  EXPECT_EQ(answer.value().status, 0);
  ASSERT_EQ(scsi.requests.size(), 1u);
  EXPECT_EQ(scsi.requests[0].descriptors, 2u);
}

TEST_F(VirtioScsiTest, AbsentTargetsAreNoSuchTarget) {
  ASSERT_TRUE(Start().is_ok());
  auto absent = Execute(Inquiry(5, 0, 36));
  ASSERT_TRUE(absent.is_ok());
  EXPECT_TRUE(absent.value().no_such_target);
  EXPECT_EQ(scsi.requests.back().lun, (std::array<uint8_t, 8>{1, 5, 0x40, 0, 0, 0, 0, 0}));
  // A device that says INCORRECT_LUN for an absent LUN of a present target.
  scsi.incorrect_lun = true;
  auto lun = Execute(Inquiry(3, 1, 36));
  ASSERT_TRUE(lun.is_ok());
  EXPECT_TRUE(lun.value().no_such_target);
  EXPECT_EQ(console, "");  // scanning is quiet
  EXPECT_TRUE(driver->running());
}

TEST_F(VirtioScsiTest, CheckConditionCarriesTheSenseData) {
  ASSERT_TRUE(Start().is_ok());
  auto past_end = Execute(Read10(0, 0, 64, 1));  // the LUN has 64 blocks
  ASSERT_TRUE(past_end.is_ok());
  const ScsiResponse& response = past_end.value();
  EXPECT_EQ(response.status, 2);  // CHECK CONDITION
  EXPECT_FALSE(response.no_such_target);
  ASSERT_EQ(response.sense_length, 18);
  EXPECT_EQ(response.sense[0], 0x70);
  EXPECT_EQ(response.sense[2], 5);      // ILLEGAL REQUEST
  EXPECT_EQ(response.sense[12], 0x21);  // LOGICAL BLOCK ADDRESS OUT OF RANGE
  EXPECT_EQ(response.residual, kBlock);
  // An absent LUN of a present target, as QEMU answers it.
  auto absent_lun = Execute(Inquiry(3, 0, 36));
  ASSERT_TRUE(absent_lun.is_ok());
  EXPECT_EQ(absent_lun.value().status, 2);
  EXPECT_EQ(absent_lun.value().sense[12], 0x25);
  // Longer sense data: the first 32 bytes of it.
  scsi.extra_sense = 30;
  auto longer = Execute(Read10(0, 0, 64, 1));
  ASSERT_TRUE(longer.is_ok());
  EXPECT_EQ(longer.value().sense_length, 32);
  EXPECT_EQ(longer.value().sense[31], 31);
  // A device whose sense buffer is smaller than the sense data: what fits.
  scsi.sense_size = 8;
  ASSERT_TRUE(Start().is_ok());
  auto short_sense = Execute(Read10(0, 0, 64, 1));
  ASSERT_TRUE(short_sense.is_ok());
  EXPECT_EQ(short_sense.value().sense_length, 8);
  EXPECT_EQ(console, "");
}

TEST_F(VirtioScsiTest, ADeviceThatNeverAnswersTimesOutAndIsReset) {
  ASSERT_TRUE(Start().is_ok());
  scsi.answer = FakeVirtioScsi::Answer::kNever;
  scsi.stall_ticks = (dev::kVirtioScsiRequestSeconds + 1) * kTimebaseHz;
  EXPECT_EQ(Execute(Read10(0, 0, 3, 1)).error(), IoError::kTimeout);
  EXPECT_NE(console.find("tern: virtio-scsi /pci@800000020000000/scsi@2: target 0 LUN 0 command "
                         "0x28: device timeout; the device is reset"),
            std::string::npos)
      << console;
  EXPECT_EQ(scsi.status, 0);
  EXPECT_EQ(scsi.command() & 0x7, 0);  // no more DMA into the buffer
  EXPECT_FALSE(driver->running());
  EXPECT_EQ(Execute(Read10(0, 0, 3, 1)).error(), IoError::kNotReady);
}

TEST_F(VirtioScsiTest, MalformedUsedEntriesAreRefusedAndTheDeviceReset) {
  for (auto answer : {FakeVirtioScsi::Answer::kBadId, FakeVirtioScsi::Answer::kBadLength,
                      FakeVirtioScsi::Answer::kTwoUsed}) {
    ASSERT_TRUE(Start().is_ok());
    scsi.answer = answer;
    EXPECT_EQ(Execute(Inquiry(0, 0, 36)).error(), IoError::kBadResponse);
    EXPECT_NE(console.find("malformed used-ring entry; the device is reset"), std::string::npos)
        << console;
    EXPECT_EQ(scsi.status, 0);
    EXPECT_FALSE(driver->running());
    EXPECT_EQ(Execute(Inquiry(0, 0, 36)).error(), IoError::kNotReady);
    scsi.answer = FakeVirtioScsi::Answer::kNormal;
    console.clear();
  }
}

TEST_F(VirtioScsiTest, MalformedResponsesAreRefused) {
  ASSERT_TRUE(Start().is_ok());
  scsi.answer = FakeVirtioScsi::Answer::kSenseTooLong;
  EXPECT_EQ(Execute(Read10(0, 0, 64, 1)).error(), IoError::kBadResponse);
  EXPECT_NE(console.find("sense_len 97 (of 96)"), std::string::npos) << console;
  scsi.answer = FakeVirtioScsi::Answer::kResidualTooLong;
  EXPECT_EQ(Execute(Read10(0, 0, 0, 1)).error(), IoError::kBadResponse);
  EXPECT_NE(console.find("residual 513 (of 512) out of range"), std::string::npos) << console;
  scsi.answer = FakeVirtioScsi::Answer::kNoResponse;
  EXPECT_EQ(Execute(Read10(0, 0, 0, 1)).error(), IoError::kBadResponse);
  EXPECT_NE(console.find("no response written"), std::string::npos) << console;
  // The command completed: the device is still usable.
  EXPECT_TRUE(driver->running());
  scsi.answer = FakeVirtioScsi::Answer::kNormal;
  EXPECT_TRUE(Execute(Read10(0, 0, 0, 1)).is_ok());
}

TEST_F(VirtioScsiTest, OtherResponsesAreDeviceErrors) {
  ASSERT_TRUE(Start().is_ok());
  // A buffer smaller than the allocation length: QEMU answers OVERRUN.
  ScsiCommand overrun = Inquiry(0, 0, 96);
  overrun.data_length = 36;
  EXPECT_EQ(Execute(overrun).error(), IoError::kDevice);
  EXPECT_NE(console.find("target 0 LUN 0 command 0x12: response 1, OVERRUN"), std::string::npos)
      << console;
  scsi.answer = FakeVirtioScsi::Answer::kResponse;
  scsi.forced_response = 5;
  EXPECT_EQ(Execute(Inquiry(0, 0, 36)).error(), IoError::kDevice);
  EXPECT_NE(console.find("response 5, BUSY"), std::string::npos) << console;
  scsi.forced_response = 9;
  EXPECT_EQ(Execute(Inquiry(0, 0, 36)).error(), IoError::kDevice);
  EXPECT_NE(console.find("response 9, FAILURE"), std::string::npos) << console;
  scsi.forced_response = 200;
  EXPECT_EQ(Execute(Inquiry(0, 0, 36)).error(), IoError::kDevice);
  EXPECT_NE(console.find("response 200, an unknown response"), std::string::npos) << console;
  EXPECT_TRUE(driver->running());
}

TEST_F(VirtioScsiTest, RefusesCommandsItCannotCarry) {
  ScsiCommand inquiry = Inquiry(0, 0, 36);
  EXPECT_EQ(Execute(inquiry).error(), IoError::kNotReady);  // never started
  ASSERT_TRUE(Start().is_ok());
  EXPECT_EQ(Execute(Inquiry(32, 0, 36)).error(), IoError::kOutOfRange);
  EXPECT_EQ(Execute(Inquiry(0, 8, 36)).error(), IoError::kOutOfRange);
  inquiry.cdb_length = 0;
  EXPECT_EQ(Execute(inquiry).error(), IoError::kOutOfRange);
  inquiry.cdb_length = 17;
  EXPECT_EQ(Execute(inquiry).error(), IoError::kOutOfRange);
  ScsiCommand huge = Read10(0, 0, 0, 1);
  huge.data_length = driver->max_transfer_bytes() + 1;
  EXPECT_EQ(Execute(huge).error(), IoError::kOutOfRange);
  ScsiCommand outside = Read10(0, 0, 0, 1);
  outside.data = ram.size() - 256;
  EXPECT_EQ(Execute(outside).error(), IoError::kBadBuffer);
  outside.data = ~uint64_t{0} - 100;
  EXPECT_EQ(Execute(outside).error(), IoError::kBadBuffer);
  EXPECT_TRUE(scsi.requests.empty());
  EXPECT_TRUE(driver->running());
}

TEST_F(VirtioScsiTest, RefusesAnIommuPlatformDeviceByName) {
  modern.offered |= FakeVirtioScsi::kAccessPlatform;
  auto started = driver->Start(Scanned(3), memory, kRing, 4096, kTimebaseHz);
  ASSERT_TRUE(started.is_error());
  EXPECT_EQ(started.error(), VirtioError::kAccessPlatform);
  EXPECT_EQ(console,
            "tern: virtio-scsi /pci@800000020000000/scsi@3: the device offers "
            "VIRTIO_F_ACCESS_PLATFORM (iommu_platform=on), and tern does not map TCEs yet: not "
            "used\n");
  EXPECT_EQ(modern.status, 0);  // left reset
  EXPECT_EQ(modern.command() & 0x7, 0);
  EXPECT_FALSE(driver->running());
  EXPECT_EQ(Execute(Inquiry(0, 0, 36)).error(), IoError::kNotReady);
}

TEST_F(VirtioScsiTest, RefusesDevicesThatCannotNegotiate) {
  scsi.offered &= ~FakeVirtioScsi::kVersion1;
  EXPECT_EQ(Start().error(), VirtioError::kNoVersion1);
  EXPECT_NE(console.find("does not offer VIRTIO_F_VERSION_1: not used"), std::string::npos)
      << console;
  EXPECT_EQ(scsi.status, 0);
  scsi.offered |= FakeVirtioScsi::kVersion1;
  scsi.reject_features = true;
  EXPECT_EQ(Start().error(), VirtioError::kFeaturesRejected);
  EXPECT_EQ(scsi.command() & 0x7, 0);
}

TEST_F(VirtioScsiTest, RefusesConfigurationsOutOfRange) {
  struct Case {
    uint32_t FakeVirtioScsi::*field;
    uint32_t value;
  };
  for (Case bad : {Case{&FakeVirtioScsi::num_queues, 0}, Case{&FakeVirtioScsi::seg_max, 0},
                   Case{&FakeVirtioScsi::max_sectors, 0}, Case{&FakeVirtioScsi::cdb_size, 15},
                   Case{&FakeVirtioScsi::cdb_size, 256}, Case{&FakeVirtioScsi::sense_size, 256}}) {
    const uint32_t good = scsi.*bad.field;
    scsi.*bad.field = bad.value;
    EXPECT_EQ(Start().error(), VirtioError::kBadDeviceConfig);
    EXPECT_NE(console.find("tern needs at least 1, 1, 1, 16 to 255, at most 255"),
              std::string::npos)
        << console;
    EXPECT_EQ(scsi.status, 0);
    scsi.*bad.field = good;
    console.clear();
  }
  scsi.generation_changes = 1000;  // the configuration never holds still
  EXPECT_EQ(Start().error(), VirtioError::kBadDeviceConfig);
  scsi.generation_changes = 1;  // changed once: read again
  scsi.cdb_size = 255;          // the largest request and response still fit the ring memory
  scsi.sense_size = 255;
  ASSERT_TRUE(Start().is_ok());
  auto read = Execute(Read10(0, 0, 0, 1));
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(scsi.requests.back().cdb.size(), 255u);
  scsi.queue_max = 2;
  EXPECT_EQ(Start().error(), VirtioError::kBadQueue);
}

TEST_F(VirtioScsiTest, RefusesBadArgumentsAndOtherDevices) {
  const dev::PciDevice& pci = Scanned(2);
  EXPECT_EQ(driver->Start(pci, memory, kRing, 4096, 0).error(), VirtioError::kBadArgument);
  EXPECT_EQ(driver->Start(pci, memory, kRing + 8, 4096, kTimebaseHz).error(),
            VirtioError::kBadRingMemory);
  EXPECT_EQ(driver->Start(pci, memory, kRing, 1000, kTimebaseHz).error(),
            VirtioError::kBadRingMemory);
  EXPECT_EQ(driver->Start(pci, memory, ram.size() - 512, 1024, kTimebaseHz).error(),
            VirtioError::kBadRingMemory);
  EXPECT_EQ(scsi.command() & 0x7, 0);
  EXPECT_EQ(scsi.resets, 0);  // never touched
  EXPECT_TRUE(dev::IsVirtioScsi(pci));
  EXPECT_TRUE(dev::IsVirtioScsi(Scanned(3)));
  dev::PciDevice other = pci;
  other.device_id = 0x1001;  // virtio-blk
  EXPECT_FALSE(dev::IsVirtioScsi(other));
  EXPECT_EQ(driver->Start(other, memory, kRing, 4096, kTimebaseHz).error(),
            VirtioError::kNotVirtioScsi);
  other.device_id = 0x1048;
  other.vendor_id = 0x1234;
  EXPECT_FALSE(dev::IsVirtioScsi(other));
  EXPECT_STREQ(dev::VirtioErrorName(VirtioError::kNotVirtioScsi), "not a virtio SCSI host");
}

TEST_F(VirtioScsiTest, ResetForOsLeavesTheDeviceResetAndQuiet) {
  ASSERT_TRUE(Start().is_ok());
  ASSERT_TRUE(Execute(Read10(0, 0, 0, 1)).is_ok());
  ASSERT_TRUE(driver->ResetForOs().is_ok());
  EXPECT_EQ(scsi.status, 0);
  EXPECT_EQ(scsi.resets, 2);
  EXPECT_FALSE(scsi.queue_enabled);
  EXPECT_EQ(scsi.command() & 0x7, 0);  // no decoding, no bus mastering
  EXPECT_EQ(Execute(Read10(0, 0, 0, 1)).error(), IoError::kNotReady);
  // Twice, or on a driver that never started, is harmless.
  EXPECT_TRUE(driver->ResetForOs().is_ok());
  dev::VirtioScsi never;
  EXPECT_TRUE(never.ResetForOs().is_ok());
  // A reset that never completes is bounded, and bus mastering goes off all the same.
  ASSERT_TRUE(Start().is_ok());
  scsi.reset_sticks = true;
  scsi.ticks_per_status_read = kTimebaseHz / 4;
  EXPECT_EQ(driver->ResetForOs().error(), VirtioError::kResetTimeout);
  EXPECT_NE(console.find("tern: virtio-scsi /pci@800000020000000/scsi@2: reset: device did not "
                         "finish its reset"),
            std::string::npos)
      << console;
  EXPECT_EQ(scsi.command() & 0x7, 0);
}

TEST_F(VirtioScsiTest, UnitAddressesAreQemusBootListSpelling) {
  // From qemu,boot-list of QEMU 7.2 and 10.0: "/pci@800000020000000/scsi@2/disk@<this>".
  char out[32];
  ASSERT_TRUE(dev::VirtioScsiUnitAddress(0, 0, out, sizeof(out)));
  EXPECT_STREQ(out, "100000000000000");
  ASSERT_TRUE(dev::VirtioScsiUnitAddress(3, 2, out, sizeof(out)));
  EXPECT_STREQ(out, "103000200000000");
  ASSERT_TRUE(dev::VirtioScsiUnitAddress(10, 300, out, sizeof(out)));  // flat space: 0x4000
  EXPECT_STREQ(out, "10A412C00000000");
  ASSERT_TRUE(dev::VirtioScsiUnitAddress(255, 16383, out, sizeof(out)));
  EXPECT_STREQ(out, "1FF7FFF00000000");
  EXPECT_FALSE(dev::VirtioScsiUnitAddress(256, 0, out, sizeof(out)));
  EXPECT_FALSE(dev::VirtioScsiUnitAddress(0, 16384, out, sizeof(out)));
  EXPECT_TRUE(dev::VirtioScsiUnitAddress(0, 0, out, 16));  // 15 digits and the NUL
  EXPECT_FALSE(dev::VirtioScsiUnitAddress(0, 0, out, 15));
  // Through the transport, without a started device.
  const dev::ScsiTransport transport = driver->transport();
  ASSERT_TRUE(transport.unit_address(transport.adapter, 3, 2, out, sizeof(out)));
  EXPECT_STREQ(out, "103000200000000");
}

}  // namespace
