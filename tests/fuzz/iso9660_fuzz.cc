// ISO 9660 install media (fs/iso9660.cc, fs/chrp-bootinfo.cc): a volume from the input, opened
// with OpenVolume, then what an installer boot does with it: \ppc\bootinfo.txt, GRUB's
// \boot\grub\powerpc.elf and a path from the input looked up and read (at most
// kMaxBootInfoBytes), the bootinfo text parsed, and the file its boot line names looked up and
// read. The disk is sparse: the input gives its bytes from sector 16 (the volume descriptors) on,
// the system area before and every byte after read as zeros, so directories and extents may point
// anywhere on a device of up to 2^24 blocks. Every volume, file and boot line returned must keep
// the promises of the headers: inside the device, in range, terminated.
//
// Input: flags (bits 0-1: device block size 512, 2048, 1024, 4096; bit 2: one block per read;
// bit 3: also parse the image bytes as a bootinfo.txt; bit 4: reads touching the failing block
// fail), the device's block count (4 bytes, at least what the image needs, at most 2^24), the
// failing block (4 bytes), a path length and path, then the image from byte 16 * 2048 on.
#include <algorithm>
#include <string>
#include <vector>

#include "block/device.h"
#include "fs/chrp-bootinfo.h"
#include "fs/iso9660.h"
#include "tests/fuzz/fuzz-support.h"
#include "tests/unit/fs/grub-mkrescue-bootinfo.h"
#include "tests/unit/fs/iso-builder.h"

namespace {

constexpr uint64_t kImageStart = 16 * 2048;

struct SparseDisk {
  std::vector<uint8_t> data;  // the bytes from kImageStart on; the rest are zeros
  uint32_t block_size = 2048;
  uint64_t blocks = 0;
  uint64_t fail = ~uint64_t{0};  // reads touching this block fail

  static lib::Result<void, block::IoError> Read(void* driver, uint64_t lba, uint32_t count,
                                                uint64_t buffer) {
    const auto* disk = static_cast<const SparseDisk*>(driver);
    if (lba > disk->blocks || count > disk->blocks - lba) fuzz::Violation("read past the disk");
    if (disk->fail >= lba && disk->fail - lba < count) return lib::Err(block::IoError::kDevice);
    auto* out = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(buffer));
    const uint64_t start = lba * disk->block_size;
    const uint64_t bytes = uint64_t{count} * disk->block_size;
    for (uint64_t i = 0; i < bytes; ++i) {
      const uint64_t at = start + i;
      out[i] = at >= kImageStart && at - kImageStart < disk->data.size()
                   ? disk->data[at - kImageStart]
                   : 0;
    }
    return lib::Ok<block::IoError>();
  }
};

void CheckScript(const fs::BootScript& script) {
  if (script.path_length == 0 || script.path_length > fs::kMaxBootPathLength ||
      script.path[script.path_length] != '\0') {
    fuzz::Violation("a boot path out of range or unterminated");
  }
  for (uint32_t i = 0; i < script.path_length; ++i) {
    const auto c = static_cast<uint8_t>(script.path[i]);
    if (c <= ' ' || c == 0x7f || c == ':') fuzz::Violation("a boot path with a bad character");
  }
  if (script.arguments_length > fs::kMaxBootArgumentsLength ||
      script.arguments[script.arguments_length] != '\0') {
    fuzz::Violation("boot arguments out of range or unterminated");
  }
}

// Every error has a name.
void CheckName(const char* name) {
  if (name == nullptr || name[0] == '\0') fuzz::Violation("an error without a name");
}

