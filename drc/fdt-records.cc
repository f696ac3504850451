#include "drc/fdt-records.h"

#include "drc/walk-slot.h"
#include "drc/walker.h"
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
  uint32_t used = 0;
  int depth = 0;
  bool root_done = false;
  auto emit = [&](const void* bytes, uint32_t n) {
    if (n > capacity - used) return false;
    lib::MemCopy(out + used, bytes, n);
    used += n;
    return true;
  };
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
      if (depth > 0) {
        const uint8_t head[3] = {kNode, static_cast<uint8_t>((length + 1) >> 8),
                                 static_cast<uint8_t>(length + 1)};
        if (!emit(head, 3) || !emit(s + at, length + 1)) return Err(FragmentError::kTooLarge);
      }
      ++depth;
      at = static_cast<uint32_t>(lib::AlignUp(at + length + 1, 4));
    } else if (tag == kFdtEndNode) {
      if (--depth < 0) return Err(FragmentError::kMalformed);
      if (depth > 0) {
        const uint8_t end = RecordTag::kEnd;
        if (!emit(&end, 1)) return Err(FragmentError::kTooLarge);
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
        uint8_t head[7] = {kProperty, static_cast<uint8_t>((name_length + 1) >> 8),
                           static_cast<uint8_t>(name_length + 1)};
        lib::StoreBe32(head + 3, length);
        if (!emit(head, 7) || !emit(name, name_length + 1) || !emit(s + at, length)) {
          return Err(FragmentError::kTooLarge);
        }
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
  return used;
}

}  // namespace drc
