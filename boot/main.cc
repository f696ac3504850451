// tern_main: the C++ side of the boot path, entered from boot/entry.S in 64-bit real mode on the
// boot stack with r3 = the FDT address QEMU passed.
//
// Validates the hypervisor's tree and builds the live tree from it, attaches the console, prints
// the banner and the machine summary, then hands over to the kernel QEMU loaded with the client
// interface in r5 or, when there is none, powers the machine off through the host's RTAS.
#include <libfdt.h>

#include "boot/client.h"
#include "boot/devices.h"
#include "boot/halt.h"
#include "boot/layout.h"
#include "boot/os-tree.h"
#include "bootmgr/loader.h"
#include "dev/pci.h"
#include "drc/registry.h"
#include "lib/arena.h"
#include "lib/be.h"
#include "lib/console.h"
#include "lib/fdt.h"
#include "lib/guest-memory.h"
#include "lib/hv.h"
#include "lib/string.h"
#include "of/claims.h"
#include "of/client-interface.h"
#include "of/machine-info.h"
#include "of/tree.h"
#include "rtas/host-call.h"
#include "rtas/instantiate.h"
#include "rtas/services.h"

extern "C" {
extern char __image_end[];
extern char __arena_start[];
extern char __arena_end[];
extern char __client_stack_bottom[];
extern char __client_stack_top[];
extern const uint8_t tern_rtas_image_start[];
extern const uint8_t tern_rtas_image_end[];
void tern_enter_client(uint64_t entry, uint64_t r3, uint64_t r4, uint64_t r5, uint64_t stack,
                       uint64_t mode32);
}

