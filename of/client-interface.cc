#include "of/client-interface.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/cell-block.h"
#include "lib/console.h"
#include "lib/cpu.h"
#include "lib/hv.h"
#include "lib/string.h"
#include "lib/timeout.h"
#include "of/cas.h"

namespace of {

using lib::Err;
using lib::Ok;
using lib::Result;

namespace {

constexpr uint32_t kError = 0xffffffff;  // -1 in a return cell
constexpr size_t kMaxNameLength = 256;   // service, property and method names, and paths
constexpr size_t kMaxSetprop = 64 * 1024;

// Scratch for property values on their way from the client into the tree. The client interface
// runs on the boot CPU only (prom_init keeps the others stopped), so one buffer serves.
constinit uint8_t setprop_scratch[kMaxSetprop];

Result<size_t, lib::MemoryError> ReadName(const ClientInterface& client, uint64_t address,
                                          char (&out)[kMaxNameLength]) {
  return const_cast<ClientInterface&>(client).memory().ReadString(address, out, sizeof(out));
}

// --- Device tree [IEEE 1275 6.3.2.2] --------------------------------------------------------

CiStatus FindDevice(ClientInterface& client, CiCall& call) {
  char path[kMaxNameLength];
  auto length = ReadName(client, call.args[0], path);
  if (length.is_error()) {
    call.rets[0] = kError;
    return CiStatus::kSuccess;
  }
  const Phandle node = client.tree().FindDevice(lib::StringView(path, length.value()));
  call.rets[0] = node == 0 ? kError : node;
  return CiStatus::kSuccess;
}

// The property named at args[1] of the node args[0], for getprop and getproplen.
Result<lib::Span<const uint8_t>, FdtError> PropertyOf(ClientInterface& client, CiCall& call) {
  char name[kMaxNameLength];
  if (ReadName(client, call.args[1], name).is_error()) return Err(FdtError::kBadValue);
  return client.tree().GetProperty(call.args[0], name);
}

CiStatus GetProp(ClientInterface& client, CiCall& call) {
  call.rets[0] = kError;
  auto value = PropertyOf(client, call);
  if (value.is_error()) return CiStatus::kSuccess;
  const size_t size = value.value().size();
  const size_t copied = lib::Min<size_t>(size, call.args[3]);
  if (copied > 0 && client.memory().Write(call.args[2], value.value().data(), copied).is_error()) {
    return CiStatus::kSuccess;
  }
  call.rets[0] = static_cast<uint32_t>(size);  // the full size, not what fitted
  return CiStatus::kSuccess;
}

CiStatus GetPropLen(ClientInterface& client, CiCall& call) {
  auto value = PropertyOf(client, call);
  call.rets[0] = value.is_ok() ? static_cast<uint32_t>(value.value().size()) : kError;
  return CiStatus::kSuccess;
}

CiStatus NextProp(ClientInterface& client, CiCall& call) {
  char previous[kMaxNameLength];
  call.rets[0] = kError;
  // A null "previous" asks for the first property, like "".
  if (call.args[1] == 0) {
    previous[0] = '\0';
  } else if (ReadName(client, call.args[1], previous).is_error()) {
    return CiStatus::kSuccess;
  }
  if (!client.tree().IsValid(call.args[0])) return CiStatus::kSuccess;
  auto next = client.tree().NextPropertyName(call.args[0], previous);
  if (next.is_error()) {
    call.rets[0] = next.error() == FdtError::kNotFound ? 0 : kError;  // 0: no more properties
    return CiStatus::kSuccess;
  }
  // IEEE 1275 sizes the buffer at 32 bytes; Linux gives 64, and PAPR has names of 33+ characters.
  const size_t length = lib::StrLength(next.value());
  if (client.memory().Write(call.args[2], next.value(), length + 1).is_ok()) call.rets[0] = 1;
  return CiStatus::kSuccess;
}

CiStatus SetProp(ClientInterface& client, CiCall& call) {
  char name[kMaxNameLength];
  call.rets[0] = kError;
  const uint32_t size = call.args[3];
  if (ReadName(client, call.args[1], name).is_error() || size > sizeof(setprop_scratch)) {
    return CiStatus::kSuccess;
  }
  if (size > 0 && client.memory().Read(call.args[2], setprop_scratch, size).is_error()) {
    return CiStatus::kSuccess;
  }
  if (client.tree().SetProperty(call.args[0], name, setprop_scratch, size).is_ok()) {
    call.rets[0] = size;
  }
  return CiStatus::kSuccess;
}

CiStatus Peer(ClientInterface& client, CiCall& call) {
  call.rets[0] = client.tree().Peer(call.args[0]);
  return CiStatus::kSuccess;
}

CiStatus Child(ClientInterface& client, CiCall& call) {
  call.rets[0] = client.tree().Child(call.args[0]);
  return CiStatus::kSuccess;
}

CiStatus Parent(ClientInterface& client, CiCall& call) {
  call.rets[0] = client.tree().Parent(call.args[0]);
  return CiStatus::kSuccess;
}

// Writes the path of `node` to the client's buffer; returns the full length without the NUL.
uint32_t WritePath(ClientInterface& client, Phandle node, uint64_t buffer, uint32_t size) {
  char path[1024];
  auto length = client.tree().Path(node, path, sizeof(path));
  if (length.is_error() || length.value() >= sizeof(path)) return kError;
  const size_t copied = lib::Min<size_t>(length.value() + 1, size);
  if (copied > 0 && client.memory().Write(buffer, path, copied).is_error()) return kError;
  return static_cast<uint32_t>(length.value());
}

CiStatus PackageToPath(ClientInterface& client, CiCall& call) {
  call.rets[0] = WritePath(client, call.args[0], call.args[1], call.args[2]);
  return CiStatus::kSuccess;
}

CiStatus InstanceToPath(ClientInterface& client, CiCall& call) {
  const Phandle package = client.PackageOf(call.args[0]);
  call.rets[0] = package == 0 ? kError : WritePath(client, package, call.args[1], call.args[2]);
  return CiStatus::kSuccess;
}

CiStatus InstanceToPackage(ClientInterface& client, CiCall& call) {
  const Phandle package = client.PackageOf(call.args[0]);
  call.rets[0] = package == 0 ? kError : package;
  return CiStatus::kSuccess;
}

// --- Device I/O [IEEE 1275 6.3.2.3] ---------------------------------------------------------

// The arguments of a device specifier: what follows the first ':' of its last component
// [IEEE 1275 4.3.1]; empty when there are none.
lib::StringView DeviceArguments(lib::StringView path) {
  size_t last = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '/') last = i;
  }
  const size_t colon = path.Find(':', last);
  return colon >= path.size() ? lib::StringView() : path.Substr(colon + 1, path.size() - colon - 1);
}

