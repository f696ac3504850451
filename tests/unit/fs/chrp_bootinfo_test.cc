// fs/chrp-bootinfo.h: grub-mkrescue's real bootinfo.txt (byte for byte), the other shapes seen on
// install media (Debian's and Fedora's yaboot CDs, SUSE's, SLOF's sample, ReaR's, NetBSD's),
// case, CR/LF, white space, entities, several lines, every refusal; and the whole path an
// installer CD takes: \ppc\bootinfo.txt found and read on an ISO, parsed, its boot file found.
#include "fs/chrp-bootinfo.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fs/iso9660.h"
#include "lib/crc32.h"
#include "tests/unit/fs/fs-test-disk.h"
#include "tests/unit/fs/grub-mkrescue-bootinfo.h"
#include "tests/unit/fs/iso-builder.h"

namespace {

using fs::BootInfoError;

struct Parsed {
  std::string error;  // empty when parsed
  std::string path;
  std::string arguments;
  uint32_t partition = 0;
};

Parsed Parse(const std::string& text) {
  Parsed parsed;
  auto script = fs::ParseBootInfo(lib::StringView(text.data(), text.size()));
  if (script.is_error()) {
    parsed.error = fs::BootInfoErrorName(script.error());
    return parsed;
  }
  const fs::BootScript& boot = script.value();
  parsed.path.assign(boot.Path().data(), boot.Path().size());
  parsed.arguments.assign(boot.Arguments().data(), boot.Arguments().size());
  parsed.partition = boot.partition;
  EXPECT_EQ(boot.path[boot.path_length], '\0');
  EXPECT_EQ(boot.arguments[boot.arguments_length], '\0');
  return parsed;
}

// The path a <boot-script> element holding `script` names (or the error's name).
std::string PathOf(const std::string& script) {
  const Parsed parsed =
      Parse("<chrp-boot>\n<boot-script>" + script + "</boot-script>\n</chrp-boot>");
  return parsed.error.empty() ? parsed.path : "<" + parsed.error + ">";
}

std::string Error(BootInfoError error) {
  return std::string("<") + fs::BootInfoErrorName(error) + ">";
}

std::string Chrp(const std::string& script) {
  return "<chrp-boot>\n<description>Linux</description>\n<os-name>Linux</os-name>\n"
         "<boot-script>" +
         script + "</boot-script>\n</chrp-boot>\n";
}

TEST(ChrpBootInfo, GrubMkrescue) {
  const std::string text = isotest::kGrubMkrescueBootInfo;
  ASSERT_EQ(text.size(), 12572u);
  EXPECT_EQ(lib::Crc32({reinterpret_cast<const uint8_t*>(text.data()), text.size()}),
            0xf8980e36u);  // the file's CRC-32 (zlib's), as grub-mkrescue wrote it
  const Parsed parsed = Parse(text);
  EXPECT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.path, "\\boot\\grub\\powerpc.elf");
  EXPECT_EQ(parsed.arguments, "");
  EXPECT_EQ(parsed.partition, 0u);
  EXPECT_STREQ(fs::kBootInfoPath, "\\ppc\\bootinfo.txt");
}

TEST(ChrpBootInfo, ShapesSeenOnInstallMedia) {
  // Debian's yaboot installer CD, Fedora/RHEL's yaboot CD, ReaR's, lorax's early GRUB 2.
  EXPECT_EQ(Parse(Chrp("boot &device;:\\install\\yaboot")).path, "\\install\\yaboot");
  EXPECT_EQ(Parse(Chrp("boot &device;:\\ppc\\chrp\\yaboot")).path, "\\ppc\\chrp\\yaboot");
  EXPECT_EQ(Parse(Chrp("boot &device;:\\yaboot")).path, "\\yaboot");
  EXPECT_EQ(Parse(Chrp("boot &device;:\\boot\\grub\\core.elf")).path, "\\boot\\grub\\core.elf");
  // SUSE's SLES 9/10 CDs: partition 1, a name without a separator, a space before the tag.
  Parsed suse = Parse(Chrp("boot &device;:1,yaboot.chrp "));
  EXPECT_EQ(suse.error, "");
  EXPECT_EQ(suse.path, "yaboot.chrp");
  EXPECT_EQ(suse.partition, 1u);
  EXPECT_EQ(suse.arguments, "");
  // SLOF's sample (slof/fs/packages/disk-label.fs).
  Parsed slof = Parse(Chrp("boot &device;:1,\\boot\\yaboot.ibm"));
  EXPECT_EQ(slof.path, "\\boot\\yaboot.ibm");
  EXPECT_EQ(slof.partition, 1u);
  // A path on the same device, without &device;.
  Parsed bare = Parse(Chrp("boot \\install\\yaboot"));
  EXPECT_EQ(bare.error, "");
  EXPECT_EQ(bare.path, "\\install\\yaboot");
  EXPECT_EQ(PathOf("boot /install/yaboot"), "/install/yaboot");
  EXPECT_EQ(PathOf("boot &device;:,\\ppc\\x"), "\\ppc\\x");
  EXPECT_EQ(PathOf("boot &device;:/boot/grub/powerpc.elf"), "/boot/grub/powerpc.elf");
  // NetBSD's: a partition, no file.
  EXPECT_EQ(PathOf("boot &device;:3"), Error(BootInfoError::kNoFile));
}

