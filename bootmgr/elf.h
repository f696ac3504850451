// The load of a PowerPC ELF executable held in memory (the PReP partition's image: GRUB's core.elf,
// or whatever else was put there), in two steps: PlanElfLoad checks the headers and decides where
// every PT_LOAD segment goes, refusing anything that does not fit; LoadElfSegments then copies a
// plan's segments through lib::GuestMemory. Neither executes anything.
//
// Format: System V gABI, "ELF Header" and "Program Header" (e_ident, PT_LOAD, p_offset/p_filesz/
// p_memsz); machines EM_PPC (20) and EM_PPC64 (21), either class, either byte order (EI_DATA).
//
// Load address: p_paddr. tern runs the image in real mode, where the physical address is the one
// that matters, and SLOF loads at p_paddr as well (lib/libelf/elf32.c and elf64.c: 32-bit images
// must have p_paddr == p_vaddr, 64-bit ones have their entry moved by the first segment's
// p_paddr - p_vaddr). tern accepts p_paddr != p_vaddr in both classes and reports e_entry as is,
// with entry_paddr (where the entry's bytes land) beside it. GRUB's core.elf (grub-mkimage -O
// powerpc-ieee1275: ELF32 big-endian, ET_EXEC, entry 0x200000, PT_LOAD for the kernel and its bss,
// PT_GNU_STACK, PT_LOAD for the modules, optionally a PT_NOTE) has p_paddr == p_vaddr.
//
// Entry: the plan says where the caller jumps (enter_at, a real address) and in which mode, so the
// caller never computes an address from what the image holds. In a 64-bit big-endian ELFv1 image
// (e_flags & EF_PPC64_ABI != 2; ELF ABI Supplement for 64-bit PowerPC 1.9, "Function Descriptors"
// and "Process Initialization") e_entry is the address of a function descriptor whose first
// doubleword is the code's address: that doubleword is read from the image's bytes (not from
// memory), so it must lie wholly in a segment's file bytes; the code it names must too, as every
// entry must. Segments never overlap the caller's forbidden ranges (the firmware, the image's
// buffer), so the entry never lies there. Virtual addresses (e_entry, the descriptor's) are
// translated to real ones through the segment holding them, as e_entry always was.
//
// ET_EXEC and ET_DYN are accepted (SLOF accepts both, citing ePAPR); an ET_DYN image is loaded at
// its p_paddr like an ET_EXEC one, without relocation.
//
// A load offset moves every segment, and so the entry, by the same number of bytes: how a Linux
// vmlinux (linked at real address 0, where the firmware is) is loaded 4 MiB up, as QEMU loads
// -kernel (hw/ppc/spapr.c: KERNEL_LOAD_ADDR); the kernel runs from wherever it is put
// (arch/powerpc/kernel/head_64.S, __start with CONFIG_RELOCATABLE). Nothing in the image is
// patched.
#pragma once

#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace bootmgr {

enum class ElfError : uint8_t {
  kTruncated,            // the image is shorter than its ELF header
  kNotElf,               // no 0x7f 'E' 'L' 'F' magic
  kBadClass,             // EI_CLASS neither ELFCLASS32 nor ELFCLASS64
  kBadByteOrder,         // EI_DATA neither ELFDATA2LSB nor ELFDATA2MSB
  kBadVersion,           // EI_VERSION or e_version not EV_CURRENT (1)
  kNotExecutable,        // e_type neither ET_EXEC nor ET_DYN
  kWrongMachine,         // e_machine neither EM_PPC nor EM_PPC64
  kBadProgramHeaders,    // e_phentsize too small, e_phnum PN_XNUM, or the table outside the image
  kSegmentOutsideImage,  // p_offset + p_filesz past the image's end
  kFileSizeOverMemSize,  // p_filesz > p_memsz
  kAddressOverflow,      // p_paddr + p_memsz wraps around
  kTooManySegments,      // more than kMaxLoadSegments non-empty PT_LOAD segments
  kNoLoadSegments,       // nothing to load
  kSegmentsOverlap,      // two segments share memory
  kForbiddenRange,       // a segment overlaps memory the caller reserved (the firmware, the image)
  kPastMemoryLimit,      // a segment ends above the memory limit
  kEntryNotLoaded,       // e_entry's first instruction is not inside any segment's file bytes
  kDescriptorNotLoaded,  // ELFv1: the descriptor's code address (8 bytes at e_entry) is not
                         // wholly inside one segment's file bytes
  kDescriptorTarget,     // ELFv1: the descriptor's code address is not inside a segment's file
                         // bytes (4 of them: one instruction)
  kEntryMisaligned,      // the real address entered is not a multiple of 4 (an instruction's)
  kCopyFailed,           // LoadElfSegments: guest memory refused a write
};

