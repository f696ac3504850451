// bootmgr/loader.h: the PReP loader through LoadFromDevices, as the firmware calls it, against
// disks held in byte arrays and a lazily-paged guest RAM: which device boots, where the entry
// is, what is claimed afterwards, and that a device that cannot be booted leaves nothing claimed.
#include "bootmgr/loader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "block/partitions.h"
#include "lib/be.h"
#include "lib/crc32.h"
#include "tests/console-capture.h"
#include "tests/host-fixtures.h"
#include "tests/test-data.h"
#include "tests/tree-check.h"
#include "tests/unit/fs/fs-test-disk.h"
#include "tests/unit/fs/grub-mkrescue-bootinfo.h"
#include "tests/unit/fs/iso-builder.h"

namespace {

constexpr uint64_t kRamBytes = 256u << 20;  // the RMA: the staging area is 40 MiB below its top
constexpr uint64_t kFirmwareEnd = 0x100000;
constexpr uint32_t kBlockSize = 512;
constexpr uint64_t kPrepStart = 2048;  // the PReP partition's first block

// A disk whose first bytes are `data` and every later byte zero; reads count themselves.
struct FakeDisk {
  std::vector<uint8_t> data;
  uint64_t blocks = 0;
  int reads = 0;
  int fail_read = -1;  // this read (counted from 0) fails with a device error
  block::Device device;

  FakeDisk(std::vector<uint8_t> bytes, uint64_t block_count)
      : data(std::move(bytes)), blocks(block_count) {
    device.block_size = kBlockSize;
    device.blocks = blocks;
    device.max_transfer_blocks = 256;
    device.read = Read;
    device.driver = this;
  }

  // `buffer` is a host pointer here: the table scratch, or the staging area mapped through the
  // loader's GuestMemory.
  static lib::Result<void, block::IoError> Read(void* driver, uint64_t lba, uint32_t count,
                                                uint64_t buffer) {
    auto* disk = static_cast<FakeDisk*>(driver);
    if (disk->reads++ == disk->fail_read) return lib::Err(block::IoError::kDevice);
    auto* out = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(buffer));
    const uint64_t start = lba * kBlockSize;
    const uint64_t bytes = uint64_t{count} * kBlockSize;
    for (uint64_t i = 0; i < bytes; ++i) {
      out[i] = start + i < disk->data.size() ? disk->data[start + i] : 0;
    }
    return lib::Ok<block::IoError>();
  }
};

// An MBR disk whose PReP partition (type 0x41, active, `prep_blocks` from block kPrepStart) holds
// `image`.
std::vector<uint8_t> PrepDisk(const std::vector<uint8_t>& image, uint32_t prep_blocks = 16384) {
  std::vector<uint8_t> disk(kPrepStart * kBlockSize + image.size());
  uint8_t* entry = disk.data() + 446;
  entry[0] = 0x80;
  entry[4] = 0x41;
  lib::StoreLe32(entry + 8, kPrepStart);
  lib::StoreLe32(entry + 12, prep_blocks);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  std::memcpy(disk.data() + kPrepStart * kBlockSize, image.data(), image.size());
  return disk;
}

struct Segment {
  uint64_t offset, vaddr, filesz, memsz;
};