// A disk's arguments [IEEE 1275 PowerPC binding, disk-label]: empty or "0" for the whole disk,
// "N" for partition N. Anything else is refused.
bool DiskExtent(ClientInterface& client, const block::Device& device, lib::StringView args,
                Extent& extent) {
  uint32_t number = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] < '0' || args[i] > '9' || number > 9999) return false;
    number = number * 10 + static_cast<uint32_t>(args[i] - '0');
  }
  if (number == 0) {
    extent = Extent{0, device.blocks};
    return true;
  }
  const auto find = client.config().hooks.find_partition;
  return find != nullptr && find(device, number, extent) && extent.count > 0 &&
         extent.first <= device.blocks && extent.count <= device.blocks - extent.first;
}

CiStatus Open(ClientInterface& client, CiCall& call) {
  char path[kMaxNameLength];
  call.rets[0] = 0;  // 0: open failed
  auto length = ReadName(client, call.args[0], path);
  if (length.is_error()) return CiStatus::kSuccess;
  const lib::StringView specifier(path, length.value());
  const Phandle node = client.tree().FindDevice(specifier);
  if (node == 0) return CiStatus::kSuccess;
  Extent extent;
  if (const block::Device* device = client.DeviceAt(node); device != nullptr) {
    if (!DiskExtent(client, *device, DeviceArguments(specifier), extent)) return CiStatus::kSuccess;
  }
  call.rets[0] = client.Open(node, extent);
  return CiStatus::kSuccess;
}

CiStatus Close(ClientInterface& client, CiCall& call) {
  (void)client.Close(call.args[0]);
  return CiStatus::kSuccess;
}

