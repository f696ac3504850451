// The partitions of a pseries NVRAM, read and formatted on a byte image of the whole NVRAM in
// firmware memory: the caller reads the NVRAM (`nvram-fetch`, 64 KiB by default) into a buffer,
// calls ScanPartitions or Format on it, and writes back (`nvram-store`) the range Format says
// changed. Nothing here calls RTAS.
//
// Layout [LoPAR, "Non-Volatile Memory", Structure]: the NVRAM is a chain of partitions that
// accounts for every byte of it; each starts with a 16-byte header (signature, checksum over the
// header, length in 16-byte blocks including the header, 12-byte name) followed by its data. The
// checksum is the one Linux computes (arch/powerpc/kernel/nvram_64.c nvram_checksum), the OS tern
// boots being the reader that matters; the others that write NVRAM (QEMU's
// hw/nvram/chrp_nvram.h, SLOF's lib/libnvram/nvram.c) agree with it on every header tern writes
// (HeaderIsPortable).
//
// Reading is Linux's walk (nvram_scan_partitions) from offset 0, header after header, with one
// more check: a header whose checksum does not match, whose length is 0, or whose length runs
// past the image ends the walk; it is kept, with the reason, as the list's damage, and nothing
// after it can be found (its length is the only way to the next header). Nothing is ever read
// outside the image.
#pragma once

#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"
#include "lib/wire.h"

namespace nvram {

inline constexpr uint32_t kBlockSize = 16;      // the length unit, and the header's size
inline constexpr uint32_t kHeaderSize = 16;     // [LoPAR, Structure]
inline constexpr uint32_t kNameSize = 12;       // NUL-padded, no NUL when 12 characters long
inline constexpr uint32_t kMaxBlocks = 0xffff;  // the 16-bit length field
// The sizes QEMU's spapr-nvram accepts (hw/nvram/spapr_nvram.c MIN_NVRAM_SIZE, MAX_NVRAM_SIZE,
// DEFAULT_NVRAM_SIZE); LoPAR asks for at least 8 KB. Images must also be whole blocks.
inline constexpr uint32_t kMinImageSize = 8 * 1024;
inline constexpr uint32_t kMaxImageSize = 1024 * 1024;
inline constexpr uint32_t kDefaultImageSize = 64 * 1024;

// Signatures (Linux arch/powerpc/include/uapi/asm/nvram.h, powerpc-utils src/nvram.h).
inline constexpr uint8_t kSignatureFirmware = 0x51;  // SLOF's ibm,CPU0log and ibm,CPU1log
inline constexpr uint8_t kSignatureSystem = 0x70;    // configuration variables: "common", QEMU's
                                                     // -prom-env "system"
inline constexpr uint8_t kSignatureFree = 0x7f;      // free space
inline constexpr uint8_t kSignatureOs = 0xa0;        // Linux's ibm,rtas-log and lnx,oops-log

// What tern writes, as SLOF writes it on a blank NVRAM (lib/libnvram/nvram.c reset_nvram:
// create_nvram_partition(0x70, "common", 0x1000 - header) and create_free_partition).
inline constexpr char kConfigName[] = "common";
inline constexpr uint32_t kConfigBlocks = 0x100;  // 4 KiB, header included
inline constexpr char kFreeName[] = "free space";
// Free space Linux needs for ibm,rtas-log (2079 bytes) and lnx,oops-log (4000) at the sizes it
// asks for, a header each (arch/powerpc/platforms/pseries/nvram.c, kernel/nvram_64.c
// nvram_create_partition): a new common is made smaller, down to kMinConfigBlocks (SLOF's 25
// defaults take 411 bytes), to leave it on small NVRAMs.
inline constexpr uint32_t kOsBlocks = 131 + 251;
inline constexpr uint32_t kMinConfigBlocks = 64;

// A partition header as it lies in NVRAM.
struct Header {
  uint8_t signature;
  uint8_t checksum;
  lib::UBe16 length;  // blocks of kBlockSize, this header included
  char name[kNameSize];
};
static_assert(sizeof(Header) == kHeaderSize && alignof(Header) == 1);

// The header checksum as Linux computes it (nvram_checksum: the signature, the length and the
// name as six 16-bit words summed, folded to 16 then to 8 bits with end-around carry). The words
// are the host's: the result is computed both ways and the header matches when its checksum is
// either (a big- and a little-endian kernel disagree on 4 lengths in 2^16 for a given name).
uint8_t HeaderChecksum(const Header& header, bool little_endian_words = false);
bool ChecksumMatches(const Header& header);
// Whether Linux of both byte orders, QEMU (chrp_nvram_finish_partition) and SLOF
// (calc_partition_header_checksum, which drops the second carry) all compute the header's
// checksum: true for every header tern writes.
bool HeaderIsPortable(const Header& header);
// A header with its checksum set. `name` is cut at kNameSize characters.
Header MakeHeader(uint8_t signature, uint16_t blocks, lib::StringView name);

enum class PartitionError : uint8_t {
  kBadImageSize,  // the image is not whole blocks, or outside [kMinImageSize, kMaxImageSize]
  kBadChecksum,   // (a header) its checksum does not match (Linux: "nvram partition checksum
                  // was %02x, should be %02x!", then it stops its scan)
  kZeroLength,    // (a header) length 0 (Linux: "nvram corruption detected: 0-length
                  // partition"): what a blank, all-zero NVRAM starts with
  kPastEnd,       // (a header) its length runs past the image's end (Linux stops its scan
                  // silently, but would later write past the end)
};

const char* PartitionErrorName(PartitionError error);

struct Partition {
  uint32_t offset = 0;  // of the header, from the image's start
  uint32_t blocks = 0;  // the header's length field, header included
  uint8_t signature = 0;
  uint8_t checksum = 0;           // as stored
  uint8_t expected_checksum = 0;  // as computed (differs for kBadChecksum)
  char name[kNameSize + 1] = {};  // the name field, NUL-terminated
  bool valid = false;
  PartitionError problem = PartitionError::kBadChecksum;  // when !valid