// A big-endian ELF: ELF32 EM_PPC, or ELF64 EM_PPC64 with e_flags `flags`; p_paddr == p_vaddr;
// every byte after the headers the pattern of its offset.
std::vector<uint8_t> Elf(bool is_64bit, uint64_t entry, const std::vector<Segment>& segments,
                         size_t size, uint32_t flags = 0) {
  std::vector<uint8_t> image(size);
  for (size_t i = 0; i < size; ++i) image[i] = static_cast<uint8_t>(i * 13 + 7);
  const size_t header = is_64bit ? 64 : 52;
  const size_t phdr = is_64bit ? 56 : 32;
  std::memset(image.data(), 0, header + phdr * segments.size());
  const uint8_t ident[] = {0x7f, 'E', 'L', 'F', static_cast<uint8_t>(is_64bit ? 2 : 1), 2, 1};
  std::memcpy(image.data(), ident, sizeof(ident));
  uint8_t* e = image.data();
  lib::StoreBe16(e + 16, 2);                   // ET_EXEC
  lib::StoreBe16(e + 18, is_64bit ? 21 : 20);  // EM_PPC64, EM_PPC
  lib::StoreBe32(e + 20, 1);                   // EV_CURRENT
  if (is_64bit) {
    lib::StoreBe64(e + 24, entry);
    lib::StoreBe64(e + 32, header);  // e_phoff
    lib::StoreBe32(e + 48, flags);
    lib::StoreBe16(e + 54, phdr);
    lib::StoreBe16(e + 56, segments.size());
  } else {
    lib::StoreBe32(e + 24, static_cast<uint32_t>(entry));
    lib::StoreBe32(e + 28, header);
    lib::StoreBe32(e + 36, flags);
    lib::StoreBe16(e + 42, phdr);
    lib::StoreBe16(e + 44, segments.size());
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    uint8_t* p = image.data() + header + i * phdr;
    const Segment& s = segments[i];
    lib::StoreBe32(p, 1);  // PT_LOAD
    if (is_64bit) {
      lib::StoreBe64(p + 8, s.offset);
      lib::StoreBe64(p + 16, s.vaddr);
      lib::StoreBe64(p + 24, s.vaddr);
      lib::StoreBe64(p + 32, s.filesz);
      lib::StoreBe64(p + 40, s.memsz);
    } else {
      lib::StoreBe32(p + 4, static_cast<uint32_t>(s.offset));
      lib::StoreBe32(p + 8, static_cast<uint32_t>(s.vaddr));
      lib::StoreBe32(p + 12, static_cast<uint32_t>(s.vaddr));
      lib::StoreBe32(p + 16, static_cast<uint32_t>(s.filesz));
      lib::StoreBe32(p + 20, static_cast<uint32_t>(s.memsz));
    }
  }
  return image;
}

// GRUB's core.elf shape: ELF32, entry 0x200000, the kernel with its bss, then the modules.
std::vector<uint8_t> GrubCore() {
  return Elf(false, 0x200000,
             {{0x100, 0x200000, 0x6000, 0x9000}, {0x6100, 0x209000, 0x2400, 0x2400}}, 0x8500);
}

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ram_ = tests::MapGuestRam(kRamBytes);
    ASSERT_NE(ram_, nullptr);
    memory_ = lib::GuestMemory(reinterpret_cast<uintptr_t>(ram_), kRamBytes);
    ASSERT_TRUE(memory_.Protect(0, kFirmwareEnd));
    ASSERT_TRUE(claims_.Claim(0, kFirmwareEnd, 0).is_ok());
    ASSERT_TRUE(
        holder_.Init(tests::ReadFile(std::string(TERN_TEST_DATA_DIR) + "/boot-disks.dtb"), 4096));
  }
  void TearDown() override { munmap(ram_, kRamBytes); }

  // The disk's node: scsi@2, scsi@3 and scsi@0 of the second PHB, in boot order.
  of::Phandle Node(int index) {
    static const char* const kPaths[] = {"/pci@800000020000000/scsi@2",
                                         "/pci@800000020000000/scsi@3",
                                         "/pci@800000020000001/scsi@0"};
    return holder_.tree.FindDevice(kPaths[index]);
  }

  bool Load(std::vector<FakeDisk*> disks) {
    std::vector<bootmgr::BootDevice> devices;
    for (size_t i = 0; i < disks.size(); ++i) {
      devices.push_back({Node(static_cast<int>(i)), &disks[i]->device});
    }
    bootmgr::LoaderEnv env{holder_.tree, claims_, memory_, kRamBytes, kFirmwareEnd};
    return bootmgr::LoadFromDevices(env, {devices.data(), devices.size()}, loaded_);
  }

  // Devices of either media, in the nodes' order.
  bool LoadMedia(std::vector<std::pair<const block::Device*, bootmgr::BootKind>> media) {
    std::vector<bootmgr::BootDevice> devices;
    for (size_t i = 0; i < media.size(); ++i) {
      devices.push_back({Node(static_cast<int>(i)), media[i].first, media[i].second});
    }
    bootmgr::LoaderEnv env{holder_.tree, claims_, memory_, kRamBytes, kFirmwareEnd};
    return bootmgr::LoadFromDevices(env, {devices.data(), devices.size()}, loaded_);
  }

  std::vector<of::MemoryRange> Claimed() const {
    return {claims_.claimed().begin(), claims_.claimed().end()};
  }

  uint8_t* ram_ = nullptr;
  lib::GuestMemory memory_;
  of::ClaimMap claims_{kRamBytes};
  tests::TreeHolder holder_;
  bootmgr::LoadedClient loaded_;
  tests::ConsoleCapture console_;
};

