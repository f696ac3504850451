#include "block/disk-label.h"

namespace block {

lib::Result<DiskLabel, DiskLabelError> ParseDiskLabel(lib::StringView arguments) {
  DiskLabel label;
  size_t at = 0;
  for (; at < arguments.size() && arguments[at] >= '0' && arguments[at] <= '9'; ++at) {
    label.partition = label.partition * 10 + static_cast<uint32_t>(arguments[at] - '0');
    if (label.partition > kMaxPartitionNumber) return lib::Err(DiskLabelError::kBadPartition);
  }
  if (at == arguments.size()) return label;
  if (arguments[at] != ',') {
    return lib::Err(at == 0 ? DiskLabelError::kBadPartition : DiskLabelError::kTrailing);
  }
  label.has_file = true;
  label.file = arguments.Substr(at + 1);
  return label;
}

lib::Result<Extent, ExtentError> LabelExtent(const Device& device, const DiskLabel& label,
                                             lib::Span<uint8_t> scratch) {
  if (label.partition == 0) return device.whole();
  auto table = ReadPartitions(device, scratch);
  if (table.is_error()) return lib::Err(ExtentError::kTableUnusable);
  for (uint32_t i = 0; i < table.value().count; ++i) {
    const Partition& partition = table.value().partitions[i];
    if (partition.number != label.partition || !partition.valid) continue;
    // ReadPartitions keeps every valid partition on the disk; checked again all the same.
    if (partition.block_count == 0 || partition.start_lba > device.blocks ||
        partition.block_count > device.blocks - partition.start_lba) {
      break;
    }
    return Extent{partition.start_lba, partition.block_count};
  }
  return lib::Err(ExtentError::kNoPartition);
}

}  // namespace block
