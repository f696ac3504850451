#include "lib/fdt.h"

#include <libfdt.h>

#include "lib/be.h"
#include "lib/string.h"

namespace lib::fdt {

const char* FdtErrorName(FdtError error) {
  switch (error) {
    case FdtError::kBadPropertyLength: return "property has an invalid length";
    case FdtError::kBadString: return "string property is not NUL-terminated";
    case FdtError::kTooLarge: return "device tree is larger than allowed";
    default: return fdt_strerror(-static_cast<int>(error));
  }
}

FdtError FromLibfdt(int error) {
  if (error >= 0 || error < -FDT_ERR_MAX) return FdtError::kInternal;
  return static_cast<FdtError>(-error);
}

namespace {

// Walks the whole structure block: every tag in bounds (fdt_next_tag checks that), nodes
// balanced, every property name inside the strings block, and FDT_END only at depth 0. The
// kernel's copy of libfdt has no fdt_check_full (dtc's fdt_check.c), so this stands in for it.
Result<void, FdtError> CheckStructure(const void* blob) {
  int depth = 0;
  int offset = 0;  // on a truncated or bad tag fdt_next_tag sets next < 0
  for (;;) {
    int next = 0;
    const uint32_t tag = fdt_next_tag(blob, offset, &next);
    if (next < 0) return Err(FromLibfdt(next));
    switch (tag) {
      case FDT_BEGIN_NODE:
        ++depth;
        if (depth > 64) return Err(FdtError::kBadStructure);
        if (offset == 0 && fdt_get_name(blob, 0, nullptr) == nullptr) {
          return Err(FdtError::kBadStructure);
        }
        break;
      case FDT_END_NODE:
        if (--depth < 0) return Err(FdtError::kBadStructure);
        break;
      case FDT_PROP: {
        if (depth < 1) return Err(FdtError::kBadStructure);
        int length = 0;
        const struct fdt_property* prop = fdt_get_property_by_offset(blob, offset, &length);
        if (prop == nullptr) return Err(FromLibfdt(length));
        int name_length = 0;
        if (fdt_get_string(blob, static_cast<int>(fdt32_to_cpu(prop->nameoff)), &name_length) ==
            nullptr) {
          return Err(FromLibfdt(name_length));
        }
        break;
      }
      case FDT_NOP: break;
      default:  // includes FDT_END before the root node closed

        return Err(FdtError::kBadStructure);
    }
    if (depth == 0 && tag == FDT_END_NODE) {
      // After the root closes only NOPs and FDT_END may follow.
      for (;;) {
        offset = next;
        const uint32_t after = fdt_next_tag(blob, offset, &next);
        if (next < 0) return Err(FromLibfdt(next));
        if (after == FDT_END) return Ok<FdtError>();
        if (after != FDT_NOP) return Err(FdtError::kBadStructure);
      }
    }
    offset = next;
  }
}

}  // namespace

Result<size_t, FdtError> CheckBlob(const void* blob, size_t max_size) {
  if (const int rc = fdt_check_header(blob); rc != 0) return Err(FromLibfdt(rc));
  // [Devicetree Specification 5.3]: the reservation block is 8-aligned, the structure block
  // 4-aligned. libfdt's readers assume both and do not check.
  if (fdt_off_mem_rsvmap(blob) % 8 != 0 || fdt_off_dt_struct(blob) % 4 != 0) {
    return Err(FdtError::kAlignment);
  }
  const size_t size = fdt_totalsize(blob);
  if (size > max_size) return Err(FdtError::kTooLarge);
  TERN_TRY(CheckStructure(blob));
  return size;
}

Result<int, FdtError> NodeByPath(const void* blob, const char* path) {
  const int node = fdt_path_offset(blob, path);
  if (node < 0) return Err(FromLibfdt(node));
  return node;
}

Result<Span<const uint8_t>, FdtError> Property(const void* blob, int node, const char* name) {
  int length = 0;
  const void* value = fdt_getprop(blob, node, name, &length);
  if (value == nullptr) return Err(FromLibfdt(length));
  return Span<const uint8_t>(static_cast<const uint8_t*>(value), static_cast<size_t>(length));
}

bool HasProperty(const void* blob, int node, const char* name) {
  return fdt_getprop(blob, node, name, nullptr) != nullptr;
}

Result<uint32_t, FdtError> PropertyU32(const void* blob, int node, const char* name) {
  auto value = Property(blob, node, name);
  if (value.is_error()) return Err(value.error());
  if (value.value().size() != 4) return Err(FdtError::kBadPropertyLength);
  return LoadBe32(value.value().data());
}

Result<StringView, FdtError> PropertyString(const void* blob, int node, const char* name) {
  auto value = Property(blob, node, name);
  if (value.is_error()) return Err(value.error());
  const Span<const uint8_t> bytes = value.value();
  const void* nul = MemFind(bytes.data(), 0, bytes.size());
  if (nul == nullptr) return Err(FdtError::kBadString);
  const auto* text = reinterpret_cast<const char*>(bytes.data());
  return StringView(text, static_cast<size_t>(static_cast<const uint8_t*>(nul) - bytes.data()));
}

bool PropertyListContains(const void* blob, int node, const char* name, StringView value) {
  auto list = Property(blob, node, name);
  if (list.is_error()) return false;
  const auto* text = reinterpret_cast<const char*>(list.value().data());
  const size_t size = list.value().size();
  for (size_t start = 0; start < size;) {
    const size_t length = StrLengthMax(text + start, size - start);
    if (start + length == size) return false;  // unterminated tail
    if (StringView(text + start, length) == value) return true;
    start += length + 1;
  }
  return false;
}

uint32_t AddressCells(const void* blob, int node) {
  return PropertyU32(blob, node, "#address-cells").value_or(2);
}

uint32_t SizeCells(const void* blob, int node) {
  return PropertyU32(blob, node, "#size-cells").value_or(1);
}

uint64_t ReadCells(const uint8_t* bytes, uint32_t cells) {
  return cells == 2 ? LoadBe64(bytes) : LoadBe32(bytes);
}

}  // namespace lib::fdt