TEST(ChrpBootInfo, CaseWhiteSpaceAndArguments) {
  EXPECT_EQ(Parse("<CHRP-BOOT><BOOT-SCRIPT>BOOT &DEVICE;:\\X</BOOT-SCRIPT></CHRP-BOOT>").path,
            "\\X");
  EXPECT_EQ(Parse("<Chrp-Boot>\r\n<Boot-Script>Boot &Device;:\\a\\b</boot-SCRIPT>").path, "\\a\\b");
  const Parsed crlf = Parse(
      "<chrp-boot>\r\n<boot-script>\r\n\t boot\t&device;:\\boot\\grub\\powerpc.elf  "
      "console=hvc0\t quiet \r\n</boot-script>\r\n</chrp-boot>\r\n");
  EXPECT_EQ(crlf.error, "");
  EXPECT_EQ(crlf.path, "\\boot\\grub\\powerpc.elf");
  EXPECT_EQ(crlf.arguments, "console=hvc0\t quiet");
  const Parsed entities = Parse(Chrp("boot &device;:\\a&amp;b x=&lt;1&gt; y=&quot;&apos;"));
  EXPECT_EQ(entities.path, "\\a&b");
  EXPECT_EQ(entities.arguments, "x=<1> y=\"'");
  EXPECT_EQ(PathOf("boot &device;:&partition;,&directory;\\yaboot"), "\\ppc\\yaboot");
  EXPECT_EQ(PathOf("boot &DEVICE;:&DIRECTORY;\\Yaboot"), "\\ppc\\Yaboot");
}

TEST(ChrpBootInfo, ScriptsOfSeveralLines) {
  const Parsed parsed =
      Parse(Chrp("\n\" screen\" output\n\\ set up, then boot\nload-base to my-base\n"
                 "boot &device;:\\ppc\\chrp\\yaboot conf=x\n\\ the end\n\n   \n"));
  EXPECT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.path, "\\ppc\\chrp\\yaboot");
  EXPECT_EQ(parsed.arguments, "conf=x");
  // The last command is not boot: tern cannot run it.
  EXPECT_EQ(PathOf("boot &device;:\\a\ngo"), Error(BootInfoError::kNoBootWord));
  EXPECT_EQ(PathOf("load &device;:\\a go"), Error(BootInfoError::kNoBootWord));
  EXPECT_EQ(PathOf("\" boot\" type"), Error(BootInfoError::kNoBootWord));
  EXPECT_EQ(PathOf(""), Error(BootInfoError::kNoBootWord));
  EXPECT_EQ(PathOf("\n\\ only a comment\n"), Error(BootInfoError::kNoBootWord));
  EXPECT_EQ(PathOf("bootx &device;:\\a"), Error(BootInfoError::kNoBootWord));
  // "\x" is not a comment, and not a boot command.
  EXPECT_EQ(PathOf("boot &device;:\\a\n\\x"), Error(BootInfoError::kNoBootWord));
}

