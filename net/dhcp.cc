// DHCP and BOOTP messages: the reply parser and the request writer (the exchange is in
// dhcp-client.cc).
#include "lib/string.h"
#include "net/dhcp.h"

namespace net {
namespace {

constexpr uint8_t kCookie[kDhcpCookieSize] = {99, 130, 83, 99};
constexpr uint8_t kOptionPad = 0;
constexpr uint8_t kOptionEnd = 255;
constexpr uint8_t kOptionSubnetMask = 1;
constexpr uint8_t kOptionRouter = 3;
constexpr uint8_t kOptionDns = 6;
constexpr uint8_t kOptionHostName = 12;
constexpr uint8_t kOptionRequestedAddress = 50;
constexpr uint8_t kOptionOverload = 52;
constexpr uint8_t kOptionMessageType = 53;
constexpr uint8_t kOptionServerId = 54;
constexpr uint8_t kOptionParameterList = 55;
constexpr uint8_t kOptionMaxMessage = 57;
constexpr uint8_t kOptionTftpServer = 66;
constexpr uint8_t kOptionBootFile = 67;
constexpr uint8_t kOverloadFile = 1;
constexpr uint8_t kOverloadSname = 2;

// The bytes up to the first NUL: names in fixed fields, and the NUL some servers end options
// with.
lib::StringView UpToNul(lib::Span<const uint8_t> bytes) {
  size_t length = 0;
  while (length < bytes.size() && bytes[length] != 0) ++length;
  return {reinterpret_cast<const char*>(bytes.data()), length};
}

Ipv4Address AddressAt(lib::Span<const uint8_t> value) {
  return Ipv4Address{lib::LoadBe32(value.data())};
}

// A mask is ones then zeros [RFC 950; RFC 4632 3.1].
bool ContiguousMask(uint32_t mask) {
  const uint32_t hosts = ~mask;
  return (hosts & (hosts + 1)) == 0;
}

// One option's value into `reply`, with its length checked [RFC 2132 3.3-9.6].
lib::Result<void, DropReason> ReadOption(uint8_t code, lib::Span<const uint8_t> value,
                                         DhcpReply& reply, uint8_t& overload, bool top_level) {
  const size_t length = value.size();
  switch (code) {
    case kOptionSubnetMask:
      if (length != 4 || !ContiguousMask(AddressAt(value).value)) break;
      reply.netmask = AddressAt(value);
      return lib::Ok<DropReason>();
    case kOptionRouter:
    case kOptionDns:
      if (length < 4 || length % 4 != 0) break;
      (code == kOptionRouter ? reply.router : reply.dns) = AddressAt(value);
      return lib::Ok<DropReason>();
    case kOptionHostName:
    case kOptionTftpServer:
    case kOptionBootFile:
      if (length == 0 || UpToNul(value).empty()) break;
      (code == kOptionHostName     ? reply.host_name
       : code == kOptionTftpServer ? reply.tftp_server
                                   : reply.boot_file) = UpToNul(value);
      return lib::Ok<DropReason>();
    case kOptionOverload:
      // Only in the options field, once [RFC 2131 4.1].
      if (length != 1 || value[0] < 1 || value[0] > 3 || !top_level || overload != 0) break;
      overload = value[0];
      return lib::Ok<DropReason>();
    case kOptionMessageType:
      if (length != 1 || value[0] < 1 || value[0] > 8) break;
      reply.type = value[0];
      return lib::Ok<DropReason>();
    case kOptionServerId:
      if (length != 4) break;
      reply.server_id = AddressAt(value);
      return lib::Ok<DropReason>();
    default: return lib::Ok<DropReason>();
  }
  return lib::Err(DropReason::kMalformed);
}

// The options in `area` up to an end option or the area's end [RFC 2132 2].
lib::Result<void, DropReason> ReadOptions(lib::Span<const uint8_t> area, DhcpReply& reply,
                                          uint8_t& overload, bool top_level) {
  size_t at = 0;
  while (at < area.size()) {
    const uint8_t code = area[at];
    if (code == kOptionPad) {
      ++at;
      continue;
    }
    if (code == kOptionEnd) break;
    if (area.size() - at < 2 || area[at + 1] > area.size() - at - 2) {
      return lib::Err(DropReason::kMalformed);
    }
    TERN_TRY(ReadOption(code, area.Subspan(at + 2, area[at + 1]), reply, overload, top_level));
    at += 2 + size_t{area[at + 1]};
  }
  return lib::Ok<DropReason>();
}

template <size_t N>
void CopyString(char (&out)[N], lib::StringView text) {
  const size_t length = lib::Min(text.size(), N - 1);
  lib::MemCopy(out, text.data(), length);
  out[length] = '\0';
}

}  // namespace

lib::Result<DhcpReply, DropReason> ParseDhcpReply(lib::Span<const uint8_t> message, uint32_t xid,
                                                  const MacAddress& mac) {
  if (message.size() < kDhcpFixedSize) return lib::Err(DropReason::kMalformed);
  const auto header = lib::LoadWire<DhcpHeader>(message.data());
  if (header.op != 2 || header.xid.value() != xid) return lib::Err(DropReason::kNotForUs);
  if (header.htype != 1 || header.hlen != 6) return lib::Err(DropReason::kMalformed);
  if (lib::MemCompare(header.chaddr, mac.bytes, 6) != 0) return lib::Err(DropReason::kNotForUs);
  DhcpReply reply;
  reply.your_address = Ipv4Address{header.yiaddr.value()};
  reply.next_server = Ipv4Address{header.siaddr.value()};
  uint8_t overload = 0;
  const uint32_t options_at = kDhcpFixedSize + kDhcpCookieSize;
  const auto file = message.Subspan(offsetof(DhcpHeader, file), sizeof(header.file));
  const auto sname = message.Subspan(offsetof(DhcpHeader, sname), sizeof(header.sname));
  // Without the cookie the vendor area is not options [RFC 951 3, RFC 1497]: none are read.
  if (message.size() >= options_at &&
      lib::MemCompare(message.data() + kDhcpFixedSize, kCookie, kDhcpCookieSize) == 0) {
    TERN_TRY(ReadOptions(message.Subspan(options_at), reply, overload, true));
    if (overload & kOverloadFile) TERN_TRY(ReadOptions(file, reply, overload, false));
    if (overload & kOverloadSname) TERN_TRY(ReadOptions(sname, reply, overload, false));
  }
  if (!(overload & kOverloadFile) && reply.boot_file.empty()) reply.boot_file = UpToNul(file);
  if (!(overload & kOverloadSname)) reply.server_name = UpToNul(sname);
  return reply;
}

uint32_t WriteDhcpRequest(lib::Span<uint8_t> out, const DhcpRequestFields& fields) {
  if (out.size() < kBootpRequestSize) return 0;
  lib::MemSet(out.data(), 0, kBootpRequestSize);
  DhcpHeader header{};
  header.op = 1;
  header.htype = 1;
  header.hlen = 6;
  header.xid = lib::UBe32(fields.xid);
  header.secs = lib::UBe16(fields.secs);
  header.flags = lib::UBe16(0x8000);
  lib::MemCopy(header.chaddr, fields.mac.bytes, 6);
  lib::StoreWire(out.data(), header);
  uint8_t* option = out.data() + kDhcpFixedSize;
  lib::MemCopy(option, kCookie, kDhcpCookieSize);
  option += kDhcpCookieSize;
  const uint8_t head[] = {kOptionMessageType,
                          1,
                          fields.type,
                          kOptionMaxMessage,
                          2,
                          static_cast<uint8_t>(fields.max_message >> 8),
                          static_cast<uint8_t>(fields.max_message),
                          kOptionParameterList,
                          6,
                          kOptionSubnetMask,
                          kOptionRouter,
                          kOptionDns,
                          kOptionHostName,
                          kOptionTftpServer,
                          kOptionBootFile};
  lib::MemCopy(option, head, sizeof(head));
  option += sizeof(head);
  if (fields.type == kDhcpRequest) {
    option[0] = kOptionRequestedAddress;
    option[1] = 4;
    lib::StoreBe32(option + 2, fields.requested.value);
    option[6] = kOptionServerId;
    option[7] = 4;
    lib::StoreBe32(option + 8, fields.server.value);
    option += 12;
  }
  *option = kOptionEnd;
  return kBootpRequestSize;
}

DhcpLease LeaseFrom(const DhcpReply& reply) {
  DhcpLease lease;
  lease.bootp = reply.type == kDhcpNone;
  lease.address = reply.your_address;
  lease.netmask = reply.netmask.IsZero() ? ClassfulMask(reply.your_address) : reply.netmask;
  lease.router = reply.router;
  lease.dns = reply.dns;
  lease.server_id = reply.server_id;
  lease.next_server = reply.next_server;
  CopyString(lease.boot_file, reply.boot_file);
  CopyString(lease.server_name, reply.server_name);
  CopyString(lease.tftp_server, reply.tftp_server);
  CopyString(lease.host_name, reply.host_name);
  auto named = ParseDottedQuad(reply.tftp_server);
  auto sname = ParseDottedQuad(reply.server_name);
  if (named.is_ok()) {
    lease.boot_server = named.value();
  } else if (!reply.next_server.IsZero()) {
    lease.boot_server = reply.next_server;
  } else if (sname.is_ok()) {
    lease.boot_server = sname.value();
  } else {
    lease.boot_server = reply.server_id;
  }
  return lease;
}

}  // namespace net