namespace boot {
namespace {

using lib::fdt::FdtError;

// QEMU's FDT_MAX_SIZE: the tree handed over is never larger (include/hw/ppc/spapr.h); SLOF
// gives H_CAS a buffer of the same size.
constexpr size_t kMaxFdtSize = lib::MiB(2);
// Room for properties and nodes the OS and CAS add to the live tree before it must grow.
constexpr size_t kTreeSlack = lib::KiB(64);
// Alignment of the live tree's room when it is claimed from real-mode memory.
constexpr uint64_t kTreeRoomAlign = lib::MiB(1);

constinit lib::Arena arena;

uint64_t Address(const char* symbol) {
  return reinterpret_cast<uintptr_t>(symbol);
}

void PrintSummary(const of::MachineInfo& info, uint64_t fdt_address, size_t fdt_size) {
  lib::Printf("tern: %.*s\n", static_cast<int>(info.model.size()), info.model.data());
  lib::Printf(
      "tern: memory %llu MiB in %u range%s (RMA %llu MiB), %u CPU%s (%u core%s x %u thread%s)"
      ", FDT %llu KiB at 0x%llx\n",
      static_cast<unsigned long long>(info.memory_bytes >> 20), info.memory_ranges,
      info.memory_ranges == 1 ? "" : "s", static_cast<unsigned long long>(info.rma_bytes >> 20),
      info.threads, info.threads == 1 ? "" : "s", info.cores, info.cores == 1 ? "" : "s",
      info.max_threads_per_core, info.max_threads_per_core == 1 ? "" : "s",
      static_cast<unsigned long long>((fdt_size + 1023) / 1024),
      static_cast<unsigned long long>(fdt_address));
}

[[noreturn]] void PowerOff(const void* tree) {
  auto token = rtas::LookupToken(tree, "power-off");
  if (token.is_error()) {
    lib::Printf("tern: cannot power off: /rtas has no power-off token (%s)\n",
                lib::fdt::FdtErrorName(token.error()));
    lib::Halt();
  }
  // power-off(power_on_mask_hi, power_on_mask_lo) [LoPAPR 7.3.9]: no wake-up events.
  const uint32_t args[] = {0, 0};
  auto result = rtas::CallHost(token.value(), args, {});
  // Reaching here means the host did not stop the machine.
  if (result.is_error()) {
    lib::Printf("tern: power-off: the hypervisor refused the RTAS call\n");
  } else {
    lib::Printf("tern: power-off returned status %d\n", static_cast<int>(result.value().status));
  }
  lib::Halt();
}

// The end of every hostile-configuration refusal: the reason is printed, QEMU exits (-no-reboot).
[[noreturn]] void PowerOffAfterRefusal(const void* tree) {
  lib::Printf("tern: powering off\n");
  PowerOff(tree);
}

// The live tree (it moves as it grows), for the client interface's power-off and reset-all.
constinit const of::Tree* live_tree = nullptr;

// system-reboot [LoPAPR 7.3.9] through the host; returns only if the host did not reboot.
void Reboot() {
  auto token = rtas::LookupToken(live_tree->blob(), "system-reboot");
  if (token.is_ok()) (void)rtas::CallHost(token.value(), {}, {});
  lib::Printf("tern: system-reboot did not reboot the machine\n");
}

// [start, end) of a range for the refusal messages.
void PrintRange(const char* what, const of::AddressRange& range) {
  lib::Printf(" %s [0x%llx, 0x%llx)", what, static_cast<unsigned long long>(range.start),
              static_cast<unsigned long long>(range.start + range.size));
}

// Refuses a -kernel or -initrd that cannot be booted (boot/layout.h), naming the problem and the
// ranges involved, and powers off.
void CheckPayloadOrPowerOff(const of::MachineInfo& info, const RealModeLayout& layout,
                            const void* tree) {
  auto checked = CheckPayload(info, layout);
  if (checked.is_ok()) return;
  lib::Printf("tern: cannot boot: %s\ntern:", PayloadErrorName(checked.error()));
  PrintRange("kernel", info.kernel);
  lib::Printf(" (%llu bytes),", static_cast<unsigned long long>(info.kernel.size));
  if (info.has_initrd) {
    PrintRange("initrd", info.initrd);
    lib::Printf(" (%llu bytes),", static_cast<unsigned long long>(info.initrd.size));
  }
  PrintRange("device tree", layout.device_tree);
  lib::Printf(",");
  PrintRange("real-mode memory above the firmware",
             of::AddressRange{layout.firmware_end, layout.rma_bytes > layout.firmware_end
                                                       ? layout.rma_bytes - layout.firmware_end
                                                       : 0});
  lib::Printf("\n");
  PowerOffAfterRefusal(tree);
}

constinit uint32_t rtas_tokens[rtas::kMaxServices];

// Plans tern's RTAS area around QEMU's rtas-size, publishes the larger size in /rtas before the
// OS reads it, and takes each service's token from QEMU's /rtas, reporting where QEMU's list and
// tern's table disagree. False when there is no usable /rtas (the OS then has no RTAS).
bool PrepareRtas(of::Tree& tree, uint64_t ram_top, uint64_t console_unit,
                 uint64_t timebase_frequency, rtas::InstantiateInputs& inputs) {
  const of::Phandle node = tree.FindDevice("/rtas");
  auto size = node == 0 ? lib::Result<uint32_t, lib::fdt::FdtError>(lib::Err(FdtError::kNotFound))
                        : lib::fdt::PropertyU32(tree.blob(), tree.OffsetOf(node), "rtas-size");
  if (size.is_error()) {
    lib::Printf("tern: no /rtas rtas-size from the hypervisor: no RTAS for the OS\n");
    return false;
  }
  const lib::Span<const uint8_t> image(
      tern_rtas_image_start, static_cast<size_t>(tern_rtas_image_end - tern_rtas_image_start));
  auto plan = rtas::PlanArea(image, size.value());
  if (plan.is_error()) {
    lib::Printf("tern: %s\n", rtas::InstantiateErrorName(plan.error()));
    return false;
  }
  const lib::Span<const rtas::RtasService> services = rtas::Services();
  for (size_t i = 0; i < services.size(); ++i) {
    rtas_tokens[i] = rtas::LookupToken(tree.blob(), services[i].name).value_or(0);
    if (rtas_tokens[i] == 0) {
      lib::Printf("tern: RTAS: the hypervisor has no token for %s\n", services[i].name);
    }
  }
  // QEMU's tokens are 0x2000 + index; one tern does not know is forwarded all the same.
  const int offset = tree.OffsetOf(node);
  int property;
  fdt_for_each_property_offset(property, tree.blob(), offset) {
    const char* name = nullptr;
    int length = 0;
    const void* value = fdt_getprop_by_offset(tree.blob(), property, &name, &length);
    if (value == nullptr || length != 4) continue;
    // rtas-size reaches 0x2000 with a few hundred CPUs (QEMU hw/ppc/spapr.c: it grows with
    // maxcpus); it is not a token.
    if (lib::StrCompare(name, "rtas-size") == 0) continue;
    const uint32_t token = lib::LoadBe32(value);
    if (token >= 0x2000 && token < 0x3000 && rtas::FindService(name) < 0) {
      lib::Printf("tern: RTAS: %s (token 0x%x) is not in tern's table; it is forwarded\n", name,
                  token);
    }
  }
  inputs = rtas::InstantiateInputs{};
  inputs.image = image;
  inputs.plan = plan.value();
  inputs.ram_top = ram_top;
  inputs.console_unit = console_unit;
  inputs.tokens = rtas_tokens;
  inputs.token_count = static_cast<uint32_t>(services.size());
  inputs.timebase_frequency = timebase_frequency;
  // A host offering the whole-fragment fetch lists it in /rtas qemu,hypertas-functions.
  if (lib::fdt::PropertyListContains(tree.blob(), offset, "qemu,hypertas-functions",
                                     "hcall-drc-fdt")) {
    inputs.host_features |= rtas::kHostDrcFdt;
    lib::Printf("tern: RTAS: the host offers KVMPPC_H_DRC_FDT (whole-fragment fetch)\n");
  }
  lib::Printf("tern: RTAS: %u-byte image, rtas-size 0x%x (QEMU's 0x%x)\n",
              static_cast<unsigned>(image.size()), plan.value().area_size, size.value());
  return true;
}

// The PCI-to-PCI bridges QEMU numbered but described only in part, completed so that the OS
// scans behind them (boot/os-tree.h); on every boot, as the OS probes PCI from the tree.
void CompleteBridges(of::Tree& tree) {
  auto tokens = dev::FindRtasPciConfig(tree.blob());
  if (tokens.is_error()) return;  // no config access: no PCI for the OS either
  dev::RtasPciConfig rtas_pci = tokens.value();
  const BridgeCount count = CompletePciBridges(tree, rtas_pci.Access());
  if (count.completed > 0) {
    lib::Printf("tern: pci: %d bridge node%s completed for the OS\n", count.completed,
                count.completed == 1 ? "" : "s");
  }
}

// What the boot phases below share.
struct BootState {
  const void* hv_tree;
  uint64_t fdt_address;
  size_t fdt_size;
  of::MachineInfo info;
  uint64_t client_top;         // client addresses are 32-bit real addresses inside the RMA
  uint64_t tree_room;          // bytes the live tree needs with room to grow
  of::AddressRange high_room;  // claimed for the live tree when the arena is too small
};

// Phase 1: the hypervisor's tree must be a valid FDT describing a usable machine; else halt.
BootState CheckHypervisorTree(const void* hv_tree, uint64_t fdt_address) {
  auto checked = lib::fdt::CheckBlob(hv_tree, kMaxFdtSize);
  if (checked.is_error()) {
    lib::Printf("tern: the device tree at 0x%llx is not valid: %s\n",
                static_cast<unsigned long long>(fdt_address),
                lib::fdt::FdtErrorName(checked.error()));
    lib::Halt();
  }
  SetHaltTree(hv_tree);
  // info.model points into the hypervisor's copy: it is printed before any client runs.
  auto info = of::ReadMachineInfo(hv_tree);
  if (info.is_error()) {
    lib::Printf("tern: the device tree does not describe a usable machine: %s\n",
                lib::fdt::FdtErrorName(info.error()));
    lib::Halt();
  }
  BootState state{hv_tree, fdt_address, checked.value(), info.value(), 0, 0, {}};
  state.client_top = lib::Min<uint64_t>(state.info.rma_bytes, lib::GiB(4));
  return state;
}

// Phase 2: the hypervisor's copy sits in memory the OS will reuse: the live tree is the
// firmware's own, in the arena below 0x200000 when it fits there with room to grow, else in a
// range claimed at the top of real-mode memory, clear of the payload and of the copy it is made
// from. Returns the arena the tree grows in; powers off when there is no room.
lib::Arena& PlaceLiveTree(BootState& state, of::ClaimMap& claims, lib::Arena& high_arena) {
  state.tree_room = TreeRoomBytes(of::Tree::InitFootprint(state.hv_tree, kTreeSlack));
  if (state.tree_room <= arena.remaining()) return arena;
  const uint64_t size = lib::AlignUp(state.tree_room, kTreeRoomAlign);
  // Kept clear too, for the search only: QEMU's copy, and where a disk's boot loader is staged.
  const bool copy_claimed = claims.Claim(state.fdt_address, state.fdt_size, 0).is_ok();
  const of::AddressRange staging =
      state.info.has_kernel
          ? of::AddressRange{}
          : bootmgr::LoaderStaging(state.info.rma_bytes, bootmgr::kNetworkStagingBytes);
  const bool staging_claimed =
      staging.size != 0 && claims.Claim(staging.start, staging.size, 0).is_ok();
  auto start = HighestFree(claims, Address(__arena_end), size, kTreeRoomAlign);
  if (copy_claimed) (void)claims.Release(state.fdt_address, state.fdt_size);
  if (staging_claimed) (void)claims.Release(staging.start, staging.size);
  if (start.is_error() || claims.Claim(start.value(), size, 0).is_error()) {
    lib::Printf(
        "tern: no room for the device tree: its %llu KiB need %llu KiB of firmware memory,"
        " more than the %llu KiB below 0x200000, and real-mode memory has no free %llu MiB\n",
        static_cast<unsigned long long>((state.fdt_size + 1023) / 1024),
        static_cast<unsigned long long>(state.tree_room / 1024),
        static_cast<unsigned long long>(arena.remaining() / 1024),
        static_cast<unsigned long long>(size >> 20));
    PowerOffAfterRefusal(state.hv_tree);
  }
  state.high_room = of::AddressRange{start.value(), size};
  high_arena = lib::Arena(static_cast<uintptr_t>(start.value()),
                          static_cast<uintptr_t>(start.value() + size));
  return high_arena;
}

// Phase 3: the machine, the firmware and the hotplug connectors on the console.
void PrintMachine(const BootState& state, const of::Tree& tree) {
  PrintSummary(state.info, state.fdt_address, state.fdt_size);
  lib::Printf("tern: image %llu KiB, %u nodes, arena %llu KiB free\n",
              static_cast<unsigned long long>(Address(__image_end) / 1024), tree.node_count(),
              static_cast<unsigned long long>(arena.remaining() / 1024));
  if (state.high_room.size != 0) {
    lib::Printf(
        "tern: the device tree needs %llu KiB with room to grow, more than the arena: it lives in"
        " [0x%llx, 0x%llx), claimed\n",
        static_cast<unsigned long long>(state.tree_room / 1024),
        static_cast<unsigned long long>(state.high_room.start),
        static_cast<unsigned long long>(state.high_room.end()));
  }
  if (auto census = drc::CountConnectors(tree.blob()); census.is_ok()) {
    const drc::DrcCensus& c = census.value();
    lib::Printf("tern: %u hotplug connectors: %u CPU, %u memory, %u PHB, %u PCI, %u other\n",
                c.total, c.cpu, c.memory, c.phb, c.pci, c.other);
  } else {
    lib::Printf("tern: the dynamic-reconfiguration properties are malformed: %s\n",
                lib::fdt::FdtErrorName(census.error()));
  }
}

// Phase 4: QEMU's -kernel and -initrd, when there are, must be bootable; else power off.
void CheckKernel(const BootState& state, const of::Tree& tree) {
  const of::MachineInfo& info = state.info;
  if (!info.has_kernel) return;
  const RealModeLayout layout{Address(__arena_end), info.rma_bytes,
                              of::AddressRange{state.fdt_address, state.fdt_size}};
  CheckPayloadOrPowerOff(info, layout, tree.blob());
  lib::Printf("tern: kernel at 0x%llx, %llu bytes%s\n",
              static_cast<unsigned long long>(info.kernel.start),
              static_cast<unsigned long long>(info.kernel.size),
              info.kernel_little_endian ? " (little-endian)" : "");
  if (info.has_initrd) {
    lib::Printf("tern: initrd at 0x%llx, %llu bytes\n",
                static_cast<unsigned long long>(info.initrd.start),
                static_cast<unsigned long long>(info.initrd.size));
  }
}

// Phase 5: the client may write through the interface only into its own memory and the client
// stack.
lib::GuestMemory ClientMemory(const BootState& state) {
  lib::GuestMemory memory(0, state.client_top);
  (void)memory.Protect(0, Address(__client_stack_bottom));
  (void)memory.Protect(Address(__client_stack_top),
                       Address(__arena_end) - Address(__client_stack_top));
  if (state.high_room.size != 0) (void)memory.Protect(state.high_room.start, state.high_room.size);
  return memory;
}

// Phase 6: what the client interface serves: the devices (when tern boots from them: QEMU's
// -kernel wins over every disk, as with SLOF), the console, RTAS and the firmware's hooks.
of::ClientConfig ClientSetup(const BootState& state, of::Tree& tree, lib::GuestMemory& memory,
                             rtas::InstantiateInputs& rtas_inputs) {
  of::ClientConfig config;
  if (!state.info.has_kernel) {
    StartDevices(tree, memory, state.info.timebase_frequency);
    config.bindings = DeviceBindings();
    config.hooks.quiesce_devices = QuiesceDevices;
  }
  live_tree = &tree;
  config.hooks.power_off = [] { PowerOff(live_tree->blob()); };
  config.hooks.reboot = Reboot;
  auto console = of::FindConsoleNode(tree.blob());
  config.console_unit = console.is_ok() ? of::FindConsoleUnit(tree.blob()).value() : 0;
  config.timebase_frequency = state.info.timebase_frequency;
  if (PrepareRtas(tree, state.client_top, config.console_unit, state.info.timebase_frequency,
                  rtas_inputs)) {
    config.rtas = &rtas_inputs;
  }
  config.cas_buffer_size = kMaxFdtSize;
  return config;
}

// Phase 7a: QEMU's kernel, entered with the initrd in r3/r4 and the client interface in r5.
[[noreturn]] void EnterKernel(const of::MachineInfo& info, uint64_t client_entry) {
  lib::Printf("tern: entering the kernel, client interface at 0x%llx\n",
              static_cast<unsigned long long>(client_entry));
  tern_enter_client(info.kernel.start, info.has_initrd ? info.initrd.start : 0,
                    info.has_initrd ? info.initrd.size : 0, client_entry,
                    Address(__client_stack_top), 0);
  TERN_PANIC("the kernel returned to the firmware");
}

// Phase 7b: the boot loader of the first device in QEMU's boot order that has one; without one,
// power off.
[[noreturn]] void BootFromDevices(const BootState& state, of::Tree& tree, of::ClaimMap& claims,
                                  lib::GuestMemory& memory, of::ClientInterface& client,
                                  uint64_t client_entry) {
  bootmgr::LoadedClient loaded;
  bootmgr::LoaderEnv loader{tree,
                            claims,
                            memory,
                            state.info.rma_bytes,
                            Address(__arena_end),
                            state.info.timebase_frequency};
  if (!bootmgr::LoadFromDevices(loader, BootDevices(), loaded)) {
    lib::Printf("tern: no kernel to boot (no -kernel) and no device tern could boot\n");
    lib::Printf("tern: powering off\n");
    PowerOff(tree.blob());
  }
  // The client learns what is free from /memory@0 available (GRUB's heap comes from there).
  (void)client.UpdateAvailable();
  PublishBootPath(tree, loaded);
  // IEEE 1275 PowerPC binding: r3/r4 = 0 (no initrd), r5 = the client interface, r1 = a stack of
  // the firmware's (256 KiB) for a loader like GRUB that brings none.
  tern_enter_client(loaded.entry, 0, 0, client_entry, Address(__client_stack_top),
                    loaded.mode32 ? 1 : 0);
  TERN_PANIC("the boot loader returned to the firmware");
}

[[noreturn]] void Boot(const void* hv_tree, uint64_t fdt_address) {
  BootState state = CheckHypervisorTree(hv_tree, fdt_address);
  of::ClaimMap claims(state.client_top);
  ClaimInUse(claims, hv_tree, state.info, Address(__arena_end));
  lib::Arena high_arena;
  lib::Arena& tree_arena = PlaceLiveTree(state, claims, high_arena);
  of::Tree tree;
  if (auto built = tree.Init(hv_tree, tree_arena, kTreeSlack); built.is_error()) {
    lib::Printf("tern: cannot build the device tree: %s\n", lib::fdt::FdtErrorName(built.error()));
    PowerOffAfterRefusal(hv_tree);
  }
  SetHaltTree(tree.blob());
  PrintMachine(state, tree);
  CompleteBridges(tree);
  CheckKernel(state, tree);
  lib::GuestMemory memory = ClientMemory(state);
  rtas::InstantiateInputs rtas_inputs{};
  of::ClientInterface client(tree, memory, claims, ClientSetup(state, tree, memory, rtas_inputs));
  auto console = of::FindConsoleNode(tree.blob());
  const of::Phandle console_package = console.is_ok() ? tree.PhandleAt(console.value()) : 0;
  if (auto prepared = client.Prepare(console_package); prepared.is_error()) {
    lib::Printf("tern: cannot prepare /chosen for the client: %s\n",
                lib::fdt::FdtErrorName(prepared.error()));
  }
  SetClient(&client);
  const uint64_t client_entry = reinterpret_cast<uintptr_t>(&tern_client_entry);
  if (state.info.has_kernel) EnterKernel(state.info, client_entry);
  BootFromDevices(state, tree, claims, memory, client, client_entry);
}

}  // namespace
}  // namespace boot

extern "C" [[noreturn]] void tern_main(uint64_t fdt_address) {
  boot::arena = lib::Arena(boot::Address(__arena_start), boot::Address(__arena_end));
  const void* hv_tree = reinterpret_cast<const void*>(static_cast<uintptr_t>(fdt_address));

  // The console comes first so that every later failure can be reported. Unit 0 selects the
  // lowest vty when the tree does not name one (QEMU's vty_lookup), or is not valid (Boot says
  // why on that console).
  uint64_t console_unit = 0;
  if (fdt_address != 0 && (fdt_address & 7) == 0) {
    console_unit = of::EarlyConsoleUnit(hv_tree, boot::kMaxFdtSize);
  }
  lib::ConsoleAttachVty(console_unit);
  lib::Printf("\ntern %s: pseries firmware\n", TERN_VERSION_STRING);
  if (fdt_address == 0 || (fdt_address & 7) != 0) {
    lib::Printf("tern: no device tree from the hypervisor (r3 = 0x%llx)\n",
                static_cast<unsigned long long>(fdt_address));
    lib::Halt();
  }
  boot::Boot(hv_tree, fdt_address);
}
