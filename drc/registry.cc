#include "drc/registry.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/string.h"

namespace drc {

using lib::Err;
using lib::Result;
using lib::StringView;
using lib::fdt::FdtError;

namespace {

// A property that starts with a u32 count.
struct Counted {
  const uint8_t* data = nullptr;
  size_t size = 0;
  uint32_t count = 0;
};

Result<Counted, FdtError> ReadCounted(const void* blob, int node, const char* name) {
  auto value = lib::fdt::Property(blob, node, name);
  if (value.is_error()) return Err(value.error());
  if (value.value().size() < 4) return Err(FdtError::kBadPropertyLength);
  return Counted{value.value().data() + 4, value.value().size() - 4,
                 lib::LoadBe32(value.value().data())};
}

// The next NUL-terminated string at `at` of `list`.
Result<StringView, FdtError> NextString(const Counted& list, size_t& at) {
  if (at >= list.size) return Err(FdtError::kBadPropertyLength);
  const auto* text = reinterpret_cast<const char*>(list.data + at);
  const size_t length = lib::StrLengthMax(text, list.size - at);
  if (at + length == list.size) return Err(FdtError::kBadString);
  at += length + 1;
  return StringView(text, length);
}

Result<size_t, FdtError> ReadArrays(const void* blob, int node, DrcVisitor visit, void* context) {
  auto indexes = ReadCounted(blob, node, "ibm,drc-indexes");
  if (indexes.is_error()) return Err(indexes.error());
  const uint32_t count = indexes.value().count;
  if (indexes.value().size != 4 * size_t{count}) return Err(FdtError::kBadPropertyLength);
  auto names = ReadCounted(blob, node, "ibm,drc-names");
  auto types = ReadCounted(blob, node, "ibm,drc-types");
  auto domains = ReadCounted(blob, node, "ibm,drc-power-domains");
  if (names.is_error() || types.is_error() || domains.is_error()) return Err(FdtError::kNotFound);
  if (names.value().count != count || types.value().count != count ||
      domains.value().count != count || domains.value().size != 4 * size_t{count}) {
    return Err(FdtError::kBadValue);
  }
  // Two passes: the strings are checked before anything is visited (one without a visitor).
  for (int pass = 0; pass < (visit == nullptr ? 1 : 2); ++pass) {
    size_t name_at = 0;
    size_t type_at = 0;
    for (uint32_t i = 0; i < count; ++i) {
      auto name = NextString(names.value(), name_at);
      auto type = NextString(types.value(), type_at);
      if (name.is_error()) return Err(name.error());
      if (type.is_error()) return Err(type.error());
      if (pass == 1) {
        visit(context, DrcEntry{lib::LoadBe32(indexes.value().data + 4 * i), type.value(),
                                name.value(), -1, lib::LoadBe32(domains.value().data + 4 * i)});
      }
    }
  }
  return size_t{count};
}

// ibm,drc-info [LoPAPR 13.5.2]: count, then per group: type, name prefix, index start, name
// suffix start, number of elements, index increment, power domain.
Result<size_t, FdtError> ReadInfo(const void* blob, int node, DrcVisitor visit, void* context) {
  auto info = ReadCounted(blob, node, "ibm,drc-info");
  if (info.is_error()) return Err(info.error());
  size_t total = 0;
  for (int pass = 0; pass < (visit == nullptr ? 1 : 2); ++pass) {
    size_t at = 0;
    total = 0;
    for (uint32_t group = 0; group < info.value().count; ++group) {
      auto type = NextString(info.value(), at);
      if (type.is_error()) return Err(type.error());
      auto prefix = NextString(info.value(), at);
      if (prefix.is_error()) return Err(prefix.error());
      if (at + 20 > info.value().size) return Err(FdtError::kBadPropertyLength);
      const uint8_t* cells = info.value().data + at;
      const uint32_t index_start = lib::LoadBe32(cells);
      const uint32_t suffix_start = lib::LoadBe32(cells + 4);
      const uint32_t elements = lib::LoadBe32(cells + 8);
      const uint32_t increment = lib::LoadBe32(cells + 12);
      const uint32_t domain = lib::LoadBe32(cells + 16);
      at += 20;
      // A group is 20 bytes whatever it counts: the count is bounded here, not by the property.
      if (elements > kMaxConnectorsPerNode - total) return Err(FdtError::kBadValue);
      if (pass == 1) {
        for (uint32_t i = 0; i < elements; ++i) {
          visit(context, DrcEntry{index_start + i * increment, type.value(), prefix.value(),
                                  int64_t{suffix_start} + i, domain});
        }
      }
      total += elements;
    }
  }
  return total;
}

void Count(DrcCensus& census, const DrcEntry& entry) {
  ++census.total;
  const StringView type = entry.type;
  if (type == StringView("CPU")) {
    ++census.cpu;
  } else if (type == StringView("MEM") || type.StartsWith("MEM-")) {
    ++census.memory;
  } else if (type == StringView("PHB")) {
    ++census.phb;
  } else if (type == StringView("SLOT") ||
             (type.size() > 0 && type.size() <= 2 && type[0] >= '1' && type[0] <= '9')) {
    ++census.pci;
  } else {
    ++census.other;
  }
}

}  // namespace

Result<size_t, FdtError> VisitConnectors(const void* blob, int node, DrcVisitor visit,
                                         void* context) {
  if (lib::fdt::HasProperty(blob, node, "ibm,drc-info"))
    return ReadInfo(blob, node, visit, context);
  return ReadArrays(blob, node, visit, context);
}

Result<size_t, FdtError> ReadConnectors(const void* blob, int node, lib::Span<DrcEntry> out) {
  struct Filler {
    lib::Span<DrcEntry> out;
    size_t next;
  } filler{out, 0};
  return VisitConnectors(
      blob, node,
      [](void* context, const DrcEntry& entry) {
        auto& f = *static_cast<Filler*>(context);
        if (f.next < f.out.size()) f.out[f.next] = entry;
        ++f.next;
      },
      &filler);
}

Result<DrcCensus, FdtError> CountConnectors(const void* blob) {
  auto declares = [blob](int node) {
    return lib::fdt::HasProperty(blob, node, "ibm,drc-info") ||
           lib::fdt::HasProperty(blob, node, "ibm,drc-indexes");
  };
  // The counts first, without visiting (a count costs no more than the property's size): the
  // whole tree may declare at most kMaxConnectorsPerNode connectors too.
  size_t declared = 0;
  for (int node = 0; node >= 0; node = fdt_next_node(blob, node, nullptr)) {
    if (!declares(node)) continue;
    auto count = VisitConnectors(blob, node, nullptr, nullptr);
    if (count.is_error()) return Err(count.error());
    declared += count.value();
    if (declared > kMaxConnectorsPerNode) return Err(FdtError::kBadValue);
  }
  DrcCensus census;
  for (int node = 0; node >= 0; node = fdt_next_node(blob, node, nullptr)) {
    if (!declares(node)) continue;
    ++census.nodes;
    auto total = VisitConnectors(
        blob, node,
        [](void* context, const DrcEntry& entry) {
          Count(*static_cast<DrcCensus*>(context), entry);
        },
        &census);
    if (total.is_error()) return Err(total.error());
  }
  return census;
}

}  // namespace drc
