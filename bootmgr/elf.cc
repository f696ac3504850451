#include "bootmgr/elf.h"

#include "lib/be.h"

namespace bootmgr {

using lib::Err;
using lib::Ok;
using lib::Result;

const char* ElfErrorName(ElfError error) {
  switch (error) {
    case ElfError::kTruncated: return "image shorter than its ELF header";
    case ElfError::kNotElf: return "not an ELF image";
    case ElfError::kBadClass: return "ELF class neither 32- nor 64-bit";
    case ElfError::kBadByteOrder: return "ELF byte order neither big- nor little-endian";
    case ElfError::kBadVersion: return "ELF version not 1";
    case ElfError::kNotExecutable: return "ELF type neither executable nor dynamic";
    case ElfError::kWrongMachine: return "ELF machine not PowerPC";
    case ElfError::kBadProgramHeaders: return "ELF program headers malformed or outside the image";
    case ElfError::kSegmentOutsideImage: return "ELF segment runs past the image";
    case ElfError::kFileSizeOverMemSize: return "ELF segment file size above its memory size";
    case ElfError::kAddressOverflow: return "ELF segment address wraps around";
    case ElfError::kTooManySegments: return "too many ELF segments";
    case ElfError::kNoLoadSegments: return "ELF image has nothing to load";
    case ElfError::kSegmentsOverlap: return "ELF segments overlap";
    case ElfError::kForbiddenRange: return "ELF segment overlaps firmware memory";
    case ElfError::kPastMemoryLimit: return "ELF segment above the usable memory";
    case ElfError::kEntryNotLoaded: return "ELF entry point outside the loaded segments";
    case ElfError::kDescriptorNotLoaded:
      return "ELF entry descriptor outside the loaded segments' file bytes";
    case ElfError::kDescriptorTarget:
      return "ELF entry descriptor's code address outside the loaded segments";
    case ElfError::kEntryMisaligned: return "ELF entry point not on an instruction boundary";
    case ElfError::kCopyFailed: return "ELF segment copy refused by guest memory";
  }
  return "ELF error";
}

namespace {

// gABI "ELF Identification" and "ELF Header".
constexpr uint8_t kElfMagic[4] = {0x7f, 'E', 'L', 'F'};
constexpr uint32_t kEiClass = 4;
constexpr uint32_t kEiData = 5;
constexpr uint32_t kEiVersion = 6;
constexpr uint8_t kElfClass32 = 1;
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfData2Lsb = 1;
constexpr uint8_t kElfData2Msb = 2;
constexpr uint32_t kEvCurrent = 1;
constexpr uint16_t kEtExec = 2;
constexpr uint16_t kEtDyn = 3;
constexpr uint16_t kPnXnum = 0xffff;
constexpr uint32_t kPtLoad = 1;
// 64-bit PowerPC ELF ABI: e_flags' EF_PPC64_ABI field; 2 is ELFv2 (entry points at code), 0 and 1
// ELFv1 (entry points at a function descriptor).
constexpr uint32_t kEfPpc64Abi = 3;
constexpr uint32_t kAbiElfV2 = 2;
// What the entry must have in a segment's file bytes: one instruction; a descriptor's code address.
constexpr uint64_t kInstructionBytes = 4;
constexpr uint64_t kDescriptorCodeBytes = 8;

// Field offsets of the two classes' ELF header and program header.
struct ElfLayout {
  uint32_t header_size;
  uint32_t e_entry;
  uint32_t e_phoff;
  uint32_t e_flags;
  uint32_t e_phentsize;
  uint32_t e_phnum;
  uint32_t phdr_size;
  uint32_t p_offset;
  uint32_t p_vaddr;
  uint32_t p_paddr;
  uint32_t p_filesz;
  uint32_t p_memsz;
  uint32_t word_size;  // of addresses, offsets and sizes: 4 or 8
};
constexpr ElfLayout kLayout32 = {52, 24, 28, 36, 42, 44, 32, 4, 8, 12, 16, 20, 4};
constexpr ElfLayout kLayout64 = {64, 24, 32, 48, 54, 56, 56, 8, 16, 24, 32, 40, 8};
// Both classes: e_type at 16, e_machine at 18, e_version at 20, p_type at 0.
constexpr uint32_t kETypeOffset = 16;
constexpr uint32_t kEMachineOffset = 18;
constexpr uint32_t kEVersionOffset = 20;

// Reads the file's fields in its byte order.
struct FieldReader {
  const uint8_t* base;
  bool little_endian;
  uint32_t word_size;

