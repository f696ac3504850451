// Converting a flattened device-tree fragment (a whole FDT blob, as a host that implements
// KVMPPC_H_DRC_FDT returns it, docs/host-abi.md) into the snapshot records of drc/walk-slot.h.
// A small self-contained FDT reader: the RTAS image carries no libfdt.
#pragma once

#include "lib/be.h"
#include "lib/result.h"
#include "lib/types.h"

namespace drc {

// The header of a flattened device tree [Devicetree Specification v0.4, 5.2 "Header"]: ten
// big-endian words at the blob's start, read with lib::LoadWire (the blob may lie at any address).
struct FdtHeader {
  lib::Be32 magic;              // kFdtMagic
  lib::Be32 totalsize;          // bytes of the blob, header included
  lib::Be32 off_dt_struct;      // the structure block's offset in the blob (4-aligned)
  lib::Be32 off_dt_strings;     // the strings block's offset in the blob
  lib::Be32 off_mem_rsvmap;     // the memory reservation block's (ignored)
  lib::Be32 version;            // ignored: the tokens read are the same in versions 16 and 17
  lib::Be32 last_comp_version;  // ignored
  lib::Be32 boot_cpuid_phys;    // ignored
  lib::Be32 size_dt_strings;    // bytes of the strings block
  lib::Be32 size_dt_struct;     // bytes of the structure block
};
static_assert(sizeof(FdtHeader) == 40);

inline constexpr uint32_t kFdtMagic = 0xd00dfeed;

enum class FragmentError {
  kMalformed,         // not a valid FDT, or not exactly one top-level node
  kTooLarge,          // the records do not fit the output
  kPropertyTooLarge,  // a property does not fit the OS's 4 KiB work area after its name
  kNameTooLarge,      // a node's name does not fit the OS's 4 KiB work area
};

const char* FragmentErrorName(FragmentError error);

// Writes the records for the tree in `fdt` (`size` bytes) to `out`; returns their size. Every
// record fits the OS's work area where the walk copies it (drc/work-area.h: from kDataOffset on, a
// node's name; a property's name, then its value).
lib::Result<uint32_t, FragmentError> FdtToRecords(const uint8_t* fdt, uint32_t size, uint8_t* out,
                                                  uint32_t capacity);

}  // namespace drc
