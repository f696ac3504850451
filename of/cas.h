// ibm,client-architecture-support: checking the OS's vector before the hypervisor sees it, and
// merging the tree the hypervisor answers with into the live tree.
//
// QEMU terminates the whole VM on some malformed or contradictory vectors instead of returning an
// error (QEMU hw/ppc/spapr_hcall.c: do_client_architecture_support exits on, for example, a
// buffer under 4 bytes or an OV5 asking for both hash and radix), so the firmware refuses those
// itself.
#pragma once

#include "lib/guest-memory.h"
#include "lib/result.h"
#include "of/tree.h"

namespace of {

enum class CasError {
  kUnreadable,      // the vector leaves guest RAM
  kPvrListTooLong,  // no terminating PVR entry within 512
  kMissingVector,   // option vector 1 or 5 absent
  kMmuBoth,         // OV5 asks for hash and radix at once
  kInterruptBoth,   // OV5 asks for both interrupt-controller modes at once
  kInterruptMode,   // OV5's interrupt mode is one the platform does not offer
  kBadAnswer,       // the hypervisor's answer is not a valid update
  kMerge,           // the live tree could not take the update
};

const char* CasErrorName(CasError error);

struct CasVectorInfo {
  uint64_t size = 0;          // bytes from the start of the PVR list to the end of the last vector
  uint32_t pvr_entries = 0;   // including the terminator
  uint32_t vectors = 0;       // as declared in the table (number - 1 + 1)
  uint8_t ov5_interrupt = 0;  // OV5 byte 23
  uint8_t ov5_mmu = 0;        // OV5 byte 24
};

// Checks the vector at `address` [LoPAPR B.5.2]: PVR mask/value pairs ending with an entry whose
// value has a bit outside its mask (QEMU's rule), then the option-vector table (count - 1, then
// per vector its length - 1 and the bytes). `platform_support` is /chosen
// ibm,arch-vec-5-platform-support ((index, value) byte pairs), empty when absent.
lib::Result<CasVectorInfo, CasError> CheckCasVector(const lib::GuestMemory& memory,
                                                    uint64_t address,
                                                    lib::Span<const uint8_t> platform_support);

// Merges `update` (a validated FDT) into `tree` like SLOF, in two passes: first the shape (nodes
// absent from the update are removed, the firmware's /chosen is kept whole; nodes new in it are
// added with the hypervisor's phandle when that is free), then every property of the update; a
// phandle the update uses for another node than tern's is remapped in interrupt-parent
// properties anywhere in the tree. An update whose root #address-cells or #size-cells is not 1
// or 2 is kBadAnswer, refused before anything changes.
lib::Result<void, CasError> MergeCasTree(Tree& tree, const void* update);

}  // namespace of