TEST(ChrpBootInfo, RefusedDevicesAndPaths) {
  EXPECT_EQ(PathOf("boot cdrom:\\ppc\\chrp\\yaboot"), Error(BootInfoError::kOtherDevice));
  EXPECT_EQ(PathOf("boot /vdevice/v-scsi@2000/disk@8000000000000000:\\yaboot"),
            Error(BootInfoError::kOtherDevice));
  EXPECT_EQ(PathOf("boot net"), Error(BootInfoError::kOtherDevice));
  EXPECT_EQ(PathOf("boot"), Error(BootInfoError::kNoFile));
  EXPECT_EQ(PathOf("boot &device;"), Error(BootInfoError::kNoFile));
  EXPECT_EQ(PathOf("boot &device;:"), Error(BootInfoError::kNoFile));
  EXPECT_EQ(PathOf("boot &device;:2,"), Error(BootInfoError::kNoFile));
  EXPECT_EQ(PathOf("boot &device;:&partition;"), Error(BootInfoError::kNoFile));
  EXPECT_EQ(PathOf("boot &device;:99999,\\x"), Error(BootInfoError::kBadPartition));
  EXPECT_EQ(PathOf("boot &device;:1x,\\y"), Error(BootInfoError::kBadPath));
  EXPECT_EQ(PathOf("boot &device;,\\y"), Error(BootInfoError::kBadPath));
  EXPECT_EQ(PathOf("boot &device;:2,\\\\:tbxi"), Error(BootInfoError::kBadPath));
  EXPECT_EQ(PathOf(std::string("boot &device;:\\a\x01"
                               "b")),
            Error(BootInfoError::kBadPath));
  EXPECT_EQ(PathOf(std::string("boot &device;:\\a\0b", 18)), Error(BootInfoError::kBadPath));
  EXPECT_EQ(PathOf("boot &device;:\\a\x7f"), Error(BootInfoError::kBadPath));
  // Entities tern cannot expand, or not closed.
  EXPECT_EQ(PathOf("boot &device;:&full-path;"), Error(BootInfoError::kUnknownEntity));
  EXPECT_EQ(PathOf("boot &device;:\\&#60;"), Error(BootInfoError::kUnknownEntity));
  EXPECT_EQ(PathOf("boot &device;:&device;\\x"), Error(BootInfoError::kUnknownEntity));
  EXPECT_EQ(PathOf("boot &device;:\\x a=&device;"), Error(BootInfoError::kUnknownEntity));
  EXPECT_EQ(PathOf("boot &device:\\x"), Error(BootInfoError::kUnterminatedEntity));
  EXPECT_EQ(PathOf("boot &device;:\\x&amp"), Error(BootInfoError::kUnterminatedEntity));
  EXPECT_EQ(PathOf("boot &device;:\\x&" + std::string(40, 'a') + ";"),
            Error(BootInfoError::kUnterminatedEntity));
}

TEST(ChrpBootInfo, Tags) {
  EXPECT_EQ(Parse("<boot-script>boot &device;:\\x</boot-script>").error,
            fs::BootInfoErrorName(BootInfoError::kNotBootInfo));
  EXPECT_EQ(Parse("").error, fs::BootInfoErrorName(BootInfoError::kNotBootInfo));
  EXPECT_EQ(Parse("<chrp-boot\n<boot-script>boot \\x</boot-script>").error,
            fs::BootInfoErrorName(BootInfoError::kNotBootInfo));
  EXPECT_EQ(Parse("<chrp-boot><os-name>x</os-name></chrp-boot>").error,
            fs::BootInfoErrorName(BootInfoError::kNoBootScript));
  EXPECT_EQ(Parse("<boot-script>boot \\x</boot-script><chrp-boot>").error,
            fs::BootInfoErrorName(BootInfoError::kNoBootScript));
  EXPECT_EQ(Parse("<chrp-boot><boot-script>boot &device;:\\x\n</chrp-boot>").error,
            fs::BootInfoErrorName(BootInfoError::kUnterminatedScript));
  EXPECT_EQ(Parse("<chrp-boot><boot-script>boot \\x</boot-script").error,
            fs::BootInfoErrorName(BootInfoError::kUnterminatedScript));
  // The first <boot-script> is the one.
  EXPECT_EQ(Parse("<chrp-boot><boot-script>boot \\a</boot-script><boot-script>boot \\b"
                  "</boot-script>")
                .path,
            "\\a");
  // Bytes of any value around the tags.
  EXPECT_EQ(Parse(std::string("\0\xff<chrp-boot>\0<boot-script>boot \\z</boot-script>", 48)).path,
            "\\z");
}

