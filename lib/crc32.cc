#include "lib/crc32.h"

namespace lib {

namespace {

// The byte-at-a-time table of the reflected IEEE polynomial, built at compile time (read-only data:
// no relocation, the same at any base, so the RTAS image can use it too).
struct CrcTable {
  uint32_t entry[256];
};

constexpr CrcTable MakeCrcTable() {
  CrcTable table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    table.entry[i] = crc;
  }
  return table;
}

constexpr CrcTable kCrcTable = MakeCrcTable();

}  // namespace

uint32_t Crc32(Span<const uint8_t> bytes, uint32_t crc) {
  crc = ~crc;
  for (uint8_t byte : bytes) crc = (crc >> 8) ^ kCrcTable.entry[(crc ^ byte) & 0xff];
  return ~crc;
}

}  // namespace lib
