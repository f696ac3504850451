// The dynamic-reconfiguration connectors the device tree declares [LoPAPR 13.5.2 "OF
// Requirements"]: the parallel arrays ibm,drc-indexes / -names / -types / -power-domains (each a
// count, then the entries), or their compressed form ibm,drc-info. Pure parsing, kept apart from
// the configure-connector walk (drc/walker.h), which needs none of it.
#pragma once

#include "lib/fdt.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace drc {

struct DrcEntry {
  uint32_t index = 0;
  lib::StringView type;       // "CPU", "MEM", "PHB", "PMEM", "SLOT", PCI slot types "1".."30"
  lib::StringView name;       // whole name (arrays) or its prefix (ibm,drc-info)
  int64_t name_suffix = -1;   // ibm,drc-info: the number after the prefix; -1 for the arrays
  uint32_t power_domain = 0;  // 0xffffffff: live insertion
};

// Most connectors one node, and the whole tree, may declare. ibm,drc-info states a count per group
// in 20 bytes, so the property's size does not bound it; QEMU's largest list, the memory LMBs, has
// maxmem / 256 MiB entries (16384 for 4 TiB).
inline constexpr uint32_t kMaxConnectorsPerNode = 1u << 20;

// Calls visit(context, entry) for each connector declared on node `node` and returns how many it
// declares. ibm,drc-info wins when both forms are present. Malformed properties (counts that
// disagree, strings running off the end, more than kMaxConnectorsPerNode connectors: kBadValue)
// are errors, found before any entry is visited. With `visit` null nothing is visited: the count
// alone, checked the same way.
using DrcVisitor = void (*)(void* context, const DrcEntry& entry);
lib::Result<size_t, lib::fdt::FdtError> VisitConnectors(const void* blob, int node,
                                                        DrcVisitor visit, void* context);

// The same into `out` (as many as fit); returns how many the node declares.
lib::Result<size_t, lib::fdt::FdtError> ReadConnectors(const void* blob, int node,
                                                       lib::Span<DrcEntry> out);

struct DrcCensus {
  uint32_t total = 0;
  uint32_t cpu = 0;
  uint32_t memory = 0;
  uint32_t phb = 0;
  uint32_t pci = 0;  // physical slots: PCI slot types and "SLOT"
  uint32_t other = 0;
  uint32_t nodes = 0;  // nodes that declare connectors
};

// Counts every connector in the tree by type; more than kMaxConnectorsPerNode in all is kBadValue.
lib::Result<DrcCensus, lib::fdt::FdtError> CountConnectors(const void* blob);

}  // namespace drc