bool SameClaims(const std::vector<of::MemoryRange>& a, const std::vector<of::MemoryRange>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].start != b[i].start || a[i].size != b[i].size) return false;
  }
  return true;
}

TEST_F(LoaderTest, GrubShapedImageIsLoadedClaimedAndEntered32Bit) {
  const auto image = GrubCore();
  FakeDisk disk(PrepDisk(image), 65536);
  ASSERT_TRUE(Load({&disk})) << console_.text;
  EXPECT_EQ(loaded_.entry, 0x200000u);
  EXPECT_TRUE(loaded_.mode32);
  EXPECT_EQ(loaded_.device, Node(0));
  EXPECT_TRUE(
      console_.Has("tern: booting /pci@800000020000000/scsi@2 partition 1: ELF32 "
                   "big-endian, 2 segments, entry 0x200000\n"))
      << console_.text;
  EXPECT_EQ(std::memcmp(ram_ + 0x200000, image.data() + 0x100, 0x6000), 0);
  EXPECT_EQ(ram_[0x208fff], 0);  // the bss
  EXPECT_EQ(std::memcmp(ram_ + 0x209000, image.data() + 0x6100, 0x2400), 0);
  // Both segments stay claimed for the client; the staging area is free again.
  EXPECT_FALSE(claims_.IsFree(0x200000, 0x9000));
  EXPECT_FALSE(claims_.IsFree(0x209000, 0x2400));
  const of::AddressRange staging = bootmgr::LoaderStaging(kRamBytes);
  EXPECT_TRUE(claims_.IsFree(staging.start, staging.size));
}

TEST_F(LoaderTest, ADeviceThatFailsIsSkippedForTheNext) {
  std::vector<uint8_t> not_elf(0x1000, 0x42);
  FakeDisk bad(PrepDisk(not_elf), 65536);
  FakeDisk good(PrepDisk(GrubCore()), 65536);
  ASSERT_TRUE(Load({&bad, &good})) << console_.text;
  EXPECT_EQ(loaded_.device, Node(1));
  EXPECT_TRUE(console_.Has(
      "tern: /pci@800000020000000/scsi@2: cannot boot partition 1: not an ELF image\n"))
      << console_.text;
}

TEST_F(LoaderTest, SegmentOverClaimedMemoryLeavesNothingClaimed) {
  ASSERT_TRUE(claims_.Claim(0x20a000, 0x1000, 0).is_ok());  // inside the modules' segment
  const auto before = Claimed();
  FakeDisk disk(PrepDisk(GrubCore()), 65536);
  EXPECT_FALSE(Load({&disk}));
  EXPECT_TRUE(console_.Has("cannot boot: segment 1 at 0x209000 overlaps memory in use"))
      << console_.text;
  EXPECT_TRUE(SameClaims(Claimed(), before));
}

TEST_F(LoaderTest, RefusedCopyLeavesNothingClaimed) {
  ASSERT_TRUE(memory_.Protect(0x20a000, 0x10));  // guest memory refuses the modules' copy
  const auto before = Claimed();
  FakeDisk disk(PrepDisk(GrubCore()), 65536);
  EXPECT_FALSE(Load({&disk}));
  EXPECT_TRUE(console_.Has("cannot boot: ELF segment copy refused by guest memory"))
      << console_.text;
  EXPECT_TRUE(SameClaims(Claimed(), before));
}

