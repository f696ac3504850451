// virtio-blk (dev/virtio-blk.cc, dev/virtio-pci.cc) against the fake device of tests/unit/dev
// answering with whatever the input says: its block size and capacity, and for every request the
// used-ring entry (id, length, how far the used index moves) and the status byte. The driver
// must turn every malformed answer into an I/O error (and reset the device), read only into the
// buffers it was given, and end every wait (the time base moves with every read of it).
//
// Input: flags (bit 0: the next 4 bytes are the block size, else 512; bit 1: the next 8 bytes
// are the capacity in sectors, else the image's 128), a read count byte, per read its LBA
// (4 bytes) and block count (1 byte), then per completion the status byte and a mode byte (0:
// the used entry as the device would write it; otherwise its id (4), length (4) and index
// advance (1) follow).
#include <cstring>
#include <memory>
#include <vector>

#include "block/deblocker.h"
#include "dev/pci.h"
#include "dev/virtio-blk.h"
#include "lib/be.h"
#include "lib/guest-memory.h"
#include "tests/fake-hv.h"
#include "tests/fuzz/fuzz-support.h"
#include "tests/host-cpu.h"
#include "tests/unit/dev/fake-pci.h"

namespace {

constexpr uint64_t kTimebaseHz = 512000000;
constexpr uint64_t kRamSize = 1u << 20;
constexpr uint64_t kRing = 0x1000;
constexpr uint64_t kBuffer = 0x10000;
constexpr uint64_t kDiskBytes = 64 * 1024;

std::vector<uint8_t> DiskImage() {
  std::vector<uint8_t> disk(kDiskBytes);
  for (uint64_t i = 0; i < disk.size(); ++i) disk[i] = static_cast<uint8_t>(i * 7 + i / 512);
  return disk;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tests::FakeHypervisor& hv = tests::FreshHypervisor();
  tests::SetTimebase(1000);
  tests::SetTimebaseStep(kTimebaseHz / 100);  // a 10 s request timeout is 1000 polls
  static const std::vector<uint8_t> tree = fuzz::Fixture("dev-pseries");
  std::vector<uint8_t> ram(kRamSize);
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size());
  tests::FakePlatform platform(hv);
  tests::FakeVirtioBlk blk(memory, DiskImage());
  platform.Plug(platform.AddQemuPhb(0), 2, 0, blk);

  fuzz::Input input(data, size);
  const uint8_t flags = input.U8();
  if (flags & 1) blk.blk_size = input.U32();
  if (flags & 2) blk.capacity_sectors = input.U64();
  struct Read {
    uint64_t lba;
    uint32_t blocks;
  };
  std::vector<Read> reads;
  for (int n = input.U8() % 8; n > 0; --n) reads.push_back(Read{input.U32(), input.U8()});
  blk.tamper_used = [&input](tests::FakeVirtioDevice::UsedEntry& entry) {
    if (input.U8() == 0) return;
    entry.id = input.U32();
    entry.length = input.U32();
    entry.advance = input.U8();
  };
  blk.tamper_status = [&input](uint8_t& status) {
    if (!input.empty()) status = input.U8();
  };

  auto rtas = dev::FindRtasPciConfig(tree.data());
  if (rtas.is_error()) std::abort();  // the fixture has the tokens
  auto bus = std::make_unique<dev::PciBus>();
  dev::ScanPhbs(tree.data(), rtas.value().Access(), *bus);
  const dev::PciDevice* device = nullptr;
  for (int i = 0; i < bus->device_count; ++i) {
    if (dev::IsVirtioBlk(bus->devices[i])) device = &bus->devices[i];
  }
  if (device == nullptr) std::abort();
  dev::VirtioBlk driver;
  if (driver.Start(*device, memory, kRing, dev::kVirtioBlkRingBytes, kTimebaseHz).is_ok()) {
    const block::Device& disk = driver.disk();
    // The geometry rule: a block size tern can use, at least one block, bytes within 64 bits.
    if (block::CheckGeometry(disk.block_size, disk.blocks).is_error()) {
      fuzz::Violation("the driver took a geometry it cannot use");
    }
    for (const Read& read : reads) {
      if (uint64_t{read.blocks} * disk.block_size > kRamSize - kBuffer) continue;
      (void)block::ReadBlocks(disk, read.lba, read.blocks, kBuffer);
    }
  }
  (void)driver.ResetForOs();
  for (const std::string& violation : blk.violations) {
    // The fake checks the driver's requests as a device would.
    fuzz::Violation(violation.c_str());
  }
  return 0;
}

void fuzz::MakeSeeds(Seeds& seeds) {
  std::vector<uint8_t> seed;
  PutU8(seed, 0);
  PutU8(seed, 3);
  for (uint32_t lba : {0u, 7u, 120u}) {
    PutU32(seed, lba);
    PutU8(seed, 8);
  }
  for (int i = 0; i < 3; ++i) {
    PutU8(seed, 0);  // status OK
    PutU8(seed, 0);  // the device's own used entry
  }
  seeds.Add("three-reads", seed);
  seed.clear();
  PutU8(seed, 1);  // 4096-byte blocks
  PutU32(seed, 4096);
  PutU8(seed, 2);
  PutU32(seed, 1);
  PutU8(seed, 2);
  PutU32(seed, 3);
  PutU8(seed, 1);
  PutU8(seed, 0);  // status OK
  PutU8(seed, 1);  // a tampered used entry: id 0, 8193 bytes, index +1
  PutU32(seed, 0);
  PutU32(seed, 8193);
  PutU8(seed, 1);
  seeds.Add("bad-length", seed);
  // Issue 26: a capacity of 2^55 sectors, whose size in bytes wraps 64 bits, must be refused.
  seed.clear();
  PutU8(seed, 2);
  PutU64(seed, uint64_t{1} << 55);
  PutU8(seed, 1);
  PutU32(seed, 0xffffffff);
  PutU8(seed, 1);
  PutU8(seed, 0);
  PutU8(seed, 0);
  seeds.Add("capacity-wraps", seed);
}
