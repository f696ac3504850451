#include "nvram/variables.h"

#include "lib/string.h"
#include "nvram/editor.h"

namespace nvram {

using lib::Err;
using lib::Result;
using lib::StringView;

const char* VariableErrorName(VariableError error) {
  switch (error) {
    case VariableError::kBadPartition: return "not a partition inside the NVRAM";
    case VariableError::kNotFound: return "no such variable";
    case VariableError::kBadName: return "name not 1 to 31 printable characters without '='";
    case VariableError::kBadValue: return "value holds a NUL byte";
    case VariableError::kFull: return "configuration partition full";
    case VariableError::kNoTerminator: return "entry runs to the partition's end without a NUL";
    case VariableError::kNoEquals: return "entry without '='";
    case VariableError::kEmptyName: return "entry with an empty name";
    case VariableError::kNameTooLong: return "entry name longer than 31 characters";
    case VariableError::kDuplicate: return "entry repeats an earlier variable";
    case VariableError::kTooManyEntries: return "entry past the 512th";
  }
  return "configuration variable error";
}

namespace {

bool IsNameByte(char c) {
  return c >= '!' && c <= '~' && c != '=';
}

bool IsValidName(StringView name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameByte(name[i])) return false;
  }
  return true;
}

// slof/fs/envvar_defaults.fs in its order, each as SLOF's (nvupdate) writes it into "common"
// (SLOF's Forth numbers are hexadecimal: its "200 default-int screen-#columns" is 512); load-base
// is board-qemu/slof/OF.fs's 0x4000. IEEE 1275 has no boot-args: its boot-file holds the default
// arguments (7.4.3.1).
constexpr DefaultVariable kDefaults[] = {
    {"auto-boot?", "true"},
    {"boot-device", ""},
    {"boot-file", ""},
    {"boot-command", "boot"},
    {"diag-device", ""},
    {"diag-file", ""},
    {"diag-switch?", "false"},
    {"fcode-debug?", "true"},
    {"input-device", ""},
    {"nvramrc", ""},
    {"oem-banner", ""},
    {"oem-banner?", "false"},
    {"oem-logo", ""},
    {"oem-logo?", "false"},
    {"output-device", ""},
    {"screen-#columns", "512"},
    {"screen-#rows", "512"},
    {"security-#badlogins", "0"},
    {"security-mode", "0"},
    {"security-password", ""},
    {"selftest-#megs", "0"},
    {"use-nvramrc?", "false"},
    {"direct-serial?", "false"},
    {"real-mode?", "true"},
    {"load-base", "16384"},
};

}  // namespace

Result<Variables, VariableError> Variables::Open(lib::Span<uint8_t> image,
                                                 const Partition& partition) {
  if (!partition.valid || partition.blocks == 0 || partition.blocks > kMaxBlocks ||
      uint64_t{partition.offset} + partition.size() > image.size()) {
    return Err(VariableError::kBadPartition);
  }
  return Variables(image, partition.data_offset(), partition.data_size());
}

Variable Variables::Parse(uint32_t at, uint32_t* next) const {
  const uint8_t* data = image_.data() + data_offset_;
  Variable variable;
  variable.offset = data_offset_ + at;
  const void* nul = lib::MemFind(data + at, 0, data_size_ - at);
  if (nul == nullptr) {
    variable.length = data_size_ - at;
    variable.problem = VariableError::kNoTerminator;
    *next = data_size_;
    return variable;
  }
  const uint32_t end = static_cast<uint32_t>(static_cast<const uint8_t*>(nul) - data);
  variable.length = end - at;
  *next = end + 1;
  const StringView entry(reinterpret_cast<const char*>(data + at), variable.length);
  const size_t equals = entry.Find('=');
  const StringView name = entry.Substr(0, equals);
  if (equals == entry.size()) {
    variable.problem = VariableError::kNoEquals;
  } else if (name.empty()) {
    variable.problem = VariableError::kEmptyName;
  } else if (name.size() > kMaxNameLength) {
    variable.problem = VariableError::kNameTooLong;
  } else if (!IsValidName(name)) {
    variable.problem = VariableError::kBadName;
  } else {
    variable.valid = true;
    variable.name = name;
    variable.value = entry.Substr(equals + 1);
  }
  return variable;
}

