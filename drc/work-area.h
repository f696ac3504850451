// The work area of ibm,configure-connector [LoPAPR 13.5.3.5]: the 4 KiB buffer the OS hands to
// every call of a sequence, and the same layout in the scratch page where tern replays the host's
// own walk. An answer's words come first, then the name and value they point at. This is QEMU's
// layout, which Linux reads (hw/ppc/spapr_drc.c: CC_IDX_NODE_NAME_OFFSET, CC_IDX_PROP_LEN,
// CC_IDX_PROP_DATA_OFFSET, CC_VAL_DATA_OFFSET, CC_WA_LEN; arch/powerpc/platforms/pseries/dlpar.c:
// dlpar_configure_connector). Big-endian, like every RTAS buffer; the OS's copy is read and
// written only through lib::GuestMemory, the host's with lib::LoadWire / lib::StoreWire.
#pragma once

#include "lib/be.h"
#include "lib/types.h"

namespace drc {

inline constexpr uint32_t kWorkAreaSize = 4096;

struct WorkAreaHead {
  lib::Be32 drc_index;     // word 0: the connector the sequence configures (the OS sets it)
  lib::Be32 cookie;        // word 1: 0 starts a sequence; every non-final answer writes the walk's
  lib::Be32 name_offset;   // word 2: of the NUL-terminated node or property name (answers 1-3)
  lib::Be32 value_length;  // word 3: bytes of the property's value (answer 3)
  lib::Be32 value_offset;  // word 4: of the property's value (answer 3)
};
static_assert(sizeof(WorkAreaHead) == 20);

// Where names and values go: right after the words (QEMU's CC_VAL_DATA_OFFSET). A node's name,
// NUL included, and a property's name followed by its value must end within kWorkAreaSize.
inline constexpr uint32_t kDataOffset = sizeof(WorkAreaHead);

// The byte offsets of the words an answer writes: an answer writes only the words it defines, and
// the OS's other bytes stay as they were.
inline constexpr uint32_t kDrcIndexAt = offsetof(WorkAreaHead, drc_index);
inline constexpr uint32_t kCookieAt = offsetof(WorkAreaHead, cookie);
inline constexpr uint32_t kNameOffsetAt = offsetof(WorkAreaHead, name_offset);
static_assert(kDrcIndexAt == 0 && kCookieAt == 4 && kNameOffsetAt == 8 &&
              offsetof(WorkAreaHead, value_length) == 12 &&
              offsetof(WorkAreaHead, value_offset) == 16);

}  // namespace drc
