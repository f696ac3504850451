// fs/iso9660.h on ISO images built here byte by byte (tests/unit/fs/iso-builder.h): grub-mkrescue's
// layout with and without Rock Ridge, on devices of 512-, 2048- and 4096-byte blocks and volumes
// of 512-, 1024- and 2048-byte logical blocks; every path form; files at the device's end; and
// hostile images (damaged descriptors and records, loops, extents past the end, absurd paths and
// directories), each an error. The disk copies from an exact-size image: AddressSanitizer reports
// any read the checks let past it.
#include "fs/iso9660.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "tests/unit/fs/fs-test-disk.h"
#include "tests/unit/fs/grub-mkrescue-bootinfo.h"
#include "tests/unit/fs/iso-builder.h"

namespace {

using fs::IsoError;
using isotest::Dir;
using isotest::File;
using isotest::Node;
using isotest::TestDisk;

std::string Pattern(size_t size, uint8_t seed) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>(seed + i * 7 + (i >> 9));
  return data;
}

// grub-mkrescue's layout (xorriso's ISO names; Rock Ridge names as grub-mkrescue's ISO has them).
Node GrubTree() {
  Node grub_dir = Dir("POWERPC_", "powerpc-ieee1275",
                      {File("CORE.ELF;1", "core.elf",
                            "\x7f"
                            "ELF core"),
                       File("NORMAL.MOD;1", "normal.mod", Pattern(5000, 3))});
  return Dir(
      "", "",
      {Dir("BOOT", "boot",
           {Dir("GRUB", "grub",
                {Dir("FONTS", "fonts", {}), File("GRUB.CFG;1", "grub.cfg", "set timeout=5\n"),
                 File("POWERPC.ELF;1", "powerpc.elf",
                      "\x7f"
                      "ELF" +
                          Pattern(90924, 1)),
                 grub_dir})}),
       Dir("INSTALL", "install",
           {File("INITRD.GZ;1", "initrd.gz", Pattern(3000, 9)),
            File("VMLINUX.;1", "vmlinux", Pattern(4097, 5))}),
       File("MACH_KER.;1", "mach_kernel", ""),
       Dir("PPC", "ppc",
           {File("BOOTINFO.TXT;1", "bootinfo.txt", isotest::kGrubMkrescueBootInfo),
            Dir("CHRP", "chrp", {})}),
       Dir("SYSTEM", "System", {})});
}

// An opened image: the disk, its device, the volume and a scratch buffer of exactly the size the
// reader needs (AddressSanitizer catches any use past it).
struct Opened {
  Opened(std::vector<uint8_t> image, uint32_t block_size, uint64_t min_blocks = 0)
      : disk(std::move(image), block_size, min_blocks),
        device(disk.Device()),
        scratch(fs::ScratchBytes(block_size)) {}

  lib::Result<fs::Volume, IsoError> Open() { return fs::OpenVolume(device, Scratch(), &io_error); }
  lib::Span<uint8_t> Scratch() { return {scratch.data(), scratch.size()}; }

  // Opens the volume (expected to work) and looks `path` up.
  lib::Result<fs::File, IsoError> Lookup(const std::string& path) {
    auto opened = Open();
    EXPECT_TRUE(opened.is_ok()) << fs::IsoErrorName(opened.error());
    if (opened.is_error()) return lib::Err(opened.error());
    volume = opened.value();
    return fs::Lookup(volume, lib::StringView(path.data(), path.size()), Scratch(), &io_error);
  }

  // The whole file, read in pieces of `piece` bytes.
  std::string Read(const fs::File& file, size_t piece = 1000) {
    std::string out;
    std::vector<uint8_t> buffer(piece);
    for (uint64_t position = 0;;) {
      auto read = fs::ReadFile(volume, file, position, {buffer.data(), buffer.size()}, Scratch());
      EXPECT_TRUE(read.is_ok());
      if (read.is_error() || read.value() == 0) return out;
      out.append(reinterpret_cast<const char*>(buffer.data()), read.value());
      position += read.value();
    }
  }

  // The contents at `path`, or "<error name>".
  std::string Contents(const std::string& path) {
    auto file = Lookup(path);
    if (file.is_error()) return std::string("<") + fs::IsoErrorName(file.error()) + ">";
    return Read(file.value());
  }

  TestDisk disk;
  block::Device device;
  std::vector<uint8_t> scratch;
  fs::Volume volume;
  block::IoError io_error = block::IoError::kDevice;
};

