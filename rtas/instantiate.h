// Building tern's RTAS area at the base the OS chose (instantiate-rtas [LoPAPR 7.2.1]): the boot
// firmware copies the RTAS image (rtas.bin) there, applies its relocations, fills in its
// configuration and builds an empty state region. Layout: rtas/layout.h.
#pragma once

#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "rtas/layout.h"

namespace rtas {

// The state region's data area: the configure-connector snapshots' room, shared by the walks in
// progress. 384 KiB hold a fetched fragment of drc::kMaxSnapshotSize (its blob and its records)
// beside another walk's replay of the same size.
inline constexpr uint32_t kStateDataSize = 384 * 1024;

enum class InstantiateError {
  kBadImage,      // rtas.bin's header or relocations are not usable
  kOutOfMemory,   // the area is not writable guest RAM
  kBadBase,       // not 4 KiB aligned
  kAreaTooLarge,  // the hypervisor's rtas-size leaves no 32-bit room for tern's image after it
};

const char* InstantiateErrorName(InstantiateError error);

// Where things go inside the area; a pure function of QEMU's rtas-size and the image.
struct AreaPlan {
  uint32_t host_size;  // QEMU's rtas-size, kept free for QEMU (FWNMI)
  uint32_t image_offset;
  uint32_t image_size;  // memory the image needs
  uint32_t state_offset;
  uint32_t state_size;
  uint32_t area_size;  // the rtas-size tern publishes
};

lib::Result<AreaPlan, InstantiateError> PlanArea(lib::Span<const uint8_t> image,
                                                 uint32_t host_rtas_size);

struct InstantiateInputs {
  lib::Span<const uint8_t> image;  // rtas.bin
  AreaPlan plan;
  uint64_t ram_top;  // RTAS blocks and buffers must lie below
  uint64_t console_unit;
  const uint32_t* tokens;  // per Services() row, QEMU's token or 0
  uint32_t token_count;
  uint64_t timebase_frequency;  // for the entry lock's timeout
  uint64_t host_features;       // rtas::kHost* bits
};

// Builds the area at `base` and returns the entry point (an address inside the image).
lib::Result<uint64_t, InstantiateError> Instantiate(lib::GuestMemory& memory, uint64_t base,
                                                    const InstantiateInputs& inputs,
                                                    uint32_t instantiations);

}  // namespace rtas
