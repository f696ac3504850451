#include "bootmgr/boot-order.h"

namespace bootmgr {

namespace {

bool Contains(const BootOrder& order, of::Phandle node) {
  for (size_t i = 0; i < order.count; ++i) {
    if (order.candidates[i] == node) return true;
  }
  return false;
}

void Add(BootOrder& order, of::Phandle node) {
  if (node != 0 && !Contains(order, node) && order.count < kMaxBootCandidates) {
    order.candidates[order.count++] = node;
  }
}

// The disk among `disks` that is `node` or an ancestor of it; 0 when there is none.
of::Phandle DiskOf(const of::Tree& tree, of::Phandle node, lib::Span<const of::Phandle> disks) {
  for (int depth = 0; node != 0 && depth < 64; ++depth) {
    for (of::Phandle disk : disks) {
      if (disk == node) return disk;
    }
    node = tree.Parent(node);
  }
  return 0;
}

// -boot once= letters: a disk is wanted when the string is empty or names 'c' (QEMU's letters
// a/b floppy, c disk, d cdrom, n network; SLOF's qemu-bootlist.fs reads them the same way).
bool WantsDisk(lib::StringView boot_device) {
  if (boot_device.empty()) return true;
  for (size_t i = 0; i < boot_device.size(); ++i) {
    if (boot_device[i] == 'c') return true;
  }
  return false;
}

}  // namespace

BootOrder PlanBootOrder(const of::Tree& tree, lib::StringView boot_list,
                        lib::StringView boot_device, lib::Span<const of::Phandle> disks) {
  BootOrder order;
  size_t position = 0;
  while (position < boot_list.size()) {
    while (position < boot_list.size() && boot_list[position] == ' ') ++position;
    size_t end = position;
    while (end < boot_list.size() && boot_list[end] != ' ') ++end;
    if (end == position) break;
    const lib::StringView entry = boot_list.Substr(position, end - position);
    position = end;
    if (entry == lib::StringView("HALT")) {
      order.strict = true;
      break;
    }
    const of::Phandle disk = DiskOf(tree, tree.FindDevice(entry), disks);
    if (disk != 0) {
      Add(order, disk);
    } else if (order.unknown_count < 4) {
      order.unknown[order.unknown_count++] = entry;
    }
  }
  if (!order.strict && WantsDisk(boot_device)) {
    for (of::Phandle disk : disks) Add(order, disk);
  }
  return order;
}

}  // namespace bootmgr
