// Converting a flattened device-tree fragment (a whole FDT blob, as a host that implements
// KVMPPC_H_DRC_FDT returns it, docs/host-abi.md) into the snapshot records of drc/walk-slot.h.
// A small self-contained FDT reader: the RTAS image carries no libfdt.
#pragma once

#include "lib/result.h"
#include "lib/types.h"

namespace drc {

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
