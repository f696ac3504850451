// The one accessor for memory whose address came from a client (an OS's argument blocks,
// strings and buffers). Every access is checked against guest RAM before it happens: an address
// outside RAM, or a write into memory the firmware protects, is refused and never dereferenced.
//
// The firmware runs in real mode with guest address == its own address (host_base 0); host tests
// back the guest with a byte array and pass its address as host_base.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace lib {

enum class MemoryError {
  kOutOfRange,    // not inside guest RAM
  kProtected,     // a write into firmware memory
  kUnterminated,  // a string without a NUL within the allowed length
};

const char* MemoryErrorName(MemoryError error);

class GuestMemory {
 public:
  static constexpr int kMaxProtected = 8;

  constexpr GuestMemory() = default;
  // Guest RAM is [0, size); guest address a lives at host address host_base + a.
  constexpr GuestMemory(uintptr_t host_base, uint64_t size) : host_base_(host_base), size_(size) {}

  uint64_t size() const { return size_; }
  // Refuses writes to [start, start + size) from now on. Returns false when the table is full.
  bool Protect(uint64_t start, uint64_t size);
  // Lifts an earlier Protect of exactly this range.
  void Unprotect(uint64_t start, uint64_t size);
  bool Contains(uint64_t address, uint64_t size) const;
  // How many of the `max` bytes from `address` on a Write would accept: up to the end of RAM or
  // the first protected byte; 0 when `address` itself is neither writable nor in RAM.
  uint64_t WritableBytes(uint64_t address, uint64_t max) const;

  Result<void, MemoryError> Read(uint64_t address, void* out, size_t size) const;
  Result<void, MemoryError> Write(uint64_t address, const void* data, size_t size);
  Result<void, MemoryError> Fill(uint64_t address, uint8_t value, size_t size);
  // Reads a NUL-terminated string of at most capacity - 1 characters into `out`; returns its
  // length. A longer string is kUnterminated: the firmware never works on a truncated name.
  Result<size_t, MemoryError> ReadString(uint64_t address, char* out, size_t capacity) const;

  // Host pointer to [address, address + size) after the same checks as Read (for_write: Write).
  Result<uint8_t*, MemoryError> Map(uint64_t address, uint64_t size, bool for_write) const;

 private:
  struct Range {
    uint64_t start;
    uint64_t size;
  };
  bool IsProtected(uint64_t address, uint64_t size) const;

  uintptr_t host_base_ = 0;
  uint64_t size_ = 0;
  Range protected_[kMaxProtected] = {};
  int protected_count_ = 0;
};

}  // namespace lib
