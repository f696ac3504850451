// ELF load plans (bootmgr/elf.cc): the image in a PReP partition, whatever it holds, through
// PlanElfLoad and, for a plan it accepts, LoadElfSegments into guest RAM. The image is an
// exact-size heap buffer; a plan must keep every segment inside the image, below the memory limit,
// clear of the forbidden ranges and of each other, and enter at an instruction that lies in a
// segment's file bytes; for a 64-bit big-endian ELFv1 image the function descriptor must lie in
// file bytes too, and once loaded the code address guest memory holds there must be the one the
// plan enters (translated through its segment). Input: the memory limit's MiB (1 byte, at most
// 63), then the image.
#include <sys/mman.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "bootmgr/elf.h"
#include "lib/be.h"
#include "lib/guest-memory.h"
#include "tests/fuzz/fuzz-support.h"
#include "tests/host-fixtures.h"

namespace {

constexpr uint64_t kRamSize = 64ull << 20;
// As bootmgr/loader.cc forbids them: the firmware below 2 MiB, and the buffer the image was read
// into.
constexpr bootmgr::AddressRange kForbidden[] = {{0, 0x200000}, {0x3000000, 0x800000}};

uint8_t* Ram() {
  static uint8_t* ram = [] {
    uint8_t* mapped = tests::MapGuestRam(kRamSize);
    if (mapped == nullptr) std::abort();
    return mapped;
  }();
  return ram;
}

bool Overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
  return a_size != 0 && b_size != 0 && a < b + b_size && b < a + a_size;
}

// Whether `size` bytes at real address `paddr` lie in one segment's file bytes.
bool InFileBytes(const bootmgr::LoadPlan& p, uint64_t paddr, uint64_t size) {
  for (uint32_t i = 0; i < p.segment_count; ++i) {
    const bootmgr::LoadSegment& s = p.segments[i];
    if (paddr >= s.paddr && paddr - s.paddr <= s.filesz && size <= s.filesz - (paddr - s.paddr)) {
      return true;
    }
  }
  return false;
}

// The real address of the instruction at virtual address `vaddr`, through the first segment (in
// program-header order) whose file bytes hold its 4 bytes; ~0 when none does.
uint64_t RealAddressOf(const bootmgr::LoadPlan& p, uint64_t vaddr) {
  for (uint32_t i = 0; i < p.segment_count; ++i) {
    const bootmgr::LoadSegment& s = p.segments[i];
    if (vaddr >= s.vaddr && s.filesz >= 4 && vaddr - s.vaddr <= s.filesz - 4) {
      return s.paddr + (vaddr - s.vaddr);
    }
  }
  return ~uint64_t{0};
}

