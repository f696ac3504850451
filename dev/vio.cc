#include "dev/vio.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/fdt.h"

namespace dev {

namespace {

// One of the node's cell-count properties, `fallback` when absent.
lib::Result<uint32_t, VioNodeError> Cells(const void* fdt, int node, const char* name,
                                          uint32_t fallback) {
  if (!lib::fdt::HasProperty(fdt, node, name)) return fallback;
  auto cells = lib::fdt::PropertyU32(fdt, node, name);
  if (cells.is_error() || cells.value() < 1 || cells.value() > 2) {
    return lib::Err(VioNodeError::kMalformed);
  }
  return cells.value();
}

}  // namespace

lib::Result<VioNode, VioNodeError> ParseVioNode(const void* fdt, int node) {
  VioNode parsed;
  auto reg = lib::fdt::PropertyU32(fdt, node, "reg");
  if (reg.is_error()) return lib::Err(VioNodeError::kMalformed);
  parsed.unit_address = reg.value();
  auto address_cells = Cells(fdt, node, "ibm,#dma-address-cells", 2);
  auto size_cells = Cells(fdt, node, "ibm,#dma-size-cells", 2);
  if (address_cells.is_error() || size_cells.is_error()) {
    return lib::Err(VioNodeError::kMalformed);
  }
  auto window = lib::fdt::Property(fdt, node, "ibm,my-dma-window");
  if (window.is_error() ||
      window.value().size() != 4 * (1 + address_cells.value() + size_cells.value())) {
    return lib::Err(VioNodeError::kMalformed);
  }
  const uint8_t* cells = window.value().data();
  parsed.liobn = lib::LoadBe32(cells);
  parsed.window_base = lib::fdt::ReadCells(cells + 4, address_cells.value());
  parsed.window_size =
      lib::fdt::ReadCells(cells + 4 + 4 * address_cells.value(), size_cells.value());
  if (parsed.window_size == 0 || parsed.window_base % kVioPage != 0 ||
      parsed.window_base + parsed.window_size < parsed.window_base) {
    return lib::Err(VioNodeError::kMalformed);
  }
  if (fdt_get_path(fdt, node, parsed.path, sizeof(parsed.path)) != 0) {
    return lib::Err(VioNodeError::kMalformed);
  }
  return parsed;
}

}  // namespace dev
