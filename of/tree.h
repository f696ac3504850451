// The firmware's live device tree: a flattened tree (libfdt format) in firmware memory that the
// client interface reads and modifies, plus an index that makes handle look-ups cheap.
//
// Built from the hypervisor's FDT by Tree::Init, which gives every node a `phandle` (QEMU's own
// values are kept, the rest are numbered from the highest one up in depth-first order, as VOF
// does) and a `name` (the node name without its unit address) [IEEE 1275 3.2.2.1]. Properties can
// be created, replaced and grown; the blob moves to a larger arena buffer when it is full.
//
// Handles are phandles. Node offsets change with every modification; phandles do not.
#pragma once

#include "lib/arena.h"
#include "lib/fdt.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace of {

using lib::fdt::FdtError;
using Phandle = uint32_t;

class Tree {
 public:
  constexpr Tree() = default;

  // Copies `blob` (already validated with lib::fdt::CheckBlob) into memory from `arena`, adding
  // phandle and name properties, with `slack` bytes of room to grow.
  lib::Result<void, FdtError> Init(const void* blob, lib::Arena& arena, size_t slack);
  // Bytes Init(blob, arena, slack) takes from `arena`: the copy with its additions and slack, and
  // the node index (alignment included). Growing the tree later takes more.
  static size_t InitFootprint(const void* blob, size_t slack);

  const void* blob() const { return blob_; }
  size_t capacity() const { return capacity_; }
  uint32_t node_count() const { return node_count_; }

  Phandle Root() const { return node_count_ > 0 ? nodes_[0].phandle : 0; }
  bool IsValid(Phandle node) const { return IndexOf(node) >= 0; }
  // Node offset of `node` in blob(), or -1. Valid until the next modification.
  int OffsetOf(Phandle node) const;
  Phandle PhandleAt(int offset) const;

  // Relatives; 0 at the end of a list or for an unknown handle [IEEE 1275 6.3.2.2].
  Phandle Peer(Phandle node) const;
  Phandle Child(Phandle node) const;
  Phandle Parent(Phandle node) const;

  // The node at `path` ("/a/b@1", unit addresses optional and matched case-insensitively as
  // lower-case hex, an /aliases name as the first component), or 0.
  Phandle FindDevice(lib::StringView path) const;
  Phandle FindChild(Phandle parent, lib::StringView name) const;

  lib::Result<lib::Span<const uint8_t>, FdtError> GetProperty(Phandle node, const char* name) const;
  // The property after `previous` ("" for the first); kNotFound after the last.
  lib::Result<const char*, FdtError> NextPropertyName(Phandle node, const char* previous) const;
  lib::Result<void, FdtError> SetProperty(Phandle node, const char* name, const void* value,
                                          size_t size);
  lib::Result<void, FdtError> DeleteProperty(Phandle node, const char* name);

  // Adds child `name` ("n@unit") of `parent` with the given phandle (0: a new one).
  lib::Result<Phandle, FdtError> AddNode(Phandle parent, const char* name, Phandle phandle);
  // Removes `node` and its whole subtree.
  lib::Result<void, FdtError> DeleteNode(Phandle node);

  // Writes the full path of `node` into `buffer` (NUL-terminated when it fits) and returns the
  // path's length without the NUL, even when it did not fit.
  lib::Result<size_t, FdtError> Path(Phandle node, char* buffer, size_t size) const;

  // Makes the blob `capacity` bytes at least and the index room for `nodes` nodes, so that
  // changes that fit allocate nothing (they cannot then fail for want of memory). kNoSpace when
  // the arena cannot give that; the tree is then as it was.
  lib::Result<void, FdtError> Reserve(size_t capacity, uint32_t nodes);

  // Writes a packed copy of the tree into `out`; returns its size.
  lib::Result<size_t, FdtError> Flatten(void* out, size_t size) const;

  Phandle max_phandle() const { return max_phandle_; }

 private:
  struct NodeEntry {
    int offset;
    Phandle phandle;
    int parent;        // index, -1 for the root
    int first_child;   // index or -1
    int next_sibling;  // index or -1
  };
  struct HandleEntry {
    Phandle phandle;
    int index;
  };

  int IndexOf(Phandle node) const;
  lib::Result<void, FdtError> Reindex();
  lib::Result<void, FdtError> Grow(size_t at_least);
  // Runs a libfdt modification, growing the blob and retrying once on FDT_ERR_NOSPACE.
  template <class Operation>
  lib::Result<void, FdtError> Modify(Operation operation, size_t needed);

  void* blob_ = nullptr;
  size_t capacity_ = 0;
  lib::Arena* arena_ = nullptr;
  NodeEntry* nodes_ = nullptr;
  HandleEntry* handles_ = nullptr;  // sorted by phandle
  uint32_t node_count_ = 0;
  uint32_t index_capacity_ = 0;
  Phandle max_phandle_ = 0;
};

}  // namespace of
