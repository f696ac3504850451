// Tables that modules fill from their own files: each entry array is placed in a named linker
// section, and the program sees the concatenation of every array it links, between the
// __start_<section> / __stop_<section> symbols the linker defines (linker/tern.ld and
// linker/rtas.ld name them; host linkers define them for any section named like a C identifier).
// A module joins a table by being linked; the code that reads the table names no module.
#pragma once

#include "lib/span.h"
#include "lib/types.h"

// Declares entry array `name` of `type` in linker section `section`:
//   TERN_SECTION_TABLE(tern_drivers, ::dev::Driver, kVirtioBlkDriver) = {{...}};
#define TERN_SECTION_TABLE(section_name, type, name) \
  [[gnu::used, gnu::retain, gnu::section(#section_name), gnu::aligned(8)]] constexpr type name[]

namespace lib {

// The entries between a section's start and stop symbols (declared weak by the reader: a program
// that links no entry has neither).
template <class T>
Span<const T> SectionEntries(const T* start, const T* stop) {
  if (start == nullptr || stop == nullptr || stop < start) return {};
  return Span<const T>(start, static_cast<size_t>(stop - start));
}

}  // namespace lib
