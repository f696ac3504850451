// The NVRAM (nvram/partitions.cc, nvram/variables.cc): an arbitrary image of the whole NVRAM as
// the caller reads it, through ScanPartitions and Format, then operations on the configuration
// variables of the partition FindConfig names. The image is a buffer of exactly its size, so any
// read or write outside it is a sanitizer report. Invariants, checked against an independent
// walk (tests/unit/nvram/linux-nvram.h):
//  - Format loses nothing valid: every partition the walk accepted before (checksum of either
//    byte order, length not 0, inside the image), but free space, is where it was, byte for byte;
//  - afterwards the walk reaches the image's end exactly, every header Format wrote is one Linux
//    of both byte orders, QEMU and SLOF all accept, a 0x70 partition exists (unless Format said
//    there was no room for one), and Format has nothing more to do;
//  - no byte outside a reported Change differs, and a Change lies inside what it may touch (a
//    Set's or Remove's inside the partition's data);
//  - a refused Set or Remove changes nothing; after a Set the value reads back, every entry is
//    valid, and the list ends inside the partition.
// Input: flags (bit 0: an 8 KiB image instead of 64 KiB; bit 1: bytes the input does not give are
// 0xff instead of 0; bit 2: scan and use the variables without formatting first), an operation
// count (at most 16), the operations (kind: get, set, remove, list, free bytes; a name and a value,
// each a length byte and bytes), then the image's first bytes.
#include <cstring>
#include <string>
#include <vector>

#include "nvram/partitions.h"
#include "nvram/variables.h"
#include "tests/fuzz/fuzz-support.h"
#include "tests/unit/nvram/linux-nvram.h"
#include "tests/unit/nvram/nvram-fixtures.h"