std::string Error(IsoError error) {
  return std::string("<") + fs::IsoErrorName(error) + ">";
}

// ---- grub-mkrescue's layout on every geometry ----

// (device block size, logical block size, Rock Ridge, directories packed into logical blocks)
class GrubLayoutTest : public ::testing::TestWithParam<std::tuple<uint32_t, uint32_t, bool, bool>> {
 protected:
  isotest::Built Build() {
    isotest::Options options;
    options.block_size = std::get<1>(GetParam());
    options.rock_ridge = std::get<2>(GetParam());
    options.pack = std::get<3>(GetParam());
    options.volume_id = "ISOIMAGE";
    return isotest::Build(GrubTree(), options);
  }
  uint32_t device_block() const { return std::get<0>(GetParam()); }
  bool rock_ridge() const { return std::get<2>(GetParam()); }
};

TEST_P(GrubLayoutTest, OpensTheVolume) {
  const isotest::Built built = Build();
  Opened iso(built.image, device_block());
  auto volume = iso.Open();
  ASSERT_TRUE(volume.is_ok()) << fs::IsoErrorName(volume.error());
  EXPECT_EQ(volume.value().block_size, std::get<1>(GetParam()));
  EXPECT_EQ(volume.value().bytes, built.image.size());
  EXPECT_EQ(volume.value().rock_ridge, rock_ridge());
  EXPECT_EQ(volume.value().susp_skip, 0);
  EXPECT_STREQ(volume.value().volume_id, "ISOIMAGE");
  EXPECT_EQ(volume.value().root_offset, 18u * isotest::kSector);
  if (!std::get<3>(GetParam())) {
    EXPECT_EQ(volume.value().root_size, isotest::kSector);
  }
}

TEST_P(GrubLayoutTest, FindsEveryPathForm) {
  const isotest::Built built = Build();
  Opened iso(built.image, device_block());
  const std::string bootinfo = isotest::kGrubMkrescueBootInfo;
  for (const char* path : {"\\ppc\\bootinfo.txt", "/ppc/bootinfo.txt", "ppc\\bootinfo.txt",
                           "ppc/bootinfo.txt", "PPC\\BOOTINFO.TXT", "\\Ppc/BootInfo.Txt",
                           "\\\\ppc\\\\bootinfo.txt\\", "//ppc///bootinfo.txt"}) {
    EXPECT_EQ(iso.Contents(path), bootinfo) << path;
  }
  EXPECT_EQ(iso.Contents("\\boot\\grub\\powerpc.elf"),
            "\x7f"
            "ELF" +
                Pattern(90924, 1));
  EXPECT_EQ(iso.Contents("/boot/grub/grub.cfg"), "set timeout=5\n");
  EXPECT_EQ(iso.Contents("\\install\\vmlinux"), Pattern(4097, 5));
  EXPECT_EQ(iso.Contents("install/initrd.gz"), Pattern(3000, 9));
  EXPECT_EQ(iso.Contents(rock_ridge() ? "\\mach_kernel" : "\\mach_ker"), "");
  // The file's extent: where the builder put it, as a byte offset of the device.
  auto file = iso.Lookup("\\ppc\\bootinfo.txt");
  ASSERT_TRUE(file.is_ok());
  EXPECT_EQ(file.value().offset,
            built.at.at(rock_ridge() ? "/ppc/bootinfo.txt" : "/PPC/BOOTINFO.TXT;1").data);
  EXPECT_EQ(file.value().size, bootinfo.size());
  // Packed into small logical blocks, directories start inside sectors.
  bool inside = false;
  for (const auto& [path, placed] : built.at) {
    inside |= placed.directory && placed.data % isotest::kSector != 0;
  }
  EXPECT_EQ(inside, std::get<3>(GetParam()) && std::get<1>(GetParam()) < isotest::kSector);
}

TEST_P(GrubLayoutTest, RockRidgeNamesArePreferred) {
  const isotest::Built built = Build();
  Opened iso(built.image, device_block());
  const std::string core =
      "\x7f"
      "ELF core";
  if (rock_ridge()) {
    EXPECT_EQ(iso.Contents("\\boot\\grub\\powerpc-ieee1275\\core.elf"), core);
    EXPECT_EQ(iso.Contents("\\boot\\grub\\POWERPC-IEEE1275\\normal.mod"), Pattern(5000, 3));
    // The ISO 9660 name of a record with a Rock Ridge name is not compared.
    EXPECT_EQ(iso.Contents("\\boot\\grub\\powerpc_\\core.elf"), Error(IsoError::kNotFound));
  } else {
    EXPECT_EQ(iso.Contents("\\boot\\grub\\powerpc_\\core.elf"), core);
    EXPECT_EQ(iso.Contents("\\boot\\grub\\powerpc-ieee1275\\core.elf"), Error(IsoError::kNotFound));
  }
}

