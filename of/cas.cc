#include "of/cas.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/string.h"

namespace of {

using lib::Err;
using lib::Ok;
using lib::Result;

const char* CasErrorName(CasError error) {
  switch (error) {
    case CasError::kUnreadable: return "vector outside guest memory";
    case CasError::kPvrListTooLong: return "PVR list not terminated within 512 entries";
    case CasError::kMissingVector: return "option vector 1 or 5 missing";
    case CasError::kMmuBoth: return "OV5 requests hash and radix MMU together";
    case CasError::kInterruptBoth: return "OV5 requests both interrupt modes together";
    case CasError::kInterruptMode: return "OV5 requests an interrupt mode the platform lacks";
    case CasError::kBadAnswer: return "the hypervisor's CAS answer is not a valid tree";
    case CasError::kMerge: return "the CAS answer could not be merged";
    case CasError::kNoRoom: return "no memory to merge the CAS answer in";
  }
  return "CAS error";
}

namespace {

constexpr uint32_t kMaxPvrEntries = 512;  // QEMU's cas_check_pvr bound
constexpr uint8_t kOv5Both = 0x80;        // OV_BIT(n, 0): "both" in bytes 23 and 24
constexpr uint8_t kOv5Exploit = 0x40;     // OV_BIT(23, 1) XIVE exploitation / (24, 1) radix

Result<uint8_t, CasError> ReadByte(const lib::GuestMemory& memory, uint64_t address) {
  uint8_t value = 0;
  if (memory.Read(address, &value, 1).is_error()) return Err(CasError::kUnreadable);
  return value;
}

// The platform's value for OV5 byte `index`, or -1 when it publishes none.
int PlatformSupport(lib::Span<const uint8_t> pairs, uint8_t index) {
  for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
    if (pairs[i] == index) return pairs[i + 1];
  }
  return -1;
}

}  // namespace

Result<CasVectorInfo, CasError> CheckCasVector(const lib::GuestMemory& memory, uint64_t address,
                                               lib::Span<const uint8_t> platform_support) {
  CasVectorInfo info;
  uint64_t cursor = address;
  for (;;) {
    uint8_t entry[8];
    if (memory.Read(cursor, entry, sizeof(entry)).is_error()) return Err(CasError::kUnreadable);
    cursor += 8;
    ++info.pvr_entries;
    const uint32_t mask = lib::LoadBe32(entry);
    const uint32_t value = lib::LoadBe32(entry + 4);
    if ((~mask & value) != 0) break;
    if (info.pvr_entries == kMaxPvrEntries) return Err(CasError::kPvrListTooLong);
  }

  auto count = ReadByte(memory, cursor++);
  if (count.is_error()) return Err(count.error());
  info.vectors = count.value() + 1u;
  bool have_ov1 = false;
  bool have_ov5 = false;
  for (uint32_t vector = 1; vector <= info.vectors; ++vector) {
    auto length_byte = ReadByte(memory, cursor);
    if (length_byte.is_error()) return Err(length_byte.error());
    const uint32_t length = length_byte.value() + 1u;  // the bytes after the length byte
    if (!memory.Contains(cursor, 1 + length)) return Err(CasError::kUnreadable);
    if (vector == 1) have_ov1 = true;
    if (vector == 5) {
      have_ov5 = true;
      if (length >= 23) info.ov5_interrupt = ReadByte(memory, cursor + 23).value();
      if (length >= 24) info.ov5_mmu = ReadByte(memory, cursor + 24).value();
    }
    cursor += 1 + length;
  }
  info.size = cursor - address;
  if (!have_ov1 || !have_ov5) return Err(CasError::kMissingVector);

  if (info.ov5_mmu & kOv5Both) return Err(CasError::kMmuBoth);
  if (info.ov5_interrupt & kOv5Both) return Err(CasError::kInterruptBoth);
  // Platform support for byte 23: 0x00 XICS only, 0x40 XIVE only, 0x80 either.
  const int interrupt_support = PlatformSupport(platform_support, 23);
  const bool wants_xive = (info.ov5_interrupt & kOv5Exploit) != 0;
  if ((interrupt_support == 0x00 && wants_xive) || (interrupt_support == 0x40 && !wants_xive)) {
    return Err(CasError::kInterruptMode);
  }
  return info;
}