const char* ElfErrorName(ElfError error);

inline constexpr uint32_t kMaxLoadSegments = 16;

// ELF constants used by PlanElfLoad (gABI; EM_* from the ELF machine registry).
inline constexpr uint16_t kEmPpc = 20;
inline constexpr uint16_t kEmPpc64 = 21;

struct AddressRange {
  uint64_t start = 0;
  uint64_t size = 0;
};

struct LoadSegment {
  uint64_t paddr = 0;        // where the segment is loaded (p_paddr + the load offset)
  uint64_t vaddr = 0;        // p_vaddr, for the caller's information
  uint64_t file_offset = 0;  // p_offset, inside the image
  uint64_t filesz = 0;       // bytes copied from the image
  uint64_t memsz = 0;        // bytes of memory; memsz - filesz are zeroed
};

struct LoadPlan {
  // e_entry as the file gives it: a virtual address; in a 64-bit big-endian ELFv1 image the
  // address of a function descriptor, not of code (entry_is_descriptor).
  uint64_t entry = 0;
  // The real address of the entry's bytes: p_paddr + (e_entry - p_vaddr) of the segment whose file
  // bytes hold e_entry (== entry when p_paddr == p_vaddr).
  uint64_t entry_paddr = 0;
  bool entry_is_descriptor = false;
  uint64_t descriptor_code = 0;  // entry_is_descriptor: the descriptor's first doubleword
  // Where the caller jumps: the real address of the first instruction, inside a segment's file
  // bytes and a multiple of 4 (entry_paddr, or descriptor_code translated like e_entry).
  uint64_t enter_at = 0;
  bool enter_32bit = false;  // an ELFCLASS32 image runs with MSR[SF] = 0
  bool is_64bit = false;
  bool is_little_endian = false;
  bool is_dynamic = false;   // ET_DYN
  uint16_t machine = 0;      // kEmPpc or kEmPpc64
  uint32_t flags = 0;        // e_flags
  uint64_t load_offset = 0;  // added to every p_paddr (PlanElfLoad's argument)
  uint32_t segment_count = 0;
  LoadSegment segments[kMaxLoadSegments];  // in program-header order
};

// Checks the ELF image in `image` (which may run past the ELF's end, as a partition does) and
// plans its load: every PT_LOAD segment with p_memsz > 0 must lie in the image (p_offset +
// p_filesz), have p_filesz <= p_memsz, not wrap, end at or below `memory_limit` (the real-mode
// memory the image may use), overlap neither another segment nor any of `forbidden` (the
// firmware's memory, and the buffer holding `image`); the entry is computed as above (kEntry*,
// kDescriptor*), its first instruction inside a segment's file bytes. Every segment is placed at
// p_paddr + `load_offset` (kAddressOverflow when that wraps).
lib::Result<LoadPlan, ElfError> PlanElfLoad(lib::Span<const uint8_t> image, uint64_t memory_limit,
                                            lib::Span<const AddressRange> forbidden,
                                            uint64_t load_offset = 0);

// Copies each segment of `plan` from `image` (the one PlanElfLoad read) to its p_paddr in
// `memory` and zeroes its memsz - filesz tail. kSegmentOutsideImage (or kFileSizeOverMemSize) if
// `image` or the plan is not what PlanElfLoad gave; kCopyFailed when `memory` refuses a write
// (`*memory_error`, when not null, says why). A failure can leave earlier segments copied.
lib::Result<void, ElfError> LoadElfSegments(const LoadPlan& plan, lib::Span<const uint8_t> image,
                                            lib::GuestMemory& memory,
                                            lib::MemoryError* memory_error = nullptr);

}  // namespace bootmgr
