#include "of/client-interface.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/cell-block.h"
#include "lib/console.h"
#include "lib/cpu.h"
#include "lib/format.h"
#include "lib/hv.h"
#include "lib/string.h"
#include "lib/timeout.h"
#include "of/cas.h"
#include "of/console-package.h"

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

// canon(device-specifier, buf, buflen) -> length [IEEE 1275 6.3.2.2]: the full path of the node
// the specifier (a path or an alias) names, with the specifier's device arguments; -1 when it
// names none. Like package-to-path it answers the full length without the NUL and writes what
// fits (GRUB retries with a larger buffer: grub_ieee1275_canonicalise_devname).
CiStatus Canon(ClientInterface& client, CiCall& call);

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
// Every service goes to the instance's package (of/package.h); an instance whose package has no
// such operation answers -1.

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

CiStatus Open(ClientInterface& client, CiCall& call) {
  char path[kMaxNameLength];
  call.rets[0] = 0;  // 0: open failed
  auto length = ReadName(client, call.args[0], path);
  if (length.is_error()) return CiStatus::kSuccess;
  const lib::StringView specifier(path, length.value());
  const Phandle node = client.tree().FindDevice(specifier);
  if (node == 0) return CiStatus::kSuccess;
  call.rets[0] = client.Open(node, DeviceArguments(specifier));
  return CiStatus::kSuccess;
}

CiStatus Canon(ClientInterface& client, CiCall& call) {
  char specifier[kMaxNameLength];
  call.rets[0] = kError;
  auto length = ReadName(client, call.args[0], specifier);
  if (length.is_error()) return CiStatus::kSuccess;
  const lib::StringView text(specifier, length.value());
  const Phandle node = client.tree().FindDevice(text);
  if (node == 0) return CiStatus::kSuccess;
  char path[kMaxNameLength * 2];
  auto path_length = client.tree().Path(node, path, sizeof(path));
  if (path_length.is_error() || path_length.value() >= sizeof(path)) return CiStatus::kSuccess;
  const lib::StringView arguments = DeviceArguments(text);
  const size_t full =
      arguments.empty()
          ? path_length.value()
          : lib::FormatToBuffer(path + path_length.value(), sizeof(path) - path_length.value(),
                                ":%.*s", static_cast<int>(arguments.size()), arguments.data()) +
                path_length.value();
  if (full >= sizeof(path)) return CiStatus::kSuccess;
  const size_t copied = lib::Min<size_t>(full + 1, call.args[2]);
  if (copied > 0 && client.memory().Write(call.args[1], path, copied).is_error()) {
    return CiStatus::kSuccess;
  }
  call.rets[0] = static_cast<uint32_t>(full);
  return CiStatus::kSuccess;
}

CiStatus Close(ClientInterface& client, CiCall& call) {
  (void)client.Close(call.args[0]);
  return CiStatus::kSuccess;
}

// The cell an I/O operation answers: a count, -1, or -2 (nothing yet).
uint32_t IoCell(const Result<uint32_t, IoStatus>& result) {
  if (result.is_ok()) return result.value();
  return result.error() == IoStatus::kNothingYet ? static_cast<uint32_t>(-2) : kError;
}

CiStatus Read(ClientInterface& client, CiCall& call) {
  Instance* instance = client.InstanceOf(call.args[0]);
  call.rets[0] = kError;
  if (instance == nullptr || instance->package->read == nullptr) return CiStatus::kSuccess;
  call.rets[0] = IoCell(instance->package->read(client, *instance, call.args[1], call.args[2]));
  return CiStatus::kSuccess;
}

CiStatus Write(ClientInterface& client, CiCall& call) {
  Instance* instance = client.InstanceOf(call.args[0]);
  call.rets[0] = kError;
  if (instance == nullptr || instance->package->write == nullptr) return CiStatus::kSuccess;
  call.rets[0] = IoCell(instance->package->write(client, *instance, call.args[1], call.args[2]));
  return CiStatus::kSuccess;
}

