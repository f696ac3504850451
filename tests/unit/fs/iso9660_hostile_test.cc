// fs/iso9660.h on hostile images: each damage to a well-formed image (tests/unit/fs/iso-builder.h)
// is an error with its own name, never a crash, a read outside the image or an unbounded walk.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fs/iso9660.h"
#include "tests/unit/fs/fs-test-disk.h"
#include "tests/unit/fs/iso-builder.h"

namespace {

using fs::IsoError;
using isotest::Dir;
using isotest::File;
using isotest::kSector;
using isotest::Node;
using isotest::PutBoth16;
using isotest::PutBoth32;
using isotest::PutRecord;

constexpr size_t kPvd = 16 * kSector;
constexpr const char* kFound = "found";
constexpr const char* kBootInfo = "\\ppc\\bootinfo.txt";

std::string Name(IsoError error) {
  return fs::IsoErrorName(error);
}

Node Tree() {
  return Dir("", "",
             {Dir("PPC", "ppc", {File("BOOTINFO.TXT;1", "bootinfo.txt", "<chrp-boot>")}),
              Dir("A", "a", {Dir("B", "b", {File("C.;1", "c", "deep")})}),
              File("LAST.;1", "last", std::string(2048, 'z'))});
}

isotest::Built Build(bool rock_ridge = false, uint32_t extra_blocks = 0) {
  isotest::Options options;
  options.rock_ridge = rock_ridge;
  options.extra_blocks = extra_blocks;
  return isotest::Build(Tree(), options);
}

uint32_t Blocks(const std::vector<uint8_t>& image) {
  return static_cast<uint32_t>(image.size() / kSector);
}

// Opens `image` on a device of `block_size` and looks `path` up: "found", or the error's name
// (OpenVolume's, else Lookup's). `file` receives what was found.
std::string Outcome(const std::vector<uint8_t>& image, const std::string& path = kBootInfo,
                    uint32_t block_size = 2048, fs::File* file = nullptr) {
  isotest::TestDisk disk(image, block_size);
  const block::Device device = disk.Device();
  std::vector<uint8_t> scratch(fs::ScratchBytes(block_size));
  auto volume = fs::OpenVolume(device, {scratch.data(), scratch.size()});
  if (volume.is_error()) return Name(volume.error());
  auto found = fs::Lookup(volume.value(), lib::StringView(path.data(), path.size()),
                          {scratch.data(), scratch.size()});
  if (found.is_error()) return Name(found.error());
  if (file != nullptr) *file = found.value();
  return kFound;
}

TEST(Iso9660Hostile, TheUndamagedImageWorks) {
  for (bool rock_ridge : {false, true}) {
    const isotest::Built built = Build(rock_ridge);
    fs::File file;
    EXPECT_EQ(Outcome(built.image, kBootInfo, 2048, &file), kFound);
    EXPECT_EQ(file.size, 11u);
    EXPECT_EQ(Outcome(built.image, "\\a\\b\\c", 512, &file), kFound);
    EXPECT_EQ(file.size, 4u);
  }
}

// ---- Volume descriptors ----

TEST(Iso9660Hostile, NotAnIsoImage) {
  EXPECT_EQ(Outcome(std::vector<uint8_t>(40 * kSector)), Name(IsoError::kNotIso9660));
  // Too small to hold sector 16.
  std::vector<uint8_t> small = Build().image;
  small.resize(16 * kSector + 1024);
  EXPECT_EQ(Outcome(small, kBootInfo, 512), Name(IsoError::kNotIso9660));
  small.resize(16 * kSector);
  EXPECT_EQ(Outcome(small), Name(IsoError::kNotIso9660));
  std::vector<uint8_t> image = Build().image;
  image[kPvd + 3] = 'X';
  EXPECT_EQ(Outcome(image), Name(IsoError::kNotIso9660));
}

TEST(Iso9660Hostile, DescriptorSets) {
  std::vector<uint8_t> image = Build().image;
  // A terminator before the PVD.
  image[kPvd] = 255;
  EXPECT_EQ(Outcome(image), Name(IsoError::kNoPrimary));
  // A boot record, then a sector without CD001 (UDF's "BEA01") before any terminator.
  image[kPvd] = 0;
  image[kPvd + kSector] = 1;
  std::memcpy(&image[kPvd + kSector + 1], "BEA01", 5);
  EXPECT_EQ(Outcome(image), Name(IsoError::kBadDescriptor));
  // Supplementary descriptors and no end: bounded at kMaxDescriptors.
  std::vector<uint8_t> many(100 * kSector);
  for (uint32_t i = 0; i < 80; ++i) {
    uint8_t* descriptor = &many[(16 + i) * kSector];
    descriptor[0] = 2;
    std::memcpy(descriptor + 1, "CD001", 5);
    descriptor[6] = 1;
  }
  EXPECT_EQ(Outcome(many), Name(IsoError::kTooManyDescriptors));
  // The set runs into the device's end.
  many.resize(30 * kSector);
  EXPECT_EQ(Outcome(many), Name(IsoError::kNoPrimary));
}

TEST(Iso9660Hostile, PrimaryFieldsOutOfRange) {
  const std::vector<uint8_t> good = Build().image;
  const uint32_t blocks = Blocks(good);
  auto with = [&](auto change) {
    std::vector<uint8_t> image = good;
    change(image.data() + kPvd);
    return Outcome(image);
  };
  EXPECT_EQ(with([](uint8_t* pvd) { pvd[6] = 2; }), Name(IsoError::kBadPrimary));
  for (uint16_t block_size : {0, 256, 768, 4096, 65535}) {
    EXPECT_EQ(with([&](uint8_t* pvd) { PutBoth16(pvd + 128, block_size); }),
              Name(IsoError::kBadPrimary))
        << block_size;
  }
  // A volume smaller than its descriptors, or larger than the device.
  EXPECT_EQ(with([](uint8_t* pvd) { PutBoth32(pvd + 80, 16); }), Name(IsoError::kBadPrimary));
  EXPECT_EQ(with([](uint8_t* pvd) { PutBoth32(pvd + 80, 0); }), Name(IsoError::kBadPrimary));
  EXPECT_EQ(with([&](uint8_t* pvd) { PutBoth32(pvd + 80, blocks + 1); }),
            Name(IsoError::kVolumePastDevice));
  EXPECT_EQ(with([](uint8_t* pvd) { PutBoth32(pvd + 80, 0xffffffffu); }),
            Name(IsoError::kVolumePastDevice));
  // The root directory record: its length, identifier, flags, extent.
  EXPECT_EQ(with([](uint8_t* pvd) { pvd[156] = 33; }), Name(IsoError::kBadPrimary));
  EXPECT_EQ(with([](uint8_t* pvd) { pvd[156] = 0; }), Name(IsoError::kBadPrimary));
  EXPECT_EQ(with([](uint8_t* pvd) { pvd[156 + 32] = 2; }), Name(IsoError::kBadPrimary));
  EXPECT_EQ(with([](uint8_t* pvd) { pvd[156 + 33] = 'A'; }), Name(IsoError::kBadPrimary));
  EXPECT_EQ(with([](uint8_t* pvd) { pvd[156 + 25] = 0; }), Name(IsoError::kBadPrimary));
  EXPECT_EQ(with([&](uint8_t* pvd) { PutBoth32(pvd + 156 + 2, blocks); }),
            Name(IsoError::kExtentPastEnd));
  EXPECT_EQ(with([](uint8_t* pvd) { PutBoth32(pvd + 156 + 10, 0xffffffffu); }),
            Name(IsoError::kExtentPastEnd));
  // An extent ending with the volume is allowed; its first record ('z' bytes) is not.
  EXPECT_EQ(with([&](uint8_t* pvd) { PutBoth32(pvd + 156 + 2, blocks - 1); }),
            Name(IsoError::kBadRecord));
}

// ---- Directory records ----

// `image` with a spare sector at its end made ppc's directory, holding ".", ".." and then
// `records` (each written by the function at its offset in the sector).
struct SpareDirectory {
  SpareDirectory() : built(Build(false, 2)) {
    lbn = Blocks(built.image) - 2;
    sector = &built.image[uint64_t{lbn} * kSector];
    PutRecord(sector, lbn, 2 * kSector, true, std::string(1, '\0'));
    PutRecord(sector + 34, 18, kSector, true, std::string(1, '\1'));
    const size_t ppc = built.at.at("/PPC").record;
    PutBoth32(&built.image[ppc + 2], lbn);
    PutBoth32(&built.image[ppc + 10], 2 * kSector);
    bootinfo_lbn = static_cast<uint32_t>(built.at.at("/PPC/BOOTINFO.TXT;1").data / kSector);
  }
  // The bootinfo.txt record at `at` of the spare directory.
  void BootInfo(size_t at, uint8_t length = 0) {
    PutRecord(sector + at, bootinfo_lbn, 11, false, "BOOTINFO.TXT;1", length);
  }
  // Records of `length` bytes named "F" from `from` up to `to`.
  void Fill(size_t from, size_t to) {
    for (size_t at = from; at < to;) {
      const size_t length = std::min<size_t>(250, to - at);
      PutRecord(sector + at, lbn, 0, false, "F", static_cast<uint8_t>(length));
      at += length;
    }
  }

