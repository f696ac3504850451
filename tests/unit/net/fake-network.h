// A fake LAN for net/'s tests: a net::Device whose frames go to scripted servers (ARP for the
// server and the router, a DHCP or BOOTP server, a TFTP server) and come back after a latency, on
// the fake time base of tests/host-cpu.h.
//
// Time: every lib::ReadTimebase advances the clock by 1 us (SetTimebaseStep); a receive with
// nothing due moves it on to the next frame's arrival, or by 1 ms when nothing is in flight, so
// that a wait of seconds costs a few thousand polls. Times are in ticks of a 512 MHz time base.
//
// The frames the firmware sends are parsed here independently of net/ (offsets by hand, their
// own checksum code) and every rule a frame breaks is recorded in `violations`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "net/device.h"
#include "net/ipv4.h"

namespace tests {

inline constexpr uint64_t kFrequency = 512'000'000;
inline constexpr uint64_t kTicksPerMs = kFrequency / 1000;
inline constexpr uint64_t kTicksPerUs = kFrequency / 1000'000;

using Bytes = std::vector<uint8_t>;

// Addresses of the fake LAN (QEMU's user network: -netdev user).
inline constexpr net::MacAddress kClientMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
inline constexpr net::MacAddress kServerMac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}};
inline constexpr net::MacAddress kRouterMac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x01}};
inline constexpr net::Ipv4Address kClientIp = net::Ipv4Address::Of(10, 0, 2, 15);
inline constexpr net::Ipv4Address kServerIp = net::Ipv4Address::Of(10, 0, 2, 2);
inline constexpr net::Ipv4Address kRouterIp = net::Ipv4Address::Of(10, 0, 2, 1);
inline constexpr net::Ipv4Address kMask = net::Ipv4Address::Of(255, 255, 255, 0);

// Frame builders (the servers' side), with correct checksums unless a test breaks them.
uint16_t Checksum(const uint8_t* bytes, size_t size, uint32_t sum = 0);
Bytes EthernetFrame(const net::MacAddress& to, const net::MacAddress& from, uint16_t type,
                    const Bytes& payload);
Bytes Ipv4Packet(net::Ipv4Address from, net::Ipv4Address to, uint8_t protocol,
                 const Bytes& payload);
Bytes UdpDatagram(net::Ipv4Address from, net::Ipv4Address to, uint16_t from_port, uint16_t to_port,
                  const Bytes& payload);
// A whole frame: Ethernet, IPv4, UDP.
Bytes UdpFrame(const net::MacAddress& to, const net::MacAddress& from, net::Ipv4Address from_ip,
               net::Ipv4Address to_ip, uint16_t from_port, uint16_t to_port, const Bytes& payload);
Bytes ArpFrame(uint16_t operation, const net::MacAddress& sender_mac, net::Ipv4Address sender_ip,
               const net::MacAddress& target_mac, net::Ipv4Address target_ip,
               const net::MacAddress& to);

// A frame the firmware sent, as the fake parsed it.
struct SentFrame {
  Bytes bytes;
  uint64_t time = 0;
  uint16_t type = 0;  // EtherType
  // ARP
  uint16_t arp_operation = 0;
  net::Ipv4Address arp_target;
  // UDP
  net::Ipv4Address source;
  net::Ipv4Address destination;
  uint16_t source_port = 0;
  uint16_t port = 0;
  Bytes payload;
};

struct DhcpServer {
  enum class Mode { kDhcp, kBootp, kSilent };
  Mode mode = Mode::kDhcp;
  net::Ipv4Address server = kServerIp;
  net::Ipv4Address offer = kClientIp;
  net::Ipv4Address siaddr = kServerIp;
  bool send_mask = true;
  bool send_router = true;
  std::string boot_file = "boot/grub/powerpc-ieee1275/core.elf";  // in `file`
  std::string boot_file_option;                                   // option 67 when not empty
  std::string tftp_server_option;                                 // option 66 when not empty
  std::string sname;
  std::string host_name = "tern-guest";
  Bytes extra_options;  // appended before the end option
  int naks = 0;         // REQUESTs answered with a NAK before one is acknowledged
  int discovers = 0;    // received
  int requests = 0;
};

struct TftpServer {
  std::map<std::string, Bytes> files;
  bool options = true;          // answers blksize and tsize with an OACK
  bool refuse_options = false;  // answers an RRQ with options with ERROR 8
  uint16_t max_block_size = 1468;
  bool wrap_to_one = false;  // after block 65535 comes 1 (else 0)
  uint16_t port = 3456;      // the transfer ID it answers from
  // A not-found file gets ERROR 1 with this message.
  std::string not_found_message = "File not found";
  // When set, the server answers block `error_at_block`'s ACK with ERROR `error_code` instead.
  int error_at_block = -1;
  uint16_t error_code = 0;
  std::string error_message;
  bool silent = false;  // never answers
  int stop_after = -1;  // goes silent after this many DATA packets (-1: never)
  int rrqs = 0;         // received
  int data_sent = 0;
  int errors_received = 0;
  uint16_t last_error_code = 0;           // the last ERROR the client sent it
  std::vector<std::string> options_seen;  // of the last RRQ: "blksize=1468", "tsize=0"

  // Transfer state (one at a time).
  std::string file;
  uint32_t block_size = 512;
  uint64_t next_block = 0;  // the block the next ACK releases (count since 1)
  bool active = false;
  net::Ipv4Address client;
  uint16_t client_port = 0;
};

class FakeNetwork {
 public:
  FakeNetwork();
  FakeNetwork(const FakeNetwork&) = delete;
  FakeNetwork& operator=(const FakeNetwork&) = delete;

  net::Device device;
  DhcpServer dhcp;
  TftpServer tftp;
  bool answer_arp = true;                // the server and the router answer ARP
  uint64_t latency = 100 * kTicksPerUs;  // each way: a server's answer comes 2 * latency later

  // Each frame a server sends passes through this before it is queued: it returns the copies
  // to deliver, each with its extra delay in ticks ({}: lost; {0, 0}: duplicated; {5 ms}:
  // late, after later frames). `index` counts the servers' frames from 0.
  std::function<std::vector<uint64_t>(const SentFrame& frame, int index)> fault;
  // Each frame the firmware sends passes through this: false loses it before any server sees it.
  std::function<bool(const SentFrame& frame, int index)> client_fault;

  // Queues `frame` for the firmware after `delay` ticks.
  void Inject(const Bytes& frame, uint64_t delay = 0);
  std::vector<SentFrame> sent;          // every frame the firmware sent
  std::vector<std::string> violations;  // rules the firmware's frames broke
  int received_by_firmware = 0;

 private:
  static lib::Result<void, net::DeviceError> Send(void* driver, const net::Frame& frame);
  static lib::Result<uint32_t, net::DeviceError> Receive(void* driver, uint8_t* buffer,
                                                         uint32_t capacity);
  void FromClient(SentFrame frame);
  void ServerSends(const Bytes& frame);
  void AnswerArp(const SentFrame& frame);
  void AnswerDhcp(const SentFrame& frame);
  void AnswerTftp(const SentFrame& frame);
  void SendTftpBlock();
  void SendTftpError(uint16_t code, const std::string& message, uint16_t to_port);

  struct Pending {
    uint64_t due;
    uint64_t order;
    Bytes bytes;
  };
  std::vector<Pending> queue_;
  uint64_t order_ = 0;
  int server_frames_ = 0;
  int client_frames_ = 0;
};

// Starts the fake clock at `start` ticks, 1 us per read.
void ResetClock(uint64_t start = 1'000'000);
uint64_t Now();

}  // namespace tests
