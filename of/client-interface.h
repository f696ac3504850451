// The IEEE 1275 client interface tern gives an OS (Linux's prom_init): one table of services
// (name, nargs, nret, handler) and one dispatcher that validates the argument block once.
//
// The argument block is big-endian 32-bit cells: service name address, nargs, nret, args[nargs],
// rets[nret] [IEEE 1275 6.3.1]. Every address in it, and every address a service is given, is
// reached only through lib::GuestMemory. An unknown service, a malformed block or an unreadable
// service name answers -1 and writes nothing; a service's own failures are reported in its return
// cells as IEEE 1275 prescribes (-1 from getprop for an absent property, 0 from peer at the end).
#pragma once

#include "lib/guest-memory.h"
#include "lib/hv.h"
#include "lib/result.h"
#include "lib/span.h"
#include "of/claims.h"
#include "of/package.h"
#include "of/tree.h"
#include "rtas/instantiate.h"

namespace of {

// What the dispatcher answers in r3.
enum class CiStatus : int32_t { kSuccess = 0, kError = -1 };

// The hooks of the boot firmware that the client interface calls back into.
struct ClientHooks {
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
  lib::Span<const Binding> bindings;        // nodes bound to device packages (of/package.h)
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

  // Instances [IEEE 1275 3.2.3]: opens `node` with the package bound to it (of/package.h: a
  // device package from config().bindings, the console, the root's or /rtas's methods, or none)
  // and the device arguments of the path it was named by. 0 when the table is full or the
  // package refuses the arguments.
  uint32_t Open(Phandle node, lib::StringView arguments = {});
  bool Close(uint32_t ihandle);
  // The instance behind `ihandle`, or nullptr.
  Instance* InstanceOf(uint32_t ihandle);
  // The node an instance was opened on, or 0.
  Phandle PackageOf(uint32_t ihandle) const;
  // True when the console instances write nowhere and read nothing (no vty).
  bool console_discards() const { return console_discards_; }

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
  const Package& PackageFor(Phandle node, const void*& device) const;
  uint32_t OpenWith(Phandle node, const Package& package, const void* device,
                    lib::StringView arguments);

  Tree& tree_;
  lib::GuestMemory& memory_;
  ClaimMap& claims_;
  ClientConfig config_;
  Instance instances_[kMaxInstances] = {};
  bool used_[kMaxInstances] = {};
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
