#include "drc/fdt-records.h"

#include "drc/snapshot-records.h"
#include "drc/work-area.h"
#include "lib/be.h"
#include "lib/string.h"
#include "lib/wire.h"

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

// The structure block's tokens [Devicetree Specification v0.4, 5.4.1], each a big-endian word.
enum FdtToken : uint32_t {
  kFdtBeginNode = 1,
  kFdtEndNode = 2,
  kFdtProp = 3,
  kFdtNop = 4,
  kFdtEnd = 9,
};

// What follows an FDT_PROP token: the value's length and its name's offset in the strings block.
struct FdtPropertyHead {
  lib::Be32 len;
  lib::Be32 nameoff;
};
static_assert(sizeof(FdtPropertyHead) == 8);

using Step = lib::Result<void, FragmentError>;

// The structure block being converted, read from `at` on, its tokens' operands checked against
// the block's and the strings block's sizes. The blob's root node is the unnamed container; its
// one child is the fragment, recorded with everything below it.
struct Conversion {
  const uint8_t* structure;
  uint32_t structure_size;
  const uint8_t* strings;
  uint32_t strings_size;
  RecordBuffer records;
  uint32_t at = 0;
  int depth = 0;
  bool root_done = false;

  Step BeginNode() {
    const uint32_t length = static_cast<uint32_t>(
        lib::StrLengthMax(reinterpret_cast<const char*>(structure + at), structure_size - at));
    if (at + length >= structure_size || root_done || length >= 0xffff) {
      return Err(FragmentError::kMalformed);
    }
    // The walk writes the name, NUL included, into the work area from kDataOffset on.
    if (depth > 0 && kDataOffset + length + 1 > kWorkAreaSize) {
      return Err(FragmentError::kNameTooLarge);
    }
    if (depth > 0) AppendNode(records, structure + at, length + 1);
    ++depth;
    at = static_cast<uint32_t>(lib::AlignUp(at + length + 1, 4));
    return lib::Ok<FragmentError>();
  }

  Step EndNode() {
    if (--depth < 0) return Err(FragmentError::kMalformed);
    if (depth > 0) {
      AppendEnd(records);
      if (depth == 1) root_done = true;
    }
    return lib::Ok<FragmentError>();
  }

  Step Property() {
    if (at + sizeof(FdtPropertyHead) > structure_size) return Err(FragmentError::kMalformed);
    const FdtPropertyHead head = lib::LoadWire<FdtPropertyHead>(structure + at);
    const uint32_t length = head.len.value();
    const uint32_t name_offset = head.nameoff.value();
    at += sizeof(FdtPropertyHead);
    if (length > structure_size - at || name_offset >= strings_size) {
      return Err(FragmentError::kMalformed);
    }
    const char* name = reinterpret_cast<const char*>(strings + name_offset);
    const uint32_t name_length =
        static_cast<uint32_t>(lib::StrLengthMax(name, strings_size - name_offset));
    if (name_offset + name_length >= strings_size) return Err(FragmentError::kMalformed);
    if (depth > 1) {  // properties of the container root are not part of the fragment
      if (kDataOffset + name_length + 1 + length > kWorkAreaSize) {
        return Err(FragmentError::kPropertyTooLarge);
      }
      AppendProperty(records, reinterpret_cast<const uint8_t*>(name), name_length + 1,
                     structure + at, length);
    }
    at = static_cast<uint32_t>(lib::AlignUp(at + length, 4));
    return lib::Ok<FragmentError>();
  }
};

}  // namespace

lib::Result<uint32_t, FragmentError> FdtToRecords(const uint8_t* fdt, uint32_t size, uint8_t* out,
                                                  uint32_t capacity) {
  if (size < sizeof(FdtHeader)) return Err(FragmentError::kMalformed);
  const FdtHeader header = lib::LoadWire<FdtHeader>(fdt);
  const uint32_t total = header.totalsize.value();
  if (header.magic.value() != kFdtMagic || total > size) return Err(FragmentError::kMalformed);
  const uint32_t structure = header.off_dt_struct.value();
  const uint32_t strings = header.off_dt_strings.value();
  const uint32_t strings_size = header.size_dt_strings.value();
  const uint32_t structure_size = header.size_dt_struct.value();
  if (structure % 4 != 0 || structure > total || structure_size > total - structure ||
      strings > total || strings_size > total - strings) {
    return Err(FragmentError::kMalformed);
  }
  Conversion conversion{fdt + structure, structure_size, fdt + strings, strings_size,
                        RecordBuffer{out, capacity, 0, 0}};
  for (bool end = false; !end && conversion.at + 4 <= structure_size;) {
    const uint32_t token = lib::LoadBe32(conversion.structure + conversion.at);
    conversion.at += 4;
    Step step = lib::Ok<FragmentError>();
    switch (token) {
      case kFdtBeginNode: step = conversion.BeginNode(); break;
      case kFdtEndNode: step = conversion.EndNode(); break;
      case kFdtProp: step = conversion.Property(); break;
      case kFdtNop: break;
      case kFdtEnd: end = true; break;
      default: return Err(FragmentError::kMalformed);
    }
    if (step.is_error()) return Err(step.error());
  }
  if (conversion.depth != 0 || !conversion.root_done) return Err(FragmentError::kMalformed);
  if (conversion.records.dropped > 0) return Err(FragmentError::kTooLarge);
  return conversion.records.size;
}

}  // namespace drc
