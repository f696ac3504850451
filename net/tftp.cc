// TFTP packets: the parsers (DATA, ACK, ERROR, OACK) and the writers (RRQ, ACK, ERROR) the client
// (tftp-client.cc) uses.
#include "lib/format.h"
#include "lib/string.h"
#include "net/tftp.h"

namespace net {
namespace {

// The NUL-terminated string at `at` of `bytes`, moving `at` past its NUL; false when there is no
// NUL before the end.
bool TakeString(lib::Span<const uint8_t> bytes, size_t& at, lib::StringView& text) {
  const size_t start = at;
  while (at < bytes.size() && bytes[at] != 0) ++at;
  if (at >= bytes.size()) return false;
  text = lib::StringView(reinterpret_cast<const char*>(bytes.data() + start), at - start);
  ++at;
  return true;
}

bool EqualsIgnoringCase(lib::StringView text, const char* name) {
  const size_t length = lib::StrLength(name);
  if (text.size() != length) return false;
  for (size_t i = 0; i < length; ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != name[i]) return false;
  }
  return true;
}

// A decimal number of 1 to 20 digits that fits 64 bits.
bool ParseDecimal(lib::StringView text, uint64_t& value) {
  if (text.empty() || text.size() > 20) return false;
  value = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (~uint64_t{0} - digit) / 10) return false;
    value = value * 10 + digit;
  }
  return true;
}

// Appends `text` and its NUL at `at` of `out`; false when it does not fit.
bool PutString(lib::Span<uint8_t> out, size_t& at, lib::StringView text) {
  if (text.size() >= out.size() - lib::Min(at, out.size())) return false;
  lib::MemCopy(out.data() + at, text.data(), text.size());
  at += text.size();
  out[at++] = 0;
  return true;
}

}  // namespace

lib::Result<TftpPacket, DropReason> ParseTftp(lib::Span<const uint8_t> payload) {
  if (payload.size() < 2) return lib::Err(DropReason::kMalformed);
  TftpPacket packet;
  packet.opcode = lib::LoadBe16(payload.data());
  switch (packet.opcode) {
    case kTftpData:
    case kTftpAck:
    case kTftpError:
      if (payload.size() < 4) return lib::Err(DropReason::kMalformed);
      packet.block = lib::LoadBe16(payload.data() + 2);
      packet.data = payload.Subspan(4);
      break;
    case kTftpOack: packet.data = payload.Subspan(2); break;
    default: return lib::Err(DropReason::kUnsupported);
  }
  if (packet.opcode == kTftpError) {
    size_t length = 0;
    while (length < packet.data.size() && packet.data[length] != 0) ++length;
    packet.data = packet.data.Subspan(0, length);
  }
  return packet;
}

lib::Result<TftpOptions, DropReason> ParseOack(lib::Span<const uint8_t> options,
                                               uint16_t block_size, bool ask_size) {
  TftpOptions parsed;
  size_t at = 0;
  while (at < options.size()) {
    lib::StringView name;
    lib::StringView text;
    uint64_t value = 0;
    if (!TakeString(options, at, name) || !TakeString(options, at, text) ||
        !ParseDecimal(text, value)) {
      return lib::Err(DropReason::kMalformed);
    }
    if (EqualsIgnoringCase(name, "blksize") && block_size != 0 && value >= kTftpMinBlockSize &&
        value <= block_size) {
      parsed.block_size = static_cast<uint16_t>(value);
    } else if (EqualsIgnoringCase(name, "tsize") && ask_size) {
      parsed.has_size = true;
      parsed.size = value;
    } else {
      return lib::Err(DropReason::kMalformed);
    }
  }
  return parsed;
}

uint32_t WriteTftpRrq(lib::Span<uint8_t> out, lib::StringView file, uint16_t block_size,
                      bool ask_size) {
  if (out.size() < 2) return 0;
  lib::StoreBe16(out.data(), kTftpRrq);
  size_t at = 2;
  char digits[8];
  lib::FormatToBuffer(digits, sizeof(digits), "%u", unsigned{block_size});
  if (!PutString(out, at, file) || !PutString(out, at, "octet")) return 0;
  if (block_size != 0 && (!PutString(out, at, "blksize") || !PutString(out, at, digits))) return 0;
  if (ask_size && (!PutString(out, at, "tsize") || !PutString(out, at, "0"))) return 0;
  return static_cast<uint32_t>(at);
}

uint32_t WriteTftpAck(lib::Span<uint8_t> out, uint16_t block) {
  if (out.size() < 4) return 0;
  lib::StoreBe16(out.data(), kTftpAck);
  lib::StoreBe16(out.data() + 2, block);
  return 4;
}

uint32_t WriteTftpError(lib::Span<uint8_t> out, uint16_t code, lib::StringView message) {
  if (out.size() < 4) return 0;
  lib::StoreBe16(out.data(), kTftpError);
  lib::StoreBe16(out.data() + 2, code);
  size_t at = 4;
  return PutString(out, at, message) ? static_cast<uint32_t>(at) : 0;
}

}  // namespace net