  uint32_t size() const { return blocks * kBlockSize; }  // header included
  uint32_t data_offset() const { return offset + kHeaderSize; }
  uint32_t data_size() const { return blocks == 0 ? 0 : size() - kHeaderSize; }
  // Signature `signature` and name `name` (compared as Linux's strncmp over 12 characters; an
  // empty `name` matches any).
  bool Is(uint8_t signature, lib::StringView name) const;
};

// The valid partitions in chain order (powerpc-utils keeps 50; a 64 KiB NVRAM formatted by SLOF
// and used by Linux has 6).
inline constexpr uint32_t kMaxListed = 64;

struct PartitionList {
  uint32_t image_size = 0;
  uint32_t count = 0;  // listed valid partitions
  Partition partitions[kMaxListed];
  // Valid partitions after the first kMaxListed: walked and checked, not listed.
  uint32_t unlisted = 0;
  // The walk ended at a bad header: `damage` (valid == false, its problem) lies at
  // damage.offset, and [damage.offset, image_size) cannot be read.
  bool damaged = false;
  Partition damage;
  // Every byte of the image is 0x00, or every byte is 0xff (an NVRAM never written).
  bool blank = false;

  // The first listed partition with `signature` and `name` (empty: any name), or null.
  const Partition* Find(uint8_t signature, lib::StringView name = {}) const;
  // The partition of the configuration variables: the first listed 0x70 "common" (the one
  // powerpc-utils' `nvram -p common` edits), else the first listed 0x70 of any name (QEMU's
  // "system", which SLOF's get-nvram-partition takes by signature alone); null when none.
  const Partition* FindConfig() const;
};

// Walks the partitions of `image`. Only kBadImageSize is an error; damage is in the list.
lib::Result<PartitionList, PartitionError> ScanPartitions(lib::Span<const uint8_t> image);

// The bytes of the image a call changed, to write back: one range, empty when nothing changed.
struct Change {
  uint32_t offset = 0;
  uint32_t length = 0;
  bool empty() const { return length == 0; }
};

enum class FormatAction : uint8_t {
  kNone,         // every byte is accounted for by valid partitions, one of them 0x70
  kFormatted,    // the first header was bad (blank or not): common + free space from offset 0
  kRepaired,     // valid partitions kept; from the first bad header to the end rewritten as
                 // free space, or as a new common and free space if none of them was a 0x70
  kAddedConfig,  // valid to the end but without a 0x70: a common carved out of free space
};

struct FormatReport {
  FormatAction action = FormatAction::kNone;
  uint32_t kept = 0;   // valid partitions left as they were
  bool blank = false;  // kFormatted: the image was all 0x00 or all 0xff
  Partition damage;    // kFormatted, kRepaired: the bad header (its offset and problem);
                       // [damage.offset, image end) is what was rewritten
  bool created_config = false;
  uint32_t config_offset = 0;  // created_config: the new common's header
  // kNone with no 0x70 partition: no free-space partition of 2 x kConfigBlocks to carve a common
  // out of, so the NVRAM has nowhere to keep variables (nothing was changed).
  bool no_config = false;
  Change changed;  // the bytes to write back
};

// Makes `image` a formatted NVRAM without destroying any valid partition, following LoPAR
// ("firmware must reinitialize NVRAM to a bootable state if NVRAM data corruption is detected";
// the OS "may create free space from the first corrupted NVRAM partition header to the end"):
//  - valid to the end with a 0x70 partition (SLOF's layout, QEMU's -prom-env layout, either with
//    Linux's partitions): nothing is written;
//  - a bad first header (blank, or anything else): "common" (0x70, kConfigBlocks) at 0 and free
//    space (0x7f "free space") to the end, as SLOF's reset_nvram without its two ibm,CPU*log
//    partitions, which SLOF on QEMU never writes to (board-qemu builds llfw/nvramlog.S empty);
//  - valid partitions, then a bad header at X: they are kept; [X, end) becomes free space, or a
//    common followed by free space when none of them is a 0x70;
//  - valid to the end without a 0x70: a common of kConfigBlocks is carved from the start of the
//    first free-space partition that keeps kOsBlocks free after it, as Linux's
//    nvram_create_partition carves its own.
// A new common has kConfigBlocks, fewer (not under kMinConfigBlocks) where that leaves kOsBlocks
// of free space. Rewritten ranges are zeroed before the headers are written; free space larger
// than one header can describe, or whose header would not be portable, is split into several
// free partitions. Afterwards the image passes Linux's walk to its end.
lib::Result<FormatReport, PartitionError> Format(lib::Span<uint8_t> image);

}  // namespace nvram
