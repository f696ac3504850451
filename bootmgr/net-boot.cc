#include "bootmgr/net-boot.h"

#include "bootmgr/staging.h"
#include "lib/console.h"
#include "lib/cpu.h"
#include "lib/format.h"
#include "lib/string.h"
#include "lib/timeout.h"
#include "net/boot-arguments.h"
#include "net/stack.h"

namespace bootmgr {

namespace {

// The frames: firmware memory at real addresses the card can DMA from and to. The DHCP reply is
// kept for /chosen/bootp-response until the next network boot.
alignas(4096) constinit uint8_t tx_frame[net::kArpRoom + 2048];
alignas(64) constinit uint8_t rx_frame[2048];
alignas(8) constinit uint8_t dhcp_reply[1024];
constinit net::Stack stack;

struct Dotted {
  char text[16];
  explicit Dotted(net::Ipv4Address address) {
    const uint32_t v = address.value;
    (void)lib::FormatToBuffer(text, sizeof(text), "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xff,
                              (v >> 8) & 0xff, v & 0xff);
  }
};

// TFTP's sink: the staging area, bounded by its size.
struct StagingSink {
  uint8_t* host;
  uint64_t size;
};

bool WriteToStaging(void* context, uint64_t offset, lib::Span<const uint8_t> data) {
  const auto* sink = static_cast<const StagingSink*>(context);
  if (offset > sink->size || data.size() > sink->size - offset) return false;
  lib::MemCopy(sink->host + offset, data.data(), data.size());
  return true;
}

// Progress on one console line, rewritten every MiB.
struct ProgressLine {
  const char* path;
  uint64_t printed_mib;
};

void ReportProgress(void* context, uint64_t received_kib, uint64_t total_kib) {
  auto* line = static_cast<ProgressLine*>(context);
  if (received_kib / 1024 == line->printed_mib) return;
  line->printed_mib = received_kib / 1024;
  if (total_kib != 0) {
    lib::Printf("tern: %s: %llu of %llu KiB\r", line->path,
                static_cast<unsigned long long>(received_kib),
                static_cast<unsigned long long>(total_kib));
  } else {
    lib::Printf("tern: %s: %llu KiB\r", line->path, static_cast<unsigned long long>(received_kib));
  }
}

// DHCP on the started stack; prints what it got, or why not.
bool Configure(const char* path, net::DhcpLease& lease) {
  net::DhcpSettings settings;
  settings.packet = lib::Span<uint8_t>(dhcp_reply, sizeof(dhcp_reply));
  settings.tries = kNetBootDhcpTries;
  settings.first_timeout_ms = kNetBootDhcpFirstTimeoutMs;
  auto got = net::RunDhcp(stack, settings);
  if (got.is_error()) {
    const bool device = got.error() == net::DhcpError::kDevice;
    lib::Printf("tern: %s: cannot boot: %s%s%s\n", path, net::DhcpErrorName(got.error()),
                device ? ": " : "", device ? net::DeviceErrorName(stack.last_device_error()) : "");
    return false;
  }
  lease = got.value();
  lib::Printf("tern: %s: %s %s mask %s router %s from %s, boot file \"%s\" on %s\n", path,
              lease.bootp ? "BOOTP" : "DHCP", Dotted(lease.address).text,
              Dotted(lease.netmask).text, Dotted(lease.router).text,
              Dotted(lease.bootp ? lease.next_server : lease.server_id).text, lease.boot_file,
              Dotted(lease.boot_server).text);
  if (lease.boot_file[0] == '\0') {
    lib::Printf("tern: %s: cannot boot: the DHCP server named no boot file\n", path);
    return false;
  }
  if (lease.boot_server.IsZero()) {
    lib::Printf("tern: %s: cannot boot: the DHCP server named no TFTP server\n", path);
    return false;
  }
  return true;
}

// Reads the boot file into `staging`; prints the transfer's figures, or why it failed.
bool Fetch(const char* path, const net::DhcpLease& lease, const Staging& staging,
           uint64_t frequency, net::TftpReport& report) {
  StagingSink sink{staging.host, staging.bytes};
  ProgressLine line{path, 0};
  net::TftpRequest request;
  request.server = lease.boot_server;
  request.file = lib::StringView(lease.boot_file);
  request.max_bytes = staging.bytes;
  request.sink = {WriteToStaging, &sink};
  request.progress = {ReportProgress, &line};
  const uint64_t start = lib::ReadTimebase();
  auto read = net::TftpRead(stack, request, report);
  const uint64_t ms = lib::TicksToMilliseconds(lib::ReadTimebase() - start, frequency);
  if (read.is_error()) {
    if (read.error() == net::TftpError::kTooLarge) {
      lib::Printf(
          "tern: %s: cannot boot %s: larger than the %llu MiB tern reads from the network\n", path,
          lease.boot_file, static_cast<unsigned long long>(staging.bytes >> 20));
    } else {
      lib::Printf("tern: %s: cannot boot %s: %s\n", path, lease.boot_file,
                  net::TftpErrorName(read.error()));
    }
    return false;
  }
  const uint64_t kib = (read.value() + 1023) / 1024;
  const uint64_t kib_per_s = ms == 0 ? 0 : read.value() * 1000 / 1024 / ms;
  lib::Printf("tern: %s: %s: %llu KiB in %llu ms (%llu KiB/s, blksize %u, %u retransmissions)\n",
              path, lease.boot_file, static_cast<unsigned long long>(kib),
              static_cast<unsigned long long>(ms), static_cast<unsigned long long>(kib_per_s),
              report.block_size, report.retransmissions);
  return true;
}

}  // namespace

bool NetBoot(LoaderEnv& env, const net::Device& nic, const char* path, LoadedClient& loaded) {
  const net::Buffer tx{tx_frame, reinterpret_cast<uintptr_t>(tx_frame), sizeof(tx_frame)};
  auto started = stack.Start(nic, tx, rx_frame, env.timebase_frequency);
  if (started.is_error()) {
    lib::Printf("tern: %s: cannot boot: %s\n", path, net::StackErrorName(started.error()));
    return false;
  }
  const uint8_t* mac = nic.mac.bytes;
  lib::Printf("tern: %s: asking DHCP for an address (MAC %02x:%02x:%02x:%02x:%02x:%02x)\n", path,
              mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  net::DhcpLease lease;
  if (!Configure(path, lease)) return false;
  Staging staging;
  if (!OpenStaging(env, kNetworkStagingBytes, path, staging)) return false;
  net::TftpReport report;
  bool ok = Fetch(path, lease, staging, env.timebase_frequency, report);
  if (ok) {
    const lib::Span<const uint8_t> image(staging.host, report.bytes);
    auto plan = PlanStaged(env, staging, image);
    if (plan.is_error()) {
      lib::Printf("tern: %s: cannot boot %s: %s\n", path, lease.boot_file,
                  ElfErrorName(plan.error()));
      ok = false;
    } else {
      ok = CommitLoad(env, plan.value(), image, path, lease.boot_file, loaded);
    }
  }
  CloseStaging(env, staging);
  if (!ok) return false;
  net::BootArguments arguments;
  arguments.server = lease.boot_server;
  lib::MemCopy(arguments.file, lease.boot_file, sizeof(arguments.file));
  arguments.file[net::kBootFileNameMax] = '\0';
  arguments.client = lease.address;
  arguments.gateway = lease.router;
  arguments.bootp_retries = kNetBootDhcpTries;
  arguments.tftp_retries = net::kTftpTries;
  arguments.netmask = lease.netmask;
  arguments.block_size = report.block_size;
  (void)net::FormatBootArguments(arguments, loaded.device_arguments,
                                 sizeof(loaded.device_arguments));
  loaded.arguments[0] = '\0';
  loaded.bootp_response = lib::Span<const uint8_t>(dhcp_reply, lease.packet_length);
  return true;
}

}  // namespace bootmgr
