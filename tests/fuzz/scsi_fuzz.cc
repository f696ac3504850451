// The SCSI layer (dev/scsi.cc) against a target that answers anything: every command the scan,
// the disk bring-up and the reads send gets the next answer from the input (status, sense data,
// data-in bytes, residual), or a transport error. Through ScanScsi (REPORT LUNS, INQUIRY, TEST
// UNIT READY, READ CAPACITY), ScsiDisk::Start and reads of the disks it found. Data-in lands
// only in the buffer the command names (a transport checks that); what tern then reads of it is
// up to the layer. The time base moves with every read of it, so waits end.
//
// Input: max target (1 byte, 0-3), max LUN (1 byte, 0-7), scratch size (2 bytes, at least the
// layer's minimum), then one answer per command: a kind byte (0-3 GOOD, 4 CHECK CONDITION, 5 BUSY,
// 6 transport error, 7 no such target, others: the byte is the status), the data-in length
// (2 bytes) and bytes, the residual (4 bytes), the sense length (1 byte) and bytes. An exhausted
// input answers GOOD with nothing transferred.
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dev/scsi-transport.h"
#include "dev/scsi.h"
#include "lib/be.h"
#include "lib/guest-memory.h"
#include "tests/fake-hv.h"
#include "tests/fuzz/fuzz-support.h"
#include "tests/host-cpu.h"

namespace {

constexpr uint64_t kRamSize = 1u << 20;
constexpr uint64_t kScratch = 0x10000;
constexpr uint64_t kBuffer = 0x40000;
constexpr uint64_t kTimebaseHz = 512000000;
constexpr int kMaxCommands = 512;  // a scan of 4 targets x 8 LUNs stays far below

struct Target {
  fuzz::Input* input;
  lib::GuestMemory* memory;
  int commands = 0;
};

lib::Result<dev::ScsiResponse, block::IoError> Execute(void* adapter,
                                                       const dev::ScsiCommand& command) {
  auto& target = *static_cast<Target*>(adapter);
  if (++target.commands > kMaxCommands) fuzz::Violation("the SCSI layer does not stop sending");
  if (command.data_length > 0 && !target.memory->Contains(command.data, command.data_length)) {
    return lib::Err(block::IoError::kBadBuffer);  // what a transport answers
  }
  fuzz::Input& in = *target.input;
  dev::ScsiResponse response;
  if (in.empty()) {
    response.residual = command.data_length;
    return response;
  }
  const uint8_t kind = in.U8();
  if (kind == 6) return lib::Err(block::IoError::kTimeout);
  constexpr uint8_t kStatus[] = {0x00, 0x00, 0x00, 0x00, 0x02, 0x08};
  response.status = kind < 6 ? kStatus[kind] : kind;
  response.no_such_target = kind == 7;
  const std::vector<uint8_t> data = in.Bytes(in.U16());
  const size_t copied = std::min<size_t>(data.size(), command.data_length);
  if (copied > 0 && target.memory->Write(command.data, data.data(), copied).is_error()) {
    fuzz::Violation("data-in buffer outside RAM");
  }
  response.residual = in.U32();
  const std::vector<uint8_t> sense = in.Bytes(in.U8());
  response.sense_length = static_cast<uint8_t>(std::min<size_t>(sense.size(), 32));
  std::copy(sense.begin(), sense.begin() + response.sense_length, response.sense);
  return response;
}

uint8_t* Ram() {
  static uint8_t* ram = new uint8_t[kRamSize];
  return ram;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tests::FakeHypervisor::Get().Reset();
  tests::SetTimebase(0);
  tests::SetTimebaseStep(kTimebaseHz / 100);  // 10 ms per read: a 10 s wait is 1000 polls
  std::memset(Ram(), 0, kRamSize);
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(Ram()), kRamSize);
  fuzz::Input input(data, size);
  Target target{&input, &memory};
  dev::ScsiTransport transport;
  transport.execute = Execute;
  transport.adapter = &target;
  transport.max_target = input.U8() % 4;
  transport.max_lun = input.U8() % 8;
  transport.max_transfer_bytes = 64 * 1024;
  const uint32_t scratch_bytes =
      dev::kScsiMinScratchBytes + input.U16() % (64 * 1024 - dev::kScsiMinScratchBytes);