TEST_P(GrubLayoutTest, DirectoriesAndMissingFiles) {
  Opened iso(Build().image, device_block());
  for (const char* path : {"\\ppc", "\\ppc\\chrp\\", "", "\\", "//", "/System"}) {
    auto file = iso.Lookup(path);
    ASSERT_TRUE(file.is_error()) << path;
    EXPECT_EQ(file.error(), IsoError::kIsADirectory) << path;
  }
  EXPECT_EQ(iso.Contents("\\ppc\\bootinfo.txt\\more"), Error(IsoError::kNotADirectory));
  EXPECT_EQ(iso.Contents("\\ppc\\missing"), Error(IsoError::kNotFound));
  EXPECT_EQ(iso.Contents("\\ppc\\chrp\\yaboot"), Error(IsoError::kNotFound));
  EXPECT_EQ(iso.Contents("\\nothing\\bootinfo.txt"), Error(IsoError::kNotFound));
  // Neither "." nor ".." is a name; as path components they are refused.
  EXPECT_EQ(iso.Contents("\\ppc\\.\\bootinfo.txt"), Error(IsoError::kBadPath));
  EXPECT_EQ(iso.Contents("\\ppc\\..\\ppc\\bootinfo.txt"), Error(IsoError::kBadPath));
}

INSTANTIATE_TEST_SUITE_P(Geometries, GrubLayoutTest,
                         ::testing::Combine(::testing::Values(512u, 2048u, 4096u),
                                            ::testing::Values(512u, 1024u, 2048u),
                                            ::testing::Bool(), ::testing::Bool()));

// ---- Names ----

TEST(Iso9660Names, VersionsAndTrailingDotsAreIgnored) {
  const Node root =
      Dir("", "",
          {File("README.;1", "", "a"), File("NOTES.TXT;12", "", "b"), File("PLAIN", "", "c"),
           File("DOTTED.", "", "d"), File("lower.txt;1", "", "e")});
  Opened iso(isotest::Build(root).image, 2048);
  EXPECT_EQ(iso.Contents("\\readme"), "a");
  EXPECT_EQ(iso.Contents("\\notes.txt"), "b");
  EXPECT_EQ(iso.Contents("\\plain"), "c");
  EXPECT_EQ(iso.Contents("\\dotted"), "d");
  EXPECT_EQ(iso.Contents("\\LOWER.TXT"), "e");
  EXPECT_EQ(iso.Contents("\\readme."), Error(IsoError::kNotFound));
  EXPECT_EQ(iso.Contents("\\notes.txt;12"), Error(IsoError::kNotFound));
}

TEST(Iso9660Names, RockRidgeSkipSplitAndContinuation) {
  Node split = File("SPLIT.TXT;1", "a-name-in-three-nm-entries.txt", "split");
  split.nm_split = 10;
  Node continued = File("CONT.TXT;1", "a-name-in-a-continuation-area.txt", "continued");
  continued.name_in_continuation = true;
  Node continued_dir = Dir("CDIR", "Continued Directory", {File("X.;1", "x", "inside")});
  continued_dir.name_in_continuation = true;
  const std::string long_name(255, 'n');
  const std::string too_long(300, 'n');
  // Names too long for a record's 255 bytes go to continuation areas, as xorriso puts them.
  Node longest = File("LONG.;1", long_name, "255");
  longest.name_in_continuation = true;
  Node overlong = File("OVER.;1", too_long, "300");
  overlong.nm_split = 100;
  overlong.name_in_continuation = true;
  const Node root = Dir(
      "", "",
      {split, continued, continued_dir, overlong, longest, File("PLAIN.TXT;1", "", "no NM entry")});
  for (uint8_t skip : {0, 1, 5}) {
    for (uint32_t logical : {512u, 2048u}) {
      isotest::Options options;
      options.rock_ridge = true;
      options.susp_skip = skip;
      options.block_size = logical;
      Opened iso(isotest::Build(root, options).image, 512);
      ASSERT_TRUE(iso.Open().is_ok());
      EXPECT_EQ(iso.Open().value().susp_skip, skip);
      EXPECT_EQ(iso.Contents("\\a-name-in-three-nm-entries.txt"), "split");
      EXPECT_EQ(iso.Contents("\\A-Name-In-A-Continuation-Area.txt"), "continued");
      EXPECT_EQ(iso.Contents("\\continued directory\\x"), "inside");
      EXPECT_EQ(iso.Contents("\\" + long_name), "255");
      // A name over 255 bytes matches nothing, and is no error for its neighbours.
      EXPECT_EQ(iso.Contents("\\" + too_long), Error(IsoError::kBadPath));
      EXPECT_EQ(iso.Contents("\\" + too_long.substr(0, 255)), "255");
      EXPECT_EQ(iso.Contents("\\plain.txt"), "no NM entry");
    }
  }
}

