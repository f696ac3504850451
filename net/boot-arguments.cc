#include "net/boot-arguments.h"

#include "lib/format.h"

namespace net {

namespace {

enum Field : uint32_t {
  kServer,
  kFile,
  kClient,
  kGateway,
  kBootpRetries,
  kTftpRetries,
  kNetmask,
  kBlockSize,
  kFieldCount,
};

lib::Result<uint32_t, BootArgumentsError> ParseCount(lib::StringView text) {
  uint32_t value = 0;
  if (text.size() > 5) return lib::Err(BootArgumentsError::kBadNumber);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return lib::Err(BootArgumentsError::kBadNumber);
    value = value * 10 + static_cast<uint32_t>(text[i] - '0');
  }
  if (value > 0xffff) return lib::Err(BootArgumentsError::kBadNumber);
  return value;
}

lib::Result<void, BootArgumentsError> SetAddress(lib::StringView text, Ipv4Address& address) {
  if (text.empty()) return lib::Ok<BootArgumentsError>();
  auto parsed = ParseDottedQuad(text);
  if (parsed.is_error()) return lib::Err(BootArgumentsError::kBadAddress);
  address = parsed.value();
  return lib::Ok<BootArgumentsError>();
}

lib::Result<void, BootArgumentsError> SetField(uint32_t field, lib::StringView text,
                                               BootArguments& out) {
  switch (field) {
    case kServer: return SetAddress(text, out.server);
    case kClient: return SetAddress(text, out.client);
    case kGateway: return SetAddress(text, out.gateway);
    case kNetmask: return SetAddress(text, out.netmask);
    case kFile:
      if (text.size() > kBootFileNameMax) return lib::Err(BootArgumentsError::kTooLong);
      for (size_t i = 0; i < text.size(); ++i) out.file[i] = text[i];
      out.file[text.size()] = '\0';
      return lib::Ok<BootArgumentsError>();
    default: break;
  }
  auto count = ParseCount(text);
  if (count.is_error()) return lib::Err(count.error());
  if (field == kBootpRetries) out.bootp_retries = count.value();
  if (field == kTftpRetries) out.tftp_retries = count.value();
  if (field == kBlockSize) out.block_size = count.value();
  return lib::Ok<BootArgumentsError>();
}

struct Dotted {
  char text[16];
  explicit Dotted(Ipv4Address address) {
    const uint32_t v = address.value;
    (void)lib::FormatToBuffer(text, sizeof(text), "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xff,
                              (v >> 8) & 0xff, v & 0xff);
  }
};

}  // namespace

const char* BootArgumentsErrorName(BootArgumentsError error) {
  switch (error) {
    case BootArgumentsError::kBadAddress: return "an address that is not a dotted quad";
    case BootArgumentsError::kBadNumber: return "a count or block size that is not a number";
    case BootArgumentsError::kTooLong: return "a file name that is too long";
  }
  return "bad network boot arguments";
}

lib::Result<BootArguments, BootArgumentsError> ParseBootArguments(lib::StringView text) {
  BootArguments out;
  uint32_t field = 0;
  bool first = true;
  for (size_t at = 0; at <= text.size() && field < kFieldCount;) {
    size_t end = at;
    while (end < text.size() && text[end] != ',') ++end;
    const lib::StringView piece = text.Substr(at, end - at);
    at = end + 1;
    if (piece.Find('=') < piece.size()) continue;  // an option: name=value
    if (first && piece == lib::StringView("bootp")) {
      out.bootp = true;
      first = false;
      continue;
    }
    first = false;
    auto set = SetField(field++, piece, out);
    if (set.is_error()) return lib::Err(set.error());
  }
  return out;
}

bool FormatBootArguments(const BootArguments& arguments, char* out, size_t size) {
  char file[kBootFileNameMax + 1];
  size_t length = 0;
  for (; length < kBootFileNameMax && arguments.file[length] != '\0'; ++length) {
    file[length] = arguments.file[length] == '/' ? '\\' : arguments.file[length];
  }
  file[length] = '\0';
  const size_t written = lib::FormatToBuffer(
      out, size, "%s,%s,%s,%s,%u,%u,%s,%u", Dotted(arguments.server).text, file,
      Dotted(arguments.client).text, Dotted(arguments.gateway).text, arguments.bootp_retries,
      arguments.tftp_retries, Dotted(arguments.netmask).text, arguments.block_size);
  if (written < size) return true;
  if (size != 0) out[0] = '\0';
  return false;
}

}  // namespace net
