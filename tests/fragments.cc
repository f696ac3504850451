#include "tests/fragments.h"

#include <libfdt.h>

#include <string>

#include "tests/test-data.h"

namespace tests {

std::vector<uint8_t> WideFragment(int count, int size) {
  std::vector<uint8_t> blob(count * (size + 64) + 4096);
  void* fdt = blob.data();
  fdt_create(fdt, static_cast<int>(blob.size()));
  fdt_finish_reservemap(fdt);
  fdt_begin_node(fdt, "");
  fdt_begin_node(fdt, "wide@0");
  for (int i = 0; i < count; ++i) {
    std::vector<uint8_t> value(size, static_cast<uint8_t>(i));
    std::string name = "p";  // not "p" + ...: GCC 12's -Wrestrict false positive at -O2
    name += std::to_string(i);
    fdt_property(fdt, name.c_str(), value.data(), size);
  }
  fdt_end_node(fdt);
  fdt_end_node(fdt);
  if (fdt_finish(fdt) != 0) return {};
  blob.resize(fdt_totalsize(fdt));
  return blob;
}

namespace {

// Copies node `from` of `source` (its properties in order, then its subtree) as a child `name` of
// node `parent` of `fdt`; `renumber` rewrites "reg" and "ibm,my-drc-index" of the copy's top node
// for PCI slot `slot`.
bool CopySubtree(void* fdt, int parent, const void* source, int from, const std::string& name,
                 int slot) {
  const int node = fdt_add_subnode(fdt, parent, name.c_str());
  if (node < 0) return false;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> properties;
  int property;
  fdt_for_each_property_offset(property, source, from) {
    const char* property_name = nullptr;
    int length = 0;
    const auto* value = static_cast<const uint8_t*>(
        fdt_getprop_by_offset(source, property, &property_name, &length));
    properties.emplace_back(property_name, std::vector<uint8_t>(value, value + length));
  }
  // libfdt puts each new property first: add them last to first to keep QEMU's order.
  for (auto it = properties.rbegin(); it != properties.rend(); ++it) {
    std::vector<uint8_t> value = it->second;
    auto* cell = reinterpret_cast<fdt32_t*>(value.data());
    if (slot >= 0 && it->first == "reg" && value.size() >= 4) {
      cell[0] = cpu_to_fdt32((fdt32_to_cpu(cell[0]) & ~0xf800u) | (uint32_t(slot) << 11));
    }
    if (slot >= 0 && it->first == "ibm,my-drc-index" && value.size() == 4) {
      cell[0] = cpu_to_fdt32((fdt32_to_cpu(cell[0]) & ~0xf8u) | (uint32_t(slot) << 3));
    }
    if (fdt_setprop(fdt, node, it->first.c_str(), value.data(), int(value.size())) != 0) {
      return false;
    }
  }
  // Children, in order (libfdt adds a subnode after its siblings).
  int child;
  fdt_for_each_subnode(child, source, from) {
    if (!CopySubtree(fdt, node, source, child, fdt_get_name(source, child, nullptr), -1)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<uint8_t> PciBridgeTree(uint32_t min_bytes) {
  const std::vector<uint8_t> base = LoadDtb("drc-qemu-pci-bridge.dtb");
  std::vector<uint8_t> blob(base.size() + min_bytes + 16384);
  void* fdt = blob.data();
  if (fdt_open_into(base.data(), fdt, static_cast<int>(blob.size())) != 0) return {};
  const int bridge = fdt_first_subnode(base.data(), 0);
  if (bridge < 0) return {};
  // fdt_open_into made the blob as large as the buffer: measure what the tree uses.
  auto used = [fdt] { return fdt_off_dt_strings(fdt) + fdt_size_dt_strings(fdt); };
  for (int slot = 4; slot < 32 && used() < min_bytes; ++slot) {
    // A nested bridge with its device in the top bridge's next slot.
    const std::string name = "pci@" + std::to_string(slot);
    if (!CopySubtree(fdt, fdt_first_subnode(fdt, 0), base.data(), bridge, name, slot)) return {};
  }
  fdt_pack(fdt);
  blob.resize(fdt_totalsize(fdt));
  return blob;
}

}  // namespace tests
