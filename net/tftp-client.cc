// The TFTP read on a Stack [RFC 1350 4, 6; RFC 2347]: RRQ, then DATA and ACK in lock step from
// the server's transfer ID, with the time-outs and tries of TftpRequest.
#include "lib/console.h"
#include "net/tftp.h"

namespace net {
namespace {

// What one received packet did to the transfer.
enum class Step {
  kNothing,   // ignored, a duplicate or out of order: the wait goes on
  kProgress,  // an OACK or a new block: the silence count starts over
  kDone,      // the last block
};

struct Transfer {
  Transfer(Stack& stack, const TftpRequest& request, TftpReport& report, uint16_t block_size,
           bool ask_size)
      : stack(stack),
        request(request),
        report(report),
        asked_block_size(block_size),
        ask_size(ask_size) {}

  Stack& stack;
  const TftpRequest& request;
  TftpReport& report;
  uint16_t asked_block_size = 0;  // blksize asked for (0: none)
  bool ask_size = false;
  uint16_t local_port = 0;
  uint16_t server_port = 0;  // the server's transfer ID, 0 until its first OACK or DATA
  bool oack = false;
  bool options_refused = false;  // the server answered the RRQ with ERROR 8
  uint64_t blocks = 0;           // DATA blocks accepted
  uint16_t last_block = 0;       // the last one's number
  bool acked = false;            // an ACK was sent (else the last packet sent is the RRQ)
  uint16_t acked_block = 0;
  uint64_t reported_kib = 0;
};

TftpError FromStack(Transfer& transfer, StackError error) {
  transfer.report.stack_error = error;
  switch (error) {
    case StackError::kNotStarted:
    case StackError::kNotConfigured: return TftpError::kNotStarted;
    case StackError::kNoRoute:
    case StackError::kNoArpAnswer: return TftpError::kUnreachable;
    default: return TftpError::kDevice;
  }
}

lib::Result<void, TftpError> Send(Transfer& transfer, uint16_t port, uint32_t length) {
  auto sent = transfer.stack.SendUdp(transfer.request.server, transfer.local_port, port, length);
  if (sent.is_error()) return lib::Err(FromStack(transfer, sent.error()));
  return lib::Ok<TftpError>();
}

lib::Result<void, TftpError> SendRrq(Transfer& transfer) {
  const uint32_t length = WriteTftpRrq(transfer.stack.UdpPayload(), transfer.request.file,
                                       transfer.asked_block_size, transfer.ask_size);
  return Send(transfer, kTftpServerPort, length);
}

lib::Result<void, TftpError> SendAck(Transfer& transfer, uint16_t block) {
  transfer.acked = true;
  transfer.acked_block = block;
  return Send(transfer, transfer.server_port, WriteTftpAck(transfer.stack.UdpPayload(), block));
}

// Tells the server why the transfer ends here; the transfer's own error is what counts.
TftpError Abort(Transfer& transfer, uint16_t code, const char* message, TftpError error) {
  const uint32_t length = WriteTftpError(transfer.stack.UdpPayload(), code, message);
  (void)Send(transfer, transfer.server_port, length);
  return error;
}

void Progress(Transfer& transfer, bool last) {
  const TftpProgress& progress = transfer.request.progress;
  const uint64_t kib = transfer.report.bytes >> 10;
  if (progress.report == nullptr || (!last && kib == transfer.reported_kib)) return;
  transfer.reported_kib = kib;
  const uint64_t size = transfer.report.announced_size;
  progress.report(progress.context, kib, transfer.report.size_announced ? (size + 1023) >> 10 : 0);
}

lib::Result<Step, TftpError> HandleError(Transfer& transfer, const TftpPacket& packet) {
  TftpReport& report = transfer.report;
  report.error_code = packet.block;
  const size_t length = lib::Min<size_t>(packet.data.size(), kTftpMaxErrorMessage);
  for (size_t i = 0; i < length; ++i) {
    const uint8_t c = packet.data[i];
    report.error_message[i] = c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
  }
  report.error_message[length] = '\0';
  // A server that knows no options may refuse them before the transfer starts [RFC 2347].
  transfer.options_refused = packet.block == kTftpBadOptions && transfer.blocks == 0 &&
                             !transfer.oack &&
                             (transfer.asked_block_size != 0 || transfer.ask_size);
  return lib::Err(TftpError::kServerError);
}

lib::Result<Step, TftpError> HandleOack(Transfer& transfer, const TftpPacket& packet,
                                        uint16_t port) {
  TftpReport& report = transfer.report;
  if ((transfer.asked_block_size == 0 && !transfer.ask_size) || transfer.blocks != 0) {
    ++report.ignored;
    return Step::kNothing;
  }
  if (transfer.oack) {  // our ACK 0 was lost: the server sent its OACK again
    ++report.duplicates;
    TERN_TRY(SendAck(transfer, 0));
    return Step::kNothing;
  }
  transfer.server_port = port;
  report.server_port = port;
  auto options = ParseOack(packet.data, transfer.asked_block_size, transfer.ask_size);
  if (options.is_error()) {
    return lib::Err(Abort(transfer, kTftpBadOptions, "unusable options", TftpError::kBadOptions));
  }
  transfer.oack = true;
  report.options_acknowledged = true;
  report.block_size = options.value().block_size;
  report.size_announced = options.value().has_size;
  report.announced_size = options.value().size;
  if (report.size_announced && report.announced_size > transfer.request.max_bytes) {
    return lib::Err(Abort(transfer, kTftpDiskFull, "file too large", TftpError::kTooLarge));
  }
  TERN_TRY(SendAck(transfer, 0));
  return Step::kProgress;
}

// The next block is last_block + 1, modulo 2^16; after 65535 a server may also go on with 1.
bool IsNext(const Transfer& transfer, uint16_t block) {
  const uint16_t next = static_cast<uint16_t>(transfer.last_block + 1);
  return block == next || (transfer.blocks != 0 && transfer.last_block == 0xffff && block == 1);
}

lib::Result<Step, TftpError> HandleData(Transfer& transfer, const TftpPacket& packet,
                                        uint16_t port) {
  TftpReport& report = transfer.report;
  if (!IsNext(transfer, packet.block)) {
    if (transfer.blocks != 0 && packet.block == transfer.last_block) {
      ++report.duplicates;  // our ACK was lost or late: say it again
      TERN_TRY(SendAck(transfer, packet.block));
    } else {
      ++report.out_of_order;
    }
    return Step::kNothing;
  }
  // DATA 1 in answer to an RRQ with options: the server ignores them [RFC 2347].
  if (transfer.blocks == 0 && !transfer.oack) report.block_size = kTftpDefaultBlockSize;
  if (packet.data.size() > report.block_size) {
    ++report.ignored;
    return Step::kNothing;
  }
  transfer.server_port = port;
  report.server_port = port;
  if (packet.data.size() > transfer.request.max_bytes - report.bytes) {
    return lib::Err(Abort(transfer, kTftpDiskFull, "file too large", TftpError::kTooLarge));
  }
  const TftpSink& sink = transfer.request.sink;
  if (!packet.data.empty() && !sink.write(sink.context, report.bytes, packet.data)) {
    return lib::Err(
        Abort(transfer, kTftpDiskFull, "cannot store the file", TftpError::kSinkRefused));
  }
  ++transfer.blocks;
  transfer.last_block = packet.block;
  report.bytes += packet.data.size();
  TERN_TRY(SendAck(transfer, packet.block));
  const bool last = packet.data.size() < report.block_size;
  Progress(transfer, last);
  return last ? Step::kDone : Step::kProgress;
}

lib::Result<Step, TftpError> Handle(Transfer& transfer, const Datagram& datagram) {
  TftpReport& report = transfer.report;
  auto parsed = ParseTftp(datagram.payload);
  if (datagram.source != transfer.request.server || parsed.is_error()) {
    ++report.ignored;
    return Step::kNothing;
  }
  const TftpPacket& packet = parsed.value();
  if (transfer.server_port != 0 && datagram.source_port != transfer.server_port) {
    // Another transfer ID [RFC 1350 4]: told so (an ERROR is never answered), then ignored.
    ++report.ignored;
    if (packet.opcode != kTftpError) {
      const uint32_t length = WriteTftpError(transfer.stack.UdpPayload(), kTftpUnknownTransferId,
                                             "unknown transfer ID");
      auto sent = transfer.stack.SendUdp(datagram.source, transfer.local_port, datagram.source_port,
                                         length);
      if (sent.is_error()) return lib::Err(FromStack(transfer, sent.error()));
    }
    return Step::kNothing;
  }
  switch (packet.opcode) {
    case kTftpError: return HandleError(transfer, packet);
    case kTftpOack: return HandleOack(transfer, packet, datagram.source_port);
    case kTftpData: return HandleData(transfer, packet, datagram.source_port);
    default: ++report.ignored; return Step::kNothing;
  }
}

// One RRQ and the transfer it starts.
lib::Result<uint64_t, TftpError> Attempt(Transfer& transfer) {
  Stack& stack = transfer.stack;
  const TftpRequest& request = transfer.request;
  transfer.local_port = static_cast<uint16_t>(49152 + stack.Random() % 16384);
  TERN_TRY(SendRrq(transfer));
  int silent = 0;
  lib::Deadline deadline = stack.AfterMilliseconds(request.timeout_ms);
  for (;;) {
    if (deadline.Passed()) {
      if (++silent >= request.tries) {
        const bool answered = transfer.server_port != 0;
        return lib::Err(answered ? TftpError::kTimeout : TftpError::kNoAnswer);
      }
      ++transfer.report.retransmissions;
      if (transfer.acked) {
        TERN_TRY(SendAck(transfer, transfer.acked_block));
      } else {
        TERN_TRY(SendRrq(transfer));
      }
      deadline = stack.AfterMilliseconds(request.timeout_ms);
      continue;
    }
    Datagram datagram;
    auto polled = stack.Poll(transfer.local_port, datagram);
    if (polled.is_error()) return lib::Err(FromStack(transfer, polled.error()));
    if (!polled.value()) continue;
    auto step = Handle(transfer, datagram);
    if (step.is_error()) return lib::Err(step.error());
    if (step.value() == Step::kDone) return transfer.report.bytes;
    if (step.value() == Step::kProgress) {
      silent = 0;
      deadline = stack.AfterMilliseconds(request.timeout_ms);
    }
  }
}

bool ValidRequest(const TftpRequest& request) {
  if (request.file.empty() || request.file.size() > kTftpMaxFileName ||
      request.file.Find('\0') != request.file.size()) {
    return false;
  }
  return request.sink.write != nullptr && request.tries >= 1 && request.timeout_ms != 0 &&
         (request.block_size == 0 || request.block_size >= kTftpMinBlockSize);
}

}  // namespace

lib::Result<uint64_t, TftpError> TftpRead(Stack& stack, const TftpRequest& request,
                                          TftpReport& report) {
  report = TftpReport{};
  if (!ValidRequest(request)) return lib::Err(TftpError::kBadRequest);
  if (stack.UdpPayload().empty() || stack.config().address.IsZero()) {
    return lib::Err(TftpError::kNotStarted);
  }
  // The largest block one frame carries, unless the caller asks for less.
  const uint32_t largest = lib::Min<uint32_t>(stack.max_udp_payload() - 4, kTftpMaxBlockSize);
  uint32_t block_size =
      request.block_size == 0 ? largest : lib::Min<uint32_t>(request.block_size, largest);
  if (block_size == kTftpDefaultBlockSize) block_size = 0;  // the default needs no option
  Transfer transfer(stack, request, report, static_cast<uint16_t>(block_size), request.ask_size);
  auto result = Attempt(transfer);
  if (result.is_error() && transfer.options_refused) {
    report = TftpReport{};
    report.options_refused = true;
    Transfer plain(stack, request, report, 0, false);
    result = Attempt(plain);
  }
  if (result.is_error() && result.error() == TftpError::kServerError) {
    lib::Printf("tftp: %.*s: the server says error %u: %s\n", static_cast<int>(request.file.size()),
                request.file.data(), unsigned{report.error_code}, report.error_message);
  }
  return result;
}

}  // namespace net
