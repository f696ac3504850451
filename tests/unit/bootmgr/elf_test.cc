// bootmgr/elf.h: the load plan of PowerPC ELF images built here byte by byte (GRUB's core.elf
// shape, 64-bit big- and little-endian), every refusal, and the copy into a byte-array guest.
#include "bootmgr/elf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using bootmgr::AddressRange;
using bootmgr::ElfError;
using bootmgr::LoadPlan;

constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPtNote = 4;
constexpr uint32_t kPtGnuStack = 0x6474e551;
constexpr uint16_t kEtExec = 2;
constexpr uint16_t kEtDyn = 3;

struct Phdr {
  uint32_t type;
  uint64_t offset;
  uint64_t vaddr;
  uint64_t paddr;
  uint64_t filesz;
  uint64_t memsz;
};

struct ElfSpec {
  bool is_64bit = false;
  bool little_endian = false;
  uint16_t type = kEtExec;
  uint16_t machine = bootmgr::kEmPpc;
  uint64_t entry = 0;
  uint32_t flags = 0;
  std::vector<Phdr> phdrs;
  size_t image_size = 0x10000;
};

class Writer {
 public:
  Writer(std::vector<uint8_t>& bytes, bool little_endian)
      : bytes_(bytes), little_endian_(little_endian) {}
  void Put(size_t at, uint64_t value, int width) {
    for (int i = 0; i < width; ++i) {
      const int shift = 8 * (little_endian_ ? i : width - 1 - i);
      bytes_.at(at + i) = static_cast<uint8_t>(value >> shift);
    }
  }

 private:
  std::vector<uint8_t>& bytes_;
  bool little_endian_;
};

// The image: ELF header, program headers right after it, and every other byte a pattern of its
// offset, so a copied segment can be checked byte for byte.
// An image_size shorter than the headers cuts them.
std::vector<uint8_t> BuildElf(const ElfSpec& spec) {
  const size_t header_size = spec.is_64bit ? 64 : 52;
  const size_t phdr_size = spec.is_64bit ? 56 : 32;
  std::vector<uint8_t> image(
      std::max(spec.image_size, header_size + phdr_size * spec.phdrs.size()));
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>(i * 13 + 7);
  std::memset(image.data(), 0, header_size + phdr_size * spec.phdrs.size());
  const uint8_t ident[7] = {0x7f,
                            'E',
                            'L',
                            'F',
                            static_cast<uint8_t>(spec.is_64bit ? 2 : 1),
                            static_cast<uint8_t>(spec.little_endian ? 1 : 2),
                            1};
  std::memcpy(image.data(), ident, sizeof(ident));
  Writer w(image, spec.little_endian);
  const int word = spec.is_64bit ? 8 : 4;
  w.Put(16, spec.type, 2);
  w.Put(18, spec.machine, 2);
  w.Put(20, 1, 4);
  w.Put(24, spec.entry, word);
  w.Put(24 + word, header_size, word);  // e_phoff
  w.Put(24 + 2 * word, 0, word);        // e_shoff
  const size_t flags_at = 24 + 3 * word;
  w.Put(flags_at, spec.flags, 4);
  w.Put(flags_at + 4, header_size, 2);
  w.Put(flags_at + 6, phdr_size, 2);
  w.Put(flags_at + 8, spec.phdrs.size(), 2);
  for (size_t i = 0; i < spec.phdrs.size(); ++i) {
    const Phdr& p = spec.phdrs[i];
    const size_t at = header_size + i * phdr_size;
    w.Put(at, p.type, 4);
    if (spec.is_64bit) {
      w.Put(at + 4, 7, 4);  // p_flags RWX
      w.Put(at + 8, p.offset, 8);
      w.Put(at + 16, p.vaddr, 8);
      w.Put(at + 24, p.paddr, 8);
      w.Put(at + 32, p.filesz, 8);
      w.Put(at + 40, p.memsz, 8);
      w.Put(at + 48, 0x10000, 8);
    } else {
      w.Put(at + 4, p.offset, 4);
      w.Put(at + 8, p.vaddr, 4);
      w.Put(at + 12, p.paddr, 4);
      w.Put(at + 16, p.filesz, 4);
      w.Put(at + 20, p.memsz, 4);
      w.Put(at + 24, 7, 4);
      w.Put(at + 28, 4, 4);
    }
  }
  image.resize(spec.image_size);
  return image;
}