// The entry's invariants (before the load: from the plan alone).
void CheckEntry(const bootmgr::LoadPlan& p) {
  if (!InFileBytes(p, p.enter_at, 4)) fuzz::Violation("the entry is in no segment's file bytes");
  if (p.enter_at % 4 != 0) fuzz::Violation("the entry is not an instruction's address");
  if (p.enter_32bit != !p.is_64bit) fuzz::Violation("the entry mode is not the image's class");
  const bool elfv1 = p.is_64bit && !p.is_little_endian && (p.flags & 3) != 2;
  if (elfv1 != p.entry_is_descriptor) fuzz::Violation("a descriptor where there is none");
  if (elfv1 && !InFileBytes(p, p.entry_paddr, 8)) {
    fuzz::Violation("the entry descriptor is in no segment's file bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input input(data, size);
  const uint64_t limit = static_cast<uint64_t>(input.U8() % 64) << 20;
  const std::vector<uint8_t> bytes = input.Rest();
  std::unique_ptr<uint8_t[]> image(new uint8_t[bytes.size() + 1]);
  std::copy(bytes.begin(), bytes.end(), image.get());
  const lib::Span<const uint8_t> image_span(image.get(), bytes.size());
  auto plan = bootmgr::PlanElfLoad(image_span, limit, kForbidden);
  if (plan.is_error()) return 0;
  const bootmgr::LoadPlan& p = plan.value();
  if (p.segment_count == 0 || p.segment_count > bootmgr::kMaxLoadSegments) {
    fuzz::Violation("segment count out of range");
  }
  for (uint32_t i = 0; i < p.segment_count; ++i) {
    const bootmgr::LoadSegment& s = p.segments[i];
    if (s.file_offset > bytes.size() || s.filesz > bytes.size() - s.file_offset) {
      fuzz::Violation("a segment's file bytes outside the image");
    }
    if (s.filesz > s.memsz || s.paddr > limit || s.memsz > limit - s.paddr) {
      fuzz::Violation("a segment outside the memory limit");
    }
    for (const bootmgr::AddressRange& f : kForbidden) {
      if (Overlap(s.paddr, s.memsz, f.start, f.size)) fuzz::Violation("a forbidden range loaded");
    }
    for (uint32_t j = 0; j < i; ++j) {
      if (Overlap(s.paddr, s.memsz, p.segments[j].paddr, p.segments[j].memsz)) {
        fuzz::Violation("segments overlap");
      }
    }
  }
  CheckEntry(p);
  if (madvise(Ram(), kRamSize, MADV_DONTNEED) != 0) std::abort();
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(Ram()), limit);
  if (bootmgr::LoadElfSegments(p, image_span, memory).is_error()) return 0;
  if (p.entry_is_descriptor) {
    // What the firmware once read from memory after the load must be what the plan enters.
    uint8_t descriptor[8];
    if (memory.Read(p.entry_paddr, descriptor, 8).is_error()) {
      fuzz::Violation("the loaded descriptor is outside guest memory");
    }
    if (RealAddressOf(p, lib::LoadBe64(descriptor)) != p.enter_at) {
      fuzz::Violation("the plan enters elsewhere than the loaded descriptor says");
    }
  }
  return 0;
}

namespace {

// A GRUB-shaped core.elf: ELF32 big-endian, EM_PPC, entry 0x200000, a text PT_LOAD and a bss one.
std::vector<uint8_t> Elf32() {
  std::vector<uint8_t> elf(52 + 2 * 32 + 256);
  const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 1, 2, 1, 0};
  std::copy(std::begin(ident), std::end(ident), elf.begin());
  lib::StoreBe16(&elf[16], 2);   // ET_EXEC
  lib::StoreBe16(&elf[18], 20);  // EM_PPC
  lib::StoreBe32(&elf[20], 1);
  lib::StoreBe32(&elf[24], 0x200000);  // e_entry
  lib::StoreBe32(&elf[28], 52);        // e_phoff
  lib::StoreBe16(&elf[40], 52);
  lib::StoreBe16(&elf[42], 32);
  lib::StoreBe16(&elf[44], 2);
  for (int i = 0; i < 2; ++i) {
    uint8_t* ph = &elf[52 + 32 * i];
    lib::StoreBe32(ph, 1);  // PT_LOAD
    lib::StoreBe32(ph + 4, i == 0 ? 116 : 0);
    lib::StoreBe32(ph + 8, i == 0 ? 0x200000 : 0x210000);
    lib::StoreBe32(ph + 12, i == 0 ? 0x200000 : 0x210000);
    lib::StoreBe32(ph + 16, i == 0 ? 256 : 0);
    lib::StoreBe32(ph + 20, i == 0 ? 256 : 0x1000);
    lib::StoreBe32(ph + 24, 7);
  }
  return elf;
}

// An ELF64 little-endian EM_PPC64 image with p_paddr != p_vaddr.
std::vector<uint8_t> Elf64() {
  std::vector<uint8_t> elf(64 + 56 + 128);
  const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
  std::copy(std::begin(ident), std::end(ident), elf.begin());
  lib::StoreLe16(&elf[16], 3);   // ET_DYN
  lib::StoreLe16(&elf[18], 21);  // EM_PPC64
  lib::StoreLe32(&elf[20], 1);
  lib::StoreLe64(&elf[24], 0xc000000000400010ull);
  lib::StoreLe64(&elf[32], 64);
  lib::StoreLe32(&elf[48], 2);  // ELFv2
  lib::StoreLe16(&elf[52], 64);
  lib::StoreLe16(&elf[54], 56);
  lib::StoreLe16(&elf[56], 1);
  uint8_t* ph = &elf[64];
  lib::StoreLe32(ph, 1);
  lib::StoreLe32(ph + 4, 7);
  lib::StoreLe64(ph + 8, 120);
  lib::StoreLe64(ph + 16, 0xc000000000400000ull);
  lib::StoreLe64(ph + 24, 0x400000);
  lib::StoreLe64(ph + 32, 128);
  lib::StoreLe64(ph + 40, 0x2000);
  return elf;
}

// An ELF64 big-endian ELFv1 image: one segment at 0x400000 whose last 24 bytes are the function
// descriptor e_entry names, its code address the segment's first byte.
std::vector<uint8_t> Elf64V1() {
  std::vector<uint8_t> elf(64 + 56 + 128);
  const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 2, 1, 0};
  std::copy(std::begin(ident), std::end(ident), elf.begin());
  lib::StoreBe16(&elf[16], 2);   // ET_EXEC
  lib::StoreBe16(&elf[18], 21);  // EM_PPC64
  lib::StoreBe32(&elf[20], 1);
  lib::StoreBe64(&elf[24], 0x400000 + 128 - 24);  // the descriptor
  lib::StoreBe64(&elf[32], 64);
  lib::StoreBe32(&elf[48], 1);  // ELFv1
  lib::StoreBe16(&elf[52], 64);
  lib::StoreBe16(&elf[54], 56);
  lib::StoreBe16(&elf[56], 1);
  uint8_t* ph = &elf[64];
  lib::StoreBe32(ph, 1);
  lib::StoreBe32(ph + 4, 7);
  lib::StoreBe64(ph + 8, 120);
  lib::StoreBe64(ph + 16, 0x400000);
  lib::StoreBe64(ph + 24, 0x400000);
  lib::StoreBe64(ph + 32, 128);
  lib::StoreBe64(ph + 40, 0x2000);
  lib::StoreBe64(&elf[120 + 128 - 24], 0x400000);
  return elf;
}

}  // namespace

void fuzz::MakeSeeds(Seeds& seeds) {
  std::vector<uint8_t> seed{48};
  PutBytes(seed, Elf32());
  seeds.Add("grub-core-elf32", seed);
  seed = {48};
  PutBytes(seed, Elf64());
  seeds.Add("elf64-le", seed);
  seed = {48};
  PutBytes(seed, Elf64V1());
  seeds.Add("elf64-be-elfv1", seed);
}