CiStatus Write(ClientInterface& client, CiCall& call) {
  if (!client.IsConsole(call.args[0])) {
    call.rets[0] = kError;
    return CiStatus::kSuccess;
  }
  if (client.console_discards()) {
    const bool readable =
        call.args[2] == 0 || client.memory().Map(call.args[1], call.args[2], false).is_ok();
    call.rets[0] = readable ? call.args[2] : kError;
    return CiStatus::kSuccess;
  }
  char chunk[256];
  uint64_t address = call.args[1];
  uint32_t remaining = call.args[2];
  uint32_t written = 0;
  while (remaining > 0) {
    const uint32_t n = lib::Min<uint32_t>(remaining, sizeof(chunk));
    if (client.memory().Read(address, chunk, n).is_error()) break;
    // The client's bytes go out as they are: Linux already sends "\r\n".
    if (lib::hv::PutTermChars(client.config().console_unit, chunk, n).is_error()) break;
    written += n;
    address += n;
    remaining -= n;
  }
  call.rets[0] = written == 0 && call.args[2] != 0 ? kError : written;
  return CiStatus::kSuccess;
}

// A firmware buffer the disks read into (a real address a device can DMA to), copied from there
// into the client's memory through GuestMemory. The client interface runs on one CPU.
alignas(4096) constinit uint8_t disk_bounce[64 * 1024];

// Reads up to `size` bytes at the instance's position into the client's `address`; returns the
// count read (short at the end of the extent), or -1 when the device fails before any byte.
uint32_t ReadDisk(ClientInterface& client, ClientInterface::DiskInstance& disk, uint64_t address,
                  uint32_t size) {
  const block::Device& device = *disk.device;
  const uint64_t block_size = device.block_size;
  const uint64_t end = disk.extent.count * block_size;
  uint32_t done = 0;
  while (done < size && disk.position < end) {
    const uint64_t block = disk.position / block_size;
    const uint64_t skip = disk.position % block_size;
    const uint64_t blocks =
        lib::Min<uint64_t>(sizeof(disk_bounce) / block_size, disk.extent.count - block);
    auto read = device.Read(disk.extent.first + block, static_cast<uint32_t>(blocks),
                            reinterpret_cast<uintptr_t>(disk_bounce));
    if (read.is_error()) {
      lib::Printf("tern: disk read at block %llu failed: %s\n",
                  static_cast<unsigned long long>(disk.extent.first + block),
                  block::IoErrorName(read.error()));
      return done == 0 ? kError : done;
    }
    const uint32_t n = static_cast<uint32_t>(lib::Min<uint64_t>(
        blocks * block_size - skip, lib::Min<uint64_t>(size - done, end - disk.position)));
    if (client.memory().Write(address + done, disk_bounce + skip, n).is_error()) {
      return done == 0 ? kError : done;
    }
    done += n;
    disk.position += n;
  }
  return done;
}

CiStatus Read(ClientInterface& client, CiCall& call) {
  call.rets[0] = kError;
  if (ClientInterface::DiskInstance* disk = client.DiskOf(call.args[0]); disk != nullptr) {
    call.rets[0] = ReadDisk(client, *disk, call.args[1], call.args[2]);
    return CiStatus::kSuccess;
  }
  if (!client.IsConsole(call.args[0])) return CiStatus::kSuccess;
  if (client.console_discards()) {
    call.rets[0] = static_cast<uint32_t>(-2);  // nothing available, ever
    return CiStatus::kSuccess;
  }
  // Characters the hypervisor gave beyond what the last read wanted wait for the next one.
  ClientInterface::InputBuffer& input = client.input();
  if (input.count == 0) {
    auto count = lib::hv::GetTermChars(client.config().console_unit, input.bytes);
    if (count.is_error()) return CiStatus::kSuccess;
    input.count = static_cast<uint32_t>(count.value());
    input.next = 0;
  }
  const uint32_t n = lib::Min<uint32_t>(input.count, call.args[2]);
  if (n > 0 && client.memory().Write(call.args[1], input.bytes + input.next, n).is_error()) {
    return CiStatus::kSuccess;
  }
  input.next += n;
  input.count -= n;
  // [IEEE 1275 6.3.2.3] -2: nothing available yet (for a console, not an error).
  call.rets[0] = n == 0 ? static_cast<uint32_t>(-2) : n;
  return CiStatus::kSuccess;
}

