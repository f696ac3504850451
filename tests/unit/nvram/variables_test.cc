// nvram/variables.h: the configuration variables of a common partition, round trips, the layouts
// SLOF and QEMU write, and hostile contents (each skipped with its reason, nothing read or
// written outside the partition).
#include "nvram/variables.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tests/unit/nvram/nvram-fixtures.h"

namespace nvram {
namespace {

using nvram_fixtures::PutHeader;
using nvram_fixtures::Writer;

std::string Str(lib::StringView view) {
  return std::string(view.data(), view.size());
}

// A formatted image (common at 0, 4080 bytes of data) and its variables.
struct Fixture {
  std::vector<uint8_t> image;
  Variables variables;

  explicit Fixture(std::vector<uint8_t> bytes) : image(std::move(bytes)) { Open(); }
  Fixture() : image(kDefaultImageSize, 0) {
    EXPECT_TRUE(Format({image.data(), image.size()}).is_ok());
    Open();
  }
  void Open() {
    auto list = ScanPartitions(lib::Span<const uint8_t>(image.data(), image.size()));
    ASSERT_TRUE(list.is_ok());
    const Partition* config = list.value().FindConfig();
    ASSERT_NE(config, nullptr);
    auto opened = Variables::Open({image.data(), image.size()}, *config);
    ASSERT_TRUE(opened.is_ok());
    variables = opened.value();
  }
  std::string Get(const char* name) {
    auto value = variables.Get(name);
    return value.is_ok() ? Str(value.value())
                         : "<" + std::string(VariableErrorName(value.error())) + ">";
  }
  Change Set(const char* name, const std::string& value) {
    auto change = variables.Set(name, lib::StringView(value.data(), value.size()));
    EXPECT_TRUE(change.is_ok()) << name << ": " << VariableErrorName(change.error());
    return change.is_ok() ? change.value() : Change{};
  }
  // The data area as text, NULs shown as '|', up to the first double NUL.
  std::string Data() {
    std::string out;
    const uint32_t start = variables.data_offset();
    for (uint32_t i = start; i < start + variables.data_size(); ++i) {
      if (image[i] == 0 && (i == start || image[i - 1] == 0)) break;
      out += image[i] == 0 ? '|' : static_cast<char>(image[i]);
    }
    return out;
  }
  struct Entry {
    std::string text;  // name=value, or the raw bytes of a bad entry
    bool valid;
    VariableError problem;
  };
  std::vector<Entry> Entries() {
    std::vector<Entry> out;
    Variables::Reader reader = variables.Entries();
    for (Variable v; reader.Next(v);) {
      EXPECT_GE(v.offset, variables.data_offset());
      EXPECT_LE(v.offset + v.length, variables.data_offset() + variables.data_size());
      const std::string raw(reinterpret_cast<const char*>(&image[v.offset]), v.length);
      out.push_back({v.valid ? Str(v.name) + "=" + Str(v.value) : raw, v.valid, v.problem});
    }
    return out;
  }
};

// Writes `bytes` at the start of the common's data (formatted image).
Fixture WithData(const std::string& bytes) {
  Fixture f;
  EXPECT_LE(bytes.size(), f.variables.data_size());
  memcpy(&f.image[f.variables.data_offset()], bytes.data(), bytes.size());
  return f;
}

TEST(NvramVariables, EmptyCommonHasNothing) {
  Fixture f;
  EXPECT_EQ(f.variables.data_offset(), 16u);
  EXPECT_EQ(f.variables.data_size(), 4080u);
  EXPECT_EQ(f.variables.FreeBytes(), 4079u);
  EXPECT_TRUE(f.Entries().empty());
  EXPECT_EQ(f.Get("boot-device"), "<no such variable>");
}

TEST(NvramVariables, SetGetReplaceRemove) {
  Fixture f;
  Change change = f.Set("boot-device", "disk");
  EXPECT_EQ(change.offset, 16u);
  EXPECT_EQ(change.length, 16u);  // "boot-device=disk", its NUL already zero
  EXPECT_EQ(f.Get("boot-device"), "disk");
  f.Set("auto-boot?", "false");
  f.Set("boot-args", "");
  EXPECT_EQ(f.Data(), "boot-device=disk|auto-boot?=false|boot-args=|");
  EXPECT_EQ(f.Get("boot-args"), "");
  // Replaced in place, longer then shorter; the tail follows and the rest is zeroed.
  f.Set("boot-device", "/vdevice/v-scsi@71000003/disk@8000000000000000");
  EXPECT_EQ(f.Data(),
            "boot-device=/vdevice/v-scsi@71000003/disk@8000000000000000|auto-boot?=false|"
            "boot-args=|");
  change = f.Set("boot-device", "cdrom");
  EXPECT_EQ(f.Data(), "boot-device=cdrom|auto-boot?=false|boot-args=|");
  EXPECT_EQ(change.offset, 16u + 12);
  EXPECT_EQ(f.variables.FreeBytes(), 4079u - 18 - 17 - 11);
  // Setting the same value changes nothing.
  EXPECT_TRUE(f.Set("boot-device", "cdrom").empty());
  // Removed: the others close up.
  auto removed = f.variables.Remove("auto-boot?");
  ASSERT_TRUE(removed.is_ok());
  EXPECT_EQ(f.Data(), "boot-device=cdrom|boot-args=|");
  EXPECT_EQ(f.Get("auto-boot?"), "<no such variable>");
  auto again = f.variables.Remove("auto-boot?");
  ASSERT_TRUE(again.is_error());
  EXPECT_EQ(again.error(), VariableError::kNotFound);
  for (uint32_t i = 16 + 30; i < 4096; ++i) ASSERT_EQ(f.image[i], 0) << i;
}

TEST(NvramVariables, ChangesStayInsideThePartitionData) {
  Fixture f;
  const std::vector<uint8_t> before = f.image;
  const Change change = f.Set("nvramrc", std::string(100, 'x'));
  EXPECT_EQ(change.offset, 16u);
  EXPECT_EQ(change.length, 108u);
  for (size_t i = 0; i < f.image.size(); ++i) {
    if (i < change.offset || i >= change.offset + change.length) {
      ASSERT_EQ(f.image[i], before[i]);
    }
  }
}

TEST(NvramVariables, FullPartitionIsRefusedWithoutAChange) {
  Fixture f;
  // 4080 bytes of data: "v=" + 4076 bytes + NUL + the final NUL fill it exactly.
  f.Set("v", std::string(4076, 'a'));
  EXPECT_EQ(f.variables.FreeBytes(), 0u);
  const std::vector<uint8_t> full = f.image;
  auto refused = f.variables.Set("w", "");
  ASSERT_TRUE(refused.is_error());
  EXPECT_EQ(refused.error(), VariableError::kFull);
  auto longer = f.variables.Set("v", std::string(4077, 'a').c_str());
  ASSERT_TRUE(longer.is_error());
  EXPECT_EQ(longer.error(), VariableError::kFull);
  EXPECT_EQ(f.image, full);
  EXPECT_EQ(f.image[16 + 4078], 0);
  EXPECT_EQ(f.image[16 + 4079], 0);  // the final NUL is always there
  f.Set("v", "short");
  EXPECT_EQ(f.Get("v"), "short");
  EXPECT_EQ(f.variables.FreeBytes(), 4079u - 8);
}

TEST(NvramVariables, BadNamesAndValuesAreRefused) {
  Fixture f;
  const char* bad[] = {"",      "a=b",         "a b",
                       "\x01x", "caf\xc3\xa9", "0123456789012345678901234567890x"};
  for (const char* name : bad) {
    auto set = f.variables.Set(name, "1");
    ASSERT_TRUE(set.is_error()) << name;
    EXPECT_EQ(set.error(), VariableError::kBadName);
  }
  EXPECT_TRUE(f.variables.Set("0123456789012345678901234567890", "1").is_ok());  // 31
  auto nul = f.variables.Set("x", lib::StringView("a\0b", 3));
  ASSERT_TRUE(nul.is_error());
  EXPECT_EQ(nul.error(), VariableError::kBadValue);
}

TEST(NvramVariables, SlofDefaultsAreRead) {
  Fixture f(nvram_fixtures::SlofBlank());
  const auto entries = f.Entries();
  ASSERT_EQ(entries.size(), 25u);
  std::map<std::string, std::string> slof;
  for (const auto& entry : entries) {
    EXPECT_TRUE(entry.valid) << entry.text;
    const size_t equals = entry.text.find('=');
    slof[entry.text.substr(0, equals)] = entry.text.substr(equals + 1);
  }
  // The defaults table is what SLOF writes, name for name.
  std::map<std::string, std::string> table;
  for (const DefaultVariable& d : DefaultVariables()) table[d.name] = d.value;
  EXPECT_EQ(table, slof);
  EXPECT_EQ(f.Get("auto-boot?"), "true");
  EXPECT_EQ(f.Get("load-base"), "16384");
  EXPECT_STREQ(FindDefault("boot-command")->value, "boot");
  EXPECT_EQ(FindDefault("boot-args"), nullptr);
  // Setting one keeps SLOF's order.
  f.Set("boot-device", "disk");
  EXPECT_EQ(f.Entries()[23].text, "boot-device=disk");
  EXPECT_EQ(f.Entries()[24].text, "auto-boot?=true");
}

TEST(NvramVariables, QemuPromEnvIsRead) {
  Fixture f(nvram_fixtures::QemuPromEnv({"boot-device=disk", "boot-args=quiet"}));
  EXPECT_EQ(f.variables.data_size(), 2032u);
  EXPECT_EQ(f.Get("boot-device"), "disk");
  EXPECT_EQ(f.Get("boot-args"), "quiet");
  f.Set("boot-device", "cdrom");
  EXPECT_EQ(f.Data(), "boot-device=cdrom|boot-args=quiet|");
}

// powerpc-utils' print_of_config_part walks strings until an empty one, without a bound: after
// any Set the list ends inside the partition.
TEST(NvramVariables, ListAlwaysEndsInsideThePartition) {
  Fixture f;
  for (int i = 0; i < 200; ++i) {
    const std::string name = "v" + std::to_string(i);
    auto set = f.variables.Set(name.c_str(), std::string(i % 37, 'x').c_str());
    if (set.is_error()) {
      EXPECT_EQ(set.error(), VariableError::kFull);
      break;
    }
  }
  const uint8_t* data = &f.image[f.variables.data_offset()];
  const uint8_t* end = data + f.variables.data_size();
  int count = 0;
  for (const uint8_t* p = data; *p != 0; p += strlen(reinterpret_cast<const char*>(p)) + 1) {
    ASSERT_LT(p, end);
    ++count;
  }
  EXPECT_EQ(static_cast<size_t>(count), f.Entries().size());
  EXPECT_GT(count, 100);
}

TEST(NvramVariables, HostileEntriesAreSkippedWithTheirReason) {
  std::string bytes;
  bytes += std::string("good=1") + '\0';
  bytes += std::string("no equals sign") + '\0';
  bytes += std::string("=empty-name") + '\0';
  bytes += std::string(40, 'n') + "=too-long" + '\0';
  bytes += std::string("bin\x01\x7f=x") + '\0';
  bytes += std::string("good=2") + '\0';  // a duplicate
  bytes += std::string("value=\xff\x01 binary") + '\0';
  bytes += std::string("last=3") + '\0';
  Fixture f = WithData(bytes);
  const auto entries = f.Entries();
  ASSERT_EQ(entries.size(), 8u);
  const VariableError expected[] = {VariableError::kNoEquals, VariableError::kEmptyName,
                                    VariableError::kNameTooLong, VariableError::kBadName,
                                    VariableError::kDuplicate};
  EXPECT_TRUE(entries[0].valid);
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(entries[1 + i].valid) << entries[1 + i].text;
    EXPECT_EQ(entries[1 + i].problem, expected[i]) << entries[1 + i].text;
  }
  EXPECT_TRUE(entries[6].valid);
  EXPECT_EQ(f.Get("value"), "\xff\x01 binary");
  EXPECT_EQ(f.Get("good"), "1");
  EXPECT_EQ(f.Get("last"), "3");
  // A Set compacts: the bad entries and the duplicate go.
  f.Set("good", "4");
  EXPECT_EQ(f.Data(), "good=4|value=\xff\x01 binary|last=3|");
}

TEST(NvramVariables, EntryWithoutTerminatorEndsTheList) {
  Fixture f;
  const uint32_t size = f.variables.data_size();
  std::string bytes = std::string("a=1") + '\0';
  bytes += "b=" + std::string(size - bytes.size() - 2, 'z');  // to the partition's last byte
  memcpy(&f.image[16], bytes.data(), bytes.size());
  const auto entries = f.Entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].problem, VariableError::kNoTerminator);
  EXPECT_EQ(entries[1].text.size(), size - 4u);
  EXPECT_EQ(f.Get("b"), "<no such variable>");
  EXPECT_EQ(f.variables.FreeBytes(), size - 5u);
  f.Set("c", "2");
  EXPECT_EQ(f.Data(), "a=1|c=2|");
}

