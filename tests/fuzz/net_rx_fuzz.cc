// The network receive path (net/): arbitrary frames into a net::Stack in the middle of a DHCP
// exchange and a TFTP read. The LAN is tests/unit/net's fake, whose DHCP and TFTP servers answer
// as they should (their behaviour chosen by the input), so the exchanges progress; the input adds
// frames, each injected when the firmware sends a given frame: raw Ethernet frames, IPv4 packets
// behind a right Ethernet header, UDP payloads with right headers and checksums from the server
// to the port the firmware just used (DHCP and TFTP messages of any content), DHCP replies with
// the right transaction and client (options of any content), ARP packets. The bytes past a
// received frame in the receive buffer are poisoned, so a parser reading past the frame's length
// is an AddressSanitizer report even inside the buffer. Checked: the sink gets the file's blocks
// in order and within the limit, every frame the firmware sends is well formed (length,
// addresses, IPv4 and UDP checksums), the lease's and the report's strings are terminated.
//
// Input: flags (bit 0 BOOTP-only server, 1 TFTP server without options, 2 refusing options,
// 3 block numbers wrapping to 1, 4 one NAK, 5 a size limit of half the file), the TFTP server's
// block size (0-3: 8, 512, 1468, 100), the file's size (2 bytes, modulo 2048), then records: the
// index of the firmware's frame that triggers it (1 byte), its kind (1 byte: low 3 bits 0 raw, 1
// IPv4, 2 UDP, 3 DHCP reply, 4 ARP; bits 4-5 a delay of 0, 1 or 3 round trips), a length (2 bytes,
// at most 1514) and the bytes.
#include <sanitizer/asan_interface.h>

#include <cstring>
#include <string>
#include <vector>

#include "net/dhcp.h"
#include "net/stack.h"
#include "net/tftp.h"
#include "tests/fuzz/fuzz-support.h"
#include "tests/unit/net/fake-network.h"

