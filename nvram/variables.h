// The configuration variables of an NVRAM's system partition (0x70, "common"; QEMU's -prom-env
// writes one named "system"), on the caller's byte image of the whole NVRAM, as SLOF
// (lib/libnvram/envvar.c, slof/fs/envvar.fs get-nv) and powerpc-utils (src/nvram.c
// --print-config, --update-config) read and write them: "name=value" strings, each ended by a NUL,
// back to back from the partition's first data byte; the list ends at an empty string (a double
// NUL) or at the partition's end. Names and values are bytes, kept as stored (the CHRP 0xff
// run-length quoting powerpc-utils undoes on print is not decoded).
//
// Whatever the partition holds, nothing is read or written outside it, and bad contents are
// reported entry by entry (Reader), never trusted:
//   kNoTerminator     the bytes up to the partition's end hold no NUL (the list ends there)
//   kNoEquals         no '=' (a value without a name, binary junk)
//   kEmptyName        "=value"
//   kNameTooLong      a name over kMaxNameLength bytes (IEEE 1275 property names, which
//                     /options publishes them as, have 1 to 31 characters)
//   kBadName          a name byte outside printable ASCII ('!'..'~')
//   kDuplicate        a name an earlier valid entry has: Get, Set and Remove use the first one, as
//                     SLOF's nvram_get_env and powerpc-utils do
//   kTooManyEntries   an entry after the first kMaxEntries
// Set and Remove rewrite the partition compacted: the valid entries back to back in their order
// (the one set in place of its first entry, or last when new), bad entries and the set name's
// duplicates dropped, zeros to the end.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "nvram/partitions.h"

namespace nvram {

class Editor;

inline constexpr uint32_t kMaxNameLength = 31;
// Entries read per partition (SLOF writes 25 on a blank NVRAM): bounds the duplicate check, which
// compares each name with the earlier ones, and the Reader's memory of them (2 KiB).
inline constexpr uint32_t kMaxEntries = 512;

enum class VariableError : uint8_t {
  kBadPartition,  // Open: not a valid partition lying inside the image
  kNotFound,      // Get, Remove: no valid entry of that name
  kBadName,       // Set: not 1..kMaxNameLength printable characters without '='; (an entry) a name
                  // byte outside '!'..'~'
  kBadValue,      // Set: the value holds a NUL
  kFull,          // Set: the valid entries and the new one, each with its NUL, and the final
                  // NUL do not fit the partition's data (FreeBytes says how much room there
                  // is), or a new one would be entry kMaxEntries + 1; nothing is changed
  kNoTerminator,  // (an entry) see above
  kNoEquals,
  kEmptyName,
  kNameTooLong,
  kDuplicate,
  kTooManyEntries,
};

const char* VariableErrorName(VariableError error);

struct Variable {
  uint32_t offset = 0;  // of the entry's first byte, from the image's start
  uint32_t length = 0;  // the entry's bytes, its NUL not counted
  // Into the image (changed by Set and Remove), for an entry of the form name=value: a valid
  // one, a kDuplicate, or a well-formed kTooManyEntries; empty otherwise. The value may hold any
  // byte but NUL.
  lib::StringView name;
  lib::StringView value;
  bool valid = false;
  VariableError problem = VariableError::kNoEquals;  // when !valid
};

// One configuration partition of an image. Views returned by Get and Reader point into the
// image: copy what must outlive the next Set or Remove.
class Variables {
 public:
  Variables() = default;

  // The configuration partition `partition` (PartitionList::FindConfig's, from a scan of this
  // same image) of `image`; refused when it is not valid or does not lie inside the image.
  static lib::Result<Variables, VariableError> Open(lib::Span<uint8_t> image,
                                                    const Partition& partition);

  // The value of the first valid entry named `name`.
  lib::Result<lib::StringView, VariableError> Get(lib::StringView name) const;
  // Sets `name` to `value` (an empty value is stored as "name=", as SLOF stores its empty
  // defaults), replacing its first valid entry in place or appending it. Returns the bytes that
  // changed, empty when the partition already read so (and held nothing to compact).
  lib::Result<Change, VariableError> Set(lib::StringView name, lib::StringView value);
  // Removes every entry named `name` (powerpc-utils removes a variable it is given an empty
  // value for); kNotFound changes nothing.
  lib::Result<Change, VariableError> Remove(lib::StringView name);

  // The bytes of data a Set of a new variable could use: the data size less the valid entries
  // and the final NUL, so that a new "name=value" fits when name + value + 2 <= FreeBytes().
  uint32_t FreeBytes() const;
  uint32_t data_offset() const { return data_offset_; }
  uint32_t data_size() const { return data_size_; }

  // Every entry in order, bad ones with their problem:
  //   Variables::Reader reader = variables.Entries();
  //   for (Variable v; reader.Next(v);) { ... }
  class Reader {
   public:
    bool Next(Variable& variable);

   private:
    friend class Variables;
    explicit Reader(const Variables& variables) : variables_(&variables) {}
    bool IsDuplicate(lib::StringView name) const;
    const Variables* variables_;
    uint32_t at_ = 0;     // the next entry, from the data's start
    uint32_t count_ = 0;  // entries read
    bool done_ = false;
    uint32_t valid_count_ = 0;
    uint32_t valid_at_[kMaxEntries];  // the valid entries read (offsets from the data's start)
  };
  Reader Entries() const { return Reader(*this); }

 private:
  Variables(lib::Span<uint8_t> image, uint32_t data_offset, uint32_t data_size)
      : image_(image), data_offset_(data_offset), data_size_(data_size) {}

  // The entry at `at` (from the data's start; at < data_size_, a non-NUL byte there), checked
  // alone (not for duplicates or the entry count); `*next` receives where the next one starts.
  Variable Parse(uint32_t at, uint32_t* next) const;
  uint32_t EntrySize(uint32_t at) const;
  void Place(Editor& editor, const Reader& reader, const uint8_t* keep, uint32_t insert_index,
             uint32_t gap) const;
  lib::Result<Change, VariableError> Rewrite(lib::StringView name, bool insert,
                                             lib::StringView value);

  lib::Span<uint8_t> image_;
  uint32_t data_offset_ = 0;
  uint32_t data_size_ = 0;
};

// An IEEE 1275 configuration variable's default, as text (IEEE 1275 7.4.4; tern's defaults are
// SLOF's, slof/fs/envvar_defaults.fs with board-qemu's load-base, as SLOF writes them into
// "common": numbers in decimal, flags "true"/"false").
struct DefaultVariable {
  const char* name;
  const char* value;
};

lib::Span<const DefaultVariable> DefaultVariables();
// The default of `name`, or null when it has none.
const DefaultVariable* FindDefault(lib::StringView name);

}  // namespace nvram