namespace {

struct Op {
  uint8_t kind;
  std::string name;
  std::string value;
};

// The walk tern's rules describe, written apart from tern: headers whose checksum is Linux's in
// either byte order and whose length is not 0 and inside the image; returns how far it got.
size_t Walk(const std::vector<uint8_t>& image, std::vector<linux_nvram::Part>* parts) {
  size_t at = 0;
  while (at < image.size()) {
    const uint8_t* header = image.data() + at;
    const uint16_t length = static_cast<uint16_t>(header[2] << 8 | header[3]);
    if (header[1] != linux_nvram::Checksum(header, false) &&
        header[1] != linux_nvram::Checksum(header, true)) {
      break;
    }
    if (length == 0 || length * 16u > image.size() - at) break;
    parts->push_back({static_cast<uint32_t>(at), header[0], length, ""});
    at += length * 16u;
  }
  return at;
}

bool Portable(const uint8_t* header) {
  const uint8_t sum = linux_nvram::Checksum(header, false);
  return header[1] == sum && linux_nvram::Checksum(header, true) == sum &&
         linux_nvram::QemuChecksum(header) == sum && linux_nvram::SlofChecksum(header) == sum;
}

void ExpectOnlyChanged(const std::vector<uint8_t>& before, const std::vector<uint8_t>& after,
                       nvram::Change change, uint32_t low, uint32_t high) {
  if (!change.empty() && (change.offset < low || change.offset + change.length > high)) {
    fuzz::Violation("a change outside what the call may touch");
  }
  const size_t first = change.empty() ? after.size() : change.offset;
  const size_t end = change.empty() ? after.size() : change.offset + change.length;
  if (memcmp(before.data(), after.data(), first) != 0 ||
      memcmp(before.data() + end, after.data() + end, after.size() - end) != 0) {
    fuzz::Violation("a byte changed outside the reported range");
  }
}

void CheckFormat(std::vector<uint8_t>& image) {
  const std::vector<uint8_t> before = image;
  std::vector<linux_nvram::Part> valid;
  Walk(image, &valid);
  auto report = nvram::Format({image.data(), image.size()});
  if (report.is_error()) fuzz::Violation("Format refused an image of a valid size");
  const nvram::FormatReport& r = report.value();
  ExpectOnlyChanged(before, image, r.changed, 0, static_cast<uint32_t>(image.size()));
  for (const linux_nvram::Part& part : valid) {
    if (part.signature == nvram::kSignatureFree) continue;
    if (memcmp(before.data() + part.index, image.data() + part.index, part.length * 16u) != 0) {
      fuzz::Violation("a valid partition was changed");
    }
  }
  std::vector<linux_nvram::Part> after;
  if (Walk(image, &after) != image.size()) fuzz::Violation("formatted image does not walk to end");
  bool config = false;
  for (const linux_nvram::Part& part : after) {
    const bool written = !r.changed.empty() && part.index >= r.changed.offset &&
                         part.index < r.changed.offset + r.changed.length;
    if (written && !Portable(image.data() + part.index)) fuzz::Violation("unportable header");
    config = config || part.signature == nvram::kSignatureSystem;
  }
  if (!config && !r.no_config) fuzz::Violation("no configuration partition after Format");
  for (const linux_nvram::Part& part : valid) {
    if (part.signature == nvram::kSignatureFree) continue;
    bool kept = false;
    for (const linux_nvram::Part& now : after) kept = kept || now.index == part.index;
    if (!kept) fuzz::Violation("a valid partition is no longer in the walk");
  }
  const std::vector<uint8_t> formatted = image;
  auto again = nvram::Format({image.data(), image.size()});
  if (again.is_error() || !again.value().changed.empty() || image != formatted) {
    fuzz::Violation("a second Format changed the image");
  }
}

// The entries, each inside the data; returns whether all are valid, and checks the list ends
// inside the partition as powerpc-utils walks it.
bool CheckEntries(const nvram::Variables& variables, const std::vector<uint8_t>& image) {
  const uint32_t low = variables.data_offset();
  const uint32_t high = low + variables.data_size();
  bool all_valid = true;
  nvram::Variables::Reader reader = variables.Entries();
  for (nvram::Variable v; reader.Next(v);) {
    if (v.offset < low || v.offset + v.length > high) fuzz::Violation("entry outside the data");
    if (v.valid && (v.name.empty() || v.name.size() > nvram::kMaxNameLength)) {
      fuzz::Violation("valid entry with a bad name");
    }
    all_valid = all_valid && v.valid;
  }
  return all_valid;
}

// Whether Set(op.name, op.value) must succeed: a valid new name, a value without NUL, room for
// "name=value" and its NUL in FreeBytes, and fewer than kMaxEntries valid entries.
bool IsNewAndFits(const nvram::Variables& variables, const Op& op) {
  if (op.name.empty() || op.name.size() > nvram::kMaxNameLength) return false;
  for (char c : op.name) {
    if (c < '!' || c > '~' || c == '=') return false;
  }
  if (op.value.find('\0') != std::string::npos) return false;
  if (variables.Get(lib::StringView(op.name.data(), op.name.size())).is_ok()) return false;
  uint32_t valid = 0;
  nvram::Variables::Reader reader = variables.Entries();
  for (nvram::Variable v; reader.Next(v);) valid += v.valid ? 1 : 0;
  return valid < nvram::kMaxEntries &&
         op.name.size() + op.value.size() + 2 <= variables.FreeBytes();
}

void Apply(nvram::Variables& variables, std::vector<uint8_t>& image, const Op& op) {
  const std::vector<uint8_t> before = image;
  const uint32_t low = variables.data_offset();
  const uint32_t high = low + variables.data_size();
  const lib::StringView name(op.name.data(), op.name.size());
  const lib::StringView value(op.value.data(), op.value.size());
  switch (op.kind % 5) {
    case 0: (void)variables.Get(name); break;
    case 1: {
      const bool must_fit = IsNewAndFits(variables, op);
      auto set = variables.Set(name, value);
      if (set.is_error()) {
        if (image != before) fuzz::Violation("a refused Set changed the image");
        if (must_fit) fuzz::Violation("a Set FreeBytes has room for was refused");
        return;
      }
      ExpectOnlyChanged(before, image, set.value(), low, high);
      auto read = variables.Get(name);
      if (read.is_error() || read.value() != value) fuzz::Violation("Set did not read back");
      if (!CheckEntries(variables, image)) fuzz::Violation("a bad entry after Set");
      if (variables.data_size() > 0 && image[high - 1] != 0) fuzz::Violation("no final NUL");
      break;
    }
    case 2: {
      auto removed = variables.Remove(name);
      if (removed.is_error()) {
        if (image != before) fuzz::Violation("a refused Remove changed the image");
        return;
      }
      ExpectOnlyChanged(before, image, removed.value(), low, high);
      if (variables.Get(name).is_ok()) fuzz::Violation("removed variable still there");
      break;
    }
    case 3: (void)CheckEntries(variables, image); break;
    default: {
      const uint32_t room = variables.FreeBytes();
      if (room >= variables.data_size() && variables.data_size() > 0) {
        fuzz::Violation("more free bytes than data");
      }
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input input(data, size);
  const uint8_t flags = input.U8();
  std::vector<Op> ops(input.U8() % 17);
  for (Op& op : ops) {
    op.kind = input.U8();
    const std::vector<uint8_t> name = input.Bytes(input.U8());
    const std::vector<uint8_t> value = input.Bytes(input.U8());
    op.name.assign(name.begin(), name.end());
    op.value.assign(value.begin(), value.end());
  }
  std::vector<uint8_t> image((flags & 1) ? 8192 : 65536, (flags & 2) ? 0xff : 0);
  const std::vector<uint8_t> rest = input.Rest();
  if (!rest.empty()) memcpy(image.data(), rest.data(), std::min(rest.size(), image.size()));

  auto scan = nvram::ScanPartitions({image.data(), image.size()});
  if (scan.is_error()) fuzz::Violation("a valid image size refused");
  if (scan.value().damaged && scan.value().damage.valid) fuzz::Violation("valid damage");
  if ((flags & 4) == 0) {
    CheckFormat(image);
    scan = nvram::ScanPartitions({image.data(), image.size()});
    if (scan.value().damaged) fuzz::Violation("damaged after Format");
  }
  const nvram::Partition* config = scan.value().FindConfig();
  if (config == nullptr) return 0;
  auto opened = nvram::Variables::Open({image.data(), image.size()}, *config);
  if (opened.is_error()) fuzz::Violation("the configuration partition did not open");
  nvram::Variables variables = opened.value();
  CheckEntries(variables, image);
  for (const Op& op : ops) Apply(variables, image, op);
  return 0;
}

namespace {

std::vector<uint8_t> Seed(uint8_t flags, const std::vector<Op>& ops,
                          const std::vector<uint8_t>& image) {
  std::vector<uint8_t> out;
  fuzz::PutU8(out, flags);
  fuzz::PutU8(out, static_cast<uint8_t>(ops.size()));
  for (const Op& op : ops) {
    fuzz::PutU8(out, op.kind);
    fuzz::PutU8(out, static_cast<uint8_t>(op.name.size()));
    fuzz::PutBytes(out, std::vector<uint8_t>(op.name.begin(), op.name.end()));
    fuzz::PutU8(out, static_cast<uint8_t>(op.value.size()));
    fuzz::PutBytes(out, std::vector<uint8_t>(op.value.begin(), op.value.end()));
  }
  std::vector<uint8_t> trimmed = image;
  const uint8_t fill = (flags & 2) ? 0xff : 0;
  while (!trimmed.empty() && trimmed.back() == fill) trimmed.pop_back();
  fuzz::PutBytes(out, trimmed);
  return out;
}

}  // namespace

void fuzz::MakeSeeds(Seeds& seeds) {
  const std::vector<Op> ops = {{1, "boot-device", "disk"},
                               {0, "auto-boot?", ""},
                               {1, "boot-device", "/vdevice/v-scsi@71000003/disk@8000000000000000"},
                               {2, "diag-switch?", ""},
                               {3, "", ""},
                               {4, "", ""}};
  seeds.Add("blank-zero", Seed(0, ops, std::vector<uint8_t>(65536, 0)));
  seeds.Add("blank-erased", Seed(2, ops, std::vector<uint8_t>(65536, 0xff)));
  seeds.Add("blank-8k", Seed(1, ops, std::vector<uint8_t>(8192, 0)));
  std::vector<uint8_t> slof = nvram_fixtures::SlofBlank();
  seeds.Add("slof", Seed(0, ops, slof));
  std::vector<uint8_t> with_linux = nvram_fixtures::AfterLinux(slof);
  seeds.Add("slof-linux", Seed(0, ops, with_linux));
  with_linux[0x4030 + 9] ^= 0x20;  // lnx,oops-log's checksum broken
  seeds.Add("slof-linux-damaged", Seed(0, ops, with_linux));
  seeds.Add("slof-linux-unformatted", Seed(4, ops, with_linux));
  seeds.Add("qemu-prom-env",
            Seed(0, ops, nvram_fixtures::QemuPromEnv({"boot-device=disk", "boot-args=quiet"})));
  std::vector<uint8_t> junk = nvram_fixtures::SlofBlank();
  const char hostile[] = "good=1\0no equals\0=x\0bin\x01=y\0good=2\0tail-without-nul";
  memcpy(junk.data() + 0x2810, hostile, sizeof(hostile) - 1);
  memset(junk.data() + 0x2810 + sizeof(hostile) - 1, 'z', 0x3800 - 0x2810 - sizeof(hostile) + 1);
  seeds.Add("hostile-common", Seed(0, ops, junk));
}
