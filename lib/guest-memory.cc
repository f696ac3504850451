#include "lib/guest-memory.h"

#include "lib/string.h"

namespace lib {

const char* MemoryErrorName(MemoryError error) {
  switch (error) {
    case MemoryError::kOutOfRange: return "address outside guest RAM";
    case MemoryError::kProtected: return "write into firmware memory";
    case MemoryError::kUnterminated: return "string not terminated";
  }
  return "memory error";
}

bool GuestMemory::Protect(uint64_t start, uint64_t size) {
  if (protected_count_ == kMaxProtected) return false;
  protected_[protected_count_++] = Range{start, size};
  return true;
}

void GuestMemory::Unprotect(uint64_t start, uint64_t size) {
  for (int i = 0; i < protected_count_; ++i) {
    if (protected_[i].start == start && protected_[i].size == size) {
      protected_[i] = protected_[--protected_count_];
      return;
    }
  }
}

bool GuestMemory::Contains(uint64_t address, uint64_t size) const {
  return RangeInside(address, size, 0, size_);
}

uint64_t GuestMemory::WritableBytes(uint64_t address, uint64_t max) const {
  if (address >= size_) return 0;
  uint64_t bytes = Min(max, size_ - address);
  for (int i = 0; i < protected_count_; ++i) {
    const Range& r = protected_[i];
    if (r.size == 0) continue;
    if (r.start <= address && address - r.start < r.size) return 0;
    if (r.start > address) bytes = Min(bytes, r.start - address);
  }
  return bytes;
}

bool GuestMemory::IsProtected(uint64_t address, uint64_t size) const {
  for (int i = 0; i < protected_count_; ++i) {
    const Range& r = protected_[i];
    if (size != 0 && address < r.start + r.size && r.start < address + size) return true;
  }
  return false;
}

Result<uint8_t*, MemoryError> GuestMemory::Map(uint64_t address, uint64_t size,
                                               bool for_write) const {
  if (!Contains(address, size)) return Err(MemoryError::kOutOfRange);
  if (for_write && IsProtected(address, size)) return Err(MemoryError::kProtected);
  return reinterpret_cast<uint8_t*>(host_base_ + static_cast<uintptr_t>(address));
}

Result<void, MemoryError> GuestMemory::Read(uint64_t address, void* out, size_t size) const {
  auto source = Map(address, size, false);
  if (source.is_error()) return Err(source.error());
  MemCopy(out, source.value(), size);
  return Ok<MemoryError>();
}

Result<void, MemoryError> GuestMemory::Write(uint64_t address, const void* data, size_t size) {
  auto target = Map(address, size, true);
  if (target.is_error()) return Err(target.error());
  MemMove(target.value(), data, size);
  return Ok<MemoryError>();
}

Result<void, MemoryError> GuestMemory::Fill(uint64_t address, uint8_t value, size_t size) {
  auto target = Map(address, size, true);
  if (target.is_error()) return Err(target.error());
  MemSet(target.value(), value, size);
  return Ok<MemoryError>();
}

Result<size_t, MemoryError> GuestMemory::ReadString(uint64_t address, char* out,
                                                    size_t capacity) const {
  if (capacity == 0) return Err(MemoryError::kUnterminated);
  if (address >= size_) return Err(MemoryError::kOutOfRange);
  // Never read past RAM, even when the string would be shorter than `capacity`.
  const size_t available = static_cast<size_t>(Min<uint64_t>(capacity, size_ - address));
  const auto* source = reinterpret_cast<const char*>(host_base_ + static_cast<uintptr_t>(address));
  const size_t length = StrLengthMax(source, available);
  if (length == available) {
    return Err(available < capacity ? MemoryError::kOutOfRange : MemoryError::kUnterminated);
  }
  MemCopy(out, source, length + 1);
  return length;
}

}  // namespace lib
