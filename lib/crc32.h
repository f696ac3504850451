// CRC-32 as IEEE 802.3 defines it (polynomial 0x04C11DB7, reflected, initial value and final XOR
// 0xFFFFFFFF): the checksum zlib's crc32() computes, and the one UEFI 2.10 §5.3.2 uses for the GPT
// header and partition-entry array. Check value: "123456789" -> 0xCBF43926.
#pragma once

#include "lib/span.h"
#include "lib/types.h"

namespace lib {

// CRC-32 of `bytes`, continuing from `crc` (the result of an earlier call over the preceding bytes;
// 0 to start), so a long range can be checked in pieces.
uint32_t Crc32(Span<const uint8_t> bytes, uint32_t crc = 0);

}  // namespace lib
