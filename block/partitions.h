// The partition table of a boot disk (MBR with primary and logical partitions, or GPT) and the
// choice of its PReP boot partition. Pure parsing: blocks come through Device::Read into
// a scratch buffer the caller gives, so every path runs on the host against a byte image.
//
// Layouts: UEFI 2.10 §5.2.1 (legacy MBR), §5.2.3 (protective MBR), §5.3.2 (GPT header), §5.3.3
// (GPT partition entry). Logical partitions (the EBR chain) and their numbering from 5 are the
// de-facto PC layout as Linux block/partitions/msdos.c and SLOF's disk-label.fs read it.
//
// Everything read from the disk is range-checked: an entry that points past the disk's end (or
// outside its container) is kept in the table, marked invalid with the reason, and never chosen;
// a damaged logical chain ends the walk and is reported in the table, the partitions found before
// it stay usable; only a disk whose table cannot be read at all is an error of ReadPartitions.
#pragma once

#include "block/device.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace block {

enum class PartitionError : uint8_t {
  kBadGeometry,        // block size not a power of two in [512, 16384], or no blocks
  kScratchTooSmall,    // the scratch buffer holds less than one block
  kReadFailed,         // the device failed a read (ReadPartitions' io_error says how)
  kTruncated,          // the table, or a structure it points to, lies past the disk's last block
  kNoSignature,        // the MBR (or an EBR) lacks the 0x55 0xAA signature
  kNotPartitionTable,  // a boot indicator other than 0x00/0x80: a boot sector, not an MBR
  kEntryPastEnd,       // (one entry) the partition or next EBR runs past the disk's last block
  kEntryBadRange,      // (one entry) outside its container (extended partition, GPT usable
                       // range, the EBR itself) or ending before it starts
  kChainLoop,          // an EBR links back to one already visited
  kChainTooLong,       // more than kMaxEbrHops EBRs
  kTooManyPartitions,  // MBR: more partitions than kMaxPartitions (GPT lists the first ones)
  kGptNoSignature,     // no "EFI PART" header (primary, and backup at the last block)
  kGptBadHeader,       // header fields out of range (revision, sizes, LBAs, entry geometry)
  kGptHeaderCrc,       // header CRC32 mismatch
  kGptEntriesCrc,      // partition-entry array CRC32 mismatch
  kNoPrepPartition,    // FindPrepPartition: no partition of type 0x41 / the PReP GUID
};

const char* PartitionErrorName(PartitionError error);

// A GUID as it lies on disk (UEFI 2.10 Appendix A: the first three fields little-endian, the last
// eight bytes in order), compared byte for byte.
struct Guid {
  uint8_t bytes[16];

  constexpr bool operator==(const Guid& other) const {
    for (int i = 0; i < 16; ++i) {
      if (bytes[i] != other.bytes[i]) return false;
    }
    return true;
  }
  constexpr bool operator!=(const Guid& other) const { return !(*this == other); }
  constexpr bool IsZero() const { return *this == Guid{}; }
};

// The on-disk bytes of the GUID written AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE, given as
// (0xAAAAAAAA, 0xBBBB, 0xCCCC, 0xDDDDEEEEEEEEEEEE).
constexpr Guid GuidFromFields(uint32_t a, uint16_t b, uint16_t c, uint64_t tail) {
  Guid guid{};
  for (int i = 0; i < 4; ++i) guid.bytes[i] = static_cast<uint8_t>(a >> (8 * i));
  for (int i = 0; i < 2; ++i) guid.bytes[4 + i] = static_cast<uint8_t>(b >> (8 * i));
  for (int i = 0; i < 2; ++i) guid.bytes[6 + i] = static_cast<uint8_t>(c >> (8 * i));
  for (int i = 0; i < 8; ++i) guid.bytes[8 + i] = static_cast<uint8_t>(tail >> (8 * (7 - i)));
  return guid;
}

// PowerPC PReP boot partition, 9E1A2D38-C612-4316-AA26-8B49521E5A8B (the type grub-install and
// parted give it on GPT disks).
inline constexpr Guid kPrepGuid = GuidFromFields(0x9E1A2D38, 0xC612, 0x4316, 0xAA268B49521E5A8Bull);
// MBR partition type of a PReP boot partition.
inline constexpr uint8_t kMbrTypePrep = 0x41;
// MBR type of a GPT disk's protective entry (UEFI 2.10 §5.2.3).
inline constexpr uint8_t kMbrTypeProtective = 0xEE;

enum class Scheme : uint8_t { kNone, kMbr, kGpt };

