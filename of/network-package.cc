// The "network" package [IEEE 1275 PowerPC binding, the "network" device type; IEEE 1275
// Recommended Practice: TFTP Booting Extension]: what a client such as GRUB opens a network card
// by. `read` and `write` move raw Ethernet frames (GRUB runs its own IP stack over them:
// grub-core/net/drivers/ieee1275/ofnet.c); `load` fetches a file by TFTP (net/tftp.h), with the
// addresses of the open's arguments (net/boot-arguments.h) or those DHCP gives. The device is
// the net::Device the boot code bound to the node; the node carries `mac-address`,
// `local-mac-address` and `max-frame-size` (boot/os-tree.cc).
#include "lib/console.h"
#include "lib/string.h"
#include "net/boot-arguments.h"
#include "net/device.h"
#include "net/dhcp.h"
#include "net/stack.h"
#include "net/tftp.h"
#include "of/client-interface.h"
#include "of/package.h"

namespace of {
namespace {

// Frames between the card and client memory: firmware memory at real addresses the card can DMA
// from and to. The client interface runs on one CPU.
alignas(4096) constinit uint8_t tx_frame[net::kArpRoom + 2048];
alignas(64) constinit uint8_t rx_frame[2048];
alignas(8) constinit uint8_t dhcp_reply[1024];
constinit net::Stack load_stack;

// What `load` needs of the open's arguments; the file name is kept if it fits.
struct NetworkState {
  net::Ipv4Address server;
  net::Ipv4Address client;
  net::Ipv4Address gateway;
  net::Ipv4Address netmask;
  uint16_t block_size;
  bool arguments_usable;  // parsed, and a file name that fits `file`
  char file[40];
};
static_assert(sizeof(NetworkState) <= Instance::kStateBytes);

const net::Device& DeviceOf(const Instance& instance) {
  return *static_cast<const net::Device*>(instance.device);
}

// Any arguments open: GRUB passes options and placeholder addresses ("speed=auto,...,1.1.1.1,
// dummy,...") only so that a firmware does no BOOTP at open, which tern never does.
bool Open(ClientInterface&, Instance& instance, lib::StringView arguments) {
  NetworkState& state = instance.State<NetworkState>();
  auto parsed = net::ParseBootArguments(arguments);
  if (parsed.is_error() || lib::StrLength(parsed.value().file) >= sizeof(state.file)) return true;
  const net::BootArguments& a = parsed.value();
  state = NetworkState{
      a.server, a.client, a.gateway, a.netmask, static_cast<uint16_t>(a.block_size), true, {}};
  lib::MemCopy(state.file, a.file, lib::StrLength(a.file) + 1);
  return true;
}

// read: one received frame, or -2 when none is waiting [IEEE 1275 6.3.2.3]; a frame longer
// than `size` is dropped by the driver.
lib::Result<uint32_t, IoStatus> Read(ClientInterface& client, Instance& instance, uint64_t address,
                                     uint32_t size) {
  const uint32_t capacity = lib::Min<uint32_t>(size, sizeof(rx_frame));
  auto received = DeviceOf(instance).Receive(rx_frame, capacity);
  if (received.is_error()) return lib::Err(IoStatus::kFailed);
  if (received.value() == 0) return lib::Err(IoStatus::kNothingYet);
  if (client.memory().Write(address, rx_frame, received.value()).is_error()) {
    return lib::Err(IoStatus::kFailed);
  }
  return received.value();
}

// write: one frame of `size` bytes (its Ethernet header included, no FCS), padded to Ethernet's
// minimum; -1 for a frame shorter than a header or longer than the card carries.
lib::Result<uint32_t, IoStatus> Write(ClientInterface& client, Instance& instance, uint64_t address,
                                      uint32_t size) {
  const net::Device& device = DeviceOf(instance);
  if (size < net::kEthernetHeaderSize || size > device.max_frame || size > sizeof(tx_frame)) {
    return lib::Err(IoStatus::kFailed);
  }
  if (client.memory().Read(address, tx_frame, size).is_error()) return lib::Err(IoStatus::kFailed);
  const uint32_t length = lib::Max(size, net::kMinFrameSize);
  lib::MemSet(tx_frame + size, 0, length - size);
  const net::Frame frame{tx_frame, reinterpret_cast<uintptr_t>(tx_frame), length};
  if (device.Send(frame).is_error()) return lib::Err(IoStatus::kFailed);
  return size;
}

struct ClientSink {
  ClientInterface* client;
  uint64_t address;
};

bool WriteToClient(void* context, uint64_t offset, lib::Span<const uint8_t> data) {
  auto* sink = static_cast<ClientSink*>(context);
  return sink->client->memory().Write(sink->address + offset, data.data(), data.size()).is_ok();
}

// The addresses and file of a load: the open's arguments when they give the client's address,
// the server and a file; else DHCP's (the open's file and server, when given, win).
bool ConfigureLoad(const NetworkState& state, net::Ipv4Address& server, const char*& file) {
  server = state.server;
  file = state.file;
  if (state.arguments_usable && !state.client.IsZero() && !server.IsZero() && file[0] != '\0') {
    load_stack.Configure({state.client, state.netmask, state.gateway});
    return true;
  }
  net::DhcpSettings settings;
  settings.packet = lib::Span<uint8_t>(dhcp_reply, sizeof(dhcp_reply));
  static constinit net::DhcpLease lease;
  auto got = net::RunDhcp(load_stack, settings);
  if (got.is_error()) {
    lib::Printf("tern: load: %s\n", net::DhcpErrorName(got.error()));
    return false;
  }
  lease = got.value();
  if (server.IsZero()) server = lease.boot_server;
  if (file[0] == '\0') file = lease.boot_file;
  return !server.IsZero() && file[0] != '\0';
}

// load ( addr -- size ): the boot file by TFTP into client memory from `address` on.
lib::Result<uint32_t, IoStatus> Load(ClientInterface& client, Instance& instance,
                                     uint64_t address) {
  const net::Buffer tx{tx_frame, reinterpret_cast<uintptr_t>(tx_frame), sizeof(tx_frame)};
  if (load_stack.Start(DeviceOf(instance), tx, rx_frame, client.config().timebase_frequency)
          .is_error()) {
    return lib::Err(IoStatus::kFailed);
  }
  const NetworkState& state = instance.State<NetworkState>();
  net::Ipv4Address server;
  const char* file = nullptr;
  if (!ConfigureLoad(state, server, file)) return lib::Err(IoStatus::kFailed);
  if (address >= client.memory().size()) return lib::Err(IoStatus::kFailed);
  ClientSink sink{&client, address};
  net::TftpRequest request;
  request.server = server;
  request.file = lib::StringView(file);
  request.max_bytes = lib::Min<uint64_t>(client.memory().size() - address, 0xffffffffu);
  request.sink = {WriteToClient, &sink};
  request.block_size = state.block_size;
  net::TftpReport report;
  auto read = net::TftpRead(load_stack, request, report);
  if (read.is_error()) {
    lib::Printf("tern: load %s: %s\n", file, net::TftpErrorName(read.error()));
    return lib::Err(IoStatus::kFailed);
  }
  return static_cast<uint32_t>(read.value());
}

}  // namespace

TERN_PACKAGE(kNetworkPackage) = {
    {"network", "network", Open, nullptr, Read, Write, nullptr, Load, {}}};

}  // namespace of
