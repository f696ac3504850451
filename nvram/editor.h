// Writes into an NVRAM image and remembers which bytes it changed (partitions.cc and
// variables.cc): only a byte that differs from what the image held counts, so the Change it
// reports is the smallest range the caller must write back. Every offset is checked against the
// image; one outside it is a firmware bug (a panic), never a write.
#pragma once

#include "lib/panic.h"
#include "lib/span.h"
#include "lib/types.h"
#include "nvram/partitions.h"

namespace nvram {

class Editor {
 public:
  explicit Editor(lib::Span<uint8_t> image) : image_(image) {}

  uint32_t size() const { return static_cast<uint32_t>(image_.size()); }
  uint8_t Get(uint32_t offset) const {
    TERN_ASSERT(offset < image_.size());
    return image_[offset];
  }
  void Put(uint32_t offset, uint8_t value) {
    TERN_ASSERT(offset < image_.size());
    if (image_[offset] == value) return;
    image_[offset] = value;
    first_ = lib::Min(first_, offset);
    end_ = lib::Max(end_, offset + 1);
  }
  void Fill(uint32_t offset, uint32_t length, uint8_t value) {
    for (uint32_t i = 0; i < length; ++i) Put(offset + i, value);
  }
  void Write(uint32_t offset, const void* bytes, uint32_t length) {
    const uint8_t* from = static_cast<const uint8_t*>(bytes);
    for (uint32_t i = 0; i < length; ++i) Put(offset + i, from[i]);
  }
  // Copies [from, from + length) to `to`; the ranges may overlap.
  void Move(uint32_t to, uint32_t from, uint32_t length) {
    if (to < from) {
      for (uint32_t i = 0; i < length; ++i) Put(to + i, Get(from + i));
    } else {
      for (uint32_t i = length; i > 0; --i) Put(to + i - 1, Get(from + i - 1));
    }
  }

  Change change() const { return end_ == 0 ? Change{} : Change{first_, end_ - first_}; }

 private:
  lib::Span<uint8_t> image_;
  uint32_t first_ = 0xffffffffu;
  uint32_t end_ = 0;
};

}  // namespace nvram
