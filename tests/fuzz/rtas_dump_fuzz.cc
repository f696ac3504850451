// tern-rtas-dump's reading of a guest memory dump (tools/rtas-dump.cc): any bytes as a raw
// pmemsave dump or an ELF core, with or without --base. The tool runs on the host on files from
// guests, so it must print what it can and never read outside the dump. Input: a flags byte (bit
// 0: --base 0x3000000, bit 1: --start 0x3000000), then the dump file.
#include <cstdio>
#include <cstring>
#include <vector>

#include "lib/be.h"
#include "rtas/layout.h"
#include "rtas/state-region.h"
#include "tests/fuzz/client-rig.h"
#include "tests/fuzz/fuzz-support.h"
#include "tests/host-fixtures.h"
#include "tools/rtas-dump.h"

namespace {

constexpr uint64_t kBase = 0x3000000;  // where the seeds' RTAS area was instantiated

std::FILE* Sink() {
  static std::FILE* sink = std::fopen("/dev/null", "w");
  return sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input input(data, size);
  const uint8_t flags = input.U8();
  rtas_dump::Options options;
  if (flags & 1) options.base = kBase;
  if (flags & 2) options.start = kBase;
  const std::vector<uint8_t> dump = input.Rest();
  const int status = rtas_dump::PrintRtasArea(dump, options, Sink(), Sink());
  if (status < 0 || status > 2) fuzz::Violation("exit status outside 0..2");
  return 0;
}

namespace {

// An RTAS area as instantiate-rtas builds it at kBase: the image (header and configuration), the
// state region after it with a few calls counted.
std::vector<uint8_t> Area() {
  const std::vector<uint8_t> image = tests::MinimalRtasImage();
  const uint32_t state_offset = 0x1000;
  const uint32_t state_size = rtas::StateRegionSize(256);
  std::vector<uint8_t> area(state_offset + state_size);
  std::memcpy(area.data(), image.data(), image.size());
  auto& config = *reinterpret_cast<rtas::ImageConfig*>(area.data() + sizeof(rtas::ImageHeader));
  config.area_base = lib::Be64(kBase);
  config.ram_top = lib::Be64(1ull << 30);
  config.console_unit = lib::Be64(0x71000000);
  config.state_offset = lib::Be32(state_offset);
  config.state_size = lib::Be32(state_size);
  config.service_count = lib::Be32(4);
  lib::Span<uint8_t> region(area.data() + state_offset, state_size);
  if (rtas::InitStateRegion(region, 1).is_error()) std::abort();
  rtas::RecordCall(region, 0, 0);
  rtas::RecordCall(region, 2, -3);
  return area;
}

// A big-endian ELF64 core with one PT_LOAD segment holding `memory` at guest address `paddr`.
std::vector<uint8_t> Core(const std::vector<uint8_t>& memory, uint64_t paddr) {
  std::vector<uint8_t> core(64 + 56);
  const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 2, 1, 0};
  std::memcpy(core.data(), ident, sizeof(ident));
  lib::StoreBe16(&core[16], 4);  // ET_CORE
  lib::StoreBe16(&core[18], 21);
  lib::StoreBe32(&core[20], 1);
  lib::StoreBe64(&core[32], 64);  // e_phoff
  lib::StoreBe16(&core[52], 64);
  lib::StoreBe16(&core[54], 56);
  lib::StoreBe16(&core[56], 1);
  uint8_t* ph = &core[64];
  lib::StoreBe32(ph, 1);  // PT_LOAD
  lib::StoreBe64(ph + 8, core.size());
  lib::StoreBe64(ph + 16, paddr);
  lib::StoreBe64(ph + 24, paddr);
  lib::StoreBe64(ph + 32, memory.size());
  lib::StoreBe64(ph + 40, memory.size());
  core.insert(core.end(), memory.begin(), memory.end());
  return core;
}

}  // namespace

void fuzz::MakeSeeds(Seeds& seeds) {
  const std::vector<uint8_t> area = Area();
  std::vector<uint8_t> seed{2};  // --start kBase: the raw dump is the area
  PutBytes(seed, area);
  seeds.Add("raw-area", seed);
  seed = {3};  // --base too
  PutBytes(seed, area);
  seeds.Add("raw-area-base", seed);
  seed = {0};
  PutBytes(seed, Core(area, kBase));
  seeds.Add("elf-core", seed);
}
