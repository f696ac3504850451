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
    const std::string name = "p" + std::to_string(i);
    fdt_property(fdt, name.c_str(), value.data(), size);
  }
  fdt_end_node(fdt);
  fdt_end_node(fdt);
  if (fdt_finish(fdt) != 0) return {};
  blob.resize(fdt_totalsize(fdt));
  return blob;
}

std::vector<uint8_t> PciBridgeTree(uint32_t min_bytes) {
  const std::vector<uint8_t> base = LoadDtb("drc-qemu-pci-bridge.dtb");
  std::vector<uint8_t> blob(base.size() + min_bytes + 8192);
  void* fdt = blob.data();
  if (fdt_open_into(base.data(), fdt, static_cast<int>(blob.size())) != 0) return {};
  const int bridge = fdt_first_subnode(fdt, 0);
  const int device = fdt_first_subnode(fdt, bridge);
  if (bridge < 0 || device < 0) return {};
  // The device's properties, copied into each new slot's node with its own reg and DRC index.
  std::vector<std::pair<std::string, std::vector<uint8_t>>> properties;
  int property;
  fdt_for_each_property_offset(property, fdt, device) {
    const char* name = nullptr;
    int length = 0;
    const auto* value =
        static_cast<const uint8_t*>(fdt_getprop_by_offset(fdt, property, &name, &length));
    properties.emplace_back(name, std::vector<uint8_t>(value, value + length));
  }
  for (int slot = 4; slot < 32 && fdt_totalsize(fdt) < min_bytes; ++slot) {
    const std::string name = "scsi@" + std::to_string(slot);
    const int bridge_now = fdt_first_subnode(fdt, 0);
    const int node = fdt_add_subnode(fdt, bridge_now, name.c_str());
    if (node < 0) return {};
    // libfdt puts each new property first: add them last to first to keep QEMU's order.
    for (auto it = properties.rbegin(); it != properties.rend(); ++it) {
      std::vector<uint8_t> value = it->second;
      if (it->first == "reg" && value.size() >= 4) {
        const uint32_t hi = fdt32_to_cpu(*reinterpret_cast<const fdt32_t*>(value.data()));
        const uint32_t reg = (hi & ~0xf800u) | (static_cast<uint32_t>(slot) << 11);
        *reinterpret_cast<fdt32_t*>(value.data()) = cpu_to_fdt32(reg);
      }
      if (it->first == "ibm,my-drc-index" && value.size() == 4) {
        const uint32_t index = fdt32_to_cpu(*reinterpret_cast<const fdt32_t*>(value.data()));
        *reinterpret_cast<fdt32_t*>(value.data()) =
            cpu_to_fdt32((index & ~0xf8u) | (static_cast<uint32_t>(slot) << 3));
      }
      if (fdt_setprop(fdt, node, it->first.c_str(), value.data(), static_cast<int>(value.size())) !=
          0) {
        return {};
      }
    }
  }
  fdt_pack(fdt);
  blob.resize(fdt_totalsize(fdt));
  return blob;
}

}  // namespace tests
