// The arguments a disk is opened with, as the IEEE 1275 disk-label support package reads them
// [IEEE 1275 PowerPC binding, 8.2 "disk-label"; SLOF slof/fs/packages/disk-label.fs]:
//   ""  or "0"       the whole disk
//   "N"              partition N (1.., as the partition table numbers them)
//   "N,\path"        the file \path in partition N's file system
//   ",\path"         the file \path in the disk's file system (the whole disk, or its first
//                    partition that holds a file system: the file-system package decides)
// A file name is kept as given (backslashes, or slashes inside the argument text). Anything else
// (a partition that is not a decimal number, text after the number other than ",file") is
// refused.
#pragma once

#include "block/device.h"
#include "block/partitions.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace block {

inline constexpr uint32_t kMaxPartitionNumber = 9999;

struct DiskLabel {
  uint32_t partition = 0;  // 0: the whole disk
  lib::StringView file;    // empty: no file named
  bool has_file = false;   // a ',' was given (",\path", or "N," with an empty name)
};

enum class DiskLabelError {
  kBadPartition,  // not a decimal number up to kMaxPartitionNumber
  kTrailing,      // text after the partition number that is not ",file"
};

lib::Result<DiskLabel, DiskLabelError> ParseDiskLabel(lib::StringView arguments);

enum class ExtentError {
  kNoPartition,    // the table has no valid partition with that number
  kTableUnusable,  // the partition table could not be read (ReadPartitions' error)
};

// The blocks `label` names on `device`: the whole device for partition 0, else the partition's
// (read with ReadPartitions into `scratch`, which must hold a block).
lib::Result<Extent, ExtentError> LabelExtent(const Device& device, const DiskLabel& label,
                                             lib::Span<uint8_t> scratch);

}  // namespace block