// seek(ihandle, pos.hi, pos.lo) -> status: 0, or -1 past the end of what the instance covers.
CiStatus Seek(ClientInterface& client, CiCall& call) {
  call.rets[0] = kError;
  ClientInterface::DiskInstance* disk = client.DiskOf(call.args[0]);
  if (disk == nullptr) return CiStatus::kSuccess;
  const uint64_t position = (uint64_t{call.args[1]} << 32) | call.args[2];
  if (position > disk->extent.count * disk->device->block_size) return CiStatus::kSuccess;
  disk->position = position;
  call.rets[0] = 0;
  return CiStatus::kSuccess;
}

// --- Memory [IEEE 1275 6.3.2.5] -------------------------------------------------------------

CiStatus Claim(ClientInterface& client, CiCall& call) {
  auto base = client.claims().Claim(call.args[0], call.args[1], call.args[2]);
  call.rets[0] = base.is_ok() ? static_cast<uint32_t>(base.value()) : kError;
  if (base.is_ok()) (void)client.UpdateAvailable();
  return CiStatus::kSuccess;
}

CiStatus Release(ClientInterface& client, CiCall& call) {
  if (client.claims().Release(call.args[0], call.args[1]).is_ok()) {
    (void)client.UpdateAvailable();
  }
  return CiStatus::kSuccess;
}

// --- Methods ----------------------------------------------------------------------------------

// ibm,client-architecture-support [LoPAPR B.5.2] through KVMPPC_H_CAS; rets[1] = 0 on success.
uint32_t ClientArchitectureSupport(ClientInterface& client, uint64_t vector) {
  Tree& tree = client.tree();
  const Phandle chosen = tree.FindDevice("/chosen");
  lib::Span<const uint8_t> support;
  if (auto value = tree.GetProperty(chosen, "ibm,arch-vec-5-platform-support"); value.is_ok()) {
    support = value.value();
  }
  auto checked = CheckCasVector(client.memory(), vector, support);
  if (checked.is_error()) {
    lib::Printf("tern: ibm,client-architecture-support refused: %s\n",
                CasErrorName(checked.error()));
    return kError;
  }

  const uint64_t size = client.config().cas_buffer_size;
  auto buffer = client.claims().Claim(0, size, lib::KiB(64));
  if (buffer.is_error()) {
    lib::Printf("tern: no memory for the CAS answer: %s\n", ClaimErrorName(buffer.error()));
    return kError;
  }
  uint32_t result = kError;
  auto mapped = client.memory().Map(buffer.value(), size, true);
  if (mapped.is_ok()) {
    const auto answered = lib::hv::ClientArchitectureSupport(vector, buffer.value(), size);
    uint8_t* answer = mapped.value();
    // A 4-byte header, version 1 in the host's byte order (QEMU does not convert it), then the FDT.
    if (answered.is_error()) {
      lib::Printf("tern: H_CAS failed: %s\n", lib::hv::HcallStatusName(answered.error()));
    } else if (lib::LoadBe32(answer) == 0) {
      lib::Printf("tern: H_CAS answered without an update\n");
    } else {
      lib::MemMove(answer, answer + 4, size - 4);  // libfdt wants the tree 8-byte aligned
      auto valid = lib::fdt::CheckBlob(answer, size - 4);
      if (valid.is_error()) {
        lib::Printf("tern: the CAS update is not a valid tree: %s\n",
                    lib::fdt::FdtErrorName(valid.error()));
      } else {
        // All or nothing (of/cas.h): a refused answer leaves the tree as it was. What tern
        // publishes after the merge is checked on the trial copy first.
        CasMerge merge(tree, client.claims(), client.memory());
        auto tried = merge.Try(answer);
        if (tried.is_error()) {
          lib::Printf("tern: the CAS update is refused: %s\n", CasErrorName(tried.error()));
        } else if (!KeepsRtasSize(merge.merged(), client.config().rtas)) {
          lib::Printf("tern: the CAS update is refused: no /rtas rtas-size to plan RTAS around\n");
        } else if (auto merged = merge.Commit(answer); merged.is_error()) {
          lib::Printf("tern: merging the CAS update failed: %s\n", CasErrorName(merged.error()));
        } else if (client.PublishRtasSize().is_error()) {
          lib::Printf("tern: cannot publish rtas-size after CAS\n");
        } else {
          result = 0;
        }
      }
    }
  }
  (void)client.claims().Release(buffer.value(), size);
  // The merge may have rewritten /memory@0; a refused answer changed nothing, claims included.
  if (result == 0) {
    if (auto available = client.UpdateAvailable(); available.is_error()) {
      lib::Printf("tern: cannot publish /memory@0 available after CAS: %s\n",
                  lib::fdt::FdtErrorName(available.error()));
    }
  }
  return result;
}

