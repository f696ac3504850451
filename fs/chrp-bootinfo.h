// The CHRP boot information file, \ppc\bootinfo.txt [CHRP system binding to IEEE 1275, "Boot
// Information File"; IEEE 1275 PowerPC binding]: an SGML-like text whose <boot-script> element
// holds the Forth script the firmware runs to boot the medium. tern has no Forth: it reads the
// script's `boot` line, the form every installer medium uses, and takes from it the file to load
// and its arguments:
//   boot &device;:\boot\grub\powerpc.elf          grub-mkrescue (GRUB 2, every current distro)
//   boot &device;:\ppc\chrp\yaboot                 Fedora/RHEL/ReaR with yaboot
//   boot &device;:\install\yaboot                  Debian's yaboot installer
//   boot &device;:1,\boot\yaboot.ibm  (SLOF's sample; partition 1, reported in `partition`)
//   boot \install\yaboot                           a path on the same device
// SLOF reads the same line (slof/fs/packages/disk-label.fs, parse-bootinfo-txt): the text after
// "&device;:" up to </boot-script>, the boot arguments after its first space.
//
// Rules: tags and entity names are matched without regard to ASCII case; the <boot-script>
// element is the first one after <chrp-boot>; its last line that is neither blank nor a Forth
// comment ("\ ...") must be `boot device-specifier [arguments]` [IEEE 1275 7.4.3], the lines
// before it are not run (tern cannot); the device-specifier is "&device;:" followed by the
// device arguments (`\path`, `N,\path`, `,\path`, `path`: at most kMaxBootPathLength bytes,
// partition included), or a path starting with '\' or '/'.
// Entities [CHRP binding]: &device; (only as the device, where it means the medium read),
// &partition; (empty: tern reads the whole medium), &directory; (\ppc), &lt; &gt; &amp; &quot;
// &apos;. CR, LF, tabs and spaces are all white space. Only the first kMaxBootInfoBytes of the
// text are read: grub-mkrescue's file is 12.5 KiB, its <boot-script> in the first 200 bytes.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace fs {

// Where CHRP firmware looks for the file on a medium.
inline constexpr const char* kBootInfoPath = "\\ppc\\bootinfo.txt";
// The most of the file read and parsed; the caller reads at most this much.
inline constexpr size_t kMaxBootInfoBytes = 16384;
inline constexpr size_t kMaxBootPathLength = 255;
inline constexpr size_t kMaxBootArgumentsLength = 255;

enum class BootInfoError : uint8_t {
  kNotBootInfo,         // no <chrp-boot> tag
  kNoBootScript,        // no <boot-script> tag after it
  kUnterminatedScript,  // <boot-script> without </boot-script> (within kMaxBootInfoBytes)
  kNoBootWord,          // the script's last line is not a `boot` command
  kNoFile,              // `boot` names no file: no device-specifier, or a partition alone
  kOtherDevice,         // `boot` names a device other than &device; (an alias, a path, "cdrom:")
  kBadPartition,        // a partition number that is not one (over block::kMaxPartitionNumber)
  kBadPath,             // the file's path has characters a path cannot have (control, ':')
  kUnknownEntity,       // an entity tern cannot expand (&full-path;, &#..;, &device; in a path)
  kUnterminatedEntity,  // '&' without its ';'
  kTooLong,             // the path or the arguments are longer than their limit
};

const char* BootInfoErrorName(BootInfoError error);

// What the boot line names. Path and arguments are entity-expanded copies, NUL-terminated.
struct BootScript {
  char path[kMaxBootPathLength + 1] = {};  // inside the volume: `\boot\grub\powerpc.elf`
  uint32_t path_length = 0;
  char arguments[kMaxBootArgumentsLength + 1] = {};  // the boot arguments, may be empty
  uint32_t arguments_length = 0;
  uint32_t partition = 0;  // N of "&device;:N,\path"; 0 when none was given

  lib::StringView Path() const { return lib::StringView(path, path_length); }
  lib::StringView Arguments() const { return lib::StringView(arguments, arguments_length); }
};

// Parses the first kMaxBootInfoBytes of `text` (the file's bytes as read; any bytes, NULs
// included) by the rules above.
[[nodiscard]] lib::Result<BootScript, BootInfoError> ParseBootInfo(lib::StringView text);

}  // namespace fs