TEST(NvramVariables, TenKibNameIsSkipped) {
  // A common of 0x1000 blocks (64 KiB - 16) to hold it.
  std::vector<uint8_t> image(128 * 1024, 0);
  PutHeader(image, 0, 0x70, 0x1000, "common", Writer::kLinuxBig);
  PutHeader(image, 0x10000, 0x7f, 0x1000, "free space", Writer::kLinuxBig);
  std::string bytes =
      std::string(10240, 'N') + "=v" + '\0' + std::string(10240, 'M') + '\0' + "ok=yes" + '\0';
  memcpy(&image[16], bytes.data(), bytes.size());
  Fixture f(image);
  const auto entries = f.Entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].problem, VariableError::kNameTooLong);
  EXPECT_EQ(entries[1].problem, VariableError::kNoEquals);
  EXPECT_EQ(f.Get("ok"), "yes");
}

TEST(NvramVariables, BinaryJunkNeverCrashes) {
  uint32_t seed = 7;
  for (int round = 0; round < 200; ++round) {
    Fixture f;
    for (uint32_t i = 16; i < 4096; ++i) {
      seed = seed * 1103515245 + 12345;
      const uint8_t byte = static_cast<uint8_t>(seed >> 16);
      f.image[i] = (round % 2 == 0 && byte < 0x40) ? 0 : byte;  // some with many NULs
    }
    const std::vector<uint8_t> before = f.image;
    for (const auto& entry : f.Entries()) (void)entry;
    (void)f.variables.Get("x");
    auto set = f.variables.Set("boot-device", "disk");
    if (set.is_ok()) {
      EXPECT_EQ(f.Get("boot-device"), "disk");
      for (const auto& entry : f.Entries()) EXPECT_TRUE(entry.valid) << entry.text;
    } else {
      EXPECT_EQ(f.image, before);
    }
    // Nothing outside the data area moved.
    EXPECT_TRUE(std::equal(f.image.begin(), f.image.begin() + 16, before.begin()));
    EXPECT_TRUE(std::equal(f.image.begin() + 4096, f.image.end(), before.begin() + 4096));
  }
}

