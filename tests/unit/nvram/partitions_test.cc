// nvram/partitions.h on byte images: blank, SLOF's, QEMU's -prom-env, with Linux's partitions,
// corrupt at several places; every formatted image passes Linux's walk (linux-nvram.h) and Linux
// then creates ibm,rtas-log and lnx,oops-log without a message.
#include "nvram/partitions.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/unit/nvram/linux-nvram.h"
#include "tests/unit/nvram/nvram-fixtures.h"

namespace nvram {
namespace {

using nvram_fixtures::AfterLinux;
using nvram_fixtures::PutHeader;
using nvram_fixtures::Writer;

lib::Span<uint8_t> Span(std::vector<uint8_t>& image) {
  return {image.data(), image.size()};
}

PartitionList Scan(std::vector<uint8_t>& image) {
  auto list = ScanPartitions(lib::Span<const uint8_t>(image.data(), image.size()));
  EXPECT_TRUE(list.is_ok());
  return list.is_ok() ? list.value() : PartitionList{};
}

FormatReport FormatOk(std::vector<uint8_t>& image) {
  auto report = Format(Span(image));
  EXPECT_TRUE(report.is_ok());
  return report.is_ok() ? report.value() : FormatReport{};
}

std::string Hex(const std::vector<uint8_t>& image, size_t at, size_t count) {
  std::string out;
  char byte[4];
  for (size_t i = 0; i < count; ++i) {
    snprintf(byte, sizeof(byte), "%02x", image[at + i]);
    out += byte;
  }
  return out;
}

// Linux of both byte orders walks the whole image without a message; returns the LE walk.
std::vector<linux_nvram::Part> ExpectLinuxClean(const std::vector<uint8_t>& image) {
  for (bool little : {false, true}) {
    const linux_nvram::Scan scan = linux_nvram::ScanPartitions(image, little);
    EXPECT_TRUE(scan.messages.empty()) << (little ? "LE: " : "BE: ") << scan.messages[0];
    EXPECT_FALSE(scan.past_end);
  }
  return linux_nvram::ScanPartitions(image, true).partitions;
}

// Linux boots on the image: no message, both of its partitions created or found.
void ExpectLinuxBoots(std::vector<uint8_t> image) {
  for (bool little : {false, true}) {
    std::vector<uint8_t> copy = image;
    linux_nvram::Kernel kernel(copy, little);
    kernel.InitOsPartitions();
    for (const std::string& message : kernel.messages()) ADD_FAILURE() << message;
    int os = 0;
    for (const linux_nvram::Part& part : kernel.partitions()) {
      if (part.signature == kSignatureOs &&
          (part.name == "ibm,rtas-log" || part.name == "lnx,oops-log")) {
        ++os;
      }
    }
    EXPECT_EQ(os, 2);
  }
}

// Every header of the image's walk is one all four checksums agree on.
void ExpectPortableHeaders(const std::vector<uint8_t>& image) {
  for (const linux_nvram::Part& part : linux_nvram::ScanPartitions(image, false).partitions) {
    const Header header = lib::LoadWire<Header>(image.data() + part.index);
    EXPECT_TRUE(HeaderIsPortable(header)) << "header at " << part.index;
  }
}

TEST(NvramChecksum, MatchesTheHeadersOfRealImages) {
  // Bytes from the images QEMU 7.2, its SLOF and Debian 12's Linux wrote (see nvram-fixtures.h).
  struct Known {
    uint8_t signature;
    uint16_t blocks;
    const char* name;
    uint8_t checksum;
  } known[] = {
      {0x51, 0x200, "ibm,CPU0log", 0x15}, {0x51, 0x80, "ibm,CPU1log", 0x94},
      {0x70, 0x100, "common", 0xfc},      {0x7f, 0xc80, "free space", 0xdd},
      {0xa0, 0x83, "ibm,rtas-log", 0xb5}, {0xa0, 0xfb, "lnx,oops-log", 0x4f},
      {0x7f, 0xb02, "free space", 0x5e},  {0x70, 0x80, "system", 0x98},
      {0x7f, 0xe02, "free", 0x33},
  };
  for (const Known& k : known) {
    const Header header = MakeHeader(k.signature, k.blocks, k.name);
    EXPECT_EQ(header.checksum, k.checksum) << k.name;
    EXPECT_EQ(HeaderChecksum(header, true), k.checksum) << k.name;
    EXPECT_TRUE(ChecksumMatches(header));
    EXPECT_TRUE(HeaderIsPortable(header)) << k.name;
  }
}

TEST(NvramChecksum, AgreesWithLinuxOnAnyHeader) {
  uint32_t seed = 1;
  for (int i = 0; i < 100000; ++i) {
    uint8_t bytes[16];
    for (uint8_t& b : bytes) {
      seed = seed * 1103515245 + 12345;
      b = static_cast<uint8_t>(seed >> 16);
    }
    const Header header = lib::LoadWire<Header>(bytes);
    EXPECT_EQ(HeaderChecksum(header, false), linux_nvram::Checksum(bytes, false));
    EXPECT_EQ(HeaderChecksum(header, true), linux_nvram::Checksum(bytes, true));
  }
}

// SLOF's checksum drops a carry (1105 of the 65535 lengths of a "free space" header disagree
// with Linux); Linux's two byte orders disagree on two lengths. Format avoids them all by
// splitting free space: a portable count is never more than five blocks below the one wanted, and
// one block always is.
TEST(NvramChecksum, PortableCountsAreDense) {
  struct Name {
    uint8_t signature;
    const char* name;
  } names[] = {{kSignatureFree, kFreeName}, {kSignatureSystem, kConfigName}};
  for (const Name& n : names) {
    EXPECT_TRUE(HeaderIsPortable(MakeHeader(n.signature, 1, n.name)));
    int not_portable = 0;
    uint32_t last_portable = 1;
    for (uint32_t blocks = 1; blocks <= kMaxBlocks; ++blocks) {
      if (HeaderIsPortable(MakeHeader(n.signature, static_cast<uint16_t>(blocks), n.name))) {
        last_portable = blocks;
      } else {
        ++not_portable;
        EXPECT_LE(blocks - last_portable, 5u) << n.name << " " << blocks;
      }
    }
    EXPECT_GT(not_portable, 0) << n.name;
  }
  EXPECT_FALSE(HeaderIsPortable(MakeHeader(kSignatureFree, 0xaf, kFreeName)));    // SLOF: 0 not 1
  EXPECT_FALSE(HeaderIsPortable(MakeHeader(kSignatureFree, 0x3f70, kFreeName)));  // LE 1, BE 0
}

TEST(NvramPartitions, BlankZeroImageIsFormattedAsSlofDoes) {
  std::vector<uint8_t> image(kDefaultImageSize, 0);
  // What Linux said on tern before there was a format: the reason for this module.
  EXPECT_EQ(linux_nvram::ScanPartitions(image, true).messages.at(0),
            "WARNING: nvram corruption detected: 0-length partition");
  const PartitionList before = Scan(image);
  EXPECT_TRUE(before.blank);
  EXPECT_TRUE(before.damaged);
  EXPECT_EQ(before.damage.offset, 0u);
  EXPECT_EQ(before.damage.problem, PartitionError::kZeroLength);
  EXPECT_EQ(before.count, 0u);

  const FormatReport report = FormatOk(image);
  EXPECT_EQ(report.action, FormatAction::kFormatted);
  EXPECT_TRUE(report.blank);
  EXPECT_TRUE(report.created_config);
  EXPECT_EQ(report.config_offset, 0u);
  EXPECT_EQ(report.damage.problem, PartitionError::kZeroLength);
  // Only the two headers differ from zeros: the range ends with the free-space header.
  EXPECT_EQ(report.changed.offset, 0u);
  EXPECT_EQ(report.changed.length, 0x1000u + 14);

  // SLOF's common header byte for byte (its image: 70fc 0100 "common"), then free space.
  EXPECT_EQ(Hex(image, 0, 16), "70fc0100636f6d6d6f6e000000000000");
  EXPECT_EQ(Hex(image, 0x1000, 16),
            "7f" + Hex(image, 0x1001, 1) + "0f00" + "667265652073706163650000");
  const auto parts = ExpectLinuxClean(image);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "common");
  EXPECT_EQ(parts[1].name, "free space");
  EXPECT_EQ(parts[1].length, 0xf00);
  ExpectPortableHeaders(image);
  ExpectLinuxBoots(image);
  // Where Debian 12's kernel put its partitions when QEMU 7.2 (with SLOF, which kept this
  // common) booted it on this image: ibm,rtas-log 0x83 blocks at 0x1000, lnx,oops-log 0xfb at
  // 0x1830, free space 0xd82 at 0x27e0.
  const std::vector<uint8_t> booted = AfterLinux(image);
  EXPECT_EQ(Hex(booted, 0x1000, 4), "a0b50083");
  EXPECT_EQ(Hex(booted, 0x1830, 4), "a04f00fb");
  EXPECT_EQ(Hex(booted, 0x27e0, 4), "7fe00d82");