TEST_F(LoaderTest, ReadFailureLeavesNothingClaimed) {
  const auto before = Claimed();
  FakeDisk disk(PrepDisk(GrubCore()), 65536);
  disk.fail_read = 1;  // the MBR reads, the image does not
  EXPECT_FALSE(Load({&disk}));
  EXPECT_TRUE(console_.Has("cannot boot: reading block 2048 failed: device error"))
      << console_.text;
  EXPECT_TRUE(SameClaims(Claimed(), before));
}

// A 64-bit big-endian ELFv1 image: code at 0x400000 (file offset 0x1000, 0x2000 file bytes and a
// bss to 0x404000), data at 0x800000 (file offset 0x3000, 0x1000 bytes) holding the function
// descriptor e_entry names at 0x800100, whose code address is `code`.
std::vector<uint8_t> ElfV1(uint64_t code, uint64_t entry = 0x800100) {
  auto image =
      Elf(true, entry, {{0x1000, 0x400000, 0x2000, 0x4000}, {0x3000, 0x800000, 0x1000, 0x1000}},
          0x4000, 1);
  lib::StoreBe64(image.data() + 0x3100, code);
  return image;
}

TEST_F(LoaderTest, ElfV1IsEnteredAtItsDescriptorsCode) {
  FakeDisk disk(PrepDisk(ElfV1(0x400040)), 65536);
  ASSERT_TRUE(Load({&disk})) << console_.text;
  EXPECT_EQ(loaded_.entry, 0x400040u);
  EXPECT_FALSE(loaded_.mode32);
  EXPECT_TRUE(console_.Has("ELF64 big-endian, 2 segments, entry 0x400040\n")) << console_.text;
}