namespace {

using tests::Bytes;

struct Injection {
  uint8_t trigger;
  uint8_t kind;
  Bytes bytes;
};

// The frame of `kind` carrying `bytes`, shaped after the firmware's frame `to`.
Bytes Build(const Injection& injection, const tests::SentFrame& to, uint16_t tftp_port) {
  const Bytes& bytes = injection.bytes;
  switch (injection.kind & 7) {
    case 1: return tests::EthernetFrame(tests::kClientMac, tests::kServerMac, 0x0800, bytes);
    case 2: {
      const uint16_t from = to.port == 69 ? tftp_port : to.port;
      const net::Ipv4Address destination =
          to.source.IsZero() ? net::Ipv4Address::Broadcast() : to.source;
      return tests::UdpFrame(tests::kClientMac, tests::kServerMac, tests::kServerIp, destination,
                             from == 0 ? 1 : from, to.source_port == 0 ? 68 : to.source_port,
                             bytes);
    }
    case 3: {
      Bytes reply(236, 0);
      reply[0] = 2, reply[1] = 1, reply[2] = 6;
      if (to.payload.size() >= 44)
        std::copy(to.payload.begin() + 4, to.payload.begin() + 44, reply.begin() + 4);
      reply[16] = 10, reply[17] = 0, reply[18] = 2, reply[19] = 15;
      reply.insert(reply.end(), {99, 130, 83, 99});
      reply.insert(reply.end(), bytes.begin(), bytes.end());
      return tests::UdpFrame(net::MacAddress::Broadcast(), tests::kServerMac, tests::kServerIp,
                             net::Ipv4Address::Broadcast(), 67, 68, reply);
    }
    case 4:
      return tests::EthernetFrame(net::MacAddress::Broadcast(), tests::kServerMac, 0x0806, bytes);
    default: return bytes;
  }
}

// Rules of the firmware's own frames (the fake's protocol expectations, such as a REQUEST for
// the server's own offer, do not hold once the input offers other things).
bool FrameRule(const std::string& violation) {
  return violation == "frame length out of range" ||
         violation == "source MAC is not the device's" || violation == "bad IPv4 header" ||
         violation == "bad UDP datagram" ||
         violation == "frame address is not the frame's real address";
}

struct Harness {
  tests::FakeNetwork lan;
  std::vector<uint8_t> tx = std::vector<uint8_t>(net::kArpRoom + 1514);
  std::vector<uint8_t> rx = std::vector<uint8_t>(1514);
  std::vector<uint8_t> packet = std::vector<uint8_t>(1472);
  std::vector<Injection> injections;
  net::Device device;
  net::Stack stack;
  uint64_t written = 0;
  uint64_t limit = 0;
};

// The fake's receive, with the rest of the receive buffer poisoned after each frame.
lib::Result<uint32_t, net::DeviceError> PoisoningReceive(void* self, uint8_t* buffer,
                                                         uint32_t capacity) {
  auto* h = static_cast<Harness*>(self);
  ASAN_UNPOISON_MEMORY_REGION(h->rx.data(), h->rx.size());
  auto got = h->lan.device.receive(&h->lan, buffer, capacity);
  if (got.is_ok()) {
    const size_t end = static_cast<size_t>(buffer - h->rx.data()) + got.value();
    ASAN_POISON_MEMORY_REGION(h->rx.data() + end, h->rx.size() - end);
  }
  return got;
}

void Check(Harness& h) {
  for (const std::string& violation : h.lan.violations) {
    if (FrameRule(violation)) fuzz::Violation(violation.c_str());
  }
}

void RunTftp(Harness& h) {
  net::TftpRequest request;
  request.server = tests::kServerIp;
  request.file = "core.elf";
  request.max_bytes = h.limit;
  request.tries = 2;
  request.timeout_ms = 50;
  request.sink = {[](void* self, uint64_t offset, lib::Span<const uint8_t> data) {
                    auto* h = static_cast<Harness*>(self);
                    if (offset != h->written || data.size() > h->limit - offset) {
                      fuzz::Violation("sink written out of order or past the limit");
                    }
                    h->written += data.size();
                    return true;
                  },
                  &h};
  net::TftpReport report;
  auto result = net::TftpRead(h.stack, request, report);
  if (result.is_ok() && result.value() != h.written) fuzz::Violation("TFTP length is not the sum");
  if (report.bytes != h.written) fuzz::Violation("report.bytes is not what the sink got");
  if (::strnlen(report.error_message, sizeof(report.error_message)) >=
      sizeof(report.error_message)) {
    fuzz::Violation("unterminated error message");
  }
  for (const char* c = report.error_message; *c != '\0'; ++c) {
    if (*c < 0x20 || *c > 0x7e) fuzz::Violation("unprintable error message");
  }
}

void Run(Harness& h) {
  tests::ResetClock();
  h.device = h.lan.device;
  h.device.receive = PoisoningReceive;
  h.device.driver = &h;
  // The fake's send needs its own context: wrap it.
  h.device.send = [](void* self, const net::Frame& frame) {
    auto* harness = static_cast<Harness*>(self);
    return harness->lan.device.send(&harness->lan, frame);
  };
  const net::Buffer tx{h.tx.data(), reinterpret_cast<uintptr_t>(h.tx.data()),
                       static_cast<uint32_t>(h.tx.size())};
  if (h.stack.Start(h.device, tx, {h.rx.data(), h.rx.size()}, tests::kFrequency).is_error()) {
    fuzz::Violation("the stack refused a valid device");
  }
  net::DhcpSettings settings;
  settings.packet = {h.packet.data(), h.packet.size()};
  settings.tries = 2;
  settings.first_timeout_ms = 50;
  auto lease = net::RunDhcp(h.stack, settings);
  if (lease.is_ok()) {
    const net::DhcpLease& l = lease.value();
    if (l.packet_length > h.packet.size()) fuzz::Violation("kept reply longer than its buffer");
    for (const char* s : {l.boot_file, l.server_name, l.tftp_server, l.host_name}) {
      if (std::strlen(s) >= 256) fuzz::Violation("lease string too long");
    }
  } else {
    h.stack.Configure({tests::kClientIp, tests::kMask, tests::kRouterIp});
  }
  RunTftp(h);
  ASAN_UNPOISON_MEMORY_REGION(h.rx.data(), h.rx.size());
  Check(h);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input input(data, size);
  Harness h;
  const uint8_t flags = input.U8();
  constexpr uint16_t kBlockSizes[] = {8, 512, 1468, 100};
  h.lan.dhcp.mode = flags & 1 ? tests::DhcpServer::Mode::kBootp : tests::DhcpServer::Mode::kDhcp;
  h.lan.tftp.options = !(flags & 2);
  h.lan.tftp.refuse_options = flags & 4;
  h.lan.tftp.wrap_to_one = flags & 8;
  h.lan.dhcp.naks = flags & 16 ? 1 : 0;
  h.lan.tftp.max_block_size = kBlockSizes[input.U8() & 3];
  const uint16_t file_size = input.U16() % 2048;  // up to 256 blocks of 8 bytes
  Bytes file(file_size);
  for (size_t i = 0; i < file.size(); ++i) file[i] = static_cast<uint8_t>(i * 7);
  h.lan.tftp.files["core.elf"] = file;
  h.limit = flags & 32 ? file_size / 2 : file_size;  // the file fits, or does not
  while (!input.empty()) {
    Injection injection;
    injection.trigger = input.U8();
    injection.kind = input.U8();
    injection.bytes = input.Bytes(input.U16() % 1515);
    h.injections.push_back(std::move(injection));
  }
  h.lan.client_fault = [&h](const tests::SentFrame& frame, int index) {
    for (const Injection& injection : h.injections) {
      if (injection.trigger != index) continue;
      const uint64_t delays[] = {0, 1, 3, 3};
      h.lan.Inject(Build(injection, frame, h.lan.tftp.port),
                   delays[(injection.kind >> 4) & 3] * 2 * h.lan.latency);
    }
    return true;
  };
  Run(h);
  return 0;
}

namespace {

std::vector<uint8_t> Header(uint8_t flags, uint8_t block_size, uint16_t file_size) {
  std::vector<uint8_t> out;
  fuzz::PutU8(out, flags);
  fuzz::PutU8(out, block_size);
  fuzz::PutU16(out, file_size);
  return out;
}

void Record(std::vector<uint8_t>& out, uint8_t trigger, uint8_t kind, const Bytes& bytes) {
  fuzz::PutU8(out, trigger);
  fuzz::PutU8(out, kind);
  fuzz::PutU16(out, static_cast<uint16_t>(bytes.size()));
  fuzz::PutBytes(out, bytes);
}

}  // namespace

void fuzz::MakeSeeds(Seeds& seeds) {
  seeds.Add("dhcp-tftp", Header(0, 2, 3000));
  seeds.Add("bootp-plain-tftp", Header(1 | 2, 1, 1500));
  seeds.Add("refused-options-wrap", Header(4 | 8 | 16, 0, 2000));
  {  // A DHCP reply with every option tern reads, and an overloaded file field.
    std::vector<uint8_t> seed = Header(0, 2, 800);
    Record(seed, 0, 3,
           {53,  1,   2,   54,  4,   10,  0,   2,  2, 1,   4,   255, 255, 255, 0,   3,  4,  10,
            0,   2,   1,   6,   4,   10,  0,   2,  3, 12,  4,   'h', 'o', 's', 't', 66, 8,  '1',
            '0', '.', '0', '.', '2', '.', '2', 67, 4, 'c', 'o', 'r', 'e', 52,  1,   3,  255});
    seeds.Add("dhcp-options", seed);
  }
  {  // TFTP packets of each opcode to the port the firmware just used, once the RRQ is out.
    std::vector<uint8_t> seed = Header(0, 1, 2000);
    Record(seed, 1, 2, {0, 6, 'b', 'l', 'k', 's', 'i', 'z', 'e', 0, '5', '1', '2', 0});
    Record(seed, 3, 2, {0, 3, 0, 1, 'x', 'y'});
    Record(seed, 4, 2, {0, 5, 0, 1, 'n', 'o', 0});
    Record(seed, 5, 0x12, {0, 3, 0xff, 0xff});
    seeds.Add("tftp-packets", seed);
  }
  {  // ARP for us, an IPv4 fragment, a raw runt frame.
    std::vector<uint8_t> seed = Header(0, 2, 100);
    Record(seed, 2, 4, {0,  1, 8, 0, 6, 4, 0, 1, 0x52, 0x55, 10, 0, 2, 2,
                        10, 0, 2, 2, 0, 0, 0, 0, 0,    0,    10, 0, 2, 15});
    Record(seed, 2, 1, {0x45, 0, 0,  28, 0, 0,  0x20, 0,  64, 17, 0, 0, 10, 0,
                        2,    2, 10, 0,  2, 15, 0,    69, 0,  70, 0, 8, 0,  0});
    Record(seed, 3, 0, {0x52, 0x54, 0, 0x12, 0x34, 0x56, 1, 2});
    seeds.Add("arp-ip-raw", seed);
  }
}