TEST(NvramVariables, EntriesPastTheLimitAreDropped) {
  // 600 entries in a 64 KiB common.
  std::vector<uint8_t> image(128 * 1024, 0);
  PutHeader(image, 0, 0x70, 0x1000, "common", Writer::kLinuxBig);
  PutHeader(image, 0x10000, 0x7f, 0x1000, "free space", Writer::kLinuxBig);
  std::string bytes;
  for (int i = 0; i < 600; ++i) bytes += "v" + std::to_string(i) + "=" + '\0';
  memcpy(&image[16], bytes.data(), bytes.size());
  Fixture f(image);
  const auto entries = f.Entries();
  ASSERT_EQ(entries.size(), 600u);
  EXPECT_TRUE(entries[kMaxEntries - 1].valid);
  EXPECT_EQ(entries[kMaxEntries].problem, VariableError::kTooManyEntries);
  EXPECT_EQ(f.Get("v511"), "");
  EXPECT_EQ(f.Get("v512"), "<no such variable>");
  f.Set("v0", "x");
  EXPECT_EQ(f.Entries().size(), kMaxEntries);
  // A 513th variable would be past the limit: refused, nothing changed.
  const std::vector<uint8_t> before = f.image;
  auto refused = f.variables.Set("new", "1");
  ASSERT_TRUE(refused.is_error());
  EXPECT_EQ(refused.error(), VariableError::kFull);
  EXPECT_EQ(f.image, before);
  f.Set("v1", "replacing is fine");
  ASSERT_TRUE(f.variables.Remove("v2").is_ok());
  f.Set("new", "1");
  EXPECT_EQ(f.Get("new"), "1");
  for (const auto& entry : f.Entries()) EXPECT_TRUE(entry.valid) << entry.text;
}

