// Fixtures shared by the unit tests and the fuzz targets: a minimal RTAS image and guest RAM that
// costs only the pages a test touches.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "lib/be.h"
#include "rtas/layout.h"

namespace tests {

// A minimal valid RTAS image (rtas/layout.h): header, configuration, 64 bytes of "code" (zeros),
// no relocations, 4 KiB in memory.
inline std::vector<uint8_t> MinimalRtasImage() {
  const uint32_t config = sizeof(rtas::ImageHeader);
  const uint32_t code = config + sizeof(rtas::ImageConfig);
  const uint32_t size = code + 64;
  std::vector<uint8_t> image(size);
  auto& header = *reinterpret_cast<rtas::ImageHeader*>(image.data());
  std::memcpy(header.magic, "TERNRTAS", 8);
  header.version = lib::Be32(rtas::kImageHeaderVersion);
  header.entry = lib::Be32(code);
  header.toc = lib::Be32(code);
  header.file_size = lib::Be32(size);
  header.memory_size = lib::Be32(4096);
  header.rela = lib::Be32(size);
  header.rela_end = lib::Be32(size);
  header.config = lib::Be32(config);
  return image;
}

// `size` bytes of zeroed, private address space for guest RAM: pages are allocated only when
// touched. nullptr when the mapping fails.
inline uint8_t* MapGuestRam(uint64_t size) {
  void* mapped = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return mapped == MAP_FAILED ? nullptr : static_cast<uint8_t*>(mapped);
}

}  // namespace tests