TEST(ChrpBootInfo, Limits) {
  EXPECT_EQ(PathOf("boot \\" + std::string(254, 'p')), "\\" + std::string(254, 'p'));
  EXPECT_EQ(PathOf("boot \\" + std::string(255, 'p')), Error(BootInfoError::kTooLong));
  // The device arguments, partition included, are read into the path's 255 bytes.
  EXPECT_EQ(PathOf("boot &device;:1,\\" + std::string(252, 'p')), "\\" + std::string(252, 'p'));
  EXPECT_EQ(PathOf("boot &device;:1,\\" + std::string(253, 'p')), Error(BootInfoError::kTooLong));
  EXPECT_EQ(PathOf("boot &device;:&directory;\\" + std::string(250, 'p')),
            "\\ppc\\" + std::string(250, 'p'));
  EXPECT_EQ(PathOf("boot &device;:&directory;\\" + std::string(251, 'p')),
            Error(BootInfoError::kTooLong));
  EXPECT_EQ(Parse(Chrp("boot \\x " + std::string(255, 'a'))).arguments, std::string(255, 'a'));
  EXPECT_EQ(PathOf("boot \\x " + std::string(256, 'a')), Error(BootInfoError::kTooLong));
  // A 1 MiB file: only its first kMaxBootInfoBytes are read.
  std::string big = isotest::kGrubMkrescueBootInfo;
  big.resize(1 << 20, 'F');
  EXPECT_EQ(Parse(big).path, "\\boot\\grub\\powerpc.elf");
  std::string late = "<chrp-boot>" + std::string(fs::kMaxBootInfoBytes, ' ') +
                     "<boot-script>boot \\x</boot-script>";
  EXPECT_EQ(Parse(late).error, fs::BootInfoErrorName(BootInfoError::kNoBootScript));
  std::string across = "<chrp-boot><boot-script>boot \\x" +
                       std::string(fs::kMaxBootInfoBytes, '\n') + "</boot-script>";
  EXPECT_EQ(Parse(across).error, fs::BootInfoErrorName(BootInfoError::kUnterminatedScript));
  // The closing tag's last byte is the limit's last: read.
  std::string edge = "<chrp-boot><boot-script>boot \\x";
  edge += std::string(fs::kMaxBootInfoBytes - edge.size() - 14, '\n') + "</boot-script>";
  ASSERT_EQ(edge.size(), fs::kMaxBootInfoBytes);
  EXPECT_EQ(Parse(edge + "more").path, "\\x");
  edge.insert(31, "\n");
  EXPECT_EQ(Parse(edge).error, fs::BootInfoErrorName(BootInfoError::kUnterminatedScript));
}

// ---- An installer CD, end to end ----

// What the boot manager does with a CD: \ppc\bootinfo.txt found and read (at most
// kMaxBootInfoBytes), its boot line parsed, the file it names found and its first bytes read.
std::string BootFile(const std::vector<uint8_t>& image, uint32_t block_size) {
  isotest::TestDisk disk(image, block_size);
  const block::Device device = disk.Device();
  std::vector<uint8_t> scratch(fs::ScratchBytes(block_size));
  const lib::Span<uint8_t> span(scratch.data(), scratch.size());
  auto volume = fs::OpenVolume(device, span);
  if (volume.is_error()) return fs::IsoErrorName(volume.error());
  auto bootinfo = fs::Lookup(volume.value(), fs::kBootInfoPath, span);
  if (bootinfo.is_error()) return fs::IsoErrorName(bootinfo.error());
  std::vector<uint8_t> text(fs::kMaxBootInfoBytes);
  auto read = fs::ReadFile(volume.value(), bootinfo.value(), 0, {text.data(), text.size()}, span);
  if (read.is_error()) return fs::IsoErrorName(read.error());
  auto script =
      fs::ParseBootInfo(lib::StringView(reinterpret_cast<const char*>(text.data()), read.value()));
  if (script.is_error()) return fs::BootInfoErrorName(script.error());
  auto file = fs::Lookup(volume.value(), script.value().Path(), span);
  if (file.is_error()) return fs::IsoErrorName(file.error());
  uint8_t head[8] = {};
  auto elf = fs::ReadFile(volume.value(), file.value(), 0, head, span);
  if (elf.is_error()) return fs::IsoErrorName(elf.error());
  return std::string(reinterpret_cast<const char*>(head), elf.value());
}

TEST(ChrpBootInfo, InstallerCdEndToEnd) {
  using isotest::Dir;
  using isotest::File;
  const isotest::Node root =
      Dir("", "",
          {Dir("BOOT", "boot",
               {Dir("GRUB", "grub",
                    {File("POWERPC.ELF;1", "powerpc.elf",
                          std::string("\x7f"
                                      "ELF\x01\x02\x01\0",
                                      8))})}),
           Dir("PPC", "ppc",
               {File("BOOTINFO.TXT;1", "bootinfo.txt", isotest::kGrubMkrescueBootInfo)})});
  for (bool rock_ridge : {false, true}) {
    isotest::Options options;
    options.rock_ridge = rock_ridge;
    const std::vector<uint8_t> image = isotest::Build(root, options).image;
    for (uint32_t block_size : {512u, 2048u}) {
      EXPECT_EQ(BootFile(image, block_size), std::string("\x7f"
                                                         "ELF\x01\x02\x01\0",
                                                         8));
    }
  }
  // A bootinfo.txt of 1 MiB: its first 16 KiB are read, and are enough.
  std::string big = isotest::kGrubMkrescueBootInfo;
  big.resize(1 << 20, ' ');
  const isotest::Node big_root = Dir("", "",
                                     {Dir("BOOT", "",
                                          {Dir("GRUB", "",
                                               {File("POWERPC.ELF;1", "",
                                                     "\x7f"
                                                     "ELF")})}),
                                      Dir("PPC", "", {File("BOOTINFO.TXT;1", "", big)})});
  EXPECT_EQ(BootFile(isotest::Build(big_root).image, 512),
            "\x7f"
            "ELF");
}

}  // namespace
