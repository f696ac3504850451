#include "bootmgr/loader.h"

#include "block/deblocker.h"
#include "block/partitions.h"
#include "bootmgr/boot-order.h"
#include "bootmgr/chrp-boot.h"
#include "bootmgr/elf.h"
#include "bootmgr/net-boot.h"
#include "bootmgr/staging.h"
#include "lib/console.h"
#include "lib/fdt.h"
#include "lib/format.h"
#include "lib/string.h"

namespace bootmgr {

namespace {

// The partition-table and ISO 9660 reads: firmware memory, at a real address the devices can DMA
// to. It holds a partition table (6 KiB) or what FindChrpBoot needs (48 KiB at most), only while
// the boot file is looked for, not while it is loaded.
alignas(4096) constinit uint8_t table_scratch[64 * 1024];
static_assert(sizeof(table_scratch) >= ChrpScratchBytes(block::kMaxBlockSize));

const char* NodePath(const of::Tree& tree, of::Phandle node, char (&buffer)[128]) {
  if (tree.Path(node, buffer, sizeof(buffer)).is_error()) {
    buffer[0] = '?';
    buffer[1] = '\0';
  }
  return buffer;
}

// Reads blocks [first, first + count) of `disk` to real address `address`.
bool ReadExtent(const block::Device& disk, uint64_t first, uint64_t count, uint64_t address,
                const char* path) {
  auto read = block::ReadBlocks(disk, first, count, address);
  if (read.is_error()) {
    lib::Printf("tern: %s: cannot boot: reading block %llu failed: %s\n", path,
                static_cast<unsigned long long>(read.error().lba),
                block::IoErrorName(read.error().error));
    return false;
  }
  return true;
}

// Errors of PlanElfLoad that may only mean that more of the partition must be read (the headers
// and every segment's file bytes must lie in what was read; nothing else depends on its size).
bool NeedsMoreOfTheImage(ElfError error) {
  return error == ElfError::kTruncated || error == ElfError::kBadProgramHeaders ||
         error == ElfError::kSegmentOutsideImage;
}

// Where a boot image lies on its device: a PReP partition, or a file of an ISO 9660 volume (whose
// extent need not start on a device block: logical blocks of 512 bytes on a 2048-byte CD).
// `what` names it in messages ("partition 1", "\\boot\\grub\\powerpc.elf"), `kind` says what
// the staging limit applies to.
struct ImageSource {
  uint64_t offset = 0;  // bytes from the device's start
  uint64_t bytes = 0;   // of the partition or the file
  const char* what = "";
  const char* kind = "";
};

// Reads the start of `source` into `staging`, more at each round (64 KiB, then 4 times as much,
// up to staging.bytes), until PlanElfLoad accepts it or refuses it for a reason more bytes cannot
// change. The device's blocks land from the start of the staging area; the image starts
// `source.offset % block_size` bytes into it, and `*have` is how many of its bytes were read.
// Says why when it fails.
bool StageAndPlan(const LoaderEnv& env, const block::Device& disk, const ImageSource& source,
                  const Staging& staging, const char* path, LoadPlan& plan, uint64_t* have) {
  const uint64_t block_size = disk.block_size;
  const uint64_t skip = source.offset % block_size;
  uint64_t want = lib::Min<uint64_t>(64 * 1024, staging.bytes);
  uint64_t filled = 0;  // bytes of the staging area read, from its start
  *have = 0;
  while (true) {
    const uint64_t blocks_have = filled / block_size;
    const uint64_t blocks_want = (want + block_size - 1) / block_size;
    if (!ReadExtent(disk, source.offset / block_size + blocks_have, blocks_want - blocks_have,
                    reinterpret_cast<uintptr_t>(staging.host) + blocks_have * block_size, path)) {
      return false;
    }
    filled = lib::Min(blocks_want * block_size, staging.bytes);
    *have = lib::Min(filled - skip, source.bytes);
    auto planned = PlanStaged(env, staging, lib::Span<const uint8_t>(staging.host + skip, *have));
    if (planned.is_ok()) {
      plan = planned.value();
      return true;
    }
    const bool more = NeedsMoreOfTheImage(planned.error());
    if (more && filled < staging.bytes) {
      want = lib::Min(filled * 4, staging.bytes);
      continue;
    }
    if (more && source.bytes > *have) {
      // The image may go on past what tern reads: the reason may be that limit, so it is named.
      lib::Printf(
          "tern: %s: cannot boot %s: %s: tern reads at most the first %llu MiB of a %s, and this "
          "one has %llu MiB\n",
          path, source.what, ElfErrorName(planned.error()),
          static_cast<unsigned long long>(kLoaderStagingBytes >> 20), source.kind,
          static_cast<unsigned long long>(source.bytes >> 20));
    } else {
      lib::Printf("tern: %s: cannot boot %s: %s\n", path, source.what,
                  ElfErrorName(planned.error()));
    }
    return false;
  }
}

// Loads the ELF image of `source` on `disk` (at most kLoaderStagingBytes of it): reads it into
// the staging area, plans, claims and copies its segments. The staging area is claimed for the
// load and released on every path; a failure leaves nothing else claimed either (CommitLoad),
// and nothing can fail after the copy: the entry is the plan's.
bool LoadImage(LoaderEnv& env, const block::Device& disk, const ImageSource& source,
               const char* path, LoadedClient& loaded) {
  if (source.bytes == 0) {
    lib::Printf("tern: %s: cannot boot %s: it is empty\n", path, source.what);
    return false;
  }
  const uint64_t skip = source.offset % disk.block_size;
  Staging staging;
  const uint64_t bytes = lib::AlignUp(skip + source.bytes, disk.block_size);
  if (!OpenStaging(env, lib::Min(bytes, kLoaderStagingBytes), path, staging)) {
    return false;
  }
  LoadPlan plan;
  uint64_t have = 0;
  const bool ok = StageAndPlan(env, disk, source, staging, path, plan, &have) &&
                  CommitLoad(env, plan, lib::Span<const uint8_t>(staging.host + skip, have), path,
                             source.what, loaded);
  CloseStaging(env, staging);
  return ok;
}

// The property `name` of /chosen as a string without its NUL; empty when absent.
lib::StringView ChosenString(const of::Tree& tree, const char* name) {
  const int chosen = tree.OffsetOf(tree.FindDevice("/chosen"));
  if (chosen < 0) return lib::StringView();
  return lib::fdt::PropertyString(tree.blob(), chosen, name).value_or(lib::StringView());
}

const BootDevice* DeviceAt(lib::Span<const BootDevice> devices, of::Phandle node) {
  for (const BootDevice& device : devices) {
    if (device.node == node) return &device;
  }
  return nullptr;
}

// The PReP partition of `disk` at `path` into `prep`, or why there is none into `reason`. The
// partition table (6 KiB) lives only here, not while the partition is loaded.
bool FindPrep(const block::Device& disk, const char* path, block::Partition& prep, char* reason,
              size_t reason_size) {
  block::IoError io = block::IoError::kDevice;
  auto table = block::ReadPartitions(disk, table_scratch, &io);
  if (table.is_error()) {
    const bool read_failed = table.error() == block::PartitionError::kReadFailed;
    (void)lib::FormatToBuffer(reason, reason_size, "%s%s%s",
                              block::PartitionErrorName(table.error()), read_failed ? ": " : "",
                              read_failed ? block::IoErrorName(io) : "");
    return false;
  }
  if (table.value().unlisted != 0) {
    lib::Printf(
        "tern: %s: the GPT has %u used entries; tern lists the first %u and looks for the PReP "
        "partition among all of them\n",
        path, table.value().count + table.value().unlisted, table.value().count);
  }
  auto found = block::FindPrepPartition(table.value());
  if (found.is_error()) {
    (void)lib::FormatToBuffer(reason, reason_size, "%s", block::PartitionErrorName(found.error()));
    return false;
  }
  prep = found.value();
  if (!prep.active) {
    lib::Printf("tern: %s: PReP partition %u is not marked active; booting it all the same\n", path,
                prep.number);
  }
  return true;
}

bool LoadPrep(LoaderEnv& env, const block::Device& disk, const block::Partition& prep,
              const char* path, LoadedClient& loaded) {
  char what[24];
  (void)lib::FormatToBuffer(what, sizeof(what), "partition %u", prep.number);
  const ImageSource source{prep.start_lba * disk.block_size,
                           prep.block_count * uint64_t{disk.block_size}, what, "PReP partition"};
  loaded.device_arguments[0] = '\0';
  return LoadImage(env, disk, source, path, loaded);
}

bool LoadChrpFile(LoaderEnv& env, const block::Device& disk, const ChrpBoot& chrp, const char* path,
                  LoadedClient& loaded) {
  const ImageSource source{chrp.file.offset, chrp.file.size, chrp.script.path, "file"};
  if (!LoadImage(env, disk, source, path, loaded)) return false;
  (void)lib::FormatToBuffer(loaded.device_arguments, sizeof(loaded.device_arguments), ",%s",
                            chrp.script.path);
  (void)lib::FormatToBuffer(loaded.arguments, sizeof(loaded.arguments), "%s",
                            chrp.script.arguments);
  return true;
}

// Boots `device` at `path`: the boot file of an ISO 9660 volume's \ppc\bootinfo.txt, or a PReP
// partition's image; a CD is looked at as install media first, a disk as a disk first (an ISO image
// attached as a disk has no PReP partition). One line says why when neither can be booted.
bool TryDevice(LoaderEnv& env, const BootDevice& device, const char* path, LoadedClient& loaded) {
  if (device.kind == BootKind::kNetwork) {
    return device.nic != nullptr && NetBoot(env, *device.nic, path, loaded);
  }
  if (device.device == nullptr) return false;
  const block::Device& disk = *device.device;
  const bool cdrom = device.kind == BootKind::kCdrom;
  char prep_reason[96] = {};
  block::Partition prep;
  if (!cdrom && FindPrep(disk, path, prep, prep_reason, sizeof(prep_reason))) {
    return LoadPrep(env, disk, prep, path, loaded);
  }
  ChrpBoot chrp;
  auto found = FindChrpBoot(disk, table_scratch, chrp);
  if (found.is_ok()) return LoadChrpFile(env, disk, chrp, path, loaded);
  if (found.error().error != ChrpBootError::kNoVolume) {
    char reason[256];
    DescribeChrpFailure(found.error(), chrp, reason, sizeof(reason));
    lib::Printf("tern: %s: cannot boot: %s\n", path, reason);
    return false;
  }
  if (cdrom) {
    if (FindPrep(disk, path, prep, prep_reason, sizeof(prep_reason))) {
      return LoadPrep(env, disk, prep, path, loaded);
    }
    lib::Printf("tern: %s: cannot boot: no ISO 9660 volume, and %s\n", path, prep_reason);
    return false;
  }
  lib::Printf("tern: %s: cannot boot: %s\n", path, prep_reason);
  return false;
}

}  // namespace

of::AddressRange LoaderStaging(uint64_t rma_bytes, uint64_t bytes) {
  constexpr uint64_t kLowest = 24u << 20;
  const uint64_t limit = lib::Min<uint64_t>(rma_bytes, lib::GiB(2));
  if (limit < (64u << 20)) return of::AddressRange{};
  const uint64_t end = limit - (8u << 20);
  const uint64_t start =
      lib::Max(kLowest, (end - lib::Min(bytes, end - kLowest)) & ~uint64_t{0xffff});
  return of::AddressRange{start, lib::Min(bytes, end - start)};
}

bool LoadFromDevices(LoaderEnv& env, lib::Span<const BootDevice> devices, LoadedClient& loaded) {
  const of::Tree& tree = env.tree;
  // The views into the tree are used before anything below changes the tree (which may move it).
  const BootOrder order = PlanBootOrder(tree, ChosenString(tree, "qemu,boot-list"),
                                        ChosenString(tree, "qemu,boot-device"), devices);
  for (size_t i = 0; i < order.unknown_count; ++i) {
    lib::Printf("tern: boot list entry %.*s: not a device tern can boot from\n",
                static_cast<int>(order.unknown[i].size()), order.unknown[i].data());
  }
  for (size_t i = 0; i < order.count; ++i) {
    char path[128];
    NodePath(tree, order.candidates[i], path);
    const BootDevice* device = DeviceAt(devices, order.candidates[i]);
    if (device == nullptr || !TryDevice(env, *device, path, loaded)) continue;
    loaded.device = order.candidates[i];
    return true;
  }
  if (order.strict && order.count == 0) {
    lib::Printf("tern: the boot list allows no device tern can boot from\n");
  }
  return false;
}

}  // namespace bootmgr