TEST(Iso9660Names, AssociatedFilesAreSkipped) {
  const Node root =
      Dir("", "", {File("BOOT.ELF;1", "", "resource fork"), File("BOOT.ELF;1", "", "data fork")});
  isotest::Built built = isotest::Build(root);
  // The first record becomes an associated file [ECMA-119 9.1.6 bit 2]; the second is the file.
  // It follows the root's "." and ".." records, 34 bytes each.
  built.image[isotest::RootOffset(built.image) + 68 + 25] |= 4;
  Opened iso(built.image, 2048);
  EXPECT_EQ(iso.Contents("\\boot.elf"), "data fork");
}

// ---- Directories across sectors, files at the device's end ----

TEST(Iso9660Layout, LargeDirectoriesSpanSectors) {
  std::vector<Node> files;
  for (int i = 0; i < 300; ++i) {
    const std::string name = "FILE" + std::to_string(i);
    files.push_back(File(name + ".TXT;1", "file-number-" + std::to_string(i) + ".txt",
                         "contents " + std::to_string(i)));
  }
  isotest::Options options;
  options.rock_ridge = true;
  const Node root = Dir("", "", {Dir("MANY", "many", files)});
  const isotest::Built built = isotest::Build(root, options);
  Opened iso(built.image, 512);
  for (int i : {0, 1, 37, 150, 299}) {
    EXPECT_EQ(iso.Contents("\\many\\file-number-" + std::to_string(i) + ".txt"),
              "contents " + std::to_string(i));
  }
  auto many = iso.Lookup("\\many\\file-number-299.txt");
  ASSERT_TRUE(many.is_ok());
  EXPECT_GT(built.at.at("/many/file-number-299.txt").record -
                built.at.at("/many/file-number-0.txt").record,
            4 * isotest::kSector);
}

TEST(Iso9660Layout, FilesAtTheDevicesEnd) {
  for (uint32_t logical : {512u, 1024u, 2048u}) {
    for (uint32_t device : {512u, 2048u}) {
      // The last file fills the volume's last logical block; the device ends with the volume
      // when its blocks allow (a 512-byte logical block on a 2048-byte device leaves padding).
      const std::string last = Pattern(3 * logical, 11);
      const Node root = Dir("", "", {File("A.;1", "", "first"), File("LAST.;1", "", last)});
      isotest::Options options;
      options.block_size = logical;
      const isotest::Built built = isotest::Build(root, options);
      Opened iso(built.image, device);
      auto file = iso.Lookup("\\last");
      ASSERT_TRUE(file.is_ok());
      EXPECT_EQ(file.value().offset + file.value().size, built.image.size());
      EXPECT_EQ(iso.Read(file.value(), 777), last);
      EXPECT_EQ(iso.Read(file.value(), 1), last);
      // Reads past the end copy nothing; a short buffer copies what it holds.
      uint8_t byte = 0;
      auto past = fs::ReadFile(iso.volume, file.value(), last.size(), {&byte, 1}, iso.Scratch());
      ASSERT_TRUE(past.is_ok());
      EXPECT_EQ(past.value(), 0u);
      auto tail =
          fs::ReadFile(iso.volume, file.value(), last.size() - 1, {&byte, 1}, iso.Scratch());
      ASSERT_TRUE(tail.is_ok());
      EXPECT_EQ(tail.value(), 1u);
      EXPECT_EQ(byte, static_cast<uint8_t>(last.back()));
    }
  }
}

TEST(Iso9660Layout, ExtendedAttributeRecordsPrecedeTheData) {
  isotest::Built built =
      isotest::Build(Dir("", "", {File("F.;1", "", "xxxx" + std::string(2044, 'a') + "data")}));
  // One logical block of extended attribute record [ECMA-119 9.1.2, 9.5]: the data follows it.
  const isotest::Placed f = built.at.at("/F.;1");
  built.image[f.record + 1] = 1;
  isotest::PutBoth32(&built.image[f.record + 10], 4);
  Opened iso(built.image, 512);
  auto file = iso.Lookup("\\f");
  ASSERT_TRUE(file.is_ok());
  EXPECT_EQ(file.value().offset, f.data + 2048);
  EXPECT_EQ(iso.Read(file.value()), "data");
}