  uint16_t Half(uint64_t at) const {
    return little_endian ? lib::LoadLe16(base + at) : lib::LoadBe16(base + at);
  }
  uint32_t Word(uint64_t at) const {
    return little_endian ? lib::LoadLe32(base + at) : lib::LoadBe32(base + at);
  }
  // An address, offset or size: 32 bits in ELFCLASS32, 64 in ELFCLASS64.
  uint64_t Address(uint64_t at) const {
    if (word_size == 4) return Word(at);
    return little_endian ? lib::LoadLe64(base + at) : lib::LoadBe64(base + at);
  }
};

// [offset, offset + size) inside [0, limit), without wrapping.
bool Inside(uint64_t offset, uint64_t size, uint64_t limit) {
  return size <= limit && offset <= limit - size;
}

// The ELF header's checks, in the order of its fields.
const ElfLayout& LayoutOf(const LoadPlan& plan) {
  return plan.is_64bit ? kLayout64 : kLayout32;
}

// Checks the ELF header and fills the plan's header fields.
Result<FieldReader, ElfError> CheckHeader(lib::Span<const uint8_t> image, LoadPlan& plan) {
  if (image.size() < sizeof(kElfMagic)) return Err(ElfError::kTruncated);
  for (uint32_t i = 0; i < sizeof(kElfMagic); ++i) {
    if (image[i] != kElfMagic[i]) return Err(ElfError::kNotElf);
  }
  if (image.size() <= kEiVersion) return Err(ElfError::kTruncated);
  if (image[kEiClass] != kElfClass32 && image[kEiClass] != kElfClass64) {
    return Err(ElfError::kBadClass);
  }
  plan.is_64bit = image[kEiClass] == kElfClass64;
  const ElfLayout& layout = LayoutOf(plan);
  if (image[kEiData] != kElfData2Lsb && image[kEiData] != kElfData2Msb) {
    return Err(ElfError::kBadByteOrder);
  }
  if (image.size() < layout.header_size) return Err(ElfError::kTruncated);
  const FieldReader fields{image.data(), image[kEiData] == kElfData2Lsb, layout.word_size};
  if (image[kEiVersion] != kEvCurrent || fields.Word(kEVersionOffset) != kEvCurrent) {
    return Err(ElfError::kBadVersion);
  }
  const uint16_t type = fields.Half(kETypeOffset);
  if (type != kEtExec && type != kEtDyn) return Err(ElfError::kNotExecutable);
  const uint16_t machine = fields.Half(kEMachineOffset);
  if (machine != kEmPpc && machine != kEmPpc64) return Err(ElfError::kWrongMachine);

  plan.entry = fields.Address(layout.e_entry);
  plan.is_little_endian = fields.little_endian;
  plan.is_dynamic = type == kEtDyn;
  plan.machine = machine;
  plan.flags = fields.Word(layout.e_flags);
  return fields;
}

// Reads the program headers into plan.segments: every PT_LOAD that occupies memory, with its file
// bytes inside the image, p_filesz <= p_memsz and no wrap.
Result<void, ElfError> CollectSegments(lib::Span<const uint8_t> image, const FieldReader& fields,
                                       LoadPlan& plan) {
  const ElfLayout& layout = LayoutOf(plan);
  // The program header table, whole, inside the image.
  const uint64_t phoff = fields.Address(layout.e_phoff);
  const uint16_t phentsize = fields.Half(layout.e_phentsize);
  const uint16_t phnum = fields.Half(layout.e_phnum);
  if (phentsize < layout.phdr_size || phnum == kPnXnum ||
      !Inside(phoff, uint64_t{phentsize} * phnum, image.size())) {
    return Err(ElfError::kBadProgramHeaders);
  }
  for (uint32_t i = 0; i < phnum; ++i) {
    const uint64_t at = phoff + uint64_t{i} * phentsize;
    if (fields.Word(at) != kPtLoad) continue;
    LoadSegment segment;
    segment.file_offset = fields.Address(at + layout.p_offset);
    segment.vaddr = fields.Address(at + layout.p_vaddr);
    segment.paddr = fields.Address(at + layout.p_paddr);
    if (plan.load_offset > ~uint64_t{0} - segment.paddr) return Err(ElfError::kAddressOverflow);
    segment.paddr += plan.load_offset;
    segment.filesz = fields.Address(at + layout.p_filesz);
    segment.memsz = fields.Address(at + layout.p_memsz);
    if (segment.memsz == 0 && segment.filesz == 0) continue;  // occupies nothing
    if (segment.filesz > segment.memsz) return Err(ElfError::kFileSizeOverMemSize);
    if (!Inside(segment.file_offset, segment.filesz, image.size())) {
      return Err(ElfError::kSegmentOutsideImage);
    }
    if (segment.memsz > ~uint64_t{0} - segment.paddr) return Err(ElfError::kAddressOverflow);
    if (plan.segment_count == kMaxLoadSegments) return Err(ElfError::kTooManySegments);
    plan.segments[plan.segment_count++] = segment;
  }
  if (plan.segment_count == 0) return Err(ElfError::kNoLoadSegments);
  return Ok<ElfError>();
}

// Where the segments go: apart from each other and from `forbidden`, below `memory_limit`.
Result<void, ElfError> CheckPlacement(const LoadPlan& plan, uint64_t memory_limit,
                                      lib::Span<const AddressRange> forbidden) {
  for (uint32_t i = 0; i < plan.segment_count; ++i) {
    const LoadSegment& segment = plan.segments[i];
    for (uint32_t j = 0; j < i; ++j) {
      if (lib::RangesOverlap(segment.paddr, segment.memsz, plan.segments[j].paddr,
                             plan.segments[j].memsz)) {
        return Err(ElfError::kSegmentsOverlap);
      }
    }
    for (const AddressRange& range : forbidden) {
      if (lib::RangesOverlap(segment.paddr, segment.memsz, range.start, range.size)) {
        return Err(ElfError::kForbiddenRange);
      }
    }
    if (!Inside(segment.paddr, segment.memsz, memory_limit)) {
      return Err(ElfError::kPastMemoryLimit);
    }
  }
  return Ok<ElfError>();
}

// The segment whose file bytes hold all `size` bytes at virtual address `vaddr`, or null.
const LoadSegment* HoldingSegment(const LoadPlan& plan, uint64_t vaddr, uint64_t size) {
  for (uint32_t i = 0; i < plan.segment_count; ++i) {
    const LoadSegment& segment = plan.segments[i];
    if (vaddr >= segment.vaddr && Inside(vaddr - segment.vaddr, size, segment.filesz)) {
      return &segment;
    }
  }
  return nullptr;
}

// The entry (see elf.h): e_entry, or for a 64-bit big-endian ELFv1 image the code address of the
// descriptor at e_entry, read from `image`; translated to the real address the caller enters.
Result<void, ElfError> PlanEntry(lib::Span<const uint8_t> image, LoadPlan& plan) {
  plan.enter_32bit = !plan.is_64bit;
  plan.entry_is_descriptor =
      plan.is_64bit && !plan.is_little_endian && (plan.flags & kEfPpc64Abi) != kAbiElfV2;
  uint64_t code = plan.entry;
  if (plan.entry_is_descriptor) {
    const LoadSegment* holder = HoldingSegment(plan, plan.entry, kDescriptorCodeBytes);
    if (holder == nullptr) return Err(ElfError::kDescriptorNotLoaded);
    plan.entry_paddr = holder->paddr + (plan.entry - holder->vaddr);
    // Inside the image: the segment's file bytes are (CollectSegments).
    code = lib::LoadBe64(image.data() + holder->file_offset + (plan.entry - holder->vaddr));
    plan.descriptor_code = code;
  }
  const LoadSegment* holder = HoldingSegment(plan, code, kInstructionBytes);
  if (holder == nullptr) {
    return Err(plan.entry_is_descriptor ? ElfError::kDescriptorTarget : ElfError::kEntryNotLoaded);
  }
  plan.enter_at = holder->paddr + (code - holder->vaddr);
  if (!plan.entry_is_descriptor) plan.entry_paddr = plan.enter_at;
  if (plan.enter_at % kInstructionBytes != 0) return Err(ElfError::kEntryMisaligned);
  return Ok<ElfError>();
}

}  // namespace

Result<LoadPlan, ElfError> PlanElfLoad(lib::Span<const uint8_t> image, uint64_t memory_limit,
                                       lib::Span<const AddressRange> forbidden,
                                       uint64_t load_offset) {
  LoadPlan plan;
  plan.load_offset = load_offset;
  auto header = CheckHeader(image, plan);
  TERN_TRY(header);
  TERN_TRY(CollectSegments(image, header.value(), plan));
  TERN_TRY(CheckPlacement(plan, memory_limit, forbidden));
  TERN_TRY(PlanEntry(image, plan));
  return plan;
}

Result<void, ElfError> LoadElfSegments(const LoadPlan& plan, lib::Span<const uint8_t> image,
                                       lib::GuestMemory& memory, lib::MemoryError* memory_error) {
  const uint32_t count = lib::Min(plan.segment_count, kMaxLoadSegments);
  for (uint32_t i = 0; i < count; ++i) {
    const LoadSegment& segment = plan.segments[i];
    if (segment.filesz > segment.memsz) return Err(ElfError::kFileSizeOverMemSize);
    if (!Inside(segment.file_offset, segment.filesz, image.size())) {
      return Err(ElfError::kSegmentOutsideImage);
    }
    auto copied = memory.Write(segment.paddr, image.data() + segment.file_offset,
                               static_cast<size_t>(segment.filesz));
    if (copied.is_ok() && segment.memsz > segment.filesz) {
      copied = memory.Fill(segment.paddr + segment.filesz, 0,
                           static_cast<size_t>(segment.memsz - segment.filesz));
    }
    if (copied.is_error()) {
      if (memory_error != nullptr) *memory_error = copied.error();
      return Err(ElfError::kCopyFailed);
    }
  }
  return Ok<ElfError>();
}

}  // namespace bootmgr