namespace {

constexpr int kMaxRemaps = 32;
// Room the trial copy gets beyond the update's size: it seldom has to grow.
constexpr size_t kTrialSlack = 64 * 1024;
constexpr uint64_t kScratchAlign = 4096;

struct Remap {
  Phandle from;
  Phandle to;
};

struct MergeState {
  Tree& tree;
  const void* update;
  Remap remaps[kMaxRemaps];
  int remap_count;
  CasMerge::Needs* needs;  // noted when not null (CasMerge::Try)
};

// Bytes of `blob` in use, as Tree::Modify counts them: a read-write tree keeps its free space
// after the strings block.
size_t UsedBytes(const void* blob) {
  return fdt_off_dt_strings(blob) + fdt_size_dt_strings(blob);
}

// What Tree::Modify wants free beyond a change's estimate (of/tree.cc: 64 bytes), and as much
// again, so that a small change of those estimates cannot make CasMerge::Commit short.
constexpr size_t kModifyMargin = 128;

// Notes what the change about to be made to state.tree asks Tree::Modify for: `estimate` bytes
// free (Tree's estimate of the change, of/tree.cc) on top of what is in use.
void NoteChange(MergeState& state, size_t estimate) {
  if (state.needs == nullptr) return;
  state.needs->capacity =
      lib::Max(state.needs->capacity, UsedBytes(state.tree.blob()) + estimate + kModifyMargin);
}

// Tree::SetProperty's estimate: none when the value keeps its length (written in place).
void NoteSetProperty(MergeState& state, Phandle node, const char* name, size_t size) {
  auto current = state.tree.GetProperty(node, name);
  if (current.is_ok() && current.value().size() == size) return;
  NoteChange(state, 12 + lib::AlignUp(size, 4) + lib::StrLength(name) + 1);
}

// Tree::AddNode's estimate: the node, its phandle and its name.
void NoteAddNode(MergeState& state, lib::StringView name) {
  const size_t base = name.Substr(0, name.Find('@')).size();
  NoteChange(state, lib::AlignUp(name.size() + 1, 4) + 8 + 16 + 12 + lib::AlignUp(base + 1, 4));
}

void NoteNodes(MergeState& state) {
  if (state.needs != nullptr) {
    state.needs->nodes = lib::Max(state.needs->nodes, state.tree.node_count());
  }
}

// A failed change of the tree: kNoRoom when the arena ran out.
CasError TreeError(FdtError error) {
  return error == FdtError::kNoSpace ? CasError::kNoRoom : CasError::kMerge;
}

lib::StringView OffsetName(const void* blob, int offset) {
  int length = 0;
  const char* name = fdt_get_name(blob, offset, &length);
  return name == nullptr ? lib::StringView() : lib::StringView(name, static_cast<size_t>(length));
}

bool ExactChildExists(const void* blob, int parent, lib::StringView name) {
  int child;
  fdt_for_each_subnode(child, blob, parent) {
    if (OffsetName(blob, child) == name) return true;
  }
  return false;
}

Phandle ExactChild(const Tree& tree, Phandle parent, lib::StringView name) {
  for (Phandle child = tree.Child(parent); child != 0; child = tree.Peer(child)) {
    if (OffsetName(tree.blob(), tree.OffsetOf(child)) == name) return child;
  }
  return 0;
}

bool IsChosen(const Tree& tree, Phandle node) {
  return tree.Parent(node) == tree.Root() &&
         OffsetName(tree.blob(), tree.OffsetOf(node)) == lib::StringView("chosen");
}

Result<void, CasError> CopyProperties(MergeState& state, Phandle node, int source) {
  int property;
  fdt_for_each_property_offset(property, state.update, source) {
    const char* name = nullptr;
    int length = 0;
    const void* value = fdt_getprop_by_offset(state.update, property, &name, &length);
    if (value == nullptr) return Err(CasError::kBadAnswer);
    // The live tree's phandle stands; a linux,phandle is copied only when it agrees with it.
    if (lib::StrCompare(name, "phandle") == 0) continue;
    if (lib::StrCompare(name, "linux,phandle") == 0 &&
        (length != 4 || lib::LoadBe32(value) != node)) {
      continue;
    }
    uint8_t remapped[4];
    if (lib::StrCompare(name, "interrupt-parent") == 0 && length == 4) {
      const Phandle target = lib::LoadBe32(value);
      for (int i = 0; i < state.remap_count; ++i) {
        if (state.remaps[i].from == target) {
          lib::StoreBe32(remapped, state.remaps[i].to);
          value = remapped;
        }
      }
    }
    NoteSetProperty(state, node, name, static_cast<size_t>(length));
    if (auto set = state.tree.SetProperty(node, name, value, static_cast<size_t>(length));
        set.is_error()) {
      return Err(TreeError(set.error()));
    }
  }
  return Ok<CasError>();
}

// First pass: the shape of the tree. Nodes that vanished go (their phandles become free), new
// nodes are added, and every phandle the update uses under another value is recorded, so that
// the second pass can remap references anywhere in the tree.
Result<void, CasError> MergeStructure(MergeState& state, Phandle node, int source, int depth) {
  if (depth > 64) return Err(CasError::kBadAnswer);
  Tree& tree = state.tree;
  if (!IsChosen(tree, node)) {
    for (Phandle child = tree.Child(node); child != 0;) {
      const Phandle next = tree.Peer(child);
      if (!IsChosen(tree, child) &&
          !ExactChildExists(state.update, source, OffsetName(tree.blob(), tree.OffsetOf(child)))) {
        NoteChange(state, 0);
        if (auto deleted = tree.DeleteNode(child); deleted.is_error()) {
          return Err(TreeError(deleted.error()));
        }
      }
      child = next;
    }
  }
  int child_offset;
  fdt_for_each_subnode(child_offset, state.update, source) {
    const lib::StringView name = OffsetName(state.update, child_offset);
    Phandle child = ExactChild(tree, node, name);
    if (child == 0) {
      char terminated[256];
      if (name.size() >= sizeof(terminated)) return Err(CasError::kBadAnswer);
      lib::MemCopy(terminated, name.data(), name.size());
      terminated[name.size()] = '\0';
      const Phandle wanted = fdt_get_phandle(state.update, child_offset);
      const bool free = wanted != 0 && wanted != 0xffffffff && !tree.IsValid(wanted);
      NoteAddNode(state, name);
      auto added = tree.AddNode(node, terminated, free ? wanted : 0);
      if (added.is_error()) return Err(TreeError(added.error()));
      NoteNodes(state);
      child = added.value();
      if (wanted != 0 && !free) {
        if (state.remap_count == kMaxRemaps) return Err(CasError::kMerge);
        state.remaps[state.remap_count++] = Remap{wanted, child};
      }
    }
    TERN_TRY(MergeStructure(state, child, child_offset, depth + 1));
  }
  return Ok<CasError>();
}

// Second pass: every property of the update, on the node of the same path.
Result<void, CasError> MergeProperties(MergeState& state, Phandle node, int source, int depth) {
  if (depth > 64) return Err(CasError::kBadAnswer);
  TERN_TRY(CopyProperties(state, node, source));
  int child_offset;
  fdt_for_each_subnode(child_offset, state.update, source) {
    const Phandle child = ExactChild(state.tree, node, OffsetName(state.update, child_offset));
    if (child == 0) return Err(CasError::kMerge);
    TERN_TRY(MergeProperties(state, child, child_offset, depth + 1));
  }
  return Ok<CasError>();
}

// Records the phandles of update nodes that already exist in the live tree under another value.
void CollectRemaps(MergeState& state, Phandle node, int source) {
  int child_offset;
  fdt_for_each_subnode(child_offset, state.update, source) {
    const Phandle child = ExactChild(state.tree, node, OffsetName(state.update, child_offset));
    if (child == 0) continue;
    const Phandle wanted = fdt_get_phandle(state.update, child_offset);
    if (wanted != 0 && wanted != child && state.remap_count < kMaxRemaps) {
      state.remaps[state.remap_count++] = Remap{wanted, child};
    }
    CollectRemaps(state, child, child_offset);
  }
}

Result<void, CasError> Merge(Tree& tree, const void* update, CasMerge::Needs* needs) {
  // The root's #address-cells and #size-cells describe /memory@0's reg, which tern rewrites
  // (available) after the merge: an answer must keep them within what boot accepted (1 or 2;
  // of/machine-info.cc ReadMemory).
  const char* const kRootCells[] = {"#address-cells", "#size-cells"};
  for (const char* cells : kRootCells) {
    if (!lib::fdt::HasProperty(update, 0, cells)) continue;
    auto value = lib::fdt::PropertyU32(update, 0, cells);
    if (value.is_error() || value.value() < 1 || value.value() > 2) {
      return Err(CasError::kBadAnswer);
    }
  }
  MergeState state{tree, update, {}, 0, needs};
  NoteNodes(state);
  CollectRemaps(state, tree.Root(), 0);
  TERN_TRY(MergeStructure(state, tree.Root(), 0, 0));
  return MergeProperties(state, tree.Root(), 0, 0);
}

}  // namespace

