#include "lib/crc32.h"

#include "lib/be.h"

namespace lib {

namespace {

// Slicing-by-8 tables of the reflected IEEE polynomial, built at compile time (read-only data: no
// relocation, the same at any base, so the RTAS image can use them too). entry[0] is the classic
// byte-at-a-time table; entry[k][b] is the CRC of byte b followed by k zero bytes, so eight bytes
// are folded with eight look-ups (the method of Intel's "slicing-by-N" CRC, Kounavis and Berry,
// 2005).
struct CrcTables {
  uint32_t entry[8][256];
};

constexpr CrcTables MakeCrcTables() {
  CrcTables tables{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    tables.entry[0][i] = crc;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int k = 1; k < 8; ++k) {
      const uint32_t previous = tables.entry[k - 1][i];
      tables.entry[k][i] = (previous >> 8) ^ tables.entry[0][previous & 0xff];
    }
  }
  return tables;
}

constexpr CrcTables kCrc = MakeCrcTables();

}  // namespace

uint32_t Crc32(Span<const uint8_t> bytes, uint32_t crc) {
  crc = ~crc;
  const uint8_t* at = bytes.data();
  size_t left = bytes.size();
  for (; left >= 8; left -= 8, at += 8) {
    // The next eight bytes as the reflected CRC consumes them: the first in the low byte.
    const uint32_t low = crc ^ LoadLe32(at);
    const uint32_t high = LoadLe32(at + 4);
    crc = kCrc.entry[7][low & 0xff] ^ kCrc.entry[6][(low >> 8) & 0xff] ^
          kCrc.entry[5][(low >> 16) & 0xff] ^ kCrc.entry[4][low >> 24] ^
          kCrc.entry[3][high & 0xff] ^ kCrc.entry[2][(high >> 8) & 0xff] ^
          kCrc.entry[1][(high >> 16) & 0xff] ^ kCrc.entry[0][high >> 24];
  }
  for (; left > 0; --left, ++at) crc = (crc >> 8) ^ kCrc.entry[0][(crc ^ *at) & 0xff];
  return ~crc;
}

}  // namespace lib
