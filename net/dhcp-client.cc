// The DHCP exchange on a Stack [RFC 2131 3.1, 4.1, 4.4]: INIT -> SELECTING (DISCOVER until an
// OFFER, or a BOOTREPLY) -> REQUESTING (REQUEST until an ACK or a NAK) -> BOUND, each state's
// transmissions bounded by DhcpSettings::tries with exponential back-off.
#include "lib/cpu.h"
#include "lib/string.h"
#include "net/dhcp.h"

namespace net {
namespace {

enum class Outcome { kOffer, kAck, kNak, kBootp, kTimeout };

struct Exchange {
  Exchange(Stack& stack, const DhcpSettings& settings) : stack(stack), settings(settings) {}

  Stack& stack;
  const DhcpSettings& settings;
  uint64_t start = lib::ReadTimebase();  // at the first DISCOVER: the `secs` field
  uint32_t xid = 0;
  Ipv4Address offered;      // SELECTING's OFFER
  Ipv4Address server;       // its server identifier
  bool have_bootp = false;  // a BOOTREPLY is kept in settings.packet
  uint32_t bootp_length = 0;
  uint32_t bootp_xid = 0;    // the transaction it answered
  uint32_t kept_length = 0;  // the accepted reply's length
  bool malformed = false;    // a reply to our transaction was dropped as malformed
  lib::Result<void, StackError> failure = lib::Ok<StackError>();
};

DhcpError FromStack(StackError error) {
  return error == StackError::kNotStarted ? DhcpError::kNotStarted : DhcpError::kDevice;
}

// The wait before transmission `attempt` (0: the first) is repeated: the first timeout doubled
// per attempt up to 64 s, randomized by up to +-1 s (+-a quarter of shorter timeouts).
uint64_t Backoff(Exchange& exchange, int attempt) {
  uint64_t wait = exchange.settings.first_timeout_ms;
  for (int i = 0; i < attempt && wait < kDhcpMaxTimeoutMs; ++i) wait *= 2;
  wait = lib::Min(wait, lib::Max(kDhcpMaxTimeoutMs, exchange.settings.first_timeout_ms));
  const uint64_t jitter = lib::Min<uint64_t>(1000, wait / 4);
  return wait - jitter + exchange.stack.Random() % (2 * jitter + 1);
}

lib::Result<void, StackError> Send(Exchange& exchange, uint8_t type) {
  Stack& stack = exchange.stack;
  DhcpRequestFields fields;
  fields.type = type;
  fields.xid = exchange.xid;
  const uint64_t seconds = (lib::ReadTimebase() - exchange.start) / stack.timebase_frequency();
  fields.secs = static_cast<uint16_t>(lib::Min<uint64_t>(seconds, 0xffff));
  fields.mac = stack.mac();
  const uint32_t accepted = lib::Min<uint32_t>(
      static_cast<uint32_t>(exchange.settings.packet.size()), stack.max_udp_payload());
  fields.max_message = static_cast<uint16_t>(lib::Min<uint32_t>(accepted + 28, 0xffff));
  fields.requested = exchange.offered;
  fields.server = exchange.server;
  const uint32_t length = WriteDhcpRequest(stack.UdpPayload(), fields);
  return stack.SendUdp(Ipv4Address::Broadcast(), kDhcpClientPort, kDhcpServerPort, length);
}

// Keeps `message` in the caller's buffer; false when it does not fit.
bool Keep(Exchange& exchange, lib::Span<const uint8_t> message) {
  if (message.size() > exchange.settings.packet.size()) return false;
  lib::MemCopy(exchange.settings.packet.data(), message.data(), message.size());
  exchange.kept_length = static_cast<uint32_t>(message.size());
  return true;
}

bool UsableAddress(Ipv4Address address) {
  return !address.IsZero() && !address.IsBroadcast() && !address.IsMulticast();
}

// SELECTING: an OFFER (with the server identifier it must carry [RFC 2131 4.3.1]) ends the
// state; the first BOOTREPLY is kept in case no OFFER comes.
Outcome ConsiderOffer(Exchange& exchange, const DhcpReply& reply,
                      lib::Span<const uint8_t> message) {
  if (reply.type == kDhcpOffer && !reply.server_id.IsZero()) {
    exchange.offered = reply.your_address;
    exchange.server = reply.server_id;
    return Outcome::kOffer;
  }
  if (reply.type == kDhcpNone && !exchange.have_bootp && Keep(exchange, message)) {
    exchange.have_bootp = true;
    exchange.bootp_length = exchange.kept_length;
    exchange.bootp_xid = exchange.xid;
  }
  return Outcome::kTimeout;
}

// REQUESTING: only the chosen server's ACK or NAK counts [RFC 2131 3.1.4, 3.1.5].
Outcome ConsiderAnswer(Exchange& exchange, const DhcpReply& reply,
                       lib::Span<const uint8_t> message) {
  if (reply.server_id != exchange.server) return Outcome::kTimeout;
  if (reply.type == kDhcpNak) return Outcome::kNak;
  if (reply.type == kDhcpAck && reply.your_address == exchange.offered && Keep(exchange, message)) {
    exchange.have_bootp = false;  // the buffer holds the ACK now
    return Outcome::kAck;
  }
  return Outcome::kTimeout;
}

// One datagram while in SELECTING (requesting: false) or REQUESTING: the outcome it decides, or
// kTimeout when it decides nothing (the wait goes on).
Outcome Consider(Exchange& exchange, const Datagram& datagram, bool requesting) {
  if (datagram.source_port != kDhcpServerPort) return Outcome::kTimeout;
  auto parsed = ParseDhcpReply(datagram.payload, exchange.xid, exchange.stack.mac());
  if (parsed.is_error()) {
    if (parsed.error() == DropReason::kMalformed) exchange.malformed = true;
    return Outcome::kTimeout;
  }
  const DhcpReply& reply = parsed.value();
  const bool usable = reply.type == kDhcpNak || UsableAddress(reply.your_address);
  if (!usable || datagram.payload.size() > exchange.settings.packet.size()) {
    exchange.malformed = true;
    return Outcome::kTimeout;
  }
  return requesting ? ConsiderAnswer(exchange, reply, datagram.payload)
                    : ConsiderOffer(exchange, reply, datagram.payload);
}

// SELECTING or REQUESTING: transmits up to `tries` times, each followed by a back-off wait.
Outcome RunState(Exchange& exchange, bool requesting) {
  for (int attempt = 0; attempt < exchange.settings.tries; ++attempt) {
    exchange.failure = Send(exchange, requesting ? kDhcpRequest : kDhcpDiscover);
    if (exchange.failure.is_error()) return Outcome::kTimeout;
    const lib::Deadline deadline = exchange.stack.AfterMilliseconds(Backoff(exchange, attempt));
    while (!deadline.Passed()) {
      Datagram datagram;
      auto polled = exchange.stack.Poll(kDhcpClientPort, datagram);
      if (polled.is_error()) {
        exchange.failure = lib::Err(polled.error());
        return Outcome::kTimeout;
      }
      if (!polled.value()) continue;
      const Outcome outcome = Consider(exchange, datagram, requesting);
      if (outcome != Outcome::kTimeout) return outcome;
    }
    // A BOOTP server answered and no DHCP server did within this wait: take BOOTP [RFC 1534 3].
    if (!requesting && exchange.have_bootp) return Outcome::kBootp;
  }
  return exchange.have_bootp ? Outcome::kBootp : Outcome::kTimeout;
}

// DISCOVER to ACK (or BOOTP), starting over after a NAK.
lib::Result<void, DhcpError> Negotiate(Exchange& exchange) {
  for (int naks = 0;; ++naks) {
    exchange.xid = exchange.stack.Random();
    exchange.offered = Ipv4Address{};
    exchange.server = Ipv4Address{};
    const Outcome selected = RunState(exchange, false);
    if (exchange.failure.is_error()) return lib::Err(FromStack(exchange.failure.error()));
    if (selected == Outcome::kBootp) break;
    if (selected != Outcome::kOffer) {
      return lib::Err(exchange.malformed ? DhcpError::kMalformedReplies : DhcpError::kNoAnswer);
    }
    const Outcome acked = RunState(exchange, true);
    if (exchange.failure.is_error()) return lib::Err(FromStack(exchange.failure.error()));
    if (acked == Outcome::kAck || acked == Outcome::kBootp) break;
    if (acked == Outcome::kTimeout) return lib::Err(DhcpError::kNoAck);
    if (naks == kDhcpMaxNaks) return lib::Err(DhcpError::kRefused);
  }
  if (exchange.have_bootp) {
    exchange.kept_length = exchange.bootp_length;
    exchange.xid = exchange.bootp_xid;
  }
  return lib::Ok<DhcpError>();
}

}  // namespace

lib::Result<DhcpLease, DhcpError> RunDhcp(Stack& stack, const DhcpSettings& settings) {
  if (settings.packet.size() < kMinDhcpMessage || settings.tries < 1 ||
      settings.first_timeout_ms == 0) {
    return lib::Err(DhcpError::kBadSettings);
  }
  if (stack.UdpPayload().empty()) return lib::Err(DhcpError::kNotStarted);
  stack.Configure(Ipv4Config{});
  Exchange exchange{stack, settings};
  TERN_TRY(Negotiate(exchange));
  // The kept copy is parsed again: the lease describes exactly the bytes the caller publishes.
  const lib::Span<const uint8_t> kept = settings.packet.Subspan(0, exchange.kept_length);
  auto reply = ParseDhcpReply(kept, exchange.xid, stack.mac());
  if (reply.is_error()) return lib::Err(DhcpError::kMalformedReplies);  // cannot happen
  DhcpLease lease = LeaseFrom(reply.value());
  lease.packet_length = exchange.kept_length;
  stack.Configure(Ipv4Config{lease.address, lease.netmask, lease.router});
  return lease;
}

}  // namespace net
