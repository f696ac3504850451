// TFTP read requests [RFC 1350] with option negotiation [RFC 2347]: `blksize` [RFC 2348] and
// `tsize` [RFC 2349], asked for in the RRQ and taken from the server's OACK; a server that
// ignores them (DATA block 1 at once) is read at 512-byte blocks, and one that refuses them
// (ERROR 8) is asked again without options. Block numbers wrap after 65535, to 0 or to 1 (SLOF's
// tftp.c accepts both; a 512-byte-block file over 32 MiB wraps). The file goes to the caller's
// sink at its offset, so the caller can write it straight into guest memory; a duplicate or
// out-of-order DATA packet is counted and answered (the last ACK again) or ignored, never an
// error.
//
// Time-outs [RFC 1350 2 leaves them to the implementation]: the last packet (RRQ or ACK) is sent
// again when nothing new comes for timeout_ms, 1 s by default as in SLOF (tftp.c, TICKS_SEC);
// the transfer is given up after `tries` such waits in a row without a new block, 10 by default
// (SLOF gives up after 20 silent seconds, netload.c DEFAULT_TFTP_RETRIES; GRUB after 40 tries of
// 400 ms and more, GRUB_NET_TRIES).
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "net/drop.h"
#include "net/ipv4.h"
#include "net/stack.h"

