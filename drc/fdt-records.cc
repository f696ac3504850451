#include "drc/fdt-records.h"

#include "drc/snapshot-records.h"
#include "drc/work-area.h"
#include "lib/be.h"
#include "lib/string.h"

namespace drc {

using lib::Err;

const char* FragmentErrorName(FragmentError error) {
  switch (error) {
    case FragmentError::kMalformed: return "malformed device-tree fragment";
    case FragmentError::kTooLarge: return "fragment larger than the snapshot room";
    case FragmentError::kPropertyTooLarge: return "property larger than the 4 KiB work area";
    case FragmentError::kNameTooLarge: return "node name larger than the 4 KiB work area";
  }
  return "fragment error";
}

namespace {
constexpr uint32_t kMagic = 0xd00dfeed;
constexpr uint32_t kFdtBeginNode = 1, kFdtEndNode = 2, kFdtProp = 3, kFdtNop = 4, kFdtEnd = 9;
}  // namespace

lib::Result<uint32_t, FragmentError> FdtToRecords(const uint8_t* fdt, uint32_t size, uint8_t* out,
                                                  uint32_t capacity) {
  if (size < 40 || lib::LoadBe32(fdt) != kMagic || lib::LoadBe32(fdt + 4) > size) {
    return Err(FragmentError::kMalformed);
  }
  const uint32_t total = lib::LoadBe32(fdt + 4);
  const uint32_t structure = lib::LoadBe32(fdt + 8);
  const uint32_t strings = lib::LoadBe32(fdt + 12);
  const uint32_t strings_size = lib::LoadBe32(fdt + 32);
  const uint32_t structure_size = lib::LoadBe32(fdt + 36);
  if (structure % 4 != 0 || structure > total || structure_size > total - structure ||
      strings > total || strings_size > total - strings) {
    return Err(FragmentError::kMalformed);
  }
  const uint8_t* s = fdt + structure;
  uint32_t at = 0;
  RecordBuffer records{out, capacity, 0, 0};
  int depth = 0;
  bool root_done = false;
  while (at + 4 <= structure_size) {
    const uint32_t tag = lib::LoadBe32(s + at);
    at += 4;
    if (tag == kFdtBeginNode) {
      const uint32_t length = static_cast<uint32_t>(
          lib::StrLengthMax(reinterpret_cast<const char*>(s + at), structure_size - at));
      if (at + length >= structure_size || root_done || length >= 0xffff) {
        return Err(FragmentError::kMalformed);
      }
      // The walk writes the name, NUL included, into the work area from kDataOffset on.
      if (depth > 0 && kDataOffset + length + 1 > kWorkAreaSize) {
        return Err(FragmentError::kNameTooLarge);
      }
      // The blob's root node is the unnamed container; its one child is the fragment.
      if (depth > 0) AppendNode(records, s + at, length + 1);
      ++depth;
      at = static_cast<uint32_t>(lib::AlignUp(at + length + 1, 4));
    } else if (tag == kFdtEndNode) {
      if (--depth < 0) return Err(FragmentError::kMalformed);
      if (depth > 0) {
        AppendEnd(records);
        if (depth == 1) root_done = true;
      }
    } else if (tag == kFdtProp) {
      if (at + 8 > structure_size) return Err(FragmentError::kMalformed);
      const uint32_t length = lib::LoadBe32(s + at);
      const uint32_t name_offset = lib::LoadBe32(s + at + 4);
      at += 8;
      if (length > structure_size - at || name_offset >= strings_size) {
        return Err(FragmentError::kMalformed);
      }
      const char* name = reinterpret_cast<const char*>(fdt + strings + name_offset);
      const uint32_t name_length =
          static_cast<uint32_t>(lib::StrLengthMax(name, strings_size - name_offset));
      if (name_offset + name_length >= strings_size) return Err(FragmentError::kMalformed);
      if (depth > 1) {  // properties of the container root are not part of the fragment
        if (kDataOffset + name_length + 1 + length > kWorkAreaSize) {
          return Err(FragmentError::kPropertyTooLarge);
        }
        AppendProperty(records, reinterpret_cast<const uint8_t*>(name), name_length + 1, s + at,
                       length);
      }
      at = static_cast<uint32_t>(lib::AlignUp(at + length, 4));
    } else if (tag == kFdtNop) {
    } else if (tag == kFdtEnd) {
      break;
    } else {
      return Err(FragmentError::kMalformed);
    }
  }
  if (depth != 0 || !root_done) return Err(FragmentError::kMalformed);
  if (records.dropped > 0) return Err(FragmentError::kTooLarge);
  return records.size;
}

}  // namespace drc