Result<void, CasError> MergeCasTree(Tree& tree, const void* update) {
  return Merge(tree, update, nullptr);
}

uint64_t CasMerge::ScratchBytes(const Tree& tree, const void* update) {
  return 3 * uint64_t{Tree::InitFootprint(tree.blob(), fdt_totalsize(update) + kTrialSlack)};
}

CasMerge::~CasMerge() {
  if (scratch_range_.size != 0) (void)claims_.Release(scratch_range_.start, scratch_range_.size);
}

Result<void, CasError> CasMerge::Try(const void* update) {
  tried_ = false;
  if (scratch_range_.size == 0) {
    const uint64_t size = lib::AlignUp(ScratchBytes(live_, update), kScratchAlign);
    auto claimed = claims_.Claim(0, size, kScratchAlign);
    if (claimed.is_error()) return Err(CasError::kNoRoom);
    scratch_range_ = MemoryRange{claimed.value(), size};
    auto mapped = memory_.Map(claimed.value(), size, true);
    if (mapped.is_error()) return Err(CasError::kNoRoom);
    scratch_ = lib::Span<uint8_t>(mapped.value(), size);
  }
  arena_ = lib::Arena(reinterpret_cast<uintptr_t>(scratch_.data()),
                      reinterpret_cast<uintptr_t>(scratch_.data()) + scratch_.size());
  if (trial_.Init(live_.blob(), arena_, fdt_totalsize(update) + kTrialSlack).is_error()) {
    return Err(CasError::kNoRoom);
  }
  trial_start_used_ = UsedBytes(trial_.blob());
  needs_ = Needs{};
  TERN_TRY(Merge(trial_, update, &needs_));
  tried_ = true;
  return Ok<CasError>();
}