// instantiate-rtas(base) [LoPAPR 7.2.1]: builds tern's RTAS area at `base` (rtas/instantiate.h);
// the OS reserved rtas-size bytes there, the size tern published.
uint32_t InstantiateRtas(ClientInterface& client, uint64_t base) {
  if (client.config().rtas == nullptr) return kError;
  auto entry =
      rtas::Instantiate(client.memory(), base, *client.config().rtas, client.next_instantiation());
  if (entry.is_error()) {
    lib::Printf("tern: instantiate-rtas at 0x%llx: %s\n", static_cast<unsigned long long>(base),
                rtas::InstantiateErrorName(entry.error()));
    return kError;
  }
  return static_cast<uint32_t>(entry.value());
}

// The methods of a disk instance [IEEE 1275 PowerPC binding, "block" device type]. call-method
// passes the stack with its top first: args[2] is the top.
//   block-size ( -- size )   #blocks ( -- n )   read-blocks ( addr block# #blocks -- #read )
void DiskMethod(ClientInterface& client, ClientInterface::DiskInstance& disk, lib::StringView name,
                CiCall& call) {
  const block::Device& device = *disk.device;
  if (name == lib::StringView("block-size")) {
    call.rets[0] = 0;
    call.rets[1] = device.block_size;
  } else if (name == lib::StringView("#blocks")) {
    call.rets[0] = 0;
    call.rets[1] = static_cast<uint32_t>(lib::Min<uint64_t>(disk.extent.count, 0xffffffffu));
  } else if (name == lib::StringView("read-blocks") && call.args.size() >= 5) {
    const uint64_t count = call.args[2];
    const uint64_t block = call.args[3];
    const uint64_t address = call.args[4];
    if (block > disk.extent.count || count > disk.extent.count - block ||
        count * device.block_size > 0xffffffffu) {
      return;  // catch-result stays -1
    }
    const uint64_t saved = disk.position;
    disk.position = block * device.block_size;
    const uint32_t bytes =
        ReadDisk(client, disk, address, static_cast<uint32_t>(count * device.block_size));
    disk.position = saved;
    call.rets[0] = 0;
    call.rets[1] = bytes == kError ? 0 : bytes / device.block_size;
  }
}

// call-method(method, ihandle, args...) -> catch-result, results... [IEEE 1275 6.3.2.3].
CiStatus CallMethod(ClientInterface& client, CiCall& call) {
  char method[kMaxNameLength];
  for (uint32_t& r : call.rets) r = 0;
  call.rets[0] = kError;  // catch-result: the method does not exist
  if (ReadName(client, call.args[0], method).is_error()) return CiStatus::kSuccess;
  const Phandle package = client.PackageOf(call.args[1]);
  if (package == 0 || call.rets.size() < 2) return CiStatus::kSuccess;
  const lib::StringView name(method);
  if (ClientInterface::DiskInstance* disk = client.DiskOf(call.args[1]); disk != nullptr) {
    DiskMethod(client, *disk, name, call);
    return CiStatus::kSuccess;
  }
  if (call.args.size() < 3) return CiStatus::kSuccess;
  Tree& tree = client.tree();
  if (package == tree.Root() && name == lib::StringView("ibm,client-architecture-support")) {
    call.rets[0] = 0;
    call.rets[1] = ClientArchitectureSupport(client, call.args[2]);
  } else if (package == tree.FindDevice("/rtas") && name == lib::StringView("instantiate-rtas")) {
    const uint32_t entry = InstantiateRtas(client, call.args[2]);
    call.rets[0] = entry == kError ? kError : 0;
    call.rets[1] = entry == kError ? 0 : entry;
  }
  return CiStatus::kSuccess;
}

