// Device-tree fragments built in code for the configure-connector tests and tools/bench's walk
// measure, beside the fixtures compiled from tests/data/*.dts.
#pragma once

#include <cstdint>
#include <vector>

namespace tests {

// One node "wide@0" with `count` properties of `size` bytes each (values 0, 1, 2, ... by property).
std::vector<uint8_t> WideFragment(int count, int size);

// A pci-bridge fragment as QEMU builds it (tests/data/drc-qemu-pci-bridge.dts: the bridge, its 256
// slot DRCs, a virtio-blk device) with copies of that bridge and its device nested in its further
// slots until the blob is at least `min_bytes` (each copy adds about 5.7 KiB; at most 28 copies).
std::vector<uint8_t> PciBridgeTree(uint32_t min_bytes);

}  // namespace tests