TEST(Iso9660Layout, ReadsAreSplitByMaxTransfer) {
  Opened iso(isotest::Build(GrubTree()).image, 512);
  iso.disk.max_transfer_blocks = 1;
  iso.device = iso.disk.Device();
  EXPECT_EQ(iso.Contents("\\boot\\grub\\powerpc.elf"),
            "\x7f"
            "ELF" +
                Pattern(90924, 1));
}

TEST(Iso9660Layout, SectorsAreReadOnce) {
  Opened iso(isotest::Build(GrubTree()).image, 2048);
  ASSERT_TRUE(iso.Lookup("\\ppc\\bootinfo.txt").is_ok());
  // PVD; root sector; ppc's sector: the lookup reads each directory sector once.
  iso.disk.reads = 0;
  ASSERT_TRUE(fs::Lookup(iso.volume, "\\ppc\\bootinfo.txt", iso.Scratch()).is_ok());
  EXPECT_EQ(iso.disk.reads, 2);
}

// ---- Devices and buffers ----

TEST(Iso9660Device, GeometryScratchAndReadFailures) {
  const isotest::Built built = isotest::Build(GrubTree());
  {
    Opened iso(built.image, 2048);
    iso.device.block_size = 520;
    EXPECT_EQ(iso.Open().error(), IsoError::kBadGeometry);
  }
  {
    Opened iso(built.image, 512);
    std::vector<uint8_t> small(fs::ScratchBytes(512) - 1);
    EXPECT_EQ(fs::OpenVolume(iso.device, {small.data(), small.size()}).error(),
              IsoError::kScratchTooSmall);
    ASSERT_TRUE(iso.Open().is_ok());
    iso.volume = iso.Open().value();
    EXPECT_EQ(fs::Lookup(iso.volume, "\\ppc", {small.data(), small.size()}).error(),
              IsoError::kScratchTooSmall);
  }
  {
    Opened iso(built.image, 2048);
    iso.disk.fail_lba = 16;
    EXPECT_EQ(iso.Open().error(), IsoError::kReadFailed);
    EXPECT_EQ(iso.io_error, block::IoError::kTimeout);
  }
  {
    Opened iso(built.image, 512);
    const uint64_t bootinfo = built.at.at("/PPC/BOOTINFO.TXT;1").data;
    auto file = iso.Lookup("\\ppc\\bootinfo.txt");
    ASSERT_TRUE(file.is_ok());
    iso.disk.fail_lba = bootinfo / 512 + 3;
    std::vector<uint8_t> out(4096);
    block::IoError io_error = block::IoError::kDevice;
    auto read = fs::ReadFile(iso.volume, file.value(), 0, {out.data(), out.size()}, iso.Scratch(),
                             &io_error);
    EXPECT_EQ(read.error(), IsoError::kReadFailed);
    EXPECT_EQ(io_error, block::IoError::kTimeout);
    // A directory's read failure during a lookup.
    iso.disk.fail_lba = built.at.at("/PPC").data / 512;
    iso.io_error = block::IoError::kDevice;
    EXPECT_EQ(fs::Lookup(iso.volume, "\\ppc\\bootinfo.txt", iso.Scratch(), &iso.io_error).error(),
              IsoError::kReadFailed);
    EXPECT_EQ(iso.io_error, block::IoError::kTimeout);
  }
}

TEST(Iso9660Device, ReadFileRefusesAnExtentOutsideTheVolume) {
  Opened iso(isotest::Build(GrubTree()).image, 2048);
  ASSERT_TRUE(iso.Lookup("\\ppc\\bootinfo.txt").is_ok());
  uint8_t out[16];
  const fs::File past{iso.volume.bytes - 8, 9};
  EXPECT_EQ(fs::ReadFile(iso.volume, past, 0, {out, sizeof(out)}, iso.Scratch()).error(),
            IsoError::kExtentPastEnd);
  const fs::File wrapping{~uint64_t{0} - 4, 16};
  EXPECT_EQ(fs::ReadFile(iso.volume, wrapping, 0, {out, sizeof(out)}, iso.Scratch()).error(),
            IsoError::kExtentPastEnd);
}

}  // namespace