// --- Control [IEEE 1275 6.3.2.6, 6.3.2.7] ---------------------------------------------------

// milliseconds [IEEE 1275 6.3.2.7]: the time base in milliseconds, exact for any frequency of
// lib/timeout.h's range (of/machine-info.h hands on no other), 0 without one; the cell keeps
// the low 32 bits, as a millisecond counter wraps.
CiStatus Milliseconds(ClientInterface& client, CiCall& call) {
  call.rets[0] = static_cast<uint32_t>(
      lib::TicksToMilliseconds(lib::ReadTimebase(), client.config().timebase_frequency));
  return CiStatus::kSuccess;
}

// The OS is about to take over: give the hypervisor the final tree (H_UPDATE_DT), so that it sees
// linux,rtas-base (FWNMI) and the phandles the OS will use (PHB hotplug).
CiStatus Quiesce(ClientInterface& client, CiCall& call) {
  // The OS's drivers must find the devices tern drove as they were before tern touched them.
  if (client.config().hooks.quiesce_devices != nullptr) client.config().hooks.quiesce_devices();
  Tree& tree = client.tree();
  const uint64_t size = fdt_totalsize(tree.blob());
  auto buffer = client.claims().Claim(0, size, lib::KiB(4));
  if (buffer.is_error()) {
    lib::Printf("tern: quiesce: no memory to flatten the tree\n");
  } else {
    auto mapped = client.memory().Map(buffer.value(), size, true);
    auto flat = mapped.is_ok() ? tree.Flatten(mapped.value(), size)
                               : lib::Result<size_t, FdtError>(lib::Err(FdtError::kNoSpace));
    if (flat.is_error()) {
      lib::Printf("tern: quiesce: flattening failed: %s\n", lib::fdt::FdtErrorName(flat.error()));
    } else {
      if (auto updated = lib::hv::UpdateDeviceTree(buffer.value()); updated.is_error()) {
        lib::Printf("tern: H_UPDATE_DT refused the %zu-byte tree: %s\n", flat.value(),
                    lib::hv::HcallStatusName(updated.error()));
      }
    }
    (void)client.claims().Release(buffer.value(), size);
  }
  client.set_quiesced();
  return CiStatus::kSuccess;
}

// interpret(string, args...) -> catch-result, results... [IEEE 1275 6.3.2.6]. tern has no Forth:
// it knows the strings GRUB sends. "power-off" (and GRUB's other spellings) and "reset-all" act
// through RTAS; "output-device output", "cursor-on" and "cursor-off" change nothing on a vty
// console and succeed; anything else answers -1 (an error thrown).
CiStatus Interpret(ClientInterface& client, CiCall& call) {
  char text[kMaxNameLength];
  for (uint32_t& r : call.rets) r = 0;
  call.rets[0] = kError;
  if (ReadName(client, call.args[0], text).is_error()) return CiStatus::kSuccess;
  const lib::StringView command(text);
  const ClientHooks& hooks = client.config().hooks;
  if (command == lib::StringView("power-off") || command == lib::StringView("shut-down") ||
      command == lib::StringView("poweroff")) {
    if (hooks.power_off != nullptr) hooks.power_off();
  } else if (command == lib::StringView("reset-all")) {
    if (hooks.reboot != nullptr) hooks.reboot();
  } else if (command == lib::StringView("output-device output") ||
             command == lib::StringView("cursor-on") || command == lib::StringView("cursor-off")) {
    call.rets[0] = 0;
  }
  return CiStatus::kSuccess;
}

CiStatus Exit(ClientInterface& client, CiCall& call) {
  lib::Printf("\ntern: the client called exit\n");
  lib::Halt();
}

CiStatus Test(ClientInterface& client, CiCall& call) {
  char name[kMaxNameLength];
  call.rets[0] = kError;
  if (ReadName(client, call.args[0], name).is_error()) return CiStatus::kSuccess;
  for (const CiService& service : ClientServices()) {
    if (lib::StrCompare(service.name, name) == 0) call.rets[0] = 0;
  }
  return CiStatus::kSuccess;
}