  const PartitionList after = Scan(image);
  EXPECT_FALSE(after.damaged);
  EXPECT_FALSE(after.blank);
  ASSERT_NE(after.FindConfig(), nullptr);
  EXPECT_EQ(after.FindConfig()->offset, 0u);
  EXPECT_EQ(after.FindConfig()->data_size(), 4080u);
  // Formatting again changes nothing.
  const FormatReport again = FormatOk(image);
  EXPECT_EQ(again.action, FormatAction::kNone);
  EXPECT_TRUE(again.changed.empty());
}

TEST(NvramPartitions, BlankErasedImageIsFormattedTheSame) {
  std::vector<uint8_t> image(kDefaultImageSize, 0xff);
  // Its checksum is right (0xff): Linux takes it for one partition of 0xffff blocks and stops
  // without a word, with nowhere to put its own.
  const linux_nvram::Scan scan = linux_nvram::ScanPartitions(image, true);
  EXPECT_TRUE(scan.messages.empty());
  EXPECT_TRUE(scan.past_end);
  const FormatReport report = FormatOk(image);
  EXPECT_EQ(report.action, FormatAction::kFormatted);
  EXPECT_TRUE(report.blank);
  EXPECT_EQ(report.damage.problem, PartitionError::kPastEnd);
  EXPECT_EQ(report.changed.offset, 0u);
  EXPECT_EQ(report.changed.length, kDefaultImageSize);  // every 0xff zeroed
  std::vector<uint8_t> zero(kDefaultImageSize, 0);
  FormatOk(zero);
  EXPECT_EQ(image, zero);
}

TEST(NvramPartitions, EveryImageSizeQemuAllowsIsFormatted) {
  for (uint32_t size : {kMinImageSize, kMinImageSize + 16, 12288u, 65536u + 4096, kMaxImageSize}) {
    std::vector<uint8_t> image(size, 0);
    const FormatReport report = FormatOk(image);
    EXPECT_EQ(report.action, FormatAction::kFormatted);
    ExpectLinuxClean(image);
    ExpectPortableHeaders(image);
    ExpectLinuxBoots(image);
  }
  // 1 MiB: free space over more blocks than one header counts is split.
  std::vector<uint8_t> image(kMaxImageSize, 0);
  FormatOk(image);
  const auto parts = linux_nvram::ScanPartitions(image, true).partitions;
  EXPECT_EQ(parts.size(), 2u);  // 0xff00 blocks still fit one header
}

TEST(NvramPartitions, BadImageSizesAreRefused) {
  for (size_t size : {size_t{0}, size_t{16}, size_t{kMinImageSize - 16}, size_t{8200},
                      size_t{65537}, size_t{kMaxImageSize + 16}}) {
    std::vector<uint8_t> image(size, 0);
    auto scan = ScanPartitions(lib::Span<const uint8_t>(image.data(), image.size()));
    ASSERT_TRUE(scan.is_error()) << size;
    EXPECT_EQ(scan.error(), PartitionError::kBadImageSize);
    auto format = Format(Span(image));
    ASSERT_TRUE(format.is_error());
    EXPECT_EQ(format.error(), PartitionError::kBadImageSize);
    EXPECT_EQ(image, std::vector<uint8_t>(size, 0));
  }
}

TEST(NvramPartitions, SlofLayoutIsKept) {
  std::vector<uint8_t> image = nvram_fixtures::SlofBlank();
  // SLOF's image as QEMU 7.2's SLOF wrote it (bytes quoted from its pflash file).
  EXPECT_EQ(Hex(image, 0x0000, 24),
            "5115020069626d2c435055306c6f670000400000"
            "00000001");
  EXPECT_EQ(Hex(image, 0x2000, 16), "5194008069626d2c435055316c6f6700");
  EXPECT_EQ(Hex(image, 0x2800, 16), "70fc0100636f6d6d6f6e000000000000");
  EXPECT_EQ(Hex(image, 0x3800, 16), "7fdd0c80667265652073706163650000");
  ExpectLinuxClean(image);
  const std::vector<uint8_t> slof = image;
  const FormatReport report = FormatOk(image);
  EXPECT_EQ(report.action, FormatAction::kNone);
  EXPECT_EQ(report.kept, 4u);
  EXPECT_TRUE(report.changed.empty());
  EXPECT_EQ(image, slof);

  const PartitionList list = Scan(image);
  ASSERT_EQ(list.count, 4u);
  EXPECT_STREQ(list.partitions[0].name, "ibm,CPU0log");
  EXPECT_EQ(list.partitions[1].offset, 0x2000u);
  ASSERT_NE(list.FindConfig(), nullptr);
  EXPECT_EQ(list.FindConfig()->offset, 0x2800u);
  EXPECT_EQ(list.Find(kSignatureFree)->offset, 0x3800u);
  EXPECT_EQ(list.Find(kSignatureFirmware, "ibm,CPU1log")->blocks, 0x80u);
  EXPECT_EQ(list.Find(kSignatureOs), nullptr);
}

TEST(NvramPartitions, LinuxPartitionsAfterSlofAreKept) {
  std::vector<uint8_t> image = AfterLinux(nvram_fixtures::SlofBlank());
  // As Debian 12's kernel left them on QEMU 7.2's SLOF.
  EXPECT_EQ(Hex(image, 0x3800, 16), "a0b5008369626d2c727461732d6c6f67");
  EXPECT_EQ(Hex(image, 0x4030, 16), "a04f00fb6c6e782c6f6f70732d6c6f67");
  EXPECT_EQ(Hex(image, 0x4fe0, 16), "7f5e0b02667265652073706163650000");
  const std::vector<uint8_t> with_linux = image;
  const FormatReport report = FormatOk(image);
  EXPECT_EQ(report.action, FormatAction::kNone);
  EXPECT_EQ(report.kept, 6u);
  EXPECT_EQ(image, with_linux);
  const PartitionList list = Scan(image);
  ASSERT_NE(list.Find(kSignatureOs, "ibm,rtas-log"), nullptr);
  EXPECT_EQ(list.Find(kSignatureOs, "lnx,oops-log")->offset, 0x4030u);
  EXPECT_EQ(list.Find(kSignatureOs, "lnx,oops-log")->data_size(), 0xfb0u - 16);
  ExpectLinuxBoots(image);
}

TEST(NvramPartitions, QemuPromEnvLayoutIsKept) {
  std::vector<uint8_t> image = nvram_fixtures::QemuPromEnv({"boot-device=disk", "boot-args=quiet"});
  // QEMU 7.2 with -prom-env 'boot-device=disk' -prom-env 'boot-args=quiet' and no drive.
  EXPECT_EQ(Hex(image, 0, 16), "7098008073797374656d000000000000");
  EXPECT_EQ(Hex(image, 16, 17), "626f6f742d6465766963653d6469736b00");
  EXPECT_EQ(Hex(image, 0x800, 16),
            "7f" + Hex(image, 0x801, 1) + "0f8066726565" + "0000000000000000");
  ExpectLinuxClean(image);
  std::vector<uint8_t> qemu = image;
  const FormatReport report = FormatOk(image);
  EXPECT_EQ(report.action, FormatAction::kNone);
  EXPECT_EQ(image, qemu);
  const PartitionList list = Scan(image);
  ASSERT_NE(list.FindConfig(), nullptr);
  EXPECT_STREQ(list.FindConfig()->name, "system");
  EXPECT_EQ(list.FindConfig()->data_size(), 2048u - 16);

  image = AfterLinux(image);
  EXPECT_EQ(Hex(image, 0x800, 16), "a0b5008369626d2c727461732d6c6f67");
  EXPECT_EQ(Hex(image, 0x1fe0, 16), "7f330e02667265650000000000000000");
  qemu = image;
  EXPECT_EQ(FormatOk(image).action, FormatAction::kNone);
  EXPECT_EQ(image, qemu);
}

TEST(NvramPartitions, CommonIsPreferredToOtherSystemPartitions) {
  std::vector<uint8_t> image(kDefaultImageSize, 0);
  PutHeader(image, 0, 0x70, 0x10, "system", Writer::kQemu);
  PutHeader(image, 0x100, 0x70, 0x10, "common", Writer::kSlof);
  PutHeader(image, 0x200, 0x7f, (kDefaultImageSize - 0x200) / 16, "free", Writer::kQemu);
  const PartitionList list = Scan(image);
  EXPECT_EQ(list.FindConfig()->offset, 0x100u);
  EXPECT_EQ(list.Find(kSignatureSystem)->offset, 0u);
  EXPECT_EQ(list.Find(kSignatureSystem, "commo"), nullptr);
  EXPECT_EQ(list.Find(kSignatureSystem, "common\0x"), list.FindConfig());
}

struct Corruption {
  const char* what;
  uint32_t at;  // the header damaged
  void (*damage)(std::vector<uint8_t>& image, uint32_t at);
  PartitionError problem;
};

void FlipNameByte(std::vector<uint8_t>& image, uint32_t at) {
  image[at + 9] ^= 0x20;
}
void ZeroLength(std::vector<uint8_t>& image, uint32_t at) {
  PutHeader(image, at, image[at], 0, std::string(reinterpret_cast<char*>(&image[at + 4]), 12),
            Writer::kLinuxBig);
}
void PastEnd(std::vector<uint8_t>& image, uint32_t at) {
  const uint16_t blocks = static_cast<uint16_t>((image.size() - at) / 16 + 1);
  PutHeader(image, at, image[at], blocks, std::string(reinterpret_cast<char*>(&image[at + 4]), 12),
            Writer::kLinuxBig);
}
void Huge(std::vector<uint8_t>& image, uint32_t at) {
  PutHeader(image, at, image[at], 0xffff, std::string(reinterpret_cast<char*>(&image[at + 4]), 12),
            Writer::kLinuxBig);
}

// SLOF's layout with Linux's partitions (offsets 0, 0x2000, 0x2800, 0x3800 ibm,rtas-log,
// 0x4030 lnx,oops-log, 0x4fe0 free space), damaged at one header: the partitions before it are
// kept byte for byte, the rest is free space (or common and free space when common was lost).
TEST(NvramPartitions, DamagedHeadersAreRepairedFromThereOn) {
  const Corruption corruptions[] = {
      {"oops-log checksum", 0x4030, FlipNameByte, PartitionError::kBadChecksum},
      {"free space length 0", 0x4fe0, ZeroLength, PartitionError::kZeroLength},
      {"free space past the end", 0x4fe0, PastEnd, PartitionError::kPastEnd},
      {"rtas-log 0xffff blocks", 0x3800, Huge, PartitionError::kPastEnd},
      {"common checksum", 0x2800, FlipNameByte, PartitionError::kBadChecksum},
      {"CPU1log length 0", 0x2000, ZeroLength, PartitionError::kZeroLength},
  };
  for (const Corruption& c : corruptions) {
    SCOPED_TRACE(c.what);
    std::vector<uint8_t> image = AfterLinux(nvram_fixtures::SlofBlank());
    c.damage(image, c.at);
    const std::vector<uint8_t> damaged = image;
    const PartitionList list = Scan(image);
    ASSERT_TRUE(list.damaged);
    EXPECT_EQ(list.damage.offset, c.at);
    EXPECT_EQ(list.damage.problem, c.problem);
    EXPECT_FALSE(list.damage.valid);

    const FormatReport report = FormatOk(image);
    EXPECT_EQ(report.action, FormatAction::kRepaired);
    EXPECT_EQ(report.damage.offset, c.at);
    EXPECT_EQ(report.kept, list.count);
    EXPECT_GE(report.changed.offset, c.at);
    EXPECT_LE(report.changed.offset + report.changed.length, image.size());
    EXPECT_TRUE(std::equal(image.begin(), image.begin() + c.at, damaged.begin()));
    const bool common_lost = c.at <= 0x2800;
    EXPECT_EQ(report.created_config, common_lost);
    const auto parts = ExpectLinuxClean(image);
    ASSERT_EQ(parts.size(), list.count + (common_lost ? 2u : 1u));
    EXPECT_EQ(parts[list.count].index, c.at);
    EXPECT_EQ(parts[list.count].name, common_lost ? "common" : "free space");
    ExpectLinuxBoots(image);
    // Bytes the change does not cover are as they were.
    for (size_t i = 0; i < image.size(); ++i) {
      if (i < report.changed.offset || i >= report.changed.offset + report.changed.length) {
        ASSERT_EQ(image[i], damaged[i]) << i;
      }
    }
  }
}

TEST(NvramPartitions, DamagedFirstHeaderIsAFullFormat) {
  std::vector<uint8_t> image = AfterLinux(nvram_fixtures::SlofBlank());
  FlipNameByte(image, 0);
  const FormatReport report = FormatOk(image);
  EXPECT_EQ(report.action, FormatAction::kFormatted);
  EXPECT_FALSE(report.blank);
  EXPECT_EQ(report.kept, 0u);
  std::vector<uint8_t> blank(kDefaultImageSize, 0);
  FormatOk(blank);
  EXPECT_EQ(image, blank);
}

TEST(NvramPartitions, ShortDamagedTailGetsASmallCommon) {
  // Valid Linux partitions fill all but 32 bytes; the last two blocks hold garbage.
  std::vector<uint8_t> image(kDefaultImageSize, 0x5a);
  PutHeader(image, 0, 0xa0, (kDefaultImageSize - 32) / 16, "lnx,oops-log", Writer::kLinuxBig);
  const FormatReport report = FormatOk(image);
  EXPECT_EQ(report.action, FormatAction::kRepaired);
  EXPECT_TRUE(report.created_config);
  const auto parts = ExpectLinuxClean(image);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1].name, "common");
  EXPECT_EQ(parts[1].length, 2);
  EXPECT_EQ(Hex(image, kDefaultImageSize - 16, 16), std::string(32, '0'));
}