Result<void, CasError> CasMerge::Commit(const void* update) {
  if (!tried_) return Err(CasError::kMerge);
  // The live blob may be larger than the copy by strings no property uses any more (libfdt
  // never removes one; the copy has none), never smaller, and stays so through the merge: a
  // string the merge adds to the live tree it adds to the copy too.
  const size_t used = UsedBytes(live_.blob());
  const size_t unused_strings = used > trial_start_used_ ? used - trial_start_used_ : 0;
  if (live_.Reserve(needs_.capacity + unused_strings, needs_.nodes).is_error()) {
    return Err(CasError::kNoRoom);
  }
  return Merge(live_, update, nullptr);
}

bool KeepsRtasSize(const Tree& merged, const rtas::InstantiateInputs* rtas) {
  if (rtas == nullptr) return true;
  const Phandle node = merged.FindDevice("/rtas");
  if (node == 0) return false;
  auto size = lib::fdt::PropertyU32(merged.blob(), merged.OffsetOf(node), "rtas-size");
  if (size.is_error()) return false;
  if (size.value() == rtas->plan.area_size) return true;  // tern's own, published before
  // The area keeps the hypervisor's range below tern's image; rtas::PlanArea refuses a size
  // that leaves no room for it below 4 GiB.
  return rtas::PlanArea(rtas->image, size.value()).is_ok();
}

}  // namespace of