// Whether a valid entry read before has `name`: its bytes start with `name` and '='. The
// comparison stops at the first difference, inside that entry (names hold no '=').
bool Variables::Reader::IsDuplicate(StringView name) const {
  const uint8_t* data = variables_->image_.data() + variables_->data_offset_;
  for (uint32_t i = 0; i < valid_count_; ++i) {
    const uint8_t* entry = data + valid_at_[i];
    size_t j = 0;
    while (j < name.size() && entry[j] == static_cast<uint8_t>(name[j])) ++j;
    if (j == name.size() && entry[j] == '=') return true;
  }
  return false;
}

bool Variables::Reader::Next(Variable& variable) {
  const Variables& variables = *variables_;
  if (done_ || at_ >= variables.data_size_ || variables.image_[variables.data_offset_ + at_] == 0) {
    done_ = true;  // the partition's end, or the empty string that ends the list
    return false;
  }
  uint32_t next = 0;
  variable = variables.Parse(at_, &next);
  if (count_ >= kMaxEntries) {
    variable.valid = false;
    variable.problem = VariableError::kTooManyEntries;
  } else if (variable.valid && IsDuplicate(variable.name)) {
    variable.valid = false;
    variable.problem = VariableError::kDuplicate;
  }
  if (variable.valid) valid_at_[valid_count_++] = at_;
  ++count_;
  at_ = next;
  return true;
}

Result<StringView, VariableError> Variables::Get(StringView name) const {
  Reader reader = Entries();
  for (Variable variable; reader.Next(variable);) {
    if (variable.valid && variable.name == name) return variable.value;
  }
  return Err(VariableError::kNotFound);
}

uint32_t Variables::FreeBytes() const {
  uint64_t used = 1;  // the final NUL
  Reader reader = Entries();
  for (Variable variable; reader.Next(variable);) {
    if (variable.valid) used += variable.length + 1;
  }
  return used >= data_size_ ? 0 : static_cast<uint32_t>(data_size_ - used);
}

Result<Change, VariableError> Variables::Set(StringView name, StringView value) {
  if (!IsValidName(name)) return Err(VariableError::kBadName);
  if (lib::MemFind(value.data(), 0, value.size()) != nullptr) return Err(VariableError::kBadValue);
  return Rewrite(name, true, value);
}

Result<Change, VariableError> Variables::Remove(StringView name) {
  return Rewrite(name, false, StringView());
}

// The bytes of the (valid, terminated) entry at `at` from the data's start, its NUL included.
uint32_t Variables::EntrySize(uint32_t at) const {
  const uint8_t* entry = image_.data() + data_offset_ + at;
  const void* nul = lib::MemFind(entry, 0, data_size_ - at);
  TERN_ASSERT(nul != nullptr);
  return static_cast<uint32_t>(static_cast<const uint8_t*>(nul) - entry) + 1;
}