// Writes a function descriptor's first doubleword (the code address) at image offset `at`.
void PutDescriptor(std::vector<uint8_t>& image, size_t at, uint64_t code) {
  Writer(image, false).Put(at, code, 8);
}

// What grub-mkimage -O powerpc-ieee1275 writes (util/grub-mkimagexx.c, generate_elf): ELF32 BE,
// ET_EXEC, EM_PPC, entry 0x200000; the kernel with its bss, PT_GNU_STACK, the modules after the
// bss, the CHRP note (p_memsz 0) after the program.
ElfSpec GrubCore() {
  ElfSpec spec;
  spec.entry = 0x200000;
  spec.phdrs = {{kPtLoad, 0x100, 0x200000, 0x200000, 0x6000, 0x9000},
                {kPtGnuStack, 0x6100, 0, 0, 0, 0},
                {kPtLoad, 0x6100, 0x209000, 0x209000, 0x2400, 0x2400},
                {kPtNote, 0x8500, 0, 0, 0x2c, 0}};
  spec.image_size = 0x20000;  // the PReP partition is larger than the ELF
  return spec;
}

// The firmware's memory in these tests, and the real-mode limit.
constexpr AddressRange kFirmware[] = {{0, 0x100000}, {0x3f00000, 0x100000}};
constexpr uint64_t kRamLimit = 0x4000000;

lib::Result<LoadPlan, ElfError> Plan(const std::vector<uint8_t>& image,
                                     uint64_t limit = kRamLimit) {
  return bootmgr::PlanElfLoad({image.data(), image.size()}, limit, kFirmware);
}

ElfError PlanError(const std::vector<uint8_t>& image, uint64_t limit = kRamLimit) {
  auto plan = Plan(image, limit);
  EXPECT_TRUE(plan.is_error());
  return plan.is_error() ? plan.error() : ElfError::kCopyFailed;
}

TEST(ElfPlan, GrubCoreElfIsPlannedAtItsAddresses) {
  const auto image = BuildElf(GrubCore());
  auto result = Plan(image);
  ASSERT_TRUE(result.is_ok()) << bootmgr::ElfErrorName(result.error());
  const LoadPlan& plan = result.value();
  EXPECT_EQ(plan.entry, 0x200000u);
  EXPECT_EQ(plan.entry_paddr, 0x200000u);
  EXPECT_FALSE(plan.is_64bit);
  EXPECT_FALSE(plan.is_little_endian);
  EXPECT_FALSE(plan.is_dynamic);
  EXPECT_EQ(plan.machine, bootmgr::kEmPpc);
  ASSERT_EQ(plan.segment_count, 2u);  // PT_GNU_STACK and PT_NOTE load nothing
  EXPECT_EQ(plan.segments[0].paddr, 0x200000u);
  EXPECT_EQ(plan.segments[0].file_offset, 0x100u);
  EXPECT_EQ(plan.segments[0].filesz, 0x6000u);
  EXPECT_EQ(plan.segments[0].memsz, 0x9000u);
  EXPECT_EQ(plan.segments[1].paddr, 0x209000u);
  EXPECT_EQ(plan.segments[1].file_offset, 0x6100u);
  EXPECT_EQ(plan.segments[1].filesz, 0x2400u);
  EXPECT_EQ(plan.segments[1].memsz, 0x2400u);
}

TEST(ElfPlan, ImageExactlyAsLongAsTheElfIsEnough) {
  ElfSpec spec = GrubCore();
  spec.image_size = 0x8500;  // ends with the modules; the note is outside, but never loaded
  spec.phdrs.pop_back();
  EXPECT_TRUE(Plan(BuildElf(spec)).is_ok());
}

