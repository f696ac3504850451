#include "dev/probe.h"

#include <libfdt.h>

#include "lib/console.h"
#include "lib/fdt.h"
#include "lib/format.h"

// The bounds of the linker section TERN_DRIVER fills: linker/tern.ld defines them in the image; on
// the host the linker does for any section named like a C identifier. Weak: a program that links
// no driver has none.
extern "C" {
[[gnu::weak]] extern const dev::Driver __start_tern_drivers[];
[[gnu::weak]] extern const dev::Driver __stop_tern_drivers[];
}

namespace dev {

lib::Span<const Driver> Drivers() {
  return lib::SectionEntries(__start_tern_drivers, __stop_tern_drivers);
}

const Driver* MatchPci(lib::Span<const Driver> drivers, const PciDevice& pci) {
  for (const Driver& driver : drivers) {
    for (const PciId& id : driver.pci_ids) {
      if (id.vendor == pci.vendor_id && id.device == pci.device_id) return &driver;
    }
  }
  return nullptr;
}

const Driver* MatchNode(lib::Span<const Driver> drivers, const void* fdt, int node) {
  for (const Driver& driver : drivers) {
    if (driver.compatible != nullptr &&
        lib::fdt::PropertyListContains(fdt, node, "compatible", driver.compatible)) {
      return &driver;
    }
  }
  return nullptr;
}

bool ReportNetworkDevice(ProbeEnv& env, const char* path, const net::Device& device,
                         const char* driver, lib::Span<char> description) {
  const uint8_t* mac = device.mac.bytes;
  (void)lib::FormatToBuffer(description.data(), description.size(),
                            "%s, MAC %02x:%02x:%02x:%02x:%02x:%02x", driver, mac[0], mac[1], mac[2],
                            mac[3], mac[4], mac[5]);
  FoundDevice found;
  found.path = path;
  found.device_type = "network";
  found.net = &device;
  found.description = description.data();
  return env.sink.add(env.sink.context, found);
}

namespace {

constexpr size_t kMaxDrivers = 16;
constexpr size_t kPathMax = 128;

struct Prober {
  lib::Span<const Driver> drivers;
  ProbeEnv& env;
  ProbeOrder order;
  ProbeCount count;
  bool pool_full_said[kMaxDrivers] = {};

  bool InPass(const char* path, bool first_pass) const {
    const bool first =
        order.first != nullptr && path[0] != '\0' && order.first(order.context, path);
    return first == first_pass;
  }

  void Offer(const Driver& driver, const ProbeTarget& target) {
    ++count.matched;
    auto probed = driver.probe(env, target);
    if (probed.is_ok()) {
      ++count.started;
      return;
    }
    if (probed.error() != ProbeError::kPoolFull) return;
    const size_t index = static_cast<size_t>(&driver - drivers.data());
    if (index < kMaxDrivers && pool_full_said[index]) return;
    if (index < kMaxDrivers) pool_full_said[index] = true;
    lib::Printf("tern: %s: every %s instance is in use: this and later %s devices are not used\n",
                target.pci != nullptr ? target.pci->name : target.path, driver.name, driver.name);
  }

  void PciPass(const PciBus& bus, bool first_pass) {
    for (int i = 0; i < bus.device_count; ++i) {
      const PciDevice& pci = bus.devices[i];
      const Driver* driver = MatchPci(drivers, pci);
      if (driver == nullptr || !InPass(pci.path, first_pass)) continue;
      ProbeTarget target;
      target.pci = &pci;
      target.path = pci.path;
      Offer(*driver, target);
    }
  }

  void VdevicePass(const void* fdt, bool first_pass) {
    const int vdevice = fdt_path_offset(fdt, "/vdevice");
    if (vdevice < 0) return;
    int node = 0;
    fdt_for_each_subnode(node, fdt, vdevice) {
      const Driver* driver = MatchNode(drivers, fdt, node);
      char path[kPathMax];
      if (driver == nullptr || fdt_get_path(fdt, node, path, sizeof(path)) != 0) continue;
      if (!InPass(path, first_pass)) continue;
      ProbeTarget target;
      target.fdt = fdt;
      target.node = node;
      target.path = path;
      Offer(*driver, target);
    }
  }
};

}  // namespace

ProbeCount ProbeAll(lib::Span<const Driver> drivers, const void* fdt, const PciBus& bus,
                    ProbeEnv& env, ProbeOrder order) {
  Prober prober{drivers, env, order, {}};
  if (order.first != nullptr) {
    prober.PciPass(bus, true);
    prober.VdevicePass(fdt, true);
  }
  prober.PciPass(bus, false);
  prober.VdevicePass(fdt, false);
  return prober.count;
}

void QuiesceAll(lib::Span<const Driver> drivers) {
  for (const Driver& driver : drivers) {
    if (driver.quiesce != nullptr) driver.quiesce();
  }
}

}  // namespace dev
