// ibm,client-architecture-support: checking the OS's vector before the hypervisor sees it, and
// merging the tree the hypervisor answers with into the live tree.
//
// QEMU terminates the whole VM on some malformed or contradictory vectors instead of returning an
// error (QEMU hw/ppc/spapr_hcall.c: do_client_architecture_support exits on, for example, a
// buffer under 4 bytes or an OV5 asking for both hash and radix), so the firmware refuses those
// itself.
#pragma once

#include "lib/arena.h"
#include "lib/guest-memory.h"
#include "lib/result.h"
#include "of/claims.h"
#include "of/tree.h"
#include "rtas/instantiate.h"

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
  kNoRoom,          // no memory to try the merge in, or for the live tree to grow into
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
// or 2 is kBadAnswer, refused before anything changes; any other failure (a node name libfdt
// will not add next to its sibling, a phandle property, more than 32 remapped phandles, no room)
// leaves `tree` part merged: CasMerge is the all-or-nothing form.
lib::Result<void, CasError> MergeCasTree(Tree& tree, const void* update);

// A CAS answer merged into the live tree all or nothing: the client interface refuses an answer
// (ret -1) only with the tree exactly as it was, since the OS then boots on it.
//
// Try merges the answer into a copy of the tree in scratch memory it claims from the client's
// (and releases when the CasMerge goes): every way the merge can fail fails there, and the
// caller checks the result (merged()) for what it needs from it. Commit then merges the same
// answer into the live tree, which does exactly what it did to the copy, with one difference:
// the live tree grows in the firmware's arena, which may run out. So Commit first makes the
// live tree's blob and index as large as the trial showed the merge will need (Tree::Reserve);
// when the arena cannot give that, the tree is as it was and Commit is kNoRoom. The merge itself
// then allocates nothing and cannot fail.
class CasMerge {
 public:
  // Scratch bytes Try claims for `tree` and `update`: a copy of the tree with room for all the
  // update could add, and one doubling of it all the same.
  static uint64_t ScratchBytes(const Tree& tree, const void* update);

  CasMerge(Tree& tree, ClaimMap& claims, lib::GuestMemory& memory)
      : live_(tree), claims_(claims), memory_(memory) {}
  ~CasMerge();
  CasMerge(const CasMerge&) = delete;
  CasMerge& operator=(const CasMerge&) = delete;

  // Merges `update` (a validated FDT) into a copy of the tree; the live tree is not touched.
  // kNoRoom when the scratch memory cannot be claimed or is too small.
  lib::Result<void, CasError> Try(const void* update);
  // The copy as the merge left it, after Try succeeded.
  const Tree& merged() const { return trial_; }
  // Merges `update`, the one Try merged, into the live tree (see above); kMerge without a
  // successful Try.
  lib::Result<void, CasError> Commit(const void* update);

  // What a merge needed of the tree it changed (of/cas.cc NoteChange): the blob capacity each
  // change asked for at most (the bytes in use before it plus what Tree::Modify wants free),
  // and the most nodes the tree had.
  struct Needs {
    size_t capacity = 0;
    uint32_t nodes = 0;
  };

 private:
  Tree& live_;
  ClaimMap& claims_;
  lib::GuestMemory& memory_;
  MemoryRange scratch_range_ = {0, 0};  // claimed by Try, released by the destructor
  lib::Span<uint8_t> scratch_;
  lib::Arena arena_;
  Tree trial_;
  Needs needs_;
  size_t trial_start_used_ = 0;  // the copy's blob bytes in use before the merge
  bool tried_ = false;
};

// Whether `merged` still has what the client interface publishes after CAS
// (ClientInterface::PublishRtasSize): /rtas rtas-size, one cell tern can plan its RTAS area
// around, past the hypervisor's range. True when there is no RTAS to publish (`rtas` null).
bool KeepsRtasSize(const Tree& merged, const rtas::InstantiateInputs* rtas);

}  // namespace of