constexpr CiService kServices[] = {
    {"finddevice", 1, 1, FindDevice},
    {"getprop", 4, 1, GetProp},
    {"getproplen", 2, 1, GetPropLen},
    {"nextprop", 3, 1, NextProp},
    {"setprop", 4, 1, SetProp},
    {"peer", 1, 1, Peer},
    {"child", 1, 1, Child},
    {"parent", 1, 1, Parent},
    {"package-to-path", 3, 1, PackageToPath},
    {"instance-to-path", 3, 1, InstanceToPath},
    {"instance-to-package", 1, 1, InstanceToPackage},
    {"open", 1, 1, Open},
    {"close", 1, 0, Close},
    {"write", 3, 1, Write},
    {"read", 3, 1, Read},
    {"seek", 3, 1, Seek},
    {"claim", 3, 1, Claim},
    {"release", 2, 0, Release},
    {"call-method", -2, -1, CallMethod},
    {"interpret", -1, -1, Interpret},
    {"milliseconds", 0, 1, Milliseconds},
    {"quiesce", 0, 0, Quiesce},
    {"exit", 0, 0, Exit},
    {"test", 1, 1, Test},
};

}  // namespace

lib::Span<const CiService> ClientServices() {
  return lib::Span<const CiService>(kServices, sizeof(kServices) / sizeof(kServices[0]));
}

CiStatus ClientInterface::Dispatch(uint64_t block) {
  auto header = lib::ReadBlockHeader(memory_, block);
  if (header.is_error() || !header.value().CountsFit()) return CiStatus::kError;
  lib::CellBlock cells = header.value();
  char name[64];
  if (memory_.ReadString(cells.service, name, sizeof(name)).is_error()) return CiStatus::kError;
  const CiService* service = nullptr;
  for (const CiService& s : ClientServices()) {
    if (lib::StrCompare(s.name, name) == 0) service = &s;
  }
  if (service == nullptr) return CiStatus::kError;
  const bool args_ok = service->nargs < 0 ? cells.nargs >= uint32_t(-service->nargs)
                                          : cells.nargs == uint32_t(service->nargs);
  const bool rets_ok = service->nret < 0 ? cells.nret >= uint32_t(-service->nret)
                                         : cells.nret == uint32_t(service->nret);
  if (!args_ok || !rets_ok) return CiStatus::kError;

  if (lib::ReadBlockCells(memory_, block, cells).is_error()) return CiStatus::kError;
  // The return cells must be writable before anything happens.
  if (!memory_.Map(block + cells.RetsOffset(), 4 * cells.nret, true).is_ok()) {
    return CiStatus::kError;
  }
  const lib::Span<uint32_t> rets = cells.Rets();
  for (uint32_t& ret : rets) ret = 0;
  CiCall call{cells.Args(), rets};
  const CiStatus status = service->handler(*this, call);
  if (cells.nret > 0) (void)lib::WriteBlockRets(memory_, block, cells);
  return status;
}

uint32_t ClientInterface::Open(Phandle package, Extent extent) {
  if (!tree_.IsValid(package)) return 0;
  const block::Device* device = DeviceAt(package);
  if (device != nullptr && extent.count == 0) extent = Extent{0, device->blocks};
  for (int i = 0; i < kMaxInstances; ++i) {
    if (!instances_[i].used) {
      instances_[i] =
          Instance{package, package == console_package_, true, DiskInstance{device, extent, 0}};
      return kIhandleBase + static_cast<uint32_t>(i);
    }
  }
  return 0;
}

ClientInterface::DiskInstance* ClientInterface::DiskOf(uint32_t ihandle) {
  const uint32_t i = ihandle - kIhandleBase;
  if (i >= kMaxInstances || !instances_[i].used || instances_[i].disk.device == nullptr) {
    return nullptr;
  }
  return &instances_[i].disk;
}

const block::Device* ClientInterface::DeviceAt(Phandle node) const {
  for (const Disk& disk : config_.disks) {
    if (disk.node == node) return disk.device;
  }
  return nullptr;
}

bool ClientInterface::Close(uint32_t ihandle) {
  const uint32_t i = ihandle - kIhandleBase;
  if (i >= kMaxInstances || !instances_[i].used) return false;
  instances_[i].used = false;
  return true;
}