// Each bad descriptor is refused with its reason before anything is claimed, and the next device
// boots: code outside every segment, inside the firmware, in a segment's bss, and a descriptor
// whose 8 bytes run past its segment's file bytes.
TEST_F(LoaderTest, ElfV1WithABadDescriptorIsRefusedAndTheNextDeviceBoots) {
  struct Case {
    std::vector<uint8_t> image;
    const char* reason;
  };
  const Case cases[] = {
      {ElfV1(0x600000), "ELF entry descriptor's code address outside the loaded segments"},
      {ElfV1(0x1800), "ELF entry descriptor's code address outside the loaded segments"},
      {ElfV1(0x403000), "ELF entry descriptor's code address outside the loaded segments"},
      {ElfV1(0x400040, 0x800ffc), "ELF entry descriptor outside the loaded segments' file bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reason);
    console_.text.clear();
    const auto before = Claimed();
    FakeDisk bad(PrepDisk(c.image), 65536);
    EXPECT_FALSE(Load({&bad})) << console_.text;
    EXPECT_TRUE(console_.Has(std::string("tern: /pci@800000020000000/scsi@2: cannot boot partition "
                                         "1: ") +
                             c.reason + "\n"))
        << console_.text;
    EXPECT_TRUE(SameClaims(Claimed(), before));
    FakeDisk good(PrepDisk(GrubCore()), 65536);
    ASSERT_TRUE(Load({&bad, &good})) << console_.text;
    EXPECT_EQ(loaded_.device, Node(1));
    EXPECT_EQ(loaded_.entry, 0x200000u);
    claims_ = of::ClaimMap(kRamBytes);  // the next case starts afresh
    ASSERT_TRUE(claims_.Claim(0, kFirmwareEnd, 0).is_ok());
  }
}

// #26.9: an image larger than the staging area is refused with the limit named, not only as an
// image whose segment runs past its end.
TEST_F(LoaderTest, ImagePastTheStagingLimitNamesTheLimit) {
  // A 40 MiB partition whose second segment's file bytes start 33 MiB in.
  const auto image =
      Elf(false, 0x200000,
          {{0x100, 0x200000, 0x6000, 0x9000}, {33u << 20, 0x209000, 0x2400, 0x2400}}, 0x8500);
  const uint32_t blocks = (40u << 20) / kBlockSize;
  FakeDisk disk(PrepDisk(image, blocks), kPrepStart + blocks);
  const auto before = Claimed();
  EXPECT_FALSE(Load({&disk}));
  EXPECT_TRUE(
      console_.Has("tern: /pci@800000020000000/scsi@2: cannot boot partition 1: ELF "
                   "segment runs past the image: tern reads at most the first 32 MiB of a "
                   "PReP partition, and this one has 40 MiB\n"))
      << console_.text;
  EXPECT_TRUE(SameClaims(Claimed(), before));
  // Within a partition of 32 MiB or less, the image itself is at fault: no limit to name.
  console_.text.clear();
  FakeDisk small(PrepDisk(image, (32u << 20) / kBlockSize), kPrepStart + blocks);
  EXPECT_FALSE(Load({&small}));
  EXPECT_TRUE(console_.Has("cannot boot partition 1: ELF segment runs past the image\n"))
      << console_.text;
}

// A GPT disk of `blocks` blocks whose 1024-entry array uses `used` entries (10 blocks each from
// block 4096; the PReP partition, entry `prep_number`, holds `image` and is 16384 blocks long at
// kPrepStart). Only the primary GPT is written: the backup is not needed when it is good.
std::vector<uint8_t> GptDisk(const std::vector<uint8_t>& image, uint32_t used, uint32_t prep_number,
                             uint64_t blocks) {
  constexpr uint32_t kEntries = 1024;
  std::vector<uint8_t> disk(kPrepStart * kBlockSize + image.size());
  uint8_t* mbr = disk.data() + 446;
  mbr[4] = 0xee;
  lib::StoreLe32(mbr + 8, 1);
  lib::StoreLe32(mbr + 12, 0xffffffff);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  uint8_t* array = disk.data() + 2 * kBlockSize;
  for (uint32_t i = 0; i < used; ++i) {
    uint8_t* entry = array + 128 * i;
    const bool prep = i + 1 == prep_number;
    for (int b = 0; b < 16; ++b) entry[b] = prep ? block::kPrepGuid.bytes[b] : 0x11;
    const uint64_t first = prep ? kPrepStart : 20000 + 10 * uint64_t{i};
    lib::StoreLe64(entry + 32, first);
    lib::StoreLe64(entry + 40, first + (prep ? 16383 : 9));
  }
  uint8_t* header = disk.data() + kBlockSize;
  std::memcpy(header, "EFI PART", 8);
  lib::StoreLe32(header + 8, 0x00010000);
  lib::StoreLe32(header + 12, 92);
  lib::StoreLe64(header + 24, 1);
  lib::StoreLe64(header + 32, blocks - 1);
  lib::StoreLe64(header + 40, 2 + kEntries * 128 / kBlockSize);
  lib::StoreLe64(header + 48, blocks - 2 - kEntries * 128 / kBlockSize);
  lib::StoreLe64(header + 72, 2);
  lib::StoreLe32(header + 80, kEntries);
  lib::StoreLe32(header + 84, 128);
  lib::StoreLe32(header + 88, lib::Crc32({array, kEntries * 128}));
  lib::StoreLe32(header + 16, lib::Crc32({header, 92}));
  std::memcpy(disk.data() + kPrepStart * kBlockSize, image.data(), image.size());
  return disk;
}

// #26.6: a GPT with more used entries than the partition table lists boots from a PReP partition
// past the listed ones, and tern says so.
TEST_F(LoaderTest, GptWithMoreEntriesThanTheTableListsBootsItsPrepPartition) {
  FakeDisk disk(GptDisk(GrubCore(), 300, 250, 65536), 65536);
  ASSERT_TRUE(Load({&disk})) << console_.text;
  EXPECT_EQ(loaded_.entry, 0x200000u);
  EXPECT_TRUE(
      console_.Has("tern: /pci@800000020000000/scsi@2: the GPT has 300 used entries; tern "
                   "lists the first 128 and looks for the PReP partition among all of "
                   "them\n"))
      << console_.text;
  EXPECT_TRUE(console_.Has("tern: booting /pci@800000020000000/scsi@2 partition 250: "))
      << console_.text;
  // 100 used entries, PReP first: listed whole, nothing to say.
  console_.text.clear();
  claims_ = of::ClaimMap(kRamBytes);
  ASSERT_TRUE(claims_.Claim(0, kFirmwareEnd, 0).is_ok());
  FakeDisk hundred(GptDisk(GrubCore(), 100, 1, 65536), 65536);
  ASSERT_TRUE(Load({&hundred})) << console_.text;
  EXPECT_FALSE(console_.Has("used entries")) << console_.text;
  EXPECT_TRUE(console_.Has("tern: booting /pci@800000020000000/scsi@2 partition 1: "))
      << console_.text;
}

// Install media (issue 21): an ISO 9660 volume as grub-mkrescue lays it out, its
// \ppc\bootinfo.txt naming \boot\grub\powerpc.elf (`boot_file`, holding `elf`), with `padding`
// bytes of a file recorded before GRUB's directory to move the ELF's extent.
isotest::Built InstallIso(const std::vector<uint8_t>& elf, isotest::Options options = {},
                          std::string bootinfo = isotest::kGrubMkrescueBootInfo,
                          size_t padding = 0) {
  using isotest::Dir;
  using isotest::File;
  isotest::Node powerpc = File("POWERPC.ELF;1", "powerpc.elf", "");
  powerpc.data = elf;
  options.rock_ridge = true;
  return isotest::Build(
      Dir("", "",
          {File("A.;1", "a", std::string(padding, 'p')),
           Dir("BOOT", "boot",
               {Dir("GRUB", "grub", {File("GRUB.CFG;1", "grub.cfg", "x"), powerpc})}),
           Dir("PPC", "ppc", {File("BOOTINFO.TXT;1", "bootinfo.txt", bootinfo)})}),
      options);
}

std::string BootInfo(const std::string& command) {
  return "<chrp-boot>\n<boot-script>" + command + "</boot-script>\n</chrp-boot>\n";
}

constexpr const char* kCd = "/pci@800000020000000/scsi@2";

TEST_F(LoaderTest, CdBootsTheFileItsBootInfoNames) {
  const auto elf = GrubCore();
  isotest::TestDisk cd(InstallIso(elf).image, 2048);
  const block::Device device = cd.Device();
  ASSERT_TRUE(LoadMedia({{&device, bootmgr::BootKind::kCdrom}})) << console_.text;
  EXPECT_EQ(loaded_.entry, 0x200000u);
  EXPECT_TRUE(loaded_.mode32);
  EXPECT_STREQ(loaded_.device_arguments, ",\\boot\\grub\\powerpc.elf");
  EXPECT_STREQ(loaded_.arguments, "");
  EXPECT_EQ(console_.text,
            std::string("tern: booting ") + kCd +
                " \\boot\\grub\\powerpc.elf: ELF32 big-endian, 2 segments, entry 0x200000\n");
  EXPECT_EQ(std::memcmp(ram_ + 0x200000, elf.data() + 0x100, 0x6000), 0);
  EXPECT_EQ(std::memcmp(ram_ + 0x209000, elf.data() + 0x6100, 0x2400), 0);
  const of::AddressRange staging = bootmgr::LoaderStaging(kRamBytes);
  EXPECT_TRUE(claims_.IsFree(staging.start, staging.size));
}

// grub-mkrescue's ISO attached as a disk (virtio-blk, 512-byte blocks): its MBR lists the ISO as
// one partition of type 0xcd, no PReP partition; the volume is booted, and the disk's missing PReP
// partition is not reported.
TEST_F(LoaderTest, IsoImageAsADiskBootsItsVolume) {
  auto image = InstallIso(GrubCore()).image;
  image[446] = 0x80;
  image[450] = 0xcd;
  lib::StoreLe32(image.data() + 454, 1);
  lib::StoreLe32(image.data() + 458, static_cast<uint32_t>(image.size() / 512 - 1));
  image[510] = 0x55;
  image[511] = 0xaa;
  isotest::TestDisk disk(image, 512);
  const block::Device device = disk.Device();
  ASSERT_TRUE(LoadMedia({{&device, bootmgr::BootKind::kDisk}})) << console_.text;
  EXPECT_STREQ(loaded_.device_arguments, ",\\boot\\grub\\powerpc.elf");
  EXPECT_FALSE(console_.Has("cannot boot")) << console_.text;
}

// The usual first install: an empty disk first in the order, then the CD.
TEST_F(LoaderTest, BlankDiskIsSkippedAndTheCdBoots) {
  FakeDisk blank({}, 65536);
  isotest::TestDisk cd(InstallIso(GrubCore()).image, 2048);
  const block::Device device = cd.Device();
  ASSERT_TRUE(
      LoadMedia({{&blank.device, bootmgr::BootKind::kDisk}, {&device, bootmgr::BootKind::kCdrom}}))
      << console_.text;
  EXPECT_EQ(loaded_.device, Node(1));
  EXPECT_TRUE(
      console_.Has("tern: /pci@800000020000000/scsi@2: cannot boot: no 0x55AA boot signature\n"))
      << console_.text;
}

// A boot file that is not on the disc: the reason names it, nothing stays claimed, the next
// device boots.
TEST_F(LoaderTest, MissingBootFileIsNamedAndTheNextDeviceBoots) {
  isotest::TestDisk cd(
      InstallIso(GrubCore(), {}, BootInfo("boot &device;:\\boot\\grub\\tern-missing.elf")).image,
      2048);
  const block::Device device = cd.Device();
  const auto before = Claimed();
  EXPECT_FALSE(LoadMedia({{&device, bootmgr::BootKind::kCdrom}}));
  EXPECT_TRUE(console_.Has(std::string("tern: ") + kCd +
                           ": cannot boot: \\boot\\grub\\tern-missing.elf (named by "
                           "\\ppc\\bootinfo.txt): file not found\n"))
      << console_.text;
  EXPECT_TRUE(SameClaims(Claimed(), before));
  FakeDisk good(PrepDisk(GrubCore()), 65536);
  ASSERT_TRUE(
      LoadMedia({{&device, bootmgr::BootKind::kCdrom}, {&good.device, bootmgr::BootKind::kDisk}}));
  EXPECT_EQ(loaded_.device, Node(1));
  EXPECT_STREQ(loaded_.device_arguments, "");
}

// Each medium that cannot be booted gets its one-line reason.
TEST_F(LoaderTest, UnbootableMediaSayWhy) {
  struct Case {
    std::vector<uint8_t> image;
    const char* reason;
  };
  std::vector<uint8_t> no_bootinfo = InstallIso(GrubCore()).image;
  // Rename the Rock Ridge and ISO names of bootinfo.txt: the volume has no \ppc\bootinfo.txt.
  for (size_t i = 0; i + 8 <= no_bootinfo.size(); ++i) {
    if (std::memcmp(no_bootinfo.data() + i, "bootinfo", 8) == 0 ||
        std::memcmp(no_bootinfo.data() + i, "BOOTINFO", 8) == 0) {
      no_bootinfo[i] = 'X';
    }
  }
  const Case cases[] = {
      {std::vector<uint8_t>(64 * 2048), "no ISO 9660 volume, and no 0x55AA boot signature"},
      {no_bootinfo, "ISO 9660 volume without \\ppc\\bootinfo.txt"},
      {InstallIso(GrubCore(), {}, "<chrp-boot>\n<description>x</description>\n").image,
       "\\ppc\\bootinfo.txt: no <boot-script> tag"},
      {InstallIso(GrubCore(), {}, BootInfo("boot cdrom:\\boot\\grub\\powerpc.elf")).image,
       "\\ppc\\bootinfo.txt: the boot command names a device other than &device;"},
      {InstallIso(GrubCore(), {}, BootInfo("boot &device;:1,\\boot\\grub\\powerpc.elf")).image,
       "\\ppc\\bootinfo.txt boots from partition 1 of the medium; tern reads files only from the "
       "whole medium"},
      {InstallIso(GrubCore(), {}, BootInfo("boot &device;:\\boot\\grub")).image,
       "\\boot\\grub (named by \\ppc\\bootinfo.txt): path names a directory"},
      {InstallIso({}).image, "cannot boot \\boot\\grub\\powerpc.elf: it is empty"},
      {InstallIso(std::vector<uint8_t>(5000, 0x42)).image,
       "cannot boot \\boot\\grub\\powerpc.elf: not an ELF image"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reason);
    console_.text.clear();
    const auto before = Claimed();
    isotest::TestDisk cd(c.image, 2048);
    const block::Device device = cd.Device();
    EXPECT_FALSE(LoadMedia({{&device, bootmgr::BootKind::kCdrom}}));
    EXPECT_TRUE(console_.Has(c.reason)) << console_.text;
    EXPECT_TRUE(SameClaims(Claimed(), before));
  }
}

// A volume of 512-byte logical blocks on a CD of 2048-byte blocks: the ELF's extent starts in the
// middle of a device block, and its last block holds bytes past the file's end.
TEST_F(LoaderTest, FileStartingMidBlockIsLoadedFromItsFirstByte) {
  isotest::Options options;
  options.block_size = 512;
  const auto elf = GrubCore();
  for (size_t padding = 0; padding < 4 * 512; padding += 512) {
    auto built = InstallIso(elf, options, isotest::kGrubMkrescueBootInfo, padding);
    if (built.at.at("/boot/grub/powerpc.elf").data % 2048 == 0) continue;
    SCOPED_TRACE(padding);
    // Past the file's end up to the device block's, bytes that would spoil the image if they were
    // taken as the file's.
    const uint64_t end = built.at.at("/boot/grub/powerpc.elf").data + elf.size();
    std::fill(built.image.begin() + end, built.image.begin() + (end + 2047) / 2048 * 2048, 0xee);
    isotest::TestDisk cd(built.image, 2048);
    const block::Device device = cd.Device();
    ASSERT_TRUE(LoadMedia({{&device, bootmgr::BootKind::kCdrom}})) << console_.text;
    EXPECT_EQ(std::memcmp(ram_ + 0x200000, elf.data() + 0x100, 0x6000), 0);
    EXPECT_EQ(std::memcmp(ram_ + 0x209000, elf.data() + 0x6100, 0x2400), 0);
    return;
  }
  FAIL() << "no padding put the ELF mid-block";
}

// A boot command's arguments after the file are the client's boot arguments.
TEST_F(LoaderTest, BootArgumentsComeFromTheBootCommand) {
  isotest::TestDisk cd(
      InstallIso(GrubCore(), {}, BootInfo("boot &device;:\\boot\\grub\\powerpc.elf conf=x y"))
          .image,
      2048);
  const block::Device device = cd.Device();
  ASSERT_TRUE(LoadMedia({{&device, bootmgr::BootKind::kCdrom}})) << console_.text;
  EXPECT_STREQ(loaded_.arguments, "conf=x y");
}

// A 64-bit image linked at real address 0, where the firmware is (a Linux vmlinux): loaded 4 MiB
// up, as QEMU loads -kernel, and entered there; a 32-bit one there is refused.
TEST_F(LoaderTest, A64BitImageLinkedOverTheFirmwareIsLoadedFourMebibytesUp) {
  const auto kernel = Elf(true, 0x100, {{0x1000, 0, 0x3000, 0x8000}}, 0x4000, 2);
  FakeDisk disk(PrepDisk(kernel), 65536);
  ASSERT_TRUE(Load({&disk})) << console_.text;
  EXPECT_EQ(loaded_.entry, 0x400100u);
  EXPECT_FALSE(loaded_.mode32);
  EXPECT_EQ(std::memcmp(ram_ + 0x400000, kernel.data() + 0x1000, 0x3000), 0);
  EXPECT_FALSE(claims_.IsFree(0x400000, 0x8000));
  EXPECT_TRUE(
      console_.Has("tern: partition 1 is linked where the firmware is: loaded 0x400000 "
                   "bytes up\n"))
      << console_.text;
  console_.text.clear();
  const auto before = Claimed();
  FakeDisk small(PrepDisk(Elf(false, 0x100, {{0x1000, 0, 0x3000, 0x8000}}, 0x4000)), 65536);
  EXPECT_FALSE(Load({&small}));
  EXPECT_TRUE(console_.Has("cannot boot partition 1: ELF segment overlaps firmware memory"))
      << console_.text;
  EXPECT_TRUE(SameClaims(Claimed(), before));
}

}  // namespace