TEST(ElfPlan, SixtyFourBitBigEndianWithPaddrApartFromVaddr) {
  ElfSpec spec;
  spec.is_64bit = true;
  spec.machine = bootmgr::kEmPpc64;
  spec.flags = 1;  // ELFv1: e_entry names a function descriptor
  spec.entry = 0xc000000000004020ull;
  spec.phdrs = {{kPtLoad, 0x1000, 0xc000000000000000ull, 0x400000, 0x8000, 0x20000}};
  spec.image_size = 0x9000;
  auto image = BuildElf(spec);
  PutDescriptor(image, 0x1000 + 0x4020, 0xc000000000000100ull);
  auto result = Plan(image);
  ASSERT_TRUE(result.is_ok()) << bootmgr::ElfErrorName(result.error());
  const LoadPlan& plan = result.value();
  EXPECT_TRUE(plan.is_64bit);
  EXPECT_FALSE(plan.is_little_endian);
  EXPECT_EQ(plan.machine, bootmgr::kEmPpc64);
  EXPECT_EQ(plan.flags, 1u);
  EXPECT_EQ(plan.entry, 0xc000000000004020ull);
  EXPECT_EQ(plan.entry_paddr, 0x404020u);
  // The descriptor's code address is virtual too: it is entered where its bytes land.
  EXPECT_TRUE(plan.entry_is_descriptor);
  EXPECT_EQ(plan.descriptor_code, 0xc000000000000100ull);
  EXPECT_EQ(plan.enter_at, 0x400100u);
  EXPECT_FALSE(plan.enter_32bit);
  ASSERT_EQ(plan.segment_count, 1u);
  EXPECT_EQ(plan.segments[0].paddr, 0x400000u);
  EXPECT_EQ(plan.segments[0].vaddr, 0xc000000000000000ull);
  EXPECT_EQ(plan.segments[0].memsz, 0x20000u);
}

TEST(ElfPlan, SixtyFourBitLittleEndian) {
  ElfSpec spec;
  spec.is_64bit = true;
  spec.little_endian = true;
  spec.machine = bootmgr::kEmPpc64;
  spec.flags = 2;  // ELFv2
  spec.entry = 0x500100;
  spec.phdrs = {{kPtLoad, 0x1000, 0x500000, 0x500000, 0x3000, 0x3000},
                {kPtLoad, 0x4000, 0x510000, 0x510000, 0x1000, 0x5000}};
  const auto image = BuildElf(spec);
  auto result = Plan(image);
  ASSERT_TRUE(result.is_ok()) << bootmgr::ElfErrorName(result.error());
  const LoadPlan& plan = result.value();
  EXPECT_TRUE(plan.is_64bit);
  EXPECT_TRUE(plan.is_little_endian);
  EXPECT_EQ(plan.flags, 2u);
  EXPECT_EQ(plan.entry, 0x500100u);
  ASSERT_EQ(plan.segment_count, 2u);
  EXPECT_EQ(plan.segments[1].paddr, 0x510000u);
  EXPECT_EQ(plan.segments[1].file_offset, 0x4000u);
  EXPECT_EQ(plan.segments[1].memsz, 0x5000u);
  // The same image read with the other byte order is nonsense, and refused.
  auto swapped = image;
  swapped[5] = 2;
  EXPECT_TRUE(Plan(swapped).is_error());
}

TEST(ElfPlan, ThirtyTwoBitLittleEndianAndDynamic) {
  ElfSpec spec = GrubCore();
  spec.little_endian = true;
  spec.type = kEtDyn;
  auto result = Plan(BuildElf(spec));
  ASSERT_TRUE(result.is_ok());
  EXPECT_TRUE(result.value().is_little_endian);
  EXPECT_TRUE(result.value().is_dynamic);
  EXPECT_EQ(result.value().segments[1].paddr, 0x209000u);
}