TEST(NvramPartitions, CommonIsCarvedFromFreeSpaceWhenMissing) {
  // Another firmware's partition and free space, no 0x70.
  std::vector<uint8_t> image(kDefaultImageSize, 0x33);
  PutHeader(image, 0, 0x51, 0x100, "other,fw", Writer::kLinuxBig);
  PutHeader(image, 0x1000, 0x7f, 0xf00, "free space", Writer::kLinuxBig);
  const std::vector<uint8_t> before = image;
  const FormatReport report = FormatOk(image);
  EXPECT_EQ(report.action, FormatAction::kAddedConfig);
  EXPECT_TRUE(report.created_config);
  EXPECT_EQ(report.config_offset, 0x1000u);
  EXPECT_TRUE(std::equal(image.begin(), image.begin() + 0x1000, before.begin()));
  EXPECT_EQ(report.changed.offset, 0x1000u);
  const auto parts = ExpectLinuxClean(image);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1].name, "common");
  EXPECT_EQ(parts[2].index, 0x2000u);
  EXPECT_EQ(parts[2].length, 0xe00);
  const PartitionList list = Scan(image);
  ASSERT_NE(list.FindConfig(), nullptr);
  for (uint32_t i = list.FindConfig()->data_offset(); i < 0x2000; ++i) ASSERT_EQ(image[i], 0);
  ExpectLinuxBoots(image);
}