// seek(ihandle, pos.hi, pos.lo) -> status: 0, or -1.
CiStatus Seek(ClientInterface& client, CiCall& call) {
  Instance* instance = client.InstanceOf(call.args[0]);
  call.rets[0] = kError;
  if (instance == nullptr || instance->package->seek == nullptr) return CiStatus::kSuccess;
  const uint64_t position = (uint64_t{call.args[1]} << 32) | call.args[2];
  if (instance->package->seek(client, *instance, position).is_ok()) call.rets[0] = 0;
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

// ibm,client-architecture-support ( vector -- result ) of the root node's instance.
Result<void, IoStatus> RootCas(ClientInterface& client, Instance&, MethodCall& call) {
  if (call.args.empty()) return Err(IoStatus::kFailed);
  call.results[0] = ClientArchitectureSupport(client, call.args[0]);
  return Ok<IoStatus>();
}

// instantiate-rtas ( base -- entry ) of /rtas's instance; throws when the area cannot be built.
Result<void, IoStatus> RtasInstantiate(ClientInterface& client, Instance&, MethodCall& call) {
  if (call.args.empty()) return Err(IoStatus::kFailed);
  const uint32_t entry = InstantiateRtas(client, call.args[0]);
  if (entry == kError) return Err(IoStatus::kFailed);
  call.results[0] = entry;
  return Ok<IoStatus>();
}

constexpr PackageMethod kRootMethods[] = {{"ibm,client-architecture-support", RootCas}};
constexpr PackageMethod kRtasMethods[] = {{"instantiate-rtas", RtasInstantiate}};
// The root, /rtas, and any other node the firmware has no package for.
constexpr Package kRootPackage = {"root",  nullptr, nullptr, nullptr,     nullptr,
                                  nullptr, nullptr, nullptr, kRootMethods};
constexpr Package kRtasPackage = {"rtas",  nullptr, nullptr, nullptr,     nullptr,
                                  nullptr, nullptr, nullptr, kRtasMethods};
constexpr Package kNodePackage = {"node",  nullptr, nullptr, nullptr, nullptr,
                                  nullptr, nullptr, nullptr, {}};

const PackageMethod* FindMethod(const Package& package, lib::StringView name) {
  for (const PackageMethod& method : package.methods) {
    if (name == lib::StringView(method.name)) return &method;
  }
  return nullptr;
}

// call-method(method, ihandle, args...) -> catch-result, results... [IEEE 1275 6.3.2.3]: the
// instance's package's method of that name (and "load" for a package with a load operation).
// An unknown method, or one that throws, answers catch-result -1 with its results 0.
CiStatus CallMethod(ClientInterface& client, CiCall& call) {
  char method[kMaxNameLength];
  for (uint32_t& r : call.rets) r = 0;
  call.rets[0] = kError;  // catch-result: the method does not exist
  if (ReadName(client, call.args[0], method).is_error()) return CiStatus::kSuccess;
  Instance* instance = client.InstanceOf(call.args[1]);
  if (instance == nullptr || call.rets.size() < 2) return CiStatus::kSuccess;
  const lib::StringView name(method);
  MethodCall method_call{call.args.Subspan(2), call.rets.Subspan(1)};
  const Package& package = *instance->package;
  Result<void, IoStatus> result = Err(IoStatus::kFailed);
  if (const PackageMethod* found = FindMethod(package, name); found != nullptr) {
    result = found->call(client, *instance, method_call);
  } else if (name == lib::StringView("load") && package.load != nullptr &&
             !method_call.args.empty()) {
    auto loaded = package.load(client, *instance, method_call.args[0]);
    if (loaded.is_ok()) method_call.results[0] = loaded.value();
    result = loaded.is_ok() ? Result<void, IoStatus>() : Err(loaded.error());
  } else {
    return CiStatus::kSuccess;
  }
  if (result.is_ok()) {
    call.rets[0] = 0;
  } else {
    for (uint32_t& r : method_call.results) r = 0;
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
    {"canon", 3, 1, Canon},
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

const Package& ClientInterface::PackageFor(Phandle node, const void*& device) const {
  device = nullptr;
  for (const Binding& binding : config_.bindings) {
    if (binding.node == node && binding.package != nullptr) {
      device = binding.device;
      return *binding.package;
    }
  }
  if (node == console_package_ && !console_discards_) return kConsolePackage;
  if (node == tree_.Root()) return kRootPackage;
  if (node == tree_.FindDevice("/rtas")) return kRtasPackage;
  return kNodePackage;
}

uint32_t ClientInterface::Open(Phandle node, lib::StringView arguments) {
  const void* device = nullptr;
  if (!tree_.IsValid(node)) return 0;
  const Package& package = PackageFor(node, device);
  return OpenWith(node, package, device, arguments);
}

uint32_t ClientInterface::OpenWith(Phandle node, const Package& package, const void* device,
                                   lib::StringView arguments) {
  for (int i = 0; i < kMaxInstances; ++i) {
    if (used_[i]) continue;
    Instance& instance = instances_[i];
    instance = Instance{};
    instance.node = node;
    instance.package = &package;
    instance.device = device;
    if (instance.package->open != nullptr && !instance.package->open(*this, instance, arguments)) {
      return 0;
    }
    used_[i] = true;
    return kIhandleBase + static_cast<uint32_t>(i);
  }
  return 0;
}

Instance* ClientInterface::InstanceOf(uint32_t ihandle) {
  const uint32_t i = ihandle - kIhandleBase;
  if (i >= kMaxInstances || !used_[i]) return nullptr;
  return &instances_[i];
}

bool ClientInterface::Close(uint32_t ihandle) {
  Instance* instance = InstanceOf(ihandle);
  if (instance == nullptr) return false;
  if (instance->package->close != nullptr) instance->package->close(*this, *instance);
  used_[ihandle - kIhandleBase] = false;
  return true;
}

Phandle ClientInterface::PackageOf(uint32_t ihandle) const {
  const uint32_t i = ihandle - kIhandleBase;
  if (i >= kMaxInstances || !used_[i]) return 0;
  return instances_[i].node;
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
  const Package& package = console_discards_ ? kDiscardConsole : kConsolePackage;
  const uint32_t out = OpenWith(console_package_, package, nullptr, {});
  const uint32_t in = OpenWith(console_package_, package, nullptr, {});
  if (out == 0 || in == 0) return Err(FdtError::kNoSpace);
  const lib::Be32 out_cell(out);
  const lib::Be32 in_cell(in);
  TERN_TRY(tree_.SetProperty(chosen, "stdout", &out_cell, sizeof(out_cell)));
  TERN_TRY(tree_.SetProperty(chosen, "stdin", &in_cell, sizeof(in_cell)));
  TERN_TRY(PublishRtasSize());
  return UpdateAvailable();
}

}  // namespace of
