// Glue between tern and libfdt (the real library, compiled unmodified).
//
// libfdt reports errors as negative ints; they are translated to FdtError here, once, so they
// never mix with other error domains. Property readers check sizes and termination: the tree comes
// from the hypervisor and is validated, never trusted.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace lib::fdt {

enum class FdtError : int {
  kNotFound = 1,  // values 1..19 are libfdt's FDT_ERR_* codes, negated
  kExists = 2,
  kNoSpace = 3,
  kBadOffset = 4,
  kBadPath = 5,
  kBadPhandle = 6,
  kBadState = 7,
  kTruncated = 8,
  kBadMagic = 9,
  kBadVersion = 10,
  kBadStructure = 11,
  kBadLayout = 12,
  kInternal = 13,
  kBadNCells = 14,
  kBadValue = 15,
  kBadOverlay = 16,
  kNoPhandles = 17,
  kBadFlags = 18,
  kAlignment = 19,
  kBadPropertyLength = 100,  // tern's own: a property has a size its meaning does not allow
  kBadString = 101,          // tern's own: a string property is not NUL-terminated
  kTooLarge = 102,           // tern's own: the blob is larger than the caller allows
};

const char* FdtErrorName(FdtError error);
// Converts a negative libfdt return value to FdtError.
FdtError FromLibfdt(int error);

// Checks the header and the whole structure block of the blob at `blob`, and that it declares at
// most `max_size` bytes; returns its size. After this, libfdt's read functions stay in bounds.
Result<size_t, FdtError> CheckBlob(const void* blob, size_t max_size);

Result<int, FdtError> NodeByPath(const void* blob, const char* path);

// The raw value of property `name` of `node`.
Result<Span<const uint8_t>, FdtError> Property(const void* blob, int node, const char* name);
bool HasProperty(const void* blob, int node, const char* name);
// A property of exactly one cell.
Result<uint32_t, FdtError> PropertyU32(const void* blob, int node, const char* name);
// A NUL-terminated string property (the first string of a list).
Result<StringView, FdtError> PropertyString(const void* blob, int node, const char* name);
// True when the string list `name` of `node` contains `value`.
bool PropertyListContains(const void* blob, int node, const char* name, StringView value);
// `#address-cells` / `#size-cells` of `node`, else the IEEE 1275 defaults 2 / 1.
uint32_t AddressCells(const void* blob, int node);
uint32_t SizeCells(const void* blob, int node);

// Reads a value of `cells` (1 or 2) big-endian cells from `bytes`.
uint64_t ReadCells(const uint8_t* bytes, uint32_t cells);

}  // namespace lib::fdt