TEST(NvramPartitions, NoRoomForACommonChangesNothing) {
  std::vector<uint8_t> image(kDefaultImageSize, 0x33);
  PutHeader(image, 0, 0xa0, 0xe00, "lnx,oops-log", Writer::kLinuxBig);
  PutHeader(image, 0xe000, 0x7f, 0x1ff, "free space", Writer::kLinuxBig);  // under 2 x 4 KiB
  PutHeader(image, 0xfff0, 0x7f, 1, "free space", Writer::kLinuxBig);
  const std::vector<uint8_t> before = image;
  const FormatReport report = FormatOk(image);
  EXPECT_EQ(report.action, FormatAction::kNone);
  EXPECT_TRUE(report.no_config);
  EXPECT_EQ(report.kept, 3u);
  EXPECT_EQ(image, before);
}

TEST(NvramPartitions, ManyPartitionsAreWalkedPastTheList) {
  std::vector<uint8_t> image(kDefaultImageSize, 0);
  uint32_t at = 0;
  for (int i = 0; i < 100; ++i, at += 16) {
    PutHeader(image, at, 0xa0, 1, "p" + std::to_string(i), Writer::kLinuxBig);
  }
  PutHeader(image, at, 0x7f, static_cast<uint16_t>((kDefaultImageSize - at) / 16), "free space",
            Writer::kLinuxBig);
  const PartitionList list = Scan(image);
  EXPECT_EQ(list.count, kMaxListed);
  EXPECT_EQ(list.unlisted, 101 - kMaxListed);
  EXPECT_FALSE(list.damaged);
  EXPECT_STREQ(list.partitions[63].name, "p63");
  // The common is carved from the free space after the 100th partition, which the list does not
  // show: Format walks the whole chain.
  const FormatReport report = FormatOk(image);
  EXPECT_EQ(report.action, FormatAction::kAddedConfig);
  EXPECT_EQ(report.kept, 101u);
  EXPECT_EQ(report.config_offset, at);
  ExpectLinuxClean(image);
}

TEST(NvramPartitions, NamesAreTwelveBytesWithoutTerminator) {
  std::vector<uint8_t> image(kDefaultImageSize, 0);
  PutHeader(image, 0, 0xa0, 1, "ibm,rtas-log", Writer::kLinuxBig);
  PutHeader(image, 16, 0x7f, (kDefaultImageSize - 16) / 16, "free space", Writer::kLinuxBig);
  const PartitionList list = Scan(image);
  EXPECT_STREQ(list.partitions[0].name, "ibm,rtas-log");
  EXPECT_EQ(list.Find(kSignatureOs, "ibm,rtas-log"), &list.partitions[0]);
  EXPECT_EQ(list.Find(kSignatureOs, "ibm,rtas-log2"), nullptr);
  EXPECT_EQ(list.Find(kSignatureOs, "ibm,rtas"), nullptr);
}

TEST(NvramPartitions, ErrorNamesAreDistinct) {
  EXPECT_STRNE(PartitionErrorName(PartitionError::kZeroLength),
               PartitionErrorName(PartitionError::kPastEnd));
  EXPECT_STRNE(PartitionErrorName(PartitionError::kBadChecksum),
               PartitionErrorName(PartitionError::kBadImageSize));
}

}  // namespace
}  // namespace nvram