  isotest::Built built;
  uint32_t lbn = 0;
  uint32_t bootinfo_lbn = 0;
  uint8_t* sector = nullptr;
};

TEST(Iso9660Hostile, RecordLengths) {
  {
    SpareDirectory dir;
    dir.BootInfo(68);
    EXPECT_EQ(Outcome(dir.built.image), kFound);
    const std::vector<uint8_t> good = dir.built.image;
    auto with = [&](size_t at, uint8_t value) {
      std::vector<uint8_t> image = good;
      image[uint64_t{dir.lbn} * kSector + at] = value;
      return Outcome(image);
    };
    EXPECT_EQ(with(68, 20), Name(IsoError::kBadRecord));        // under the fixed part
    EXPECT_EQ(with(68, 33), Name(IsoError::kBadRecord));        // no room for a name
    EXPECT_EQ(with(68 + 32, 0), Name(IsoError::kBadRecord));    // an empty name
    EXPECT_EQ(with(68 + 32, 200), Name(IsoError::kBadRecord));  // a name past its record
    EXPECT_EQ(with(68 + 32, 16), Name(IsoError::kBadRecord));   // one byte past
    EXPECT_EQ(with(68 + 32, 11), Name(IsoError::kNotFound));    // "BOOTINFO.TX"
    EXPECT_EQ(with(68 + 32, 13), kFound);                       // "BOOTINFO.TXT;"
  }
  {
    // A record running across its sector's end (48 bytes left, 56 long).
    SpareDirectory dir;
    dir.Fill(68, kSector - 48);
    dir.BootInfo(kSector - 48, 56);
    EXPECT_EQ(Outcome(dir.built.image), Name(IsoError::kBadRecord));
    // Its least length, 48: it ends the sector, found.
    dir.BootInfo(kSector - 48);
    EXPECT_EQ(Outcome(dir.built.image), kFound);
    // A zero length byte ends the sector's records: the next sector's record is found.
    dir.sector[kSector - 48] = 0;
    EXPECT_EQ(Outcome(dir.built.image), Name(IsoError::kNotFound));
    dir.BootInfo(kSector);
    EXPECT_EQ(Outcome(dir.built.image), kFound);
    // A record running past the directory's data (its size one sector and 40 bytes).
    PutBoth32(&dir.built.image[dir.built.at.at("/PPC").record + 10], kSector + 40);
    EXPECT_EQ(Outcome(dir.built.image), Name(IsoError::kBadRecord));
  }
}

TEST(Iso9660Hostile, ExtentsPastTheVolume) {
  const isotest::Built built = Build(false, 4);
  const size_t bootinfo = built.at.at("/PPC/BOOTINFO.TXT;1").record;
  const uint64_t data = built.at.at("/PPC/BOOTINFO.TXT;1").data;
  const size_t ppc = built.at.at("/PPC").record;
  const uint32_t blocks = Blocks(built.image);
  auto with = [&](size_t record, size_t field, uint32_t value) {
    std::vector<uint8_t> image = built.image;
    PutBoth32(&image[record + field], value);
    return Outcome(image);
  };
  const auto left = static_cast<uint32_t>(built.image.size() - data);
  EXPECT_EQ(with(bootinfo, 2, blocks), Name(IsoError::kExtentPastEnd));
  EXPECT_EQ(with(bootinfo, 2, 0xffffffffu), Name(IsoError::kExtentPastEnd));
  EXPECT_EQ(with(bootinfo, 10, 0xffffffffu), Name(IsoError::kExtentPastEnd));
  EXPECT_EQ(with(bootinfo, 10, left + 1), Name(IsoError::kExtentPastEnd));
  EXPECT_EQ(with(bootinfo, 10, left), kFound);
  EXPECT_EQ(with(ppc, 2, blocks), Name(IsoError::kExtentPastEnd));
  // The last byte of the volume is the file's last: allowed.
  std::vector<uint8_t> image = built.image;
  PutBoth32(&image[bootinfo + 2], blocks - 1);
  PutBoth32(&image[bootinfo + 10], kSector);
  fs::File file;
  EXPECT_EQ(Outcome(image, kBootInfo, 512, &file), kFound);
  EXPECT_EQ(file.offset + file.size, image.size());
  // The extended attribute record's blocks count too.
  image[bootinfo + 1] = 1;
  EXPECT_EQ(Outcome(image), Name(IsoError::kExtentPastEnd));
}

TEST(Iso9660Hostile, MultiExtentAndInterleavedFiles) {
  const isotest::Built built = Build();
  const size_t bootinfo = built.at.at("/PPC/BOOTINFO.TXT;1").record;
  std::vector<uint8_t> image = built.image;
  image[bootinfo + 25] |= 0x80;
  EXPECT_EQ(Outcome(image), Name(IsoError::kMultiExtent));
  image = built.image;
  image[bootinfo + 26] = 1;
  EXPECT_EQ(Outcome(image), Name(IsoError::kInterleaved));
  image = built.image;
  image[bootinfo + 27] = 3;
  EXPECT_EQ(Outcome(image), Name(IsoError::kInterleaved));
}

// ---- Loops, depth, size ----

TEST(Iso9660Hostile, DirectoryLoops) {
  const isotest::Built built = Build();
  const size_t b = built.at.at("/A/B").record;
  const auto root_lbn = static_cast<uint32_t>(isotest::RootOffset(built.image) / kSector);
  const auto a_lbn = static_cast<uint32_t>(built.at.at("/A").data / kSector);
  // B's extent is the root's: \a\b\a\b\... would never end without the check.
  std::vector<uint8_t> image = built.image;
  PutBoth32(&image[b + 2], root_lbn);
  EXPECT_EQ(Outcome(image, "\\a\\b\\a\\b\\a\\b\\c"), Name(IsoError::kDirectoryLoop));
  EXPECT_EQ(Outcome(image, "\\a\\b\\ppc\\bootinfo.txt"), Name(IsoError::kDirectoryLoop));
  // B's extent is its parent's.
  image = built.image;
  PutBoth32(&image[b + 2], a_lbn);
  EXPECT_EQ(Outcome(image, "\\a\\b\\b\\b\\c"), Name(IsoError::kDirectoryLoop));
  // A made two sectors long: B's extent, right after A's, now overlaps it.
  image = built.image;
  ASSERT_EQ(built.at.at("/A/B").data, built.at.at("/A").data + kSector);
  PutBoth32(&image[built.at.at("/A").record + 10], 2 * kSector);
  EXPECT_EQ(Outcome(image, "\\a\\b\\c"), Name(IsoError::kDirectoryLoop));
}

TEST(Iso9660Hostile, AbsurdPaths) {
  const std::vector<uint8_t> image = Build().image;
  std::string deep;
  for (int i = 0; i < 33; ++i) deep += "\\a";
  EXPECT_EQ(Outcome(image, deep), Name(IsoError::kPathTooDeep));
  EXPECT_EQ(Outcome(image, deep.substr(2)), Name(IsoError::kNotFound));  // 32: looked up
  EXPECT_EQ(Outcome(image, "\\" + std::string(256, 'a')), Name(IsoError::kBadPath));
  EXPECT_EQ(Outcome(image, "\\" + std::string(255, 'a')), Name(IsoError::kNotFound));
  EXPECT_EQ(Outcome(image, std::string(100000, '\\') + "ppc/bootinfo.txt"), kFound);
  EXPECT_EQ(Outcome(image, std::string("\\ppc\0x", 6)), Name(IsoError::kNotFound));
}

TEST(Iso9660Hostile, HugeDirectories) {
  // ppc's directory pointed at 2.2 MB of minimal records: 65,536 walked, then refused.
  constexpr uint32_t kSectors = 1100;
  const isotest::Built built = Build(false, kSectors);
  std::vector<uint8_t> image = built.image;
  const uint32_t first = Blocks(image) - kSectors;
  for (uint32_t s = 0; s < kSectors; ++s) {
    for (uint32_t r = 0; r < 60; ++r) {
      PutRecord(&image[uint64_t{first + s} * kSector + r * 34], first, 0, false, "Q");
    }
  }
  const size_t ppc = built.at.at("/PPC").record;
  PutBoth32(&image[ppc + 2], first);
  PutBoth32(&image[ppc + 10], kSectors * kSector);
  EXPECT_EQ(Outcome(image), Name(IsoError::kDirectoryTooLarge));
  // Over kMaxDirectoryBytes: refused before a read.
  PutBoth32(&image[ppc + 10], static_cast<uint32_t>(fs::kMaxDirectoryBytes + 1));
  image.resize(image.size() + fs::kMaxDirectoryBytes + kSector);
  PutBoth32(&image[kPvd + 80], Blocks(image));
  EXPECT_EQ(Outcome(image), Name(IsoError::kDirectoryTooLarge));
  // A directory of kMaxDirectoryBytes of zeros: every sector skipped, nothing found.
  PutBoth32(&image[ppc + 2], Blocks(image) - 2049);
  PutBoth32(&image[ppc + 10], static_cast<uint32_t>(fs::kMaxDirectoryBytes));
  EXPECT_EQ(Outcome(image), Name(IsoError::kNotFound));
}

// ---- Rock Ridge ----

TEST(Iso9660Hostile, SystemUseEntries) {
  const isotest::Built built = Build(true);
  // ppc's record: 33 bytes, "PPC", then its system use field: an NM entry of 8 bytes.
  const size_t nm = built.at.at("/ppc").record + 36;
  ASSERT_EQ(built.image[nm], 'N');
  ASSERT_EQ(built.image[nm + 2], 8);
  auto with = [&](size_t at, uint8_t value, const char* path = kBootInfo) {
    std::vector<uint8_t> image = built.image;
    image[at] = value;
    return Outcome(image, path);
  };
  EXPECT_EQ(with(nm + 2, 3), Name(IsoError::kBadSystemUse));    // under an entry's header
  EXPECT_EQ(with(nm + 2, 4), Name(IsoError::kBadSystemUse));    // an NM without its flags
  EXPECT_EQ(with(nm + 2, 9), Name(IsoError::kBadSystemUse));    // past the field
  EXPECT_EQ(with(nm + 2, 255), Name(IsoError::kBadSystemUse));  // far past the record
  EXPECT_EQ(with(nm + 4, 2), Name(IsoError::kNotFound));        // CURRENT: a "." entry
  EXPECT_EQ(with(nm + 4, 4), Name(IsoError::kNotFound));        // PARENT: a ".." entry
  // Without its NM entry (another signature, an ST, zero padding), the ISO name "PPC" is used.
  EXPECT_EQ(with(nm + 1, 'X'), kFound);
  std::vector<uint8_t> image = built.image;
  std::memcpy(&image[nm], "ST\x04\x01", 4);
  EXPECT_EQ(Outcome(image), kFound);
  std::memset(&image[nm], 0, 4);
  EXPECT_EQ(Outcome(image), kFound);
  // SP's skip length past every record's field: no entries anywhere, ISO names only.
  const uint64_t root = isotest::RootOffset(built.image);
  ASSERT_EQ(built.image[root + 34], 'S');
  EXPECT_EQ(with(root + 34 + 6, 200, "\\PPC\\BOOTINFO.TXT"), kFound);
  // A damaged SP: no Rock Ridge, ISO names.
  EXPECT_EQ(with(root + 34 + 4, 0xBF, "\\PPC\\BOOTINFO.TXT"), kFound);
  EXPECT_EQ(with(root + 34 + 2, 8, "\\PPC\\BOOTINFO.TXT"), kFound);
}

TEST(Iso9660Hostile, ContinuationAreas) {
  Node continued = File("CONT.;1", "continued", "in CE");
  continued.name_in_continuation = true;
  isotest::Options options;
  options.rock_ridge = true;
  const isotest::Built built = isotest::Build(Dir("", "", {continued}), options);
  const size_t ce = built.at.at("/continued").record + 33 + 7;  // "CONT.;1": odd, no padding
  ASSERT_EQ(built.image[ce], 'C');
  ASSERT_EQ(built.image[ce + 1], 'E');
  const uint32_t area_lbn = built.image[ce + 4] | built.image[ce + 5] << 8;
  const uint32_t blocks = Blocks(built.image);
  EXPECT_EQ(Outcome(built.image, "\\continued"), kFound);
  auto with = [&](size_t field, uint32_t value) {
    std::vector<uint8_t> image = built.image;
    PutBoth32(&image[ce + field], value);
    return Outcome(image, "\\continued");
  };
  EXPECT_EQ(with(4, blocks), Name(IsoError::kBadSystemUse));       // past the volume
  EXPECT_EQ(with(4, 0xffffffffu), Name(IsoError::kBadSystemUse));  // far past
  EXPECT_EQ(with(12, 2048), Name(IsoError::kBadSystemUse));        // offset past the block
  EXPECT_EQ(with(20, 2049), Name(IsoError::kBadSystemUse));        // longer than a block
  EXPECT_EQ(with(12, 2040), Name(IsoError::kBadSystemUse));        // ending past the block
  std::vector<uint8_t> image = built.image;
  image[ce + 2] = 27;  // a CE entry of the wrong length
  EXPECT_EQ(Outcome(image, "\\continued"), Name(IsoError::kBadSystemUse));
  // A continuation area whose CE names itself: followed kMaxContinuations times, then refused.
  image = built.image;
  uint8_t* area = &image[uint64_t{area_lbn} * kSector];
  std::memcpy(area, &built.image[ce], 28);
  PutBoth32(area + 20, 28);
  PutBoth32(&image[ce + 20], 28);
  EXPECT_EQ(Outcome(image, "\\continued"), Name(IsoError::kBadSystemUse));
}

TEST(Iso9660Hostile, ContinuationChains) {
  Node continued = File("CONT.;1", "continued", "in CE");
  continued.name_in_continuation = true;
  isotest::Options options;
  options.rock_ridge = true;
  const isotest::Built built = isotest::Build(Dir("", "", {continued}), options);
  const size_t ce = built.at.at("/continued").record + 33 + 7;
  const uint32_t area_lbn = built.image[ce + 4] | built.image[ce + 5] << 8;
  const uint32_t blocks = Blocks(built.image);
  // The record's CE, then kMaxContinuations areas at the volume's end, each holding a CE
  // naming the next; the last's names a 9th: refused.
  std::vector<uint8_t> image = built.image;
  image.resize(image.size() + fs::kMaxContinuations * kSector);
  PutBoth32(&image[kPvd + 80], Blocks(image));
  for (uint32_t i = 0; i < fs::kMaxContinuations; ++i) {
    uint8_t* hop = &image[uint64_t{blocks + i} * kSector];
    std::memcpy(hop, &built.image[ce], 28);
    PutBoth32(hop + 4, i + 1 < fs::kMaxContinuations ? blocks + i + 1 : area_lbn);
    PutBoth32(hop + 20, 28);
  }
  PutBoth32(&image[ce + 4], blocks);
  PutBoth32(&image[ce + 20], 28);
  EXPECT_EQ(Outcome(image, "\\continued"), Name(IsoError::kBadSystemUse));
  // One hop fewer: the 8th area read is the one holding the name (NM 14 bytes, ST 4).
  PutBoth32(&image[uint64_t{blocks + fs::kMaxContinuations - 2} * kSector + 4], area_lbn);
  PutBoth32(&image[uint64_t{blocks + fs::kMaxContinuations - 2} * kSector + 20], 18);
  EXPECT_EQ(Outcome(image, "\\continued"), kFound);
}

}  // namespace