TEST(ElfPlan, HeaderChecks) {
  const auto good = BuildElf(GrubCore());
  EXPECT_EQ(PlanError({}), ElfError::kTruncated);
  EXPECT_EQ(PlanError({0x7f, 'E', 'L'}), ElfError::kTruncated);
  EXPECT_EQ(PlanError({0x7f, 'E', 'L', 'F', 1}), ElfError::kTruncated);
  EXPECT_EQ(PlanError(std::vector<uint8_t>(good.begin(), good.begin() + 51)), ElfError::kTruncated);
  ElfSpec wide = GrubCore();
  wide.is_64bit = true;
  const auto wide_image = BuildElf(wide);
  EXPECT_EQ(PlanError(std::vector<uint8_t>(wide_image.begin(), wide_image.begin() + 63)),
            ElfError::kTruncated);

  auto with = [&](size_t at, uint8_t value) {
    auto image = good;
    image[at] = value;
    return image;
  };
  EXPECT_EQ(PlanError(with(0, 0x7e)), ElfError::kNotElf);
  EXPECT_EQ(PlanError(with(3, 'f')), ElfError::kNotElf);
  EXPECT_EQ(PlanError(with(4, 0)), ElfError::kBadClass);
  EXPECT_EQ(PlanError(with(4, 3)), ElfError::kBadClass);
  EXPECT_EQ(PlanError(with(5, 0)), ElfError::kBadByteOrder);
  EXPECT_EQ(PlanError(with(6, 2)), ElfError::kBadVersion);
  EXPECT_EQ(PlanError(with(23, 2)), ElfError::kBadVersion);     // e_version
  EXPECT_EQ(PlanError(with(17, 1)), ElfError::kNotExecutable);  // ET_REL
  EXPECT_EQ(PlanError(with(17, 4)), ElfError::kNotExecutable);  // ET_CORE
  EXPECT_EQ(PlanError(with(19, 62)), ElfError::kWrongMachine);  // EM_X86_64
  EXPECT_EQ(PlanError(with(19, 0)), ElfError::kWrongMachine);
}

TEST(ElfPlan, ProgramHeaderTableMustLieInTheImage) {
  ElfSpec spec = GrubCore();
  spec.image_size = 52 + 32 * 4 - 1;  // the last header is cut
  spec.phdrs = {{kPtLoad, 0, 0x200000, 0x200000, 0x40, 0x40},
                {kPtGnuStack, 0, 0, 0, 0, 0},
                {kPtGnuStack, 0, 0, 0, 0, 0},
                {kPtGnuStack, 0, 0, 0, 0, 0}};
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kBadProgramHeaders);

  auto image = BuildElf(GrubCore());
  Writer w(image, false);
  w.Put(28, 0xfffffff0, 4);  // e_phoff far outside
  EXPECT_EQ(PlanError(image), ElfError::kBadProgramHeaders);
  image = BuildElf(GrubCore());
  Writer(image, false).Put(42, 16, 2);  // e_phentsize smaller than a program header
  EXPECT_EQ(PlanError(image), ElfError::kBadProgramHeaders);
  image = BuildElf(GrubCore());
  Writer(image, false).Put(44, 0xffff, 2);  // PN_XNUM: the count lives in section 0
  EXPECT_EQ(PlanError(image), ElfError::kBadProgramHeaders);

  ElfSpec wide;
  wide.is_64bit = true;
  wide.machine = bootmgr::kEmPpc64;
  wide.entry = 0x200000;
  wide.phdrs = {{kPtLoad, 0x1000, 0x200000, 0x200000, 0x100, 0x100}};
  image = BuildElf(wide);
  Writer(image, false).Put(32, 0xfffffffffffffff0ull, 8);  // e_phoff + table size wraps
  EXPECT_EQ(PlanError(image), ElfError::kBadProgramHeaders);
}

