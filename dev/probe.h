// Probing through the driver table (dev/driver.h): every PCI function of the scanned PHBs and
// every node under /vdevice is offered to the first driver that matches it, and every running
// instance is reset before the OS takes over. No driver is named here.
#pragma once

#include "dev/driver.h"
#include "dev/pci.h"
#include "lib/span.h"
#include "lib/types.h"

namespace dev {

// Which targets go first: the ones a boot list names get their driver instances before a pool
// can fill up. `first(context, path)` is asked of each target's node path.
struct ProbeOrder {
  bool (*first)(void* context, const char* path) = nullptr;
  void* context = nullptr;
};

struct ProbeCount {
  int matched = 0;  // targets a driver took
  int started = 0;  // of which the driver started (reported devices)
};

// The first driver of `drivers` matching `pci` (by vendor and device ID), or nullptr.
const Driver* MatchPci(lib::Span<const Driver> drivers, const PciDevice& pci);
// The first driver of `drivers` whose `compatible` is in the node's `compatible` list.
const Driver* MatchNode(lib::Span<const Driver> drivers, const void* fdt, int node);

// Offers every function of `bus` (in bus order), then every child of /vdevice of `fdt` (in tree
// order), to the first matching driver of `drivers` — in two passes: the targets `order` puts
// first, then the others. A driver whose pool is full is named once, with the first target it
// could not take.
ProbeCount ProbeAll(lib::Span<const Driver> drivers, const void* fdt, const PciBus& bus,
                    ProbeEnv& env, ProbeOrder order = {});

// Resets every running instance of every driver of `drivers` for the OS.
void QuiesceAll(lib::Span<const Driver> drivers);

}  // namespace dev
