#include "nvram/editor.h"

#include "lib/panic.h"

namespace nvram {

uint8_t Editor::Get(uint32_t offset) const {
  TERN_ASSERT(offset < image_.size());
  return image_[offset];
}

void Editor::Put(uint32_t offset, uint8_t value) {
  TERN_ASSERT(offset < image_.size());
  if (image_[offset] == value) return;
  image_[offset] = value;
  first_ = lib::Min(first_, offset);
  end_ = lib::Max(end_, offset + 1);
}

void Editor::Fill(uint32_t offset, uint32_t length, uint8_t value) {
  for (uint32_t i = 0; i < length; ++i) Put(offset + i, value);
}

void Editor::Write(uint32_t offset, const void* bytes, uint32_t length) {
  const uint8_t* from = static_cast<const uint8_t*>(bytes);
  for (uint32_t i = 0; i < length; ++i) Put(offset + i, from[i]);
}

void Editor::Move(uint32_t to, uint32_t from, uint32_t length) {
  if (to < from) {
    for (uint32_t i = 0; i < length; ++i) Put(to + i, Get(from + i));
  } else {
    for (uint32_t i = length; i > 0; --i) Put(to + i - 1, Get(from + i - 1));
  }
}

}  // namespace nvram