Phandle ClientInterface::PackageOf(uint32_t ihandle) const {
  const uint32_t i = ihandle - kIhandleBase;
  if (i >= kMaxInstances || !instances_[i].used) return 0;
  return instances_[i].package;
}

bool ClientInterface::IsConsole(uint32_t ihandle) const {
  const uint32_t i = ihandle - kIhandleBase;
  return i < kMaxInstances && instances_[i].used && instances_[i].console;
}

Result<void, FdtError> ClientInterface::UpdateAvailable() {
  const Phandle memory = tree_.FindDevice("/memory@0");
  if (memory == 0) return Ok<FdtError>();
  // The root's cells are the hypervisor's (boot checked them, a CAS answer may replace them) or
  // the client's (setprop): a value outside 1..2 fits neither `reg` nor the buffer below.
  const uint32_t address_cells = lib::fdt::AddressCells(tree_.blob(), 0);
  const uint32_t size_cells = lib::fdt::SizeCells(tree_.blob(), 0);
  if (address_cells < 1 || address_cells > 2 || size_cells < 1 || size_cells > 2) {
    return Err(FdtError::kBadNCells);
  }
  auto reg = tree_.GetProperty(memory, "reg");
  if (reg.is_error() || reg.value().size() < 4 * (address_cells + size_cells)) {
    return Err(FdtError::kBadValue);
  }
  const uint64_t limit = lib::fdt::ReadCells(reg.value().data() + 4 * address_cells, size_cells);
  MemoryRange ranges[ClaimMap::kMaxClaims + 1];
  const size_t count =
      lib::Min(claims_.FreeRanges(limit, ranges), sizeof(ranges) / sizeof(ranges[0]));
  uint8_t value[(ClaimMap::kMaxClaims + 1) * 16];
  size_t size = 0;
  for (size_t i = 0; i < count; ++i) {
    for (uint32_t c = address_cells; c > 0; --c) {
      lib::StoreBe32(value + size, static_cast<uint32_t>(ranges[i].start >> (32 * (c - 1))));
      size += 4;
    }
    for (uint32_t c = size_cells; c > 0; --c) {
      lib::StoreBe32(value + size, static_cast<uint32_t>(ranges[i].size >> (32 * (c - 1))));
      size += 4;
    }
  }
  return tree_.SetProperty(memory, "available", value, size);
}

Result<void, FdtError> ClientInterface::PublishRtasSize() {
  if (config_.rtas == nullptr) return Ok<FdtError>();
  const Phandle node = tree_.FindDevice("/rtas");
  if (node == 0) return Err(FdtError::kNotFound);
  auto size = lib::fdt::PropertyU32(tree_.blob(), tree_.OffsetOf(node), "rtas-size");
  if (size.is_error()) return Err(size.error());
  // The value in the tree is QEMU's (from the boot tree or a CAS answer) unless tern already
  // published its own, which is never smaller than the QEMU value it was planned around.
  if (size.value() != config_.rtas->plan.area_size) {
    auto plan = rtas::PlanArea(config_.rtas->image, size.value());
    if (plan.is_error()) return Err(FdtError::kBadValue);
    config_.rtas->plan = plan.value();
  }
  const lib::Be32 published(config_.rtas->plan.area_size);
  return tree_.SetProperty(node, "rtas-size", &published, sizeof(published));
}

Result<void, FdtError> ClientInterface::Prepare(Phandle console) {
  console_discards_ = console == 0;
  console_package_ = console_discards_ ? tree_.Root() : console;
  const Phandle chosen = tree_.FindDevice("/chosen");
  if (chosen == 0) return Err(FdtError::kNotFound);
  // Two instances: Linux closes stdin before quiesce and keeps writing to stdout after it.
  const uint32_t out = Open(console_package_);
  const uint32_t in = Open(console_package_);
  if (out == 0 || in == 0) return Err(FdtError::kNoSpace);
  const lib::Be32 out_cell(out);
  const lib::Be32 in_cell(in);
  TERN_TRY(tree_.SetProperty(chosen, "stdout", &out_cell, sizeof(out_cell)));
  TERN_TRY(tree_.SetProperty(chosen, "stdin", &in_cell, sizeof(in_cell)));
  TERN_TRY(PublishRtasSize());
  return UpdateAvailable();
}

}  // namespace of