namespace net {

inline constexpr uint16_t kTftpServerPort = 69;
inline constexpr uint16_t kTftpDefaultBlockSize = 512;
inline constexpr uint16_t kTftpMinBlockSize = 8;      // [RFC 2348]
inline constexpr uint16_t kTftpMaxBlockSize = 65464;  // [RFC 2348]
inline constexpr uint64_t kTftpTimeoutMs = 1000;
inline constexpr int kTftpTries = 10;
inline constexpr uint32_t kTftpMaxFileName = 255;
inline constexpr uint32_t kTftpMaxErrorMessage = 127;  // kept of an ERROR's message

enum TftpOpcode : uint16_t {
  kTftpRrq = 1,
  kTftpWrq = 2,
  kTftpData = 3,
  kTftpAck = 4,
  kTftpError = 5,
  kTftpOack = 6,
};

enum TftpErrorCode : uint16_t {
  kTftpNotDefined = 0,
  kTftpFileNotFound = 1,
  kTftpAccessViolation = 2,
  kTftpDiskFull = 3,  // "Disk full or allocation exceeded": sent when the file is over the limit
  kTftpIllegalOperation = 4,
  kTftpUnknownTransferId = 5,
  kTftpFileExists = 6,
  kTftpNoSuchUser = 7,
  kTftpBadOptions = 8,  // [RFC 2347]
};

// One TFTP packet, its fields pointing into the datagram.
struct TftpPacket {
  uint16_t opcode = 0;
  uint16_t block = 0;             // DATA, ACK; the error code for ERROR
  lib::Span<const uint8_t> data;  // DATA: the block's bytes; OACK: the options; ERROR: message
};

// kMalformed: shorter than its opcode's fixed part (DATA, ACK and ERROR 4 bytes, OACK 2); an
// opcode other than DATA, ACK, ERROR or OACK is kUnsupported. An ERROR's message is its bytes up
// to the first NUL (or the end).
lib::Result<TftpPacket, DropReason> ParseTftp(lib::Span<const uint8_t> payload);

// The options of an OACK (name-value pairs of NUL-terminated strings, names in any case) against
// those asked for: `block_size` (0: none asked) and `ask_size`. kMalformed for a string without
// its NUL, an option not asked for, a blksize outside 8..block_size, a value that is not a
// decimal number that fits 64 bits.
struct TftpOptions {
  uint16_t block_size = kTftpDefaultBlockSize;
  bool has_size = false;
  uint64_t size = 0;
};
lib::Result<TftpOptions, DropReason> ParseOack(lib::Span<const uint8_t> options,
                                               uint16_t block_size, bool ask_size);

// Writers into `out`, for the client and for tests: the packet's length, or 0 when it does not
// fit. An RRQ asks for octet mode, blksize `block_size` (0: not asked) and tsize 0 (`ask_size`).
uint32_t WriteTftpRrq(lib::Span<uint8_t> out, lib::StringView file, uint16_t block_size,
                      bool ask_size);
uint32_t WriteTftpAck(lib::Span<uint8_t> out, uint16_t block);
uint32_t WriteTftpError(lib::Span<uint8_t> out, uint16_t code, lib::StringView message);

// Where the file goes: `write` puts `data` at byte `offset` of the file (blocks arrive in order,
// each once); false stops the transfer (kSinkRefused; the server gets an ERROR).
struct TftpSink {
  bool (*write)(void* context, uint64_t offset, lib::Span<const uint8_t> data) = nullptr;
  void* context = nullptr;
};

// Progress: called when the whole KiB received so far grows, and once at the end; `total_kib`
// is the size the server announced (tsize) in KiB, rounded up, or 0 when it said none.
struct TftpProgress {
  void (*report)(void* context, uint64_t received_kib, uint64_t total_kib) = nullptr;
  void* context = nullptr;
};

struct TftpRequest {
  Ipv4Address server;
  lib::StringView file;    // 1..kTftpMaxFileName bytes, no NUL
  uint64_t max_bytes = 0;  // the most the sink takes: a larger file is refused (kTooLarge)
  TftpSink sink;
  TftpProgress progress;
  // The blksize to ask for: 0 the largest one frame carries (max_udp_payload - 4: 1468 on a
  // 1500-byte MTU; SLOF asks for at most 1428, GRUB for 1024), kTftpDefaultBlockSize asks none.
  uint16_t block_size = 0;
  bool ask_size = true;  // tsize 0 in the RRQ: the server tells the file's size
  uint64_t timeout_ms = kTftpTimeoutMs;
  int tries = kTftpTries;
};

enum class TftpError {
  kBadRequest,   // an empty or too long file name, no sink, tries < 1, a bad block size
  kNotStarted,   // the stack was not started or not configured
  kDevice,       // the device failed (Stack::last_device_error)
  kUnreachable,  // no route or no ARP answer for the server (TftpReport::stack_error)
  kNoAnswer,     // the server never answered the RRQ
  kTimeout,      // the server went silent during the transfer
  kServerError,  // the server sent an ERROR (TftpReport::error_code, error_message)
  kBadOptions,   // the server's OACK was unusable (it got ERROR 8)
  kTooLarge,     // the file is larger than max_bytes (the server got ERROR 3)
  kSinkRefused,  // the sink refused a block (the server got an ERROR)
};

constexpr const char* TftpErrorName(TftpError error) {
  switch (error) {
    case TftpError::kBadRequest: return "bad TFTP request";
    case TftpError::kNotStarted: return "network not configured";
    case TftpError::kDevice: return "network device error";
    case TftpError::kUnreachable: return "TFTP server unreachable";
    case TftpError::kNoAnswer: return "no answer from the TFTP server";
    case TftpError::kTimeout: return "the TFTP server stopped answering";
    case TftpError::kServerError: return "the TFTP server sent an error";
    case TftpError::kBadOptions: return "unusable TFTP option acknowledgment";
    case TftpError::kTooLarge: return "file larger than the room for it";
    case TftpError::kSinkRefused: return "the file could not be stored";
  }
  return "TFTP error";
}

// What happened, filled in whatever the outcome.
struct TftpReport {
  uint64_t bytes = 0;  // written to the sink
  bool size_announced = false;
  uint64_t announced_size = 0;  // tsize from the OACK
  uint16_t block_size = kTftpDefaultBlockSize;
  bool options_acknowledged = false;  // an OACK came
  bool options_refused = false;       // ERROR 8: asked again without options
  uint16_t server_port = 0;           // the server's transfer ID
  uint32_t retransmissions = 0;       // RRQs and ACKs sent again after a time-out
  uint32_t duplicates = 0;            // DATA (or OACK) packets received again, ACKed again
  uint32_t out_of_order = 0;          // DATA packets ahead of or far behind the next block
  uint32_t ignored = 0;               // malformed packets, other hosts, other transfer IDs
  StackError stack_error = StackError::kDevice;  // kUnreachable: why
  uint16_t error_code = 0;                       // kServerError: the server's code
  // kServerError: its message, printable ASCII (anything else as '?'), NUL-terminated.
  char error_message[kTftpMaxErrorMessage + 1] = {};
};

// Reads `request.file` from `request.server` on a configured `stack` into the sink; returns its
// length. An ERROR from the server is also printed on the console with its message.
lib::Result<uint64_t, TftpError> TftpRead(Stack& stack, const TftpRequest& request,
                                          TftpReport& report);

}  // namespace net
