#include "of/tree.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/string.h"

namespace of {

using lib::Err;
using lib::Ok;
using lib::Result;
using lib::StringView;
using lib::fdt::FromLibfdt;

namespace {

constexpr int kMaxDepth = 64;

// Bytes a property of `value_size` bytes adds to the structure block.
size_t PropertyBytes(size_t value_size) {
  return 12 + lib::AlignUp(value_size, 4);
}

StringView NodeName(const void* blob, int offset) {
  int length = 0;
  const char* name = fdt_get_name(blob, offset, &length);
  return name == nullptr ? StringView() : StringView(name, static_cast<size_t>(length));
}

StringView WithoutUnit(StringView name) {
  return name.Substr(0, name.Find('@'));
}

char LowerHex(char c) {
  return (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
}

// [IEEE 1275 4.3.1] a path component "name[@unit][:args]" against node name "name[@unit]": the
// unit address is compared with hex digits in lower case (VOF and SLOF accept upper case input).
bool ComponentMatches(StringView component, StringView node_name) {
  component = component.Substr(0, component.Find(':'));
  if (component.Find('@') == component.size()) return WithoutUnit(node_name) == component;
  if (component.size() != node_name.size()) return false;
  const size_t at = component.Find('@');
  for (size_t i = 0; i < component.size(); ++i) {
    const char c = i > at ? LowerHex(component[i]) : component[i];
    if (c != node_name[i]) return false;
  }
  return true;
}

// Copies node `offset` of `source` and its subtree into the sequential-write tree `out`, giving
// each node a phandle and a name when it has none.
int CopyNode(const void* source, int offset, void* out, Phandle& next_phandle, int depth) {
  if (depth > kMaxDepth) return -FDT_ERR_BADSTRUCTURE;
  const StringView name = NodeName(source, offset);
  char name_buffer[256];
  if (name.size() >= sizeof(name_buffer)) return -FDT_ERR_BADVALUE;
  lib::MemCopy(name_buffer, name.data(), name.size());
  name_buffer[name.size()] = '\0';
  if (int rc = fdt_begin_node(out, name_buffer); rc != 0) return rc;

  bool has_phandle = false;
  bool has_name = false;
  int property;
  fdt_for_each_property_offset(property, source, offset) {
    const char* property_name = nullptr;
    int length = 0;
    const void* value = fdt_getprop_by_offset(source, property, &property_name, &length);
    if (value == nullptr) return length;
    // libfdt returns the blob's 32-bit length as an int: 2^31 and more come back negative (found
    // by the boot_fdt fuzz target in a tree that passed its checks).
    if (length < 0) return -FDT_ERR_BADSTRUCTURE;
    if (lib::StrCompare(property_name, "phandle") == 0 ||
        lib::StrCompare(property_name, "linux,phandle") == 0) {
      has_phandle = true;  // fdt_get_phandle reads either
    }
    if (lib::StrCompare(property_name, "name") == 0) has_name = true;
    if (int rc = fdt_property(out, property_name, value, length); rc != 0) return rc;
  }
  if (!has_phandle) {
    if (int rc = fdt_property_u32(out, "phandle", ++next_phandle); rc != 0) return rc;
  }
  if (!has_name && depth > 0) {
    const StringView base = WithoutUnit(name);
    name_buffer[base.size()] = '\0';
    if (int rc = fdt_property(out, "name", name_buffer, static_cast<int>(base.size() + 1));
        rc != 0) {
      return rc;
    }
  }
  int child;
  fdt_for_each_subnode(child, source, offset) {
    if (int rc = CopyNode(source, child, out, next_phandle, depth + 1); rc != 0) return rc;
  }
  return fdt_end_node(out);
}

// Index entries Reindex allocates for `count` nodes: room for half as many again.
uint32_t IndexCapacity(uint32_t count) {
  return count + count / 2 + 16;
}

// The blob Init allocates for `source`: room for a phandle and a name on every node, then the
// slack. Sets `nodes` to the number of nodes.
size_t InitCapacity(const void* source, size_t slack, uint32_t& nodes) {
  size_t added = 64;
  nodes = 0;
  for (int node = 0; node >= 0; node = fdt_next_node(source, node, nullptr)) {
    added += PropertyBytes(4) + PropertyBytes(NodeName(source, node).size() + 1);
    ++nodes;
  }
  return lib::AlignUp(fdt_totalsize(source) + added + slack, 8);
}

}  // namespace

size_t Tree::InitFootprint(const void* source, size_t slack) {
  uint32_t nodes = 0;
  const size_t capacity = InitCapacity(source, slack, nodes);
  // Two index arrays, each 8-aligned.
  const size_t index = IndexCapacity(nodes) * (sizeof(NodeEntry) + sizeof(HandleEntry)) + 16;
  return capacity + 8 + index;
}

Result<void, FdtError> Tree::Init(const void* source, lib::Arena& arena, size_t slack) {
  arena_ = &arena;
  uint32_t max_phandle = 0;
  if (int rc = fdt_find_max_phandle(source, &max_phandle); rc != 0) return Err(FromLibfdt(rc));

  uint32_t nodes = 0;
  const size_t capacity = InitCapacity(source, slack, nodes);
  void* buffer = arena.Allocate(capacity, 8);
  if (buffer == nullptr) return Err(FdtError::kNoSpace);

  int rc = fdt_create(buffer, static_cast<int>(capacity));
  for (int i = 0; rc == 0 && i < fdt_num_mem_rsv(source); ++i) {
    uint64_t address = 0;
    uint64_t size = 0;
    rc = fdt_get_mem_rsv(source, i, &address, &size);
    if (rc == 0) rc = fdt_add_reservemap_entry(buffer, address, size);
  }
  if (rc == 0) rc = fdt_finish_reservemap(buffer);
  Phandle next_phandle = max_phandle;
  if (rc == 0) rc = CopyNode(source, 0, buffer, next_phandle, 0);
  if (rc == 0) rc = fdt_finish(buffer);
  if (rc == 0) rc = fdt_open_into(buffer, buffer, static_cast<int>(capacity));
  if (rc != 0) return Err(FromLibfdt(rc));
  fdt_set_boot_cpuid_phys(buffer, fdt_boot_cpuid_phys(source));

  blob_ = buffer;
  capacity_ = capacity;
  return Reindex();
}

Result<void, FdtError> Tree::Reindex() {
  uint32_t count = 0;
  for (int node = 0; node >= 0; node = fdt_next_node(blob_, node, nullptr)) ++count;
  if (count > index_capacity_) {
    const uint32_t capacity = IndexCapacity(count);
    auto* nodes = static_cast<NodeEntry*>(arena_->Allocate(capacity * sizeof(NodeEntry), 8));
    auto* handles = static_cast<HandleEntry*>(arena_->Allocate(capacity * sizeof(HandleEntry), 8));
    if (nodes == nullptr || handles == nullptr) return Err(FdtError::kNoSpace);
    nodes_ = nodes;
    handles_ = handles;
    index_capacity_ = capacity;
  }

  int last_at_depth[kMaxDepth + 1];
  int depth = 0;
  uint32_t n = 0;
  max_phandle_ = 0;
  // fdt_next_node stops with depth -1 once the walk leaves the root.
  for (int offset = 0; offset >= 0 && depth >= 0; offset = fdt_next_node(blob_, offset, &depth)) {
    if (depth > kMaxDepth) return Err(FdtError::kBadStructure);
    const Phandle phandle = fdt_get_phandle(blob_, offset);
    if (phandle == 0 || phandle == 0xffffffff) return Err(FdtError::kBadPhandle);
    NodeEntry& entry = nodes_[n];
    entry = NodeEntry{offset, phandle, depth == 0 ? -1 : last_at_depth[depth - 1], -1, -1};
    if (depth > 0) {
      NodeEntry& parent = nodes_[entry.parent];
      if (parent.first_child < 0) {
        parent.first_child = static_cast<int>(n);
      } else {
        // The previous node at this depth under the same parent is the elder sibling.
        const int elder = last_at_depth[depth];
        if (elder >= 0 && nodes_[elder].parent == entry.parent) {
          nodes_[elder].next_sibling = static_cast<int>(n);
        }
      }
    }
    last_at_depth[depth] = static_cast<int>(n);
    if (depth < kMaxDepth) last_at_depth[depth + 1] = -1;
    max_phandle_ = lib::Max(max_phandle_, phandle);

    // Insertion into the phandle-sorted list: phandles mostly grow in this order.
    uint32_t i = n;
    while (i > 0 && handles_[i - 1].phandle > phandle) {
      handles_[i] = handles_[i - 1];
      --i;
    }
    if (i > 0 && handles_[i - 1].phandle == phandle) return Err(FdtError::kBadPhandle);
    handles_[i] = HandleEntry{phandle, static_cast<int>(n)};
    ++n;
  }
  node_count_ = n;
  return Ok<FdtError>();
}

int Tree::IndexOf(Phandle node) const {
  uint32_t lo = 0;
  uint32_t hi = node_count_;
  while (lo < hi) {
    const uint32_t mid = (lo + hi) / 2;
    if (handles_[mid].phandle < node) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return (lo < node_count_ && handles_[lo].phandle == node) ? handles_[lo].index : -1;
}

int Tree::OffsetOf(Phandle node) const {
  const int index = IndexOf(node);
  return index < 0 ? -1 : nodes_[index].offset;
}

Phandle Tree::PhandleAt(int offset) const {
  for (uint32_t i = 0; i < node_count_; ++i) {
    if (nodes_[i].offset == offset) return nodes_[i].phandle;
  }
  return 0;
}

Phandle Tree::Peer(Phandle node) const {
  if (node == 0) return Root();
  const int index = IndexOf(node);
  if (index < 0 || nodes_[index].next_sibling < 0) return 0;
  return nodes_[nodes_[index].next_sibling].phandle;
}

Phandle Tree::Child(Phandle node) const {
  const int index = IndexOf(node);
  if (index < 0 || nodes_[index].first_child < 0) return 0;
  return nodes_[nodes_[index].first_child].phandle;
}

Phandle Tree::Parent(Phandle node) const {
  const int index = IndexOf(node);
  if (index < 0 || nodes_[index].parent < 0) return 0;
  return nodes_[nodes_[index].parent].phandle;
}

Phandle Tree::FindChild(Phandle parent, StringView name) const {
  for (Phandle child = Child(parent); child != 0; child = Peer(child)) {
    if (ComponentMatches(name, NodeName(blob_, OffsetOf(child)))) return child;
  }
  return 0;
}

Phandle Tree::FindDevice(StringView path) const {
  if (path.empty() || node_count_ == 0) return 0;
  Phandle node = Root();
  size_t position = 0;
  if (path[0] != '/') {
    // An alias names the start of the path [IEEE 1275 4.3.1].
    const size_t end = lib::Min(path.Find('/'), path.Find(':'));
    char alias[64];
    if (end >= sizeof(alias)) return 0;
    lib::MemCopy(alias, path.data(), end);
    alias[end] = '\0';
    const Phandle aliases = FindChild(Root(), "aliases");
    if (aliases == 0) return 0;
    auto target = GetProperty(aliases, alias);
    if (target.is_error()) return 0;
    const auto* text = reinterpret_cast<const char*>(target.value().data());
    const size_t length = lib::StrLengthMax(text, target.value().size());
    if (length == 0 || text[0] != '/' || length == target.value().size()) return 0;
    node = FindDevice(StringView(text, length));
    if (node == 0) return 0;
    // "alias:args": the arguments run to the next '/', where the path goes on below the alias.
    position = end < path.size() && path[end] == ':' ? path.Find('/', end) : end;
  }
  while (position < path.size()) {
    while (position < path.size() && path[position] == '/') ++position;
    if (position == path.size()) break;
    const size_t end = path.Find('/', position);
    node = FindChild(node, path.Substr(position, end - position));
    if (node == 0) return 0;
    position = end;
  }
  return node;
}

Result<lib::Span<const uint8_t>, FdtError> Tree::GetProperty(Phandle node, const char* name) const {
  const int offset = OffsetOf(node);
  if (offset < 0) return Err(FdtError::kBadPhandle);
  return lib::fdt::Property(blob_, offset, name);
}

Result<const char*, FdtError> Tree::NextPropertyName(Phandle node, const char* previous) const {
  const int offset = OffsetOf(node);
  if (offset < 0) return Err(FdtError::kBadPhandle);
  bool take_next = previous[0] == '\0';
  int property;
  fdt_for_each_property_offset(property, blob_, offset) {
    const char* name = nullptr;
    if (fdt_getprop_by_offset(blob_, property, &name, nullptr) == nullptr) {
      return Err(FdtError::kBadStructure);
    }
    if (take_next) return name;
    take_next = lib::StrCompare(name, previous) == 0;
  }
  return Err(FdtError::kNotFound);
}

Result<void, FdtError> Tree::Grow(size_t at_least) {
  const size_t capacity = lib::AlignUp(lib::Max(capacity_ * 2, capacity_ + at_least + 4096), 8);
  void* buffer = arena_->Allocate(capacity, 8);
  if (buffer == nullptr) return Err(FdtError::kNoSpace);
  if (int rc = fdt_open_into(blob_, buffer, static_cast<int>(capacity)); rc != 0) {
    return Err(FromLibfdt(rc));
  }
  blob_ = buffer;
  capacity_ = capacity;
  return Ok<FdtError>();
}

Result<void, FdtError> Tree::Reserve(size_t capacity, uint32_t nodes) {
  if (nodes > index_capacity_) {
    const uint32_t room = IndexCapacity(nodes);
    auto* entries = static_cast<NodeEntry*>(arena_->Allocate(room * sizeof(NodeEntry), 8));
    auto* handles = static_cast<HandleEntry*>(arena_->Allocate(room * sizeof(HandleEntry), 8));
    if (entries == nullptr || handles == nullptr) return Err(FdtError::kNoSpace);
    lib::MemCopy(entries, nodes_, node_count_ * sizeof(NodeEntry));
    lib::MemCopy(handles, handles_, node_count_ * sizeof(HandleEntry));
    nodes_ = entries;
    handles_ = handles;
    index_capacity_ = room;
  }
  // Offsets are relative to the structure block: moving the blob leaves the index valid.
  if (capacity > capacity_) TERN_TRY(Grow(capacity - capacity_));
  return Ok<FdtError>();
}

template <class Operation>
Result<void, FdtError> Tree::Modify(Operation operation, size_t needed) {
  // Room first, so that no operation can fail half-way for lack of space.
  // libfdt keeps a read-write tree's free space after the strings block.
  const size_t used = fdt_off_dt_strings(blob_) + fdt_size_dt_strings(blob_);
  const size_t free = capacity_ - used;
  if (free < needed + 64) TERN_TRY(Grow(needed + 64));
  if (const int rc = operation(); rc < 0) return Err(FromLibfdt(rc));
  return Reindex();
}

Result<void, FdtError> Tree::SetProperty(Phandle node, const char* name, const void* value,
                                         size_t size) {
  const int offset = OffsetOf(node);
  if (offset < 0) return Err(FdtError::kBadPhandle);
  // Handles are the index's keys: a node keeps its phandle. Writing the same value is allowed
  // (Linux's flattener and CAS answers do), anything else would break every reference to it.
  if (lib::StrCompare(name, "phandle") == 0 || lib::StrCompare(name, "linux,phandle") == 0 ||
      lib::StrCompare(name, "ibm,phandle") == 0) {
    if (size != 4 || lib::LoadBe32(value) != node) return Err(FdtError::kBadPhandle);
  }
  if (size > 0x7fffffff) return Err(FdtError::kBadValue);
  // A value of the existing length is written in place: no offset moves, so the index stands.
  // CAS answers rewrite every property, nearly all with the value they have; with thousands of
  // nodes a re-index per property would take minutes.
  int length = 0;
  if (void* current = fdt_getprop_w(blob_, offset, name, &length);
      current != nullptr && static_cast<size_t>(length) == size) {
    if (size > 0) lib::MemMove(current, value, size);
    return Ok<FdtError>();
  }
  return Modify([&] { return fdt_setprop(blob_, offset, name, value, static_cast<int>(size)); },
                PropertyBytes(size) + lib::StrLength(name) + 1);
}

Result<void, FdtError> Tree::DeleteProperty(Phandle node, const char* name) {
  const int offset = OffsetOf(node);
  if (offset < 0) return Err(FdtError::kBadPhandle);
  return Modify([&] { return fdt_delprop(blob_, offset, name); }, 0);
}

Result<Phandle, FdtError> Tree::AddNode(Phandle parent, const char* name, Phandle phandle) {
  const int parent_offset = OffsetOf(parent);
  if (parent_offset < 0) return Err(FdtError::kBadPhandle);
  if (phandle == 0) phandle = max_phandle_ + 1;
  if (IsValid(phandle) || phandle == 0xffffffff) return Err(FdtError::kBadPhandle);
  const StringView base = WithoutUnit(StringView(name));
  char base_name[256];
  if (base.size() >= sizeof(base_name)) return Err(FdtError::kBadValue);
  lib::MemCopy(base_name, base.data(), base.size());
  base_name[base.size()] = '\0';
  const size_t name_length = lib::StrLength(name);
  TERN_TRY(Modify(
      [&] {
        const int added = fdt_add_subnode(blob_, parent_offset, name);
        if (added < 0) return added;
        // The index requires a phandle on every node: add it in the same step.
        if (int rc = fdt_setprop_u32(blob_, added, "phandle", phandle); rc != 0) return rc;
        return fdt_setprop_string(blob_, added, "name", base_name);
      },
      lib::AlignUp(name_length + 1, 4) + 8 + PropertyBytes(4) + PropertyBytes(base.size() + 1)));
  return phandle;
}

Result<void, FdtError> Tree::DeleteNode(Phandle node) {
  const int index = IndexOf(node);
  if (index < 0) return Err(FdtError::kBadPhandle);
  if (index == 0) return Err(FdtError::kBadOffset);  // never the root
  return Modify([&] { return fdt_del_node(blob_, nodes_[index].offset); }, 0);
}

Result<size_t, FdtError> Tree::Path(Phandle node, char* buffer, size_t size) const {
  int index = IndexOf(node);
  if (index < 0) return Err(FdtError::kBadPhandle);
  int chain[kMaxDepth + 1];
  int depth = 0;
  for (; index > 0; index = nodes_[index].parent) chain[depth++] = index;
  size_t length = depth == 0 ? 1 : 0;
  for (int i = depth - 1; i >= 0; --i)
    length += 1 + NodeName(blob_, nodes_[chain[i]].offset).size();
  if (length + 1 <= size) {
    size_t position = 0;
    if (depth == 0) buffer[position++] = '/';
    for (int i = depth - 1; i >= 0; --i) {
      const StringView name = NodeName(blob_, nodes_[chain[i]].offset);
      buffer[position++] = '/';
      lib::MemCopy(buffer + position, name.data(), name.size());
      position += name.size();
    }
    buffer[position] = '\0';
  }
  return length;
}

Result<size_t, FdtError> Tree::Flatten(void* out, size_t size) const {
  if (int rc = fdt_open_into(blob_, out, static_cast<int>(lib::Min<size_t>(size, 0x7fffffff)));
      rc != 0) {
    return Err(FromLibfdt(rc));
  }
  if (int rc = fdt_pack(out); rc != 0) return Err(FromLibfdt(rc));
  return static_cast<size_t>(fdt_totalsize(out));
}

}  // namespace of