TEST(ElfPlan, NoProgramHeadersIsNothingToLoad) {
  ElfSpec spec = GrubCore();
  spec.phdrs = {{kPtNote, 0x100, 0, 0, 0x10, 0}};
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kNoLoadSegments);
  spec.phdrs.clear();
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kNoLoadSegments);
}

TEST(ElfPlan, SegmentMustLieInTheImage) {
  ElfSpec spec = GrubCore();
  spec.phdrs[2].filesz = spec.phdrs[2].memsz = 0x20000;  // runs past the 0x20000-byte image
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kSegmentOutsideImage);
  spec = GrubCore();
  spec.phdrs[0].offset = 0xffffff00;  // far past it
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kSegmentOutsideImage);

  ElfSpec wide;
  wide.is_64bit = true;
  wide.machine = bootmgr::kEmPpc64;
  wide.entry = 0x200000;
  wide.phdrs = {{kPtLoad, 0xffffffffffffff00ull, 0x200000, 0x200000, 0x200, 0x200}};
  EXPECT_EQ(PlanError(BuildElf(wide)), ElfError::kSegmentOutsideImage);  // offset + size wraps
}

TEST(ElfPlan, FileSizeAboveMemorySizeIsRefused) {
  ElfSpec spec = GrubCore();
  spec.phdrs[0].memsz = spec.phdrs[0].filesz - 1;
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kFileSizeOverMemSize);
  spec.phdrs[0].memsz = 0;
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kFileSizeOverMemSize);
}

TEST(ElfPlan, SegmentOverFirmwareMemoryIsRefused) {
  ElfSpec spec = GrubCore();
  spec.phdrs[2].paddr = 0xfff00;  // its first 256 bytes are firmware
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kForbiddenRange);
  spec = GrubCore();
  spec.phdrs[0].paddr = 0x3eff800;  // its bss reaches into the second range
  spec.phdrs[0].vaddr = 0x3eff800;
  spec.entry = 0x3eff800;
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kForbiddenRange);
  // With the whole first 4 MiB forbidden, GRUB at 0x200000 cannot be loaded.
  const AddressRange below_4m[] = {{0, 0x400000}};
  const auto image = BuildElf(GrubCore());
  auto plan = bootmgr::PlanElfLoad({image.data(), image.size()}, kRamLimit, below_4m);
  ASSERT_TRUE(plan.is_error());
  EXPECT_EQ(plan.error(), ElfError::kForbiddenRange);
}

TEST(ElfPlan, SegmentPastTheMemoryLimitIsRefused) {
  const auto image = BuildElf(GrubCore());
  EXPECT_TRUE(Plan(image, 0x20b400).is_ok());  // the modules end exactly at the limit
  EXPECT_EQ(PlanError(image, 0x20b3ff), ElfError::kPastMemoryLimit);
  EXPECT_EQ(PlanError(image, 0x200000), ElfError::kPastMemoryLimit);
}

TEST(ElfPlan, OverlappingSegmentsAreRefused) {
  ElfSpec spec = GrubCore();
  spec.phdrs[2].paddr = 0x208fff;  // the modules' first byte over the kernel's bss
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kSegmentsOverlap);
  spec.phdrs[2].paddr = 0x1ff000;  // starts below the kernel, ends inside it
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kSegmentsOverlap);
  spec.phdrs[2].paddr = 0x209000;  // adjacent: fine
  EXPECT_TRUE(Plan(BuildElf(spec)).is_ok());
}

TEST(ElfPlan, TooManySegmentsAreRefused) {
  ElfSpec spec = GrubCore();
  spec.phdrs.clear();
  for (uint32_t i = 0; i <= bootmgr::kMaxLoadSegments; ++i) {
    spec.phdrs.push_back(
        {kPtLoad, 0x1000, 0x200000 + 0x1000u * i, 0x200000 + 0x1000u * i, 0x100, 0x1000});
  }
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kTooManySegments);
  spec.phdrs.pop_back();
  auto plan = Plan(BuildElf(spec));
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan.value().segment_count, bootmgr::kMaxLoadSegments);
  // Empty PT_LOADs count for nothing.
  spec.phdrs.push_back({kPtLoad, 0, 0, 0, 0, 0});
  EXPECT_TRUE(Plan(BuildElf(spec)).is_ok());
}

