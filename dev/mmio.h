// Little-endian device registers (PCI BARs, virtio structures: virtio 1.1 §4.1.3) through
// H_LOGICAL_CI_LOAD / H_LOGICAL_CI_STORE (lib/hv.h): the firmware runs with the MMU off, where a
// plain load or store is cacheable. The hcalls move the bytes as a big-endian access would, so
// each value is byte-swapped here; one hcall per register, at the register's own width.
#pragma once

#include "lib/hv.h"
#include "lib/result.h"
#include "lib/types.h"

namespace dev {

using MmioStatus = lib::hv::HcallStatus;

inline lib::Result<uint8_t, MmioStatus> MmioRead8(uint64_t address) {
  auto value = lib::hv::LogicalCiLoad(1, address);
  if (value.is_error()) return lib::Err(value.error());
  return static_cast<uint8_t>(value.value());
}

inline lib::Result<uint16_t, MmioStatus> MmioReadLe16(uint64_t address) {
  auto value = lib::hv::LogicalCiLoad(2, address);
  if (value.is_error()) return lib::Err(value.error());
  return __builtin_bswap16(static_cast<uint16_t>(value.value()));
}

inline lib::Result<uint32_t, MmioStatus> MmioReadLe32(uint64_t address) {
  auto value = lib::hv::LogicalCiLoad(4, address);
  if (value.is_error()) return lib::Err(value.error());
  return __builtin_bswap32(static_cast<uint32_t>(value.value()));
}

inline lib::Result<void, MmioStatus> MmioWrite8(uint64_t address, uint8_t value) {
  return lib::hv::LogicalCiStore(1, address, value);
}

inline lib::Result<void, MmioStatus> MmioWriteLe16(uint64_t address, uint16_t value) {
  return lib::hv::LogicalCiStore(2, address, __builtin_bswap16(value));
}

inline lib::Result<void, MmioStatus> MmioWriteLe32(uint64_t address, uint32_t value) {
  return lib::hv::LogicalCiStore(4, address, __builtin_bswap32(value));
}

}  // namespace dev