// Looks `path` up; when found, checks and reads it (at most kMaxBootInfoBytes) into `text`.
// `failing`: the disk may fail reads.
bool ReadPath(const fs::Volume& volume, lib::StringView path, lib::Span<uint8_t> scratch,
              std::vector<uint8_t>& text, bool failing) {
  block::IoError io_error = block::IoError::kNotReady;
  auto file = fs::Lookup(volume, path, scratch, &io_error);
  if (file.is_error()) {
    CheckName(fs::IsoErrorName(file.error()));
    if (file.error() == fs::IsoError::kReadFailed && io_error != block::IoError::kDevice) {
      fuzz::Violation("a read failure without the device's error");
    }
    return false;
  }
  const fs::File& f = file.value();
  if (f.offset > volume.bytes || f.size > volume.bytes - f.offset) {
    fuzz::Violation("a file outside the volume");
  }
  text.assign(std::min<uint64_t>(f.size, fs::kMaxBootInfoBytes), 0);
  auto read = fs::ReadFile(volume, f, 0, {text.data(), text.size()}, scratch);
  if (read.is_error() && failing) return false;
  if (read.is_error()) fuzz::Violation("a file found but not readable from a good disk");
  if (read.value() != text.size()) fuzz::Violation("a short read inside the file");
  auto tail = fs::ReadFile(volume, f, f.size, {text.data(), text.size()}, scratch);
  if (tail.is_error() || tail.value() != 0) fuzz::Violation("a read at the file's end");
  return true;
}

void ParseAndFollow(const fs::Volume* volume, const std::vector<uint8_t>& text,
                    lib::Span<uint8_t> scratch, bool failing) {
  auto script =
      fs::ParseBootInfo(lib::StringView(reinterpret_cast<const char*>(text.data()), text.size()));
  if (script.is_error()) {
    CheckName(fs::BootInfoErrorName(script.error()));
    return;
  }
  CheckScript(script.value());
  std::vector<uint8_t> loaded;
  if (volume != nullptr) ReadPath(*volume, script.value().Path(), scratch, loaded, failing);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input input(data, size);
  const uint8_t flags = input.U8();
  SparseDisk disk;
  constexpr uint32_t kBlockSizes[] = {512, 2048, 1024, 4096};
  disk.block_size = kBlockSizes[flags & 3];
  const uint32_t blocks = input.U32() & 0xffffff;
  const uint32_t fail = input.U32();
  const bool failing = (flags & 16) != 0;
  if (failing) disk.fail = fail;
  const std::vector<uint8_t> path_bytes = input.Bytes(input.U8());
  disk.data = input.Rest();
  const uint64_t needed = (kImageStart + disk.data.size() + disk.block_size - 1) / disk.block_size;
  disk.blocks = std::max<uint64_t>(blocks, needed);

  block::Device device;
  device.block_size = disk.block_size;
  device.blocks = disk.blocks;
  device.max_transfer_blocks = (flags & 4) ? 1 : 64;
  device.read = SparseDisk::Read;
  device.driver = &disk;
  std::vector<uint8_t> scratch_bytes(fs::ScratchBytes(disk.block_size));
  const lib::Span<uint8_t> scratch(scratch_bytes.data(), scratch_bytes.size());
  if (flags & 8) ParseAndFollow(nullptr, disk.data, scratch, failing);

  auto opened = fs::OpenVolume(device, scratch);
  if (opened.is_error()) {
    CheckName(fs::IsoErrorName(opened.error()));
    return 0;
  }
  const fs::Volume& volume = opened.value();
  if (volume.device != &device || volume.bytes > device.bytes() ||
      (volume.block_size != 512 && volume.block_size != 1024 && volume.block_size != 2048) ||
      volume.root_offset > volume.bytes || volume.root_size > volume.bytes - volume.root_offset ||
      volume.volume_id[32] != '\0') {
    fuzz::Violation("a volume out of range");
  }
  std::vector<uint8_t> text;
  if (ReadPath(volume, fs::kBootInfoPath, scratch, text, failing)) {
    ParseAndFollow(&volume, text, scratch, failing);
  }
  ReadPath(volume, "\\boot\\grub\\powerpc.elf", scratch, text, failing);
  const lib::StringView path(reinterpret_cast<const char*>(path_bytes.data()), path_bytes.size());
  if (ReadPath(volume, path, scratch, text, failing))
    ParseAndFollow(&volume, text, scratch, failing);
  return 0;
}

