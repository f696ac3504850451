// The IEEE 1275 client interface tern gives an OS (Linux's prom_init): one table of services
// (name, nargs, nret, handler) and one dispatcher that validates the argument block once.
//
// The argument block is big-endian 32-bit cells: service name address, nargs, nret, args[nargs],
// rets[nret] [IEEE 1275 6.3.1]. Every address in it, and every address a service is given, is
// reached only through lib::GuestMemory. An unknown service, a malformed block or an unreadable
// service name answers -1 and writes nothing; a service's own failures are reported in its return
// cells as IEEE 1275 prescribes (-1 from getprop for an absent property, 0 from peer at the end).
#pragma once

#include "block/device.h"
#include "lib/guest-memory.h"
#include "lib/hv.h"
#include "lib/result.h"
#include "lib/span.h"
#include "of/claims.h"
#include "of/tree.h"
#include "rtas/instantiate.h"

namespace of {

// What the dispatcher answers in r3.
enum class CiStatus : int32_t { kSuccess = 0, kError = -1 };

// A disk the client may open: its node (device_type "block") and the driver behind it.
struct Disk {
  Phandle node = 0;
  const block::Device* device = nullptr;
};

// Blocks [first, first + count) of a disk: the whole disk or one partition.
struct Extent {
  uint64_t first = 0;
  uint64_t count = 0;
};

// The hooks of the boot firmware that the client interface calls back into.
struct ClientHooks {
  // Partition `number` (1.., as `disk:2` names it) of `disk`; false when there is none.
  bool (*find_partition)(const block::Device& disk, uint32_t number, Extent& extent) = nullptr;
  // Resets every device the firmware drove, before the OS's own drivers take over (quiesce).
  void (*quiesce_devices)() = nullptr;
  // What `interpret` of "power-off" and "reset-all" do; they do not return when they work.
  void (*power_off)() = nullptr;
  void (*reboot)() = nullptr;
};

// Where the firmware's services that need more than the tree find it.
struct ClientConfig {
  uint64_t console_unit = 0;                // vty for write/read on the stdout/stdin instances
  uint64_t timebase_frequency = 0;          // for milliseconds
  uint64_t cas_buffer_size = 0;             // bytes claimed for the hypervisor's CAS answer
  rtas::InstantiateInputs* rtas = nullptr;  // what instantiate-rtas builds
  lib::Span<const Disk> disks;              // the disks open() can reach
  ClientHooks hooks;
};

class ClientInterface {
 public:
  static constexpr int kMaxInstances = 32;
  static constexpr uint32_t kIhandleBase = 0x49000000;  // ihandles never look like phandles

  ClientInterface(Tree& tree, lib::GuestMemory& memory, ClaimMap& claims, ClientConfig config)
      : tree_(tree), memory_(memory), claims_(claims), config_(config) {}

  // Opens the console for /chosen stdout and stdin (Linux requires stdout) and publishes
  // /memory@0 available. Without a console (0: the machine has no vty, QEMU -nodefaults) the
  // instances are of the root node and discard what is written: Linux's prom_init stops with
  // "cannot find stdout" when /chosen has none (arch/powerpc/kernel/prom_init.c, prom_init_stdout).
  lib::Result<void, FdtError> Prepare(Phandle console);

  // Handles the argument block at guest address `block`.
  CiStatus Dispatch(uint64_t block);

  bool quiesced() const { return quiesced_; }
  Tree& tree() { return tree_; }
  lib::GuestMemory& memory() { return memory_; }
  ClaimMap& claims() { return claims_; }
  const ClientConfig& config() const { return config_; }

  // Instances [IEEE 1275 3.2.3]: 0 when the table is full or the package is unknown. A disk's
  // instance covers `extent` of it (the whole disk when the extent is empty).
  uint32_t Open(Phandle package, Extent extent = {});
  bool Close(uint32_t ihandle);
  Phandle PackageOf(uint32_t ihandle) const;
  bool IsConsole(uint32_t ihandle) const;
  // True when the console instances write nowhere and read nothing (no vty).
  bool console_discards() const { return console_discards_; }

  // An open disk: its device, the blocks the instance covers and its byte position in them.
  struct DiskInstance {
    const block::Device* device;
    Extent extent;
    uint64_t position;
  };
  // The disk behind `ihandle`, or nullptr for any other instance.
  DiskInstance* DiskOf(uint32_t ihandle);
  // The driver of the disk at `node`, or nullptr.
  const block::Device* DeviceAt(Phandle node) const;

  // Plans the RTAS area again around the hypervisor's current /rtas rtas-size and publishes the
  // area's size there (CAS rewrites the property with QEMU's own value).
  lib::Result<void, FdtError> PublishRtasSize();

  // Rewrites /memory@0 available from the claim map.
  lib::Result<void, FdtError> UpdateAvailable();

  void set_quiesced() { quiesced_ = true; }

  // Console input taken from the hypervisor and not yet read by the client.
  struct InputBuffer {
    char bytes[lib::hv::kTermChunk];
    uint32_t next;
    uint32_t count;
  };
  InputBuffer& input() { return input_; }
  uint32_t next_instantiation() { return ++instantiations_; }

 private:
  struct Instance {
    Phandle package;
    bool console;
    bool used;
    DiskInstance disk;  // device nullptr: not a disk
  };

  Tree& tree_;
  lib::GuestMemory& memory_;
  ClaimMap& claims_;
  ClientConfig config_;
  Instance instances_[kMaxInstances] = {};
  Phandle console_package_ = 0;
  bool console_discards_ = false;
  bool quiesced_ = false;
  uint32_t instantiations_ = 0;
  InputBuffer input_ = {};
};

// One service: handlers read args and fill rets (rets[0] is the primary result).
struct CiCall {
  lib::Span<const uint32_t> args;
  lib::Span<uint32_t> rets;
};
using CiHandler = CiStatus (*)(ClientInterface& client, CiCall& call);

struct CiService {
  const char* name;
  int8_t nargs;  // -N: at least N (call-method, interpret)
  int8_t nret;   // -N: at least N
  CiHandler handler;
};

// The service table, for the dispatcher, `test` and the tests.
lib::Span<const CiService> ClientServices();

}  // namespace of