TEST(ElfPlan, AddressWrapIsRefused) {
  ElfSpec wide;
  wide.is_64bit = true;
  wide.machine = bootmgr::kEmPpc64;
  wide.entry = 0xfffffffffffff000ull;
  wide.phdrs = {{kPtLoad, 0x1000, 0xfffffffffffff000ull, 0xfffffffffffff000ull, 0x100, 0x2000}};
  EXPECT_EQ(PlanError(BuildElf(wide)), ElfError::kAddressOverflow);
  // Ending exactly at 2^64 does not fit in 64 bits either.
  wide.phdrs[0].memsz = 0x1000;
  EXPECT_EQ(PlanError(BuildElf(wide)), ElfError::kAddressOverflow);
  // Without a wrap, the same segment is merely past the memory limit.
  wide.phdrs[0].memsz = 0xfff;
  EXPECT_EQ(PlanError(BuildElf(wide)), ElfError::kPastMemoryLimit);
}

TEST(ElfPlan, EntryMustBeInsideALoadedSegment) {
  ElfSpec spec = GrubCore();
  spec.entry = 0x100000;  // below every segment
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kEntryNotLoaded);
  spec.entry = 0x206000;  // in the kernel's bss: not file bytes
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kEntryNotLoaded);
  spec.entry = 0x20a000;  // in the modules
  auto plan = Plan(BuildElf(spec));
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan.value().entry_paddr, 0x20a000u);
  EXPECT_EQ(plan.value().enter_at, 0x20a000u);
  EXPECT_TRUE(plan.value().enter_32bit);
  EXPECT_FALSE(plan.value().entry_is_descriptor);
  spec.entry = 0x20b3fc;  // the modules' last instruction
  EXPECT_TRUE(Plan(BuildElf(spec)).is_ok());
  spec.phdrs[2].filesz = 0x23fe;  // ... now half in the bss
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kEntryNotLoaded);
}

TEST(ElfPlan, EntryMustBeOnAnInstructionBoundary) {
  ElfSpec spec = GrubCore();
  spec.entry = 0x200002;
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kEntryMisaligned);
}

// A 64-bit big-endian ELFv1 image, as a PReP partition may hold one: one segment of code at
// 0x400000 (file offset 0x1000, 0x2000 file bytes, 0x4000 in memory), a second at 0x800000
// (file offset 0x3000, 0x1000 bytes), e_entry naming the descriptor at 0x800100 in the second.
ElfSpec ElfV1() {
  ElfSpec spec;
  spec.is_64bit = true;
  spec.machine = bootmgr::kEmPpc64;
  spec.flags = 1;
  spec.entry = 0x800100;
  spec.phdrs = {{kPtLoad, 0x1000, 0x400000, 0x400000, 0x2000, 0x4000},
                {kPtLoad, 0x3000, 0x800000, 0x800000, 0x1000, 0x1000}};
  spec.image_size = 0x4000;
  return spec;
}

// The ELFv1 image with the descriptor's code address `code`.
std::vector<uint8_t> ElfV1With(uint64_t code, ElfSpec spec = ElfV1()) {
  auto image = BuildElf(spec);
  if (spec.entry >= 0x800000 && spec.entry + 8 <= 0x801000) {
    PutDescriptor(image, 0x3000 + (spec.entry - 0x800000), code);
  }
  return image;
}

