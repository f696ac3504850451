// What every VIO device under /vdevice has [LoPAPR 16, "Virtualized Input/Output"]: the unit
// address its hcalls name and the DMA window its partner reaches guest memory through. QEMU
// builds the nodes in hw/ppc/spapr_vio.c: vio_make_devnode (`reg`, `ibm,my-dma-window` = <LIOBN,
// window base, window size> in `ibm,#dma-address-cells` / `ibm,#dma-size-cells` cells; a 256 MiB
// window at bus address 0 for v-scsi and l-lan). Every address such a device reads or writes is an
// I/O bus address in that window, mapped to a real page with H_PUT_TCE (lib/hv.h: PutTce): QEMU
// translates it through the unit's TCE table (hw/ppc/spapr_iommu.c) unless the QEMU-only RTAS
// call ibm,set-tce-bypass turned that off, which tern never calls.
#pragma once

#include "lib/result.h"
#include "lib/types.h"

namespace dev {

inline constexpr size_t kVioPathMax = 64;
inline constexpr uint64_t kVioPage = 4096;  // a TCE maps one 4 KiB page [LoPAPR 14.5.4.2.2]

struct VioNode {
  uint32_t unit_address = 0;  // reg: the unit the device's hcalls name
  uint32_t liobn = 0;         // the TCE table H_PUT_TCE names
  uint64_t window_base = 0;   // I/O bus addresses [window_base, window_base + window_size)
  uint64_t window_size = 0;
  char path[kVioPathMax] = {};  // "/vdevice/v-scsi@71000003"
};

enum class VioNodeError {
  kMalformed,  // reg or ibm,my-dma-window missing or malformed, or a path too long
};

// Reads node `node` of `fdt`: reg (one cell), ibm,my-dma-window (LIOBN, then the base and the size
// in ibm,#dma-address-cells / ibm,#dma-size-cells cells, 2 each when absent; 1 or 2); the window
// must be page-aligned, not empty, and not wrap.
lib::Result<VioNode, VioNodeError> ParseVioNode(const void* fdt, int node);

}  // namespace dev
