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

// The device among `devices` that is `node` or an ancestor of it; 0 when there is none.
of::Phandle DeviceOf(const of::Tree& tree, of::Phandle node, lib::Span<const BootDevice> devices) {
  for (int depth = 0; node != 0 && depth < 64; ++depth) {
    for (const BootDevice& device : devices) {
      if (device.node == node) return node;
    }
    node = tree.Parent(node);
  }
  return 0;
}

void AddKind(BootOrder& order, lib::Span<const BootDevice> devices, BootKind kind) {
  for (const BootDevice& device : devices) {
    if (device.kind == kind) Add(order, device.node);
  }
}

}  // namespace

BootOrder PlanBootOrder(const of::Tree& tree, lib::StringView boot_list,
                        lib::StringView boot_device, lib::Span<const BootDevice> devices) {
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
    const of::Phandle device = DeviceOf(tree, tree.FindDevice(entry), devices);
    if (device != 0) {
      Add(order, device);
    } else if (order.unknown_count < 4) {
      order.unknown[order.unknown_count++] = entry;
    }
  }
  if (order.strict) return order;
  // QEMU's letters (a/b floppy, c disk, d cdrom, n network), read as SLOF's qemu-bootlist.fs
  // reads them.
  if (boot_device.empty()) boot_device = lib::StringView("cdn");
  for (size_t i = 0; i < boot_device.size(); ++i) {
    if (boot_device[i] == 'c') AddKind(order, devices, BootKind::kDisk);
    if (boot_device[i] == 'd') AddKind(order, devices, BootKind::kCdrom);
    if (boot_device[i] == 'n') AddKind(order, devices, BootKind::kNetwork);
  }
  return order;
}

}  // namespace bootmgr
