// What the hypervisor's flattened device tree says about the machine: memory, CPUs, the console
// and what to boot. Pure parsing over a validated blob: no hypervisor, no state (one console line
// when the time base's frequency has to be clamped), so it is tested on the host against fixtures
// and against trees dumped from real QEMU configurations.
#pragma once

#include "lib/fdt.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace of {

using lib::fdt::FdtError;

struct AddressRange {
  uint64_t start = 0;
  uint64_t size = 0;
  uint64_t end() const { return start + size; }
};

struct MachineInfo {
  lib::StringView model;       // root "model", empty when absent
  uint64_t memory_bytes = 0;   // sum of every `reg` range of every device_type "memory" node
  uint32_t memory_ranges = 0;  // number of such ranges
  uint64_t rma_bytes = 0;      // size of the range at address 0: real-mode addressable memory
  uint32_t cores = 0;          // device_type "cpu" nodes under /cpus
  uint32_t threads = 0;        // hardware threads: ibm,ppc-interrupt-server#s entries, summed
  uint32_t max_threads_per_core = 0;
  // Of the first CPU, in [lib::kMinTimebaseFrequency, lib::kMaxTimebaseFrequency]; 0 when absent.
  uint64_t timebase_frequency = 0;
  bool timebase_frequency_clamped = false;  // the tree's value was outside that range
  bool has_kernel = false;                  // /chosen qemu,boot-kernel
  AddressRange kernel;
  bool kernel_little_endian = false;  // /chosen qemu,boot-kernel-le
  bool has_initrd = false;            // /chosen linux,initrd-start/-end
  AddressRange initrd;
};

// Reads the machine description from `blob`, which must already have passed lib::fdt::CheckBlob.
// Malformed properties are errors (kBadPropertyLength, ...); absent optional ones are not. A
// timebase-frequency outside [lib::kMinTimebaseFrequency, lib::kMaxTimebaseFrequency] is clamped
// to the nearest bound, with a line on the console (machine-info.cc says why).
lib::Result<MachineInfo, FdtError> ReadMachineInfo(const void* blob);

// The unit address (`reg`) of the virtual terminal the firmware writes to: the node named by
// /chosen stdout-path when that is an hvterm, else the hvterm1 node under /vdevice with the lowest
// `reg` [LoPAPR B.6.3.1]. kNotFound when the machine has no virtual terminal.
lib::Result<uint64_t, FdtError> FindConsoleUnit(const void* blob);
// The node offset of that virtual terminal.
lib::Result<int, FdtError> FindConsoleNode(const void* blob);

// The console unit tern_main attaches before anything else, from the hypervisor's tree as it
// arrived: the tree passes lib::fdt::CheckBlob (at most `max_size` bytes) first, since libfdt's
// look-ups trust the structure block that fdt_check_header leaves unchecked (its alignment, its
// tags, its end). 0 (QEMU's "the first vty") when the tree is invalid or names no console.
uint64_t EarlyConsoleUnit(const void* blob, size_t max_size);

}  // namespace of
