#include "of/machine-info.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/console.h"
#include "lib/timeout.h"

namespace of {

using lib::Err;
using lib::Result;
using lib::fdt::FdtError;

namespace {

bool IsDeviceType(const void* blob, int node, const char* type) {
  auto value = lib::fdt::PropertyString(blob, node, "device_type");
  return value.is_ok() && value.value() == lib::StringView(type);
}

Result<bool, FdtError> AddMemory(const void* blob, int node, uint32_t address_cells,
                                 uint32_t size_cells, MachineInfo& info) {
  auto reg = lib::fdt::Property(blob, node, "reg");
  if (reg.is_error()) return Err(reg.error());
  const size_t entry = 4 * (address_cells + size_cells);
  const lib::Span<const uint8_t> bytes = reg.value();
  if (bytes.size() % entry != 0) return Err(FdtError::kBadPropertyLength);
  for (size_t offset = 0; offset < bytes.size(); offset += entry) {
    const uint64_t start = lib::fdt::ReadCells(bytes.data() + offset, address_cells);
    const uint64_t size =
        lib::fdt::ReadCells(bytes.data() + offset + 4 * address_cells, size_cells);
    info.memory_bytes += size;
    ++info.memory_ranges;
    if (start == 0) info.rma_bytes = size;
  }
  return true;
}

Result<bool, FdtError> ReadMemory(const void* blob, MachineInfo& info) {
  const uint32_t address_cells = lib::fdt::AddressCells(blob, 0);
  const uint32_t size_cells = lib::fdt::SizeCells(blob, 0);
  if (address_cells < 1 || address_cells > 2 || size_cells < 1 || size_cells > 2) {
    return Err(FdtError::kBadNCells);
  }
  int node;
  fdt_for_each_subnode(node, blob, 0) {
    if (!IsDeviceType(blob, node, "memory")) continue;
    TERN_TRY(AddMemory(blob, node, address_cells, size_cells, info));
  }
  if (node != -FDT_ERR_NOTFOUND) return Err(lib::fdt::FromLibfdt(node));
  return true;
}

// The frequency tern sizes its own waits with, from the tree's `timebase-frequency` [IEEE 1275
// PowerPC binding, cpu node properties]. Every timeout is N seconds or milliseconds of ticks
// (lib/timeout.h), so a value outside [kMinTimebaseFrequency, kMaxTimebaseFrequency] made them
// wrong by orders of magnitude: 2^64 - 1 Hz turned 10 s into centuries (or a few ticks, with a
// plain product), 1 Hz made `milliseconds` stand still. Such a value is clamped to the nearest
// bound, with a line on the console, rather than refused: tern uses the number only to bound its
// own waits (the OS reads the property itself and is not affected), a clamped value keeps every
// wait finite and longer than a millisecond, and a value just outside the range is still nearly
// right, while refusing would halt a machine that can otherwise boot its kernel. No pseries host
// gives such a value (QEMU's is 512 MHz, POWER's architected rate).
void SetTimebaseFrequency(uint64_t in_tree, MachineInfo& info) {
  info.timebase_frequency =
      lib::Min(lib::Max(in_tree, lib::kMinTimebaseFrequency), lib::kMaxTimebaseFrequency);
  info.timebase_frequency_clamped = info.timebase_frequency != in_tree;
  if (info.timebase_frequency_clamped) {
    lib::Printf(
        "tern: timebase-frequency %llu Hz is outside [%llu, %llu] Hz: timeouts count %llu Hz\n",
        static_cast<unsigned long long>(in_tree),
        static_cast<unsigned long long>(lib::kMinTimebaseFrequency),
        static_cast<unsigned long long>(lib::kMaxTimebaseFrequency),
        static_cast<unsigned long long>(info.timebase_frequency));
  }
}

Result<bool, FdtError> ReadCpus(const void* blob, MachineInfo& info) {
  const int cpus = fdt_path_offset(blob, "/cpus");
  if (cpus < 0) return Err(lib::fdt::FromLibfdt(cpus));
  int node;
  fdt_for_each_subnode(node, blob, cpus) {
    if (!IsDeviceType(blob, node, "cpu")) continue;
    uint32_t threads = 1;
    auto servers = lib::fdt::Property(blob, node, "ibm,ppc-interrupt-server#s");
    if (servers.is_ok()) {
      const size_t size = servers.value().size();
      if (size == 0 || size % 4 != 0) return Err(FdtError::kBadPropertyLength);
      threads = static_cast<uint32_t>(size / 4);
    }
    if (info.cores == 0) {
      auto frequency = lib::fdt::Property(blob, node, "timebase-frequency");
      if (frequency.is_ok() && (frequency.value().size() == 4 || frequency.value().size() == 8)) {
        SetTimebaseFrequency(
            lib::fdt::ReadCells(frequency.value().data(),
                                static_cast<uint32_t>(frequency.value().size() / 4)),
            info);
      }
    }
    ++info.cores;
    info.threads += threads;
    info.max_threads_per_core = lib::Max(info.max_threads_per_core, threads);
  }
  if (node != -FDT_ERR_NOTFOUND) return Err(lib::fdt::FromLibfdt(node));
  return true;
}

// A one- or two-cell address property (QEMU writes u32 cells; other hosts may write u64).
Result<uint64_t, FdtError> ReadAddress(const void* blob, int node, const char* name) {
  auto value = lib::fdt::Property(blob, node, name);
  if (value.is_error()) return Err(value.error());
  const size_t size = value.value().size();
  if (size != 4 && size != 8) return Err(FdtError::kBadPropertyLength);
  return lib::fdt::ReadCells(value.value().data(), static_cast<uint32_t>(size / 4));
}

Result<bool, FdtError> ReadChosen(const void* blob, MachineInfo& info) {
  const int chosen = fdt_path_offset(blob, "/chosen");
  if (chosen == -FDT_ERR_NOTFOUND) return true;
  if (chosen < 0) return Err(lib::fdt::FromLibfdt(chosen));

  if (auto kernel = lib::fdt::Property(blob, chosen, "qemu,boot-kernel"); kernel.is_ok()) {
    if (kernel.value().size() != 16) return Err(FdtError::kBadPropertyLength);
    info.has_kernel = true;
    info.kernel.start = lib::LoadBe64(kernel.value().data());
    info.kernel.size = lib::LoadBe64(kernel.value().data() + 8);
    info.kernel_little_endian = lib::fdt::HasProperty(blob, chosen, "qemu,boot-kernel-le");
  }

  auto start = ReadAddress(blob, chosen, "linux,initrd-start");
  auto end = ReadAddress(blob, chosen, "linux,initrd-end");
  if (start.is_ok() && end.is_ok()) {
    if (end.value() < start.value()) return Err(FdtError::kBadValue);
    info.has_initrd = end.value() > start.value();
    info.initrd = AddressRange{start.value(), end.value() - start.value()};
  } else if (start.is_ok() != end.is_ok()) {
    return Err(FdtError::kBadValue);  // one bound without the other
  }
  return true;
}

bool IsHvterm(const void* blob, int node) {
  return lib::fdt::PropertyListContains(blob, node, "compatible", "hvterm1");
}

}  // namespace

Result<MachineInfo, FdtError> ReadMachineInfo(const void* blob) {
  MachineInfo info;
  if (auto model = lib::fdt::PropertyString(blob, 0, "model"); model.is_ok()) {
    info.model = model.value();
  }
  TERN_TRY(ReadMemory(blob, info));
  TERN_TRY(ReadCpus(blob, info));
  TERN_TRY(ReadChosen(blob, info));
  return info;
}

Result<int, FdtError> FindConsoleNode(const void* blob) {
  const int chosen = fdt_path_offset(blob, "/chosen");
  if (chosen >= 0) {
    if (auto path = lib::fdt::PropertyString(blob, chosen, "stdout-path"); path.is_ok()) {
      // "path[:options]"; the options (baud rate and such) do not apply to a vty.
      const lib::StringView full = path.value();
      const size_t length = full.Find(':');
      const int node = fdt_path_offset_namelen(blob, full.data(), static_cast<int>(length));
      if (node >= 0 && IsHvterm(blob, node) && lib::fdt::PropertyU32(blob, node, "reg").is_ok()) {
        return node;
      }
    }
  }
  const int vdevice = fdt_path_offset(blob, "/vdevice");
  if (vdevice < 0) return Err(lib::fdt::FromLibfdt(vdevice));
  int best = -1;
  uint32_t lowest = 0;
  int node;
  fdt_for_each_subnode(node, blob, vdevice) {
    if (!IsHvterm(blob, node)) continue;
    auto reg = lib::fdt::PropertyU32(blob, node, "reg");
    if (reg.is_error()) continue;
    if (best < 0 || reg.value() < lowest) {
      lowest = reg.value();
      best = node;
    }
  }
  if (best < 0) return Err(FdtError::kNotFound);
  return best;
}

Result<uint64_t, FdtError> FindConsoleUnit(const void* blob) {
  auto node = FindConsoleNode(blob);
  if (node.is_error()) return Err(node.error());
  return uint64_t{lib::fdt::PropertyU32(blob, node.value(), "reg").value()};
}

uint64_t EarlyConsoleUnit(const void* blob, size_t max_size) {
  if (lib::fdt::CheckBlob(blob, max_size).is_error()) return 0;
  return FindConsoleUnit(blob).value_or(0);
}

}  // namespace of
