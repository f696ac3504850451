// ASCII case folding for the names and tags fs/ compares: ISO 9660 and Rock Ridge names against
// Open Firmware paths (fs/iso9660.cc), bootinfo.txt tags, entities and Forth words
// (fs/chrp-bootinfo.cc). Bytes outside A-Z compare as they are.
#pragma once

#include "lib/span.h"
#include "lib/types.h"

namespace fs {

constexpr char FoldCase(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool StartsWithIgnoringCase(lib::StringView text, lib::StringView prefix) {
  if (prefix.size() > text.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (FoldCase(text[i]) != FoldCase(prefix[i])) return false;
  }
  return true;
}

constexpr bool EqualsIgnoringCase(lib::StringView a, lib::StringView b) {
  return a.size() == b.size() && StartsWithIgnoringCase(a, b);
}

}  // namespace fs
