#include "fs/chrp-bootinfo.h"

#include "block/disk-label.h"
#include "fs/ascii.h"
#include "lib/string.h"

namespace fs {

using lib::Err;
using lib::Ok;
using lib::Result;
using lib::StringView;

const char* BootInfoErrorName(BootInfoError error) {
  switch (error) {
    case BootInfoError::kNotBootInfo: return "no <chrp-boot> tag";
    case BootInfoError::kNoBootScript: return "no <boot-script> tag";
    case BootInfoError::kUnterminatedScript: return "<boot-script> without </boot-script>";
    case BootInfoError::kNoBootWord: return "the boot script does not end in a boot command";
    case BootInfoError::kNoFile: return "the boot command names no file";
    case BootInfoError::kOtherDevice: return "the boot command names a device other than &device;";
    case BootInfoError::kBadPartition: return "the boot command's partition number is out of range";
    case BootInfoError::kBadPath: return "the boot command's file path is malformed";
    case BootInfoError::kUnknownEntity: return "the boot command uses an entity tern cannot expand";
    case BootInfoError::kUnterminatedEntity: return "an entity without its ';'";
    case BootInfoError::kTooLong: return "the boot command's path or arguments are too long";
  }
  return "bootinfo.txt error";
}

namespace {

// The longest entity name looked for before a ';' (&directory;, &partition;).
constexpr size_t kMaxEntityName = 16;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

bool IsSeparator(char c) {
  return c == '\\' || c == '/';
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

StringView Trim(StringView text) {
  size_t start = 0;
  size_t end = text.size();
  while (start < end && IsSpace(text[start])) ++start;
  while (end > start && IsSpace(text[end - 1])) --end;
  return text.Substr(start, end - start);
}

// The index of `needle` in `text` at or after `from`, ASCII case ignored; text.size() if absent.
size_t FindIgnoringCase(StringView text, StringView needle, size_t from) {
  for (size_t at = from; at < text.size() && needle.size() <= text.size() - at; ++at) {
    if (StartsWithIgnoringCase(text.Substr(at), needle)) return at;
  }
  return text.size();
}

// The content of the first <boot-script> element after <chrp-boot>.
Result<StringView, BootInfoError> ScriptElement(StringView text) {
  constexpr StringView kChrpBoot = "<chrp-boot>";
  constexpr StringView kOpen = "<boot-script>";
  constexpr StringView kClose = "</boot-script>";
  const size_t chrp = FindIgnoringCase(text, kChrpBoot, 0);
  if (chrp == text.size()) return Err(BootInfoError::kNotBootInfo);
  const size_t open = FindIgnoringCase(text, kOpen, chrp + kChrpBoot.size());
  if (open == text.size()) return Err(BootInfoError::kNoBootScript);
  const size_t start = open + kOpen.size();
  const size_t close = FindIgnoringCase(text, kClose, start);
  if (close == text.size()) return Err(BootInfoError::kUnterminatedScript);
  return text.Substr(start, close - start);
}

// A Forth comment line: the word "\" and whatever follows it.
bool IsComment(StringView line) {
  return line[0] == '\\' && (line.size() == 1 || IsSpace(line[1]));
}

// The script's last line that is neither blank nor a comment, trimmed (empty when none).
StringView LastCommandLine(StringView script) {
  StringView last;
  for (size_t at = 0; at < script.size();) {
    size_t end = at;
    while (end < script.size() && script[end] != '\n' && script[end] != '\r') ++end;
    const StringView line = Trim(script.Substr(at, end - at));
    if (!line.empty() && !IsComment(line)) last = line;
    at = end + 1;
  }
  return last;
}

// The next white-space-delimited word of `line` from `*at`.
StringView NextWord(StringView line, size_t* at) {
  while (*at < line.size() && IsSpace(line[*at])) ++*at;
  const size_t start = *at;
  while (*at < line.size() && !IsSpace(line[*at])) ++*at;
  return line.Substr(start, *at - start);
}

// What an entity of the boot script stands for in a path or the arguments [CHRP binding].
Result<StringView, BootInfoError> EntityText(StringView name) {
  struct Expansion {
    StringView name;
    StringView text;
  };
  constexpr Expansion kExpansions[] = {
      {"lt", "<"},   {"gt", ">"},       {"amp", "&"},           {"quot", "\""},
      {"apos", "'"}, {"partition", ""}, {"directory", "\\ppc"},
  };
  for (const Expansion& expansion : kExpansions) {
    if (EqualsIgnoringCase(name, expansion.name)) return expansion.text;
  }
  return Err(BootInfoError::kUnknownEntity);
}

// Copies `raw` into `out` (room for `capacity` bytes and a NUL) with its entities expanded;
// returns the length.
Result<uint32_t, BootInfoError> Expand(StringView raw, char* out, size_t capacity) {
  size_t length = 0;
  for (size_t at = 0; at < raw.size();) {
    StringView piece = raw.Substr(at, 1);
    if (raw[at] == '&') {
      const StringView name = raw.Substr(at + 1, kMaxEntityName + 1);
      const size_t end = name.Find(';');
      if (end == name.size()) return Err(BootInfoError::kUnterminatedEntity);
      auto text = EntityText(name.Substr(0, end));
      TERN_TRY(text);
      piece = text.value();
      at += end + 2;
    } else {
      ++at;
    }
    if (piece.size() > capacity - length) return Err(BootInfoError::kTooLong);
    lib::MemCopy(out + length, piece.data(), piece.size());
    length += piece.size();
  }
  out[length] = '\0';
  return static_cast<uint32_t>(length);
}

// A path inside the volume: not empty, printable, no ':' (a device or Apple's "\\:tbxi").
Result<void, BootInfoError> CheckPath(const BootScript& script) {
  if (script.path_length == 0) return Err(BootInfoError::kNoFile);
  for (uint32_t i = 0; i < script.path_length; ++i) {
    const auto c = static_cast<uint8_t>(script.path[i]);
    if (c <= ' ' || c == 0x7f || c == ':') return Err(BootInfoError::kBadPath);
  }
  return Ok<BootInfoError>();
}

// The device arguments after "&device;:" [IEEE 1275 PowerPC binding, disk-label]: `\path`,
// `path`, `N,path` or `,path`; a partition alone (`N`) names no file.
Result<void, BootInfoError> ParseDeviceArguments(StringView raw, BootScript& script) {
  auto length = Expand(raw, script.path, kMaxBootPathLength);
  TERN_TRY(length);
  script.path_length = length.value();
  const StringView arguments = script.Path();
  if (!arguments.empty() && (IsDigit(arguments[0]) || arguments[0] == ',')) {
    auto label = block::ParseDiskLabel(arguments);
    if (label.is_error()) {
      return Err(label.error() == block::DiskLabelError::kBadPartition
                     ? BootInfoError::kBadPartition
                     : BootInfoError::kBadPath);
    }
    if (!label.value().has_file) return Err(BootInfoError::kNoFile);
    script.partition = label.value().partition;
    const StringView file = label.value().file;
    lib::MemMove(script.path, file.data(), file.size());
    script.path_length = static_cast<uint32_t>(file.size());
    script.path[script.path_length] = '\0';
  }
  return CheckPath(script);
}

// The boot command's device-specifier [IEEE 1275 7.4.3]: "&device;:arguments", or a path on
// the same device.
Result<void, BootInfoError> ParseSpecifier(StringView specifier, BootScript& script) {
  constexpr StringView kDevice = "&device;";
  if (StartsWithIgnoringCase(specifier, kDevice)) {
    const StringView rest = specifier.Substr(kDevice.size());
    if (rest.empty()) return Err(BootInfoError::kNoFile);
    if (rest[0] != ':') return Err(BootInfoError::kBadPath);
    return ParseDeviceArguments(rest.Substr(1), script);
  }
  auto length = Expand(specifier, script.path, kMaxBootPathLength);
  TERN_TRY(length);
  script.path_length = length.value();
  // A device path or an alias ("cdrom:\...", "/vdevice/...:...", "net"): not the medium read.
  if (script.Path().Find(':') != script.path_length || !IsSeparator(script.path[0])) {
    return Err(BootInfoError::kOtherDevice);
  }
  return CheckPath(script);
}

}  // namespace

Result<BootScript, BootInfoError> ParseBootInfo(StringView text) {
  auto script = ScriptElement(text.Substr(0, kMaxBootInfoBytes));
  TERN_TRY(script);
  const StringView line = LastCommandLine(script.value());
  size_t at = 0;
  if (!EqualsIgnoringCase(NextWord(line, &at), "boot")) return Err(BootInfoError::kNoBootWord);
  const StringView specifier = NextWord(line, &at);
  if (specifier.empty()) return Err(BootInfoError::kNoFile);
  Result<BootScript, BootInfoError> result = BootScript{};
  BootScript& boot = result.value();
  TERN_TRY(ParseSpecifier(specifier, boot));
  auto arguments = Expand(Trim(line.Substr(at)), boot.arguments, kMaxBootArgumentsLength);
  TERN_TRY(arguments);
  boot.arguments_length = arguments.value();
  return result;
}

}  // namespace fs
