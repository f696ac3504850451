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
  if (!partition.valid || partition.blocks == 0 ||
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

// Two passes over the entries: the first decides which stay (the Reader's valid ones, but those
// named `name`) and checks that the result fits, before anything is written; the second moves
// them down in order (each to at most where it was: the bytes still to be read are never
// overwritten), then the new entry is let in at the first one's place and the rest zeroed.
Result<Change, VariableError> Variables::Rewrite(StringView name, bool insert, StringView value) {
  uint8_t keep[kMaxEntries / 8] = {};
  uint64_t kept = 0;  // bytes of the entries kept, NULs included
  uint64_t insert_at = 0;
  bool found = false;
  Reader reader = Entries();
  uint32_t index = 0;
  for (Variable variable; reader.Next(variable); ++index) {
    if (!variable.valid) continue;
    if (variable.name == name) {
      if (!found) insert_at = kept;
      found = true;
      continue;
    }
    keep[index / 8] = static_cast<uint8_t>(keep[index / 8] | (1u << (index % 8)));
    kept += variable.length + 1;
  }
  if (!insert && !found) return Err(VariableError::kNotFound);
  const uint64_t entry = insert ? uint64_t{name.size()} + 1 + value.size() + 1 : 0;
  if (kept + entry + 1 > data_size_) return Err(VariableError::kFull);
  if (!found) insert_at = kept;

  Editor editor(image_);
  uint32_t at = 0;
  uint32_t written = 0;
  for (index = 0; at < data_size_ && editor.Get(data_offset_ + at) != 0; ++index) {
    const void* nul = lib::MemFind(image_.data() + data_offset_ + at, 0, data_size_ - at);
    if (nul == nullptr) break;  // kNoTerminator: the last entry, never kept
    const uint32_t next =
        static_cast<uint32_t>(static_cast<const uint8_t*>(nul) - image_.data()) + 1 - data_offset_;
    if (index < kMaxEntries && (keep[index / 8] & (1u << (index % 8))) != 0) {
      editor.Move(data_offset_ + written, data_offset_ + at, next - at);
      written += next - at;
    }
    at = next;
  }
  if (insert) {
    const uint32_t gap = static_cast<uint32_t>(entry);
    const uint32_t to = data_offset_ + static_cast<uint32_t>(insert_at);
    editor.Move(to + gap, to, written - static_cast<uint32_t>(insert_at));
    editor.Write(to, name.data(), static_cast<uint32_t>(name.size()));
    editor.Put(to + static_cast<uint32_t>(name.size()), '=');
    editor.Write(to + static_cast<uint32_t>(name.size()) + 1, value.data(),
                 static_cast<uint32_t>(value.size()));
    editor.Put(to + gap - 1, 0);
    written += gap;
  }
  editor.Fill(data_offset_ + written, data_size_ - written, 0);
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