TEST(NvramVariables, PartitionsOutsideTheImageAreRefused) {
  std::vector<uint8_t> image(kDefaultImageSize, 0);
  Partition partition;
  partition.valid = true;
  partition.offset = kDefaultImageSize - 16;
  partition.blocks = 2;  // past the end
  auto opened = Variables::Open({image.data(), image.size()}, partition);
  ASSERT_TRUE(opened.is_error());
  EXPECT_EQ(opened.error(), VariableError::kBadPartition);
  partition.offset = 0xfffffff0u;
  partition.blocks = 0xffff;
  EXPECT_TRUE(Variables::Open({image.data(), image.size()}, partition).is_error());
  partition.offset = 0;
  partition.blocks = 0x10000001;  // 16 bytes, were it counted in 32 bits
  EXPECT_TRUE(Variables::Open({image.data(), image.size()}, partition).is_error());
  partition.offset = 0;
  partition.blocks = 1;
  partition.valid = false;
  EXPECT_TRUE(Variables::Open({image.data(), image.size()}, partition).is_error());
  // A header-only partition has no room, and reads as empty.
  partition.valid = true;
  auto empty = Variables::Open({image.data(), image.size()}, partition);
  ASSERT_TRUE(empty.is_ok());
  Variables variables = empty.value();
  EXPECT_EQ(variables.FreeBytes(), 0u);
  Variable v;
  EXPECT_FALSE(variables.Entries().Next(v));
  auto set = variables.Set("a", "b");
  ASSERT_TRUE(set.is_error());
  EXPECT_EQ(set.error(), VariableError::kFull);
}

TEST(NvramVariables, DefaultsAreValidAndUnique) {
  std::map<std::string, int> seen;
  for (const DefaultVariable& d : DefaultVariables()) {
    EXPECT_LE(strlen(d.name), kMaxNameLength);
    EXPECT_EQ(++seen[d.name], 1) << d.name;
    EXPECT_EQ(FindDefault(d.name), &d);
  }
  EXPECT_EQ(seen.size(), 25u);
  Fixture f;
  for (const DefaultVariable& d : DefaultVariables()) f.Set(d.name, d.value);
  EXPECT_EQ(f.Entries().size(), 25u);
}

}  // namespace
}  // namespace nvram