// Moves the kept entries (`keep`: bits by index among the Reader's valid entries) to their final
// places: back to back, the gap of `gap` bytes before the one of index `insert_index` among
// them. Each byte is written once, with its final value, and only after it was read: the entries
// that move down (towards the data's start: all those before the gap, and those after it once
// the entries dropped make up for the gap) in order, then those that move up (the run right
// after the gap, which never overlaps what the first ones read or wrote) in reverse order.
void Variables::Place(Editor& editor, const Reader& reader, const uint8_t* keep,
                      uint32_t insert_index, uint32_t gap) const {
  uint32_t final_at = 0;
  uint32_t kept = 0;
  uint32_t run_first = 0;  // the run moving up: valid indexes [run_first, run_end)
  uint32_t run_end = 0;
  uint32_t run_at = 0;  // where the run goes
  for (uint32_t i = 0; i < reader.valid_count_; ++i) {
    if ((keep[i / 8] & (1u << (i % 8))) == 0) continue;
    if (kept++ == insert_index) final_at += gap;
    const uint32_t at = reader.valid_at_[i];
    const uint32_t size = EntrySize(at);
    if (final_at <= at) {
      editor.Move(data_offset_ + final_at, data_offset_ + at, size);
    } else {
      if (run_end == 0) {
        run_first = i;
        run_at = final_at;
      }
      run_end = i + 1;
    }
    final_at += size;
  }
  uint32_t run_size = 0;
  for (uint32_t i = run_first; i < run_end; ++i) {
    if ((keep[i / 8] & (1u << (i % 8))) != 0) run_size += EntrySize(reader.valid_at_[i]);
  }
  for (uint32_t i = run_end; i > run_first; --i) {
    if ((keep[(i - 1) / 8] & (1u << ((i - 1) % 8))) == 0) continue;
    const uint32_t size = EntrySize(reader.valid_at_[i - 1]);
    run_size -= size;
    editor.Move(data_offset_ + run_at + run_size, data_offset_ + reader.valid_at_[i - 1], size);
  }
}

// The first pass decides which entries stay (the Reader's valid ones, but those named `name`)
// and checks that the result fits, before anything is written; Place moves them, then the new
// entry goes in at the first named one's place (or last) and the rest is zeroed.
Result<Change, VariableError> Variables::Rewrite(StringView name, bool insert, StringView value) {
  uint8_t keep[kMaxEntries / 8] = {};
  uint64_t kept_bytes = 0;  // of the entries kept, NULs included
  uint32_t kept = 0;
  uint32_t insert_index = 0;
  uint64_t insert_at = 0;
  bool found = false;
  Reader reader = Entries();
  for (Variable variable; reader.Next(variable);) {
    if (!variable.valid) continue;
    if (variable.name == name) {
      if (!found) {
        insert_index = kept;
        insert_at = kept_bytes;
      }
      found = true;
      continue;
    }
    const uint32_t index = reader.valid_count_ - 1;
    keep[index / 8] = static_cast<uint8_t>(keep[index / 8] | (1u << (index % 8)));
    kept_bytes += variable.length + 1;
    ++kept;
  }
  if (!insert && !found) return Err(VariableError::kNotFound);
  const uint64_t entry = insert ? uint64_t{name.size()} + 1 + value.size() + 1 : 0;
  if (kept_bytes + entry + 1 > data_size_) return Err(VariableError::kFull);
  if (insert && !found && kept >= kMaxEntries) return Err(VariableError::kFull);
  if (!found) {
    insert_index = kept;
    insert_at = kept_bytes;
  }
  Editor editor(image_);
  Place(editor, reader, keep, insert_index, static_cast<uint32_t>(entry));
  if (insert) {
    const uint32_t to = data_offset_ + static_cast<uint32_t>(insert_at);
    const uint32_t name_size = static_cast<uint32_t>(name.size());
    editor.Write(to, name.data(), name_size);
    editor.Put(to + name_size, '=');
    editor.Write(to + name_size + 1, value.data(), static_cast<uint32_t>(value.size()));
    editor.Put(to + static_cast<uint32_t>(entry) - 1, 0);
  }
  const uint32_t end = static_cast<uint32_t>(kept_bytes + entry);
  editor.Fill(data_offset_ + end, data_size_ - end, 0);
  return editor.change();
}

lib::Span<const DefaultVariable> DefaultVariables() {
  return kDefaults;
}

const DefaultVariable* FindDefault(StringView name) {
  for (const DefaultVariable& variable : kDefaults) {
    if (name == variable.name) return &variable;
  }
  return nullptr;
}

}  // namespace nvram