TEST(ElfPlan, ElfV1EntersTheDescriptorsCodeAddress) {
  auto plan = Plan(ElfV1With(0x400040));
  ASSERT_TRUE(plan.is_ok()) << bootmgr::ElfErrorName(plan.error());
  EXPECT_TRUE(plan.value().entry_is_descriptor);
  EXPECT_EQ(plan.value().entry_paddr, 0x800100u);
  EXPECT_EQ(plan.value().descriptor_code, 0x400040u);
  EXPECT_EQ(plan.value().enter_at, 0x400040u);
  EXPECT_FALSE(plan.value().enter_32bit);
  // The last instruction of the first segment's file bytes; the descriptor's code in the second
  // segment itself.
  EXPECT_EQ(Plan(ElfV1With(0x401ffc)).value().enter_at, 0x401ffcu);
  EXPECT_EQ(Plan(ElfV1With(0x800000)).value().enter_at, 0x800000u);
}

TEST(ElfPlan, ElfV1DescriptorMustLieInFileBytes) {
  ElfSpec spec = ElfV1();
  spec.entry = 0x800ffc;  // its 8 bytes run 4 past the second segment's file bytes
  EXPECT_EQ(PlanError(ElfV1With(0x400040, spec)), ElfError::kDescriptorNotLoaded);
  spec.entry = 0x800ff8;  // the last 8 file bytes: fine
  auto image = BuildElf(spec);
  PutDescriptor(image, 0x3ff8, 0x400040);
  EXPECT_TRUE(Plan(image).is_ok());
  spec.entry = 0x402000;  // in the first segment's bss: zeros in memory, not in the image
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kDescriptorNotLoaded);
  spec.entry = 0x600000;  // in no segment
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kDescriptorNotLoaded);
  spec.entry = 0xfffffffffffffffcull;  // e_entry + 8 wraps
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kDescriptorNotLoaded);
}

TEST(ElfPlan, ElfV1DescriptorTargetMustBeLoadedCode) {
  // Outside every segment, in the firmware, in the image's buffer (kFirmware's second range),
  // in a segment's bss, half past its file bytes, past 2^64.
  for (uint64_t code :
       {0x600000ull, 0x100ull, 0x3f00000ull, 0x402000ull, 0x401ffeull, 0xfffffffffffffffeull}) {
    EXPECT_EQ(PlanError(ElfV1With(code)), ElfError::kDescriptorTarget) << std::hex << code;
  }
  EXPECT_EQ(PlanError(ElfV1With(0x400042)), ElfError::kEntryMisaligned);
}

TEST(ElfPlan, OnlyBigEndianElfV1HasADescriptor) {
  ElfSpec spec = ElfV1();
  spec.flags = 2;  // ELFv2: e_entry is code
  spec.entry = 0x400040;
  auto plan = Plan(BuildElf(spec));
  ASSERT_TRUE(plan.is_ok()) << bootmgr::ElfErrorName(plan.error());
  EXPECT_FALSE(plan.value().entry_is_descriptor);
  EXPECT_EQ(plan.value().enter_at, 0x400040u);
  spec.flags = 0;  // no ABI version: ELFv1
  EXPECT_EQ(PlanError(BuildElf(spec)), ElfError::kDescriptorTarget);
  spec.little_endian = true;  // little-endian images have no descriptors (ELFv2 only)
  plan = Plan(BuildElf(spec));
  ASSERT_TRUE(plan.is_ok()) << bootmgr::ElfErrorName(plan.error());
  EXPECT_EQ(plan.value().enter_at, 0x400040u);
}

// Guest RAM as a heap array of exactly kGuestSize bytes.
constexpr uint64_t kGuestSize = 0x400000;

class ElfLoadTest : public ::testing::Test {
 protected:
  ElfLoadTest() : ram_(new uint8_t[kGuestSize]), memory_(Base(), kGuestSize) {
    std::memset(ram_.get(), 0xAA, kGuestSize);
  }
  uintptr_t Base() const { return reinterpret_cast<uintptr_t>(ram_.get()); }

  std::unique_ptr<uint8_t[]> ram_;
  lib::GuestMemory memory_;
};