struct Partition {
  // As Open Firmware and Linux number them: MBR 1-4 by primary slot, 5.. logical partitions in
  // chain order; GPT 1.. by entry index. Empty slots are skipped but keep their number.
  uint32_t number = 0;
  // False for an entry that failed its range checks; `problem` says why. Never booted from.
  bool valid = false;
  PartitionError problem = PartitionError::kEntryBadRange;
  // MBR: boot indicator 0x80. GPT has no such flag: always true there.
  bool active = false;
  uint8_t mbr_type = 0;  // MBR only; extended partitions are listed with their type 0x05/0x0F/0x85
  uint64_t start_lba = 0;
  uint64_t block_count = 0;
  Guid gpt_type = {};           // GPT only
  uint64_t gpt_attributes = 0;  // GPT only
};

// The partitions a table lists: a standard GPT's 128 entries (UEFI 2.10 §5.3.2: at least 16 KiB
// of entries are reserved, 128 of 128 bytes) all fit. The table is returned by value on the
// firmware's 64 KiB boot stack: 6 KiB of partitions (ReadPartitions keeps one table in its frame).
inline constexpr uint32_t kMaxPartitions = 128;
inline constexpr uint32_t kMaxEbrHops = 128;
// GPT bounds: UEFI requires entries of 128 x 2^n bytes; tern reads at most 1024 entries of at most
// 4096 bytes. Every entry the header counts is read and checked (its array's CRC covers them
// all), even when more are used than the table lists.
inline constexpr uint32_t kMaxGptEntries = 1024;
inline constexpr uint32_t kMaxGptEntrySize = 4096;

struct PartitionTable {
  Scheme scheme = Scheme::kNone;
  uint32_t count = 0;
  Partition partitions[kMaxPartitions];

  // GPT: used entries the table does not list (those after the first kMaxPartitions used ones),
  // and the first PReP entry among them (a valid one when there is one), so that
  // FindPrepPartition chooses among every entry of the disk.
  uint32_t unlisted = 0;
  bool has_unlisted_prep = false;
  Partition unlisted_prep;

  // MBR: the logical chain ended early with this error (kChainLoop, kChainTooLong, kNoSignature,
  // kTruncated, kEntryPastEnd, kEntryBadRange, kReadFailed with chain_io_error,
  // kTooManyPartitions), or an extended primary failed its range check (its problem) and was not
  // followed; the partitions before the break are in the table. Later extended primaries are not
  // followed either.
  bool chain_incomplete = false;
  PartitionError chain_error = PartitionError::kChainLoop;
  IoError chain_io_error = IoError::kDevice;

  // GPT: the primary header or its array failed with primary_gpt_error; the table is the backup's.
  bool used_backup_gpt = false;
  PartitionError primary_gpt_error = PartitionError::kGptNoSignature;
};

// Reads the partition table of `disk`. `scratch` receives the blocks read; it must hold at least
// one block (disk.block_size bytes) and be where the device can write (in firmware its address is
// the real address handed to the driver; more blocks make the GPT array take fewer requests).
//
// MBR: needs the 0x55AA signature (kNoSignature) and boot indicators of 0x00/0x80 only
// (kNotPartitionTable). Extended primaries (0x05, 0x0F, 0x85) are followed as chains of EBRs (each
// EBR: entry 0 the logical partition, relative to this EBR; entry 1 the link, relative to the
// extended partition's start; entries 2-3 ignored), at most kMaxEbrHops EBRs in all, a revisited
// EBR being kChainLoop.
// Any primary of type 0xEE (protective or hybrid MBR) means GPT: the primary header at LBA 1 is
// checked (signature, revision 1.x, 92 <= header size <= block size, header CRC, MyLBA, usable
// range, entry geometry, array inside the disk and outside the usable range, array CRC), then, if
// it fails, the backup header at the last block the same way. When both fail, the error is the
// primary's. Every used entry is read; past kMaxPartitions they are counted in `unlisted`, the
// first PReP among them kept in `unlisted_prep`.
// kReadFailed: `*io_error` (when not null) holds the device's error.
lib::Result<PartitionTable, PartitionError> ReadPartitions(const Device& disk,
                                                           lib::Span<uint8_t> scratch,
                                                           IoError* io_error = nullptr);

// The PReP boot partition of `table`: MBR type 0x41 or the GPT PReP GUID, valid entries only.
// Policy: the first *active* (boot indicator 0x80) PReP partition; if none is active, the first
// PReP partition anyway, returned with active == false so the caller can say so. SLOF refuses an
// inactive one ("E3404: Not a bootable device!"); tern boots it, because grub-install on an MBR
// disk does not always set the flag, and the partition type alone already marks the boot loader.
// GPT has no active flag: its first PReP partition is taken, among every entry of the disk
// (`unlisted_prep` when none of the listed ones is).
// No PReP partition: kNoPrepPartition, unless the MBR logical chain was cut short (then its
// chain_error: the PReP partition may lie behind the break) or a PReP entry exists but is invalid
// (then that entry's problem).
lib::Result<Partition, PartitionError> FindPrepPartition(const PartitionTable& table);

}  // namespace block