namespace {

std::vector<uint8_t> Seed(uint8_t flags, const std::string& path, std::vector<uint8_t> image,
                          uint32_t fail = 0) {
  std::vector<uint8_t> out;
  fuzz::PutU8(out, flags);
  fuzz::PutU32(out, 0);
  fuzz::PutU32(out, fail);
  fuzz::PutU8(out, static_cast<uint8_t>(path.size()));
  fuzz::PutBytes(out, std::vector<uint8_t>(path.begin(), path.end()));
  while (!image.empty() && image.back() == 0) image.pop_back();
  fuzz::PutBytes(out, std::vector<uint8_t>(image.begin() + kImageStart, image.end()));
  return out;
}

isotest::Node Tree(const std::string& bootinfo) {
  using isotest::Dir;
  using isotest::File;
  isotest::Node long_name = File("LONG.;1", std::string(120, 'x') + ".mod", "in CE");
  long_name.name_in_continuation = true;
  return Dir("", "",
             {Dir("BOOT", "boot",
                  {Dir("GRUB", "grub",
                       {File("POWERPC.ELF;1", "powerpc.elf",
                             "\x7f"
                             "ELF"),
                        Dir("POWERPC_", "powerpc-ieee1275",
                            {File("CORE.ELF;1", "core.elf",
                                  "\x7f"
                                  "ELF"),
                             long_name})})}),
              Dir("PPC", "ppc",
                  {File("BOOTINFO.TXT;1", "bootinfo.txt", bootinfo), Dir("CHRP", "chrp", {})})});
}

}  // namespace

void fuzz::MakeSeeds(Seeds& seeds) {
  // grub-mkrescue's bootinfo.txt without its icon (the first 222 bytes and the closing tag).
  std::string grub = isotest::kGrubMkrescueBootInfo;
  grub = grub.substr(0, grub.find("<icon")) + "</chrp-boot>\n";
  isotest::Options rock;
  rock.rock_ridge = true;
  seeds.Add("grub-rock-ridge-2048", Seed(1, "\\boot\\grub\\powerpc-ieee1275\\core.elf",
                                         isotest::Build(Tree(grub), rock).image));
  // Logical blocks of 512 and 1024 bytes, directories packed into them (inside sectors).
  isotest::Options small = rock;
  small.block_size = 512;
  small.susp_skip = 2;
  small.pack = true;
  const std::vector<uint8_t> packed = isotest::Build(Tree(grub), small).image;
  seeds.Add("grub-rock-ridge-512", Seed(0, "/ppc/chrp", packed));
  // The same on a disk whose block 76 (of 512 bytes: a directory) fails.
  seeds.Add("grub-rock-ridge-512-failing", Seed(16, "/ppc/chrp", packed, 76));
  isotest::Options iso_names;
  iso_names.block_size = 1024;
  iso_names.pack = true;
  const std::string yaboot =
      "<chrp-boot>\r\n<boot-script>\r\n\" screen\" output\r\n"
      "boot &device;:1,\\ppc\\chrp\\yaboot conf=&lt;x&gt;\r\n</boot-script>\r\n</chrp-boot>\r\n";
  seeds.Add("yaboot-iso-names", Seed(4, "\\boot\\grub\\powerpc_\\core.elf",
                                     isotest::Build(Tree(yaboot), iso_names).image));
  std::vector<uint8_t> text;
  fuzz::PutU8(text, 8);
  fuzz::PutU32(text, 0);
  fuzz::PutU32(text, 0);
  fuzz::PutU8(text, 0);
  const std::string script =
      "<CHRP-BOOT><boot-script>boot &device;:&partition;,&directory;\\yaboot a b\n</boot-script>";
  text.insert(text.end(), script.begin(), script.end());
  seeds.Add("bootinfo-text", text);
}