TEST_F(ElfLoadTest, CopiesFileBytesAndZeroesTheBss) {
  const auto image = BuildElf(GrubCore());
  auto plan = Plan(image, kGuestSize);
  ASSERT_TRUE(plan.is_ok());
  ASSERT_TRUE(
      bootmgr::LoadElfSegments(plan.value(), {image.data(), image.size()}, memory_).is_ok());
  const uint8_t* ram = ram_.get();
  EXPECT_EQ(std::memcmp(ram + 0x200000, image.data() + 0x100, 0x6000), 0);
  for (uint64_t a = 0x206000; a < 0x209000; ++a) ASSERT_EQ(ram[a], 0) << std::hex << a;
  EXPECT_EQ(std::memcmp(ram + 0x209000, image.data() + 0x6100, 0x2400), 0);
  EXPECT_EQ(ram[0x1fffff], 0xAA);  // nothing outside the segments is touched
  EXPECT_EQ(ram[0x20b400], 0xAA);
}

TEST_F(ElfLoadTest, SegmentWithNoFileBytesIsAllZeroes) {
  ElfSpec spec = GrubCore();
  spec.phdrs[2].filesz = 0;
  const auto image = BuildElf(spec);
  auto plan = Plan(image, kGuestSize);
  ASSERT_TRUE(plan.is_ok());
  ASSERT_TRUE(
      bootmgr::LoadElfSegments(plan.value(), {image.data(), image.size()}, memory_).is_ok());
  for (uint64_t a = 0x209000; a < 0x20b400; ++a) ASSERT_EQ(ram_[a], 0) << std::hex << a;
}

TEST_F(ElfLoadTest, RefusedWriteStopsTheCopy) {
  const auto image = BuildElf(GrubCore());
  auto plan = Plan(image, kGuestSize);
  ASSERT_TRUE(plan.is_ok());
  ASSERT_TRUE(memory_.Protect(0x20a000, 0x10));
  lib::MemoryError why = lib::MemoryError::kOutOfRange;
  auto loaded = bootmgr::LoadElfSegments(plan.value(), {image.data(), image.size()}, memory_, &why);
  ASSERT_TRUE(loaded.is_error());
  EXPECT_EQ(loaded.error(), ElfError::kCopyFailed);
  EXPECT_EQ(why, lib::MemoryError::kProtected);
  // A plan for a larger RAM than the guest has: the guest refuses.
  lib::GuestMemory small(Base(), 0x208000);
  loaded = bootmgr::LoadElfSegments(plan.value(), {image.data(), image.size()}, small, &why);
  ASSERT_TRUE(loaded.is_error());
  EXPECT_EQ(why, lib::MemoryError::kOutOfRange);
}

TEST_F(ElfLoadTest, ImageOtherThanThePlannedOneIsRefused) {
  const auto image = BuildElf(GrubCore());
  auto plan = Plan(image, kGuestSize);
  ASSERT_TRUE(plan.is_ok());
  auto loaded = bootmgr::LoadElfSegments(plan.value(), {image.data(), 0x7000}, memory_);
  ASSERT_TRUE(loaded.is_error());
  EXPECT_EQ(loaded.error(), ElfError::kSegmentOutsideImage);
  LoadPlan forged = plan.value();
  forged.segments[0].filesz = forged.segments[0].memsz + 1;
  loaded = bootmgr::LoadElfSegments(forged, {image.data(), image.size()}, memory_);
  ASSERT_TRUE(loaded.is_error());
  EXPECT_EQ(loaded.error(), ElfError::kFileSizeOverMemSize);
}

TEST(ElfNames, EveryErrorHasADistinctName) {
  std::vector<std::string> names;
  for (int e = 0; e <= static_cast<int>(ElfError::kCopyFailed); ++e) {  // kCopyFailed is last
    const std::string name = bootmgr::ElfErrorName(static_cast<ElfError>(e));
    EXPECT_NE(name, "ELF error") << e;
    for (const std::string& other : names) EXPECT_NE(name, other);
    names.push_back(name);
  }
}

}  // namespace
