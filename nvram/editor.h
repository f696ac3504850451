// Writes into an NVRAM image and remembers which bytes it changed (partitions.cc and
// variables.cc): only a byte that differs from what the image held counts, so the Change it
// reports is the smallest range the caller must write back. Every offset is checked against the
// image; one outside it is a firmware bug (a panic), never a write.
#pragma once

#include "lib/span.h"
#include "lib/types.h"
#include "nvram/partitions.h"

namespace nvram {

class Editor {
 public:
  explicit Editor(lib::Span<uint8_t> image) : image_(image) {}

  uint32_t size() const { return static_cast<uint32_t>(image_.size()); }
  uint8_t Get(uint32_t offset) const;
  void Put(uint32_t offset, uint8_t value);
  void Fill(uint32_t offset, uint32_t length, uint8_t value);
  void Write(uint32_t offset, const void* bytes, uint32_t length);
  // Copies [from, from + length) to `to`; the ranges may overlap.
  void Move(uint32_t to, uint32_t from, uint32_t length);

  Change change() const { return end_ == 0 ? Change{} : Change{first_, end_ - first_}; }

 private:
  lib::Span<uint8_t> image_;
  uint32_t first_ = 0xffffffffu;
  uint32_t end_ = 0;
};

}  // namespace nvram