  static dev::ScsiScan scan;
  dev::ScanScsi(transport, memory, kScratch, scratch_bytes, kTimebaseHz, "fuzz", scan);
  if (scan.count < 0 || scan.count > dev::kScsiMaxUnits) fuzz::Violation("unit count");
  for (int i = 0; i < scan.count; ++i) {
    const dev::ScsiUnit& unit = scan.units[i];
    if (unit.device_type != 0x00 || !unit.ready) continue;
    dev::ScsiDisk disk;
    if (disk.Start(transport, memory, kScratch, scratch_bytes, unit.target, unit.lun, kTimebaseHz,
                   "fuzz-disk")
            .is_error()) {
      continue;
    }
    const block::Device& device = disk.disk();
    if (block::CheckGeometry(device.block_size, device.blocks).is_error()) {
      fuzz::Violation("a started disk has an unusable geometry");
    }
    const uint32_t blocks = static_cast<uint32_t>(std::min<uint64_t>(device.blocks, 4));
    if (uint64_t{blocks} * device.block_size <= kRamSize - kBuffer) {
      (void)device.Read(0, blocks, kBuffer);
      (void)device.Read(device.blocks - 1, 1, kBuffer);
    }
  }
  return 0;
}

namespace {

struct Answers {
  std::vector<uint8_t> bytes;
  void Good(const std::vector<uint8_t>& data, uint32_t residual = 0) {
    fuzz::PutU8(bytes, 0);
    fuzz::PutU16(bytes, static_cast<uint16_t>(data.size()));
    fuzz::PutBytes(bytes, data);
    fuzz::PutU32(bytes, residual);
    fuzz::PutU8(bytes, 0);
  }
  void Check(uint8_t key, uint8_t asc, uint8_t ascq) {
    fuzz::PutU8(bytes, 4);
    fuzz::PutU16(bytes, 0);
    fuzz::PutU32(bytes, 0);
    const std::vector<uint8_t> sense = {0x70, 0, key, 0,   0,    0, 0, 10, 0,
                                        0,    0, 0,   asc, ascq, 0, 0, 0,  0};
    fuzz::PutU8(bytes, static_cast<uint8_t>(sense.size()));
    fuzz::PutBytes(bytes, sense);
  }
};

std::vector<uint8_t> Inquiry(uint8_t type) {
  std::vector<uint8_t> data(36, ' ');
  data[0] = type;
  data[1] = type == 5 ? 0x80 : 0;
  data[2] = 5;
  data[3] = 2;
  data[4] = 31;
  std::memcpy(&data[8], "QEMU    QEMU HARDDISK   ", 24);
  return data;
}

}  // namespace

void fuzz::MakeSeeds(Seeds& seeds) {
  // One target, LUNs 0 and 1 listed, a disk at LUN 0 (a unit attention first) and a CD-ROM.
  Answers a;
  std::vector<uint8_t> luns(8 + 16, 0);
  luns[3] = 16;
  luns[8 + 8 + 1] = 1;
  a.Good(luns);
  a.Good(Inquiry(0));
  a.Check(6, 0x29, 0);  // TEST UNIT READY: power on
  a.Good({});
  a.Good({0, 0, 0x0f, 0xff, 0, 0, 2, 0});  // READ CAPACITY(10): 4096 blocks of 512
  a.Good(Inquiry(5));
  // ScsiDisk::Start of LUN 0 again, then reads.
  a.Good({});
  a.Good({0, 0, 0x0f, 0xff, 0, 0, 2, 0});
  a.Good(std::vector<uint8_t>(2048, 0xd5));
  a.Good(std::vector<uint8_t>(512, 0x5d));
  std::vector<uint8_t> seed = {0, 1, 0x10, 0};
  PutBytes(seed, a.bytes);
  seeds.Add("disk-and-cdrom", seed);
  // READ CAPACITY(10) saying "use (16)", descriptor-format sense on a read.
  Answers b;
  b.Check(5, 0x20, 0);  // REPORT LUNS refused: LUN 0 alone
  b.Good(Inquiry(0));
  b.Good({});
  b.Good({0xff, 0xff, 0xff, 0xff, 0, 0, 2, 0});
  std::vector<uint8_t> capacity16(32, 0);
  capacity16[4] = 1;  // 2^32 + 1 blocks
  capacity16[10] = 0x10;
  b.Good(capacity16);
  seed = {0, 0, 0x02, 0};
  PutBytes(seed, b.bytes);
  seeds.Add("capacity-16", seed);
  // Issue 26: READ CAPACITY(16) of 2^64 - 1 blocks, whose size in bytes wraps: the scan and the
  // disk's start must refuse it (the answers for ScsiDisk::Start follow the scan's).
  Answers c;
  c.Check(5, 0x20, 0);  // REPORT LUNS refused: LUN 0 alone
  c.Good(Inquiry(0));
  std::vector<uint8_t> wrapping(32, 0xff);
  wrapping[7] = 0xfe;  // last LBA 2^64 - 2
  for (int i = 8; i < 32; ++i) wrapping[i] = 0;
  wrapping[10] = 0x02;  // 512-byte blocks
  for (int pass = 0; pass < 2; ++pass) {
    c.Good({});
    c.Good({0xff, 0xff, 0xff, 0xff, 0, 0, 2, 0});
    c.Good(wrapping);
  }
  seed = {0, 0, 0x02, 0};
  PutBytes(seed, c.bytes);
  seeds.Add("capacity-16-wraps", seed);
}
