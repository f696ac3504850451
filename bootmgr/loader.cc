#include "bootmgr/loader.h"

#include "block/deblocker.h"
#include "block/partitions.h"
#include "bootmgr/boot-order.h"
#include "bootmgr/elf.h"
#include "lib/be.h"
#include "lib/console.h"
#include "lib/cpu.h"
#include "lib/fdt.h"
#include "lib/string.h"

namespace bootmgr {

namespace {

// The partition-table reads: firmware memory, at a real address the devices can DMA to.
alignas(4096) constinit uint8_t table_scratch[64 * 1024];

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

// Errors of PlanElfLoad that may only mean that more of the partition must be read.
bool NeedsMoreOfTheImage(ElfError error) {
  return error == ElfError::kTruncated || error == ElfError::kBadProgramHeaders ||
         error == ElfError::kSegmentOutsideImage || error == ElfError::kEntryNotLoaded;
}

// Loads the ELF image at the start of `partition` of `disk` (at most kLoaderStagingBytes of it):
// reads it into the staging area, plans, claims and copies its segments.
bool LoadPartition(LoaderEnv& env, const block::Device& disk, const block::Partition& partition,
                   const char* path, LoadedClient& loaded) {
  const uint64_t limit = lib::Min<uint64_t>(env.rma_bytes, lib::GiB(2));
  if (LoaderStaging(env.rma_bytes).size == 0) {
    lib::Printf("tern: %s: cannot boot: %llu MiB of real-mode memory is too little\n", path,
                static_cast<unsigned long long>(limit >> 20));
    return false;
  }
  const uint64_t staging = LoaderStaging(env.rma_bytes).start;
  const uint64_t image_bytes =
      lib::Min<uint64_t>(kLoaderStagingBytes, partition.block_count * uint64_t{disk.block_size});
  of::ClaimMap& claims = env.claims;
  if (claims.Claim(staging, image_bytes, 0).is_error()) {
    lib::Printf("tern: %s: cannot boot: the staging area at 0x%llx is in use\n", path,
                static_cast<unsigned long long>(staging));
    return false;
  }
  // The staging area through the accessor every client address goes through: in the firmware
  // (host_base 0) the pointer is the real address the device writes to; host tests back guest RAM
  // with an array, whose fake devices take host pointers.
  auto staged = env.memory.Map(staging, image_bytes, false);
  if (staged.is_error()) {
    lib::Printf("tern: %s: cannot boot: the staging area at 0x%llx is outside guest memory\n", path,
                static_cast<unsigned long long>(staging));
    (void)claims.Release(staging, image_bytes);
    return false;
  }
  const uint8_t* const staged_bytes = staged.value();
  const AddressRange forbidden[] = {{0, env.firmware_end}, {staging, image_bytes}};
  const uint64_t block_size = disk.block_size;
  uint64_t have = 0;
  uint64_t want = lib::Min<uint64_t>(64 * 1024, image_bytes);
  lib::Result<LoadPlan, ElfError> plan = lib::Err(ElfError::kTruncated);
  while (true) {
    const uint64_t blocks_have = have / block_size;
    const uint64_t blocks_want = (want + block_size - 1) / block_size;
    if (!ReadExtent(disk, partition.start_lba + blocks_have, blocks_want - blocks_have,
                    reinterpret_cast<uintptr_t>(staged_bytes) + blocks_have * block_size, path)) {
      (void)claims.Release(staging, image_bytes);
      return false;
    }
    have = lib::Min(blocks_want * block_size, image_bytes);
    plan = PlanElfLoad(lib::Span<const uint8_t>(staged_bytes, have), limit, forbidden);
    if (plan.is_ok() || !NeedsMoreOfTheImage(plan.error()) || have >= image_bytes) break;
    want = lib::Min(have * 4, image_bytes);
  }
  if (plan.is_error()) {
    lib::Printf("tern: %s: cannot boot partition %u: %s\n", path, partition.number,
                ElfErrorName(plan.error()));
    (void)claims.Release(staging, image_bytes);
    return false;
  }
  const LoadPlan& p = plan.value();
  uint32_t claimed = 0;
  for (; claimed < p.segment_count; ++claimed) {
    const LoadSegment& s = p.segments[claimed];
    if (claims.Claim(s.paddr, s.memsz, 0).is_error()) break;
  }
  bool ok = claimed == p.segment_count;
  if (!ok) {
    lib::Printf("tern: %s: cannot boot: segment %u at 0x%llx overlaps memory in use\n", path,
                claimed, static_cast<unsigned long long>(p.segments[claimed].paddr));
  } else {
    const lib::Span<const uint8_t> image(staged_bytes, have);
    if (auto copied = LoadElfSegments(p, image, env.memory); copied.is_error()) {
      lib::Printf("tern: %s: cannot boot: %s\n", path, ElfErrorName(copied.error()));
      ok = false;
    }
  }
  (void)claims.Release(staging, image_bytes);
  if (!ok) {
    for (uint32_t i = 0; i < claimed; ++i) {
      (void)claims.Release(p.segments[i].paddr, p.segments[i].memsz);
    }
    return false;
  }
  for (uint32_t i = 0; i < p.segment_count; ++i) {
    lib::SyncInstructions(p.segments[i].paddr, p.segments[i].memsz);
  }
  loaded.mode32 = !p.is_64bit;
  loaded.entry = p.entry_paddr;
  // A 64-bit big-endian ELFv1 image's entry is a function descriptor: its first doubleword is the
  // code address.
  if (p.is_64bit && !p.is_little_endian && (p.flags & 3) != 2) {
    uint8_t descriptor[8];
    if (env.memory.Read(p.entry_paddr, descriptor, 8).is_error()) return false;
    loaded.entry = lib::LoadBe64(descriptor);
  }
  lib::Printf("tern: booting %s partition %u: ELF%d %s-endian, %u segments, entry 0x%llx\n", path,
              partition.number, p.is_64bit ? 64 : 32, p.is_little_endian ? "little" : "big",
              p.segment_count, static_cast<unsigned long long>(loaded.entry));
  return true;
}

// The property `name` of /chosen as a string without its NUL; empty when absent.
lib::StringView ChosenString(const of::Tree& tree, const char* name) {
  const int chosen = tree.OffsetOf(tree.FindDevice("/chosen"));
  if (chosen < 0) return lib::StringView();
  return lib::fdt::PropertyString(tree.blob(), chosen, name).value_or(lib::StringView());
}

const block::Device* DeviceAt(lib::Span<const BootDevice> devices, of::Phandle node) {
  for (const BootDevice& device : devices) {
    if (device.node == node) return device.device;
  }
  return nullptr;
}

// Loads the PReP partition of `disk` at `path`; one line says why when it cannot.
bool TryDevice(LoaderEnv& env, const block::Device& disk, const char* path, LoadedClient& loaded) {
  block::IoError io = block::IoError::kDevice;
  auto table = block::ReadPartitions(disk, table_scratch, &io);
  if (table.is_error()) {
    const bool read_failed = table.error() == block::PartitionError::kReadFailed;
    lib::Printf("tern: %s: cannot boot: %s%s%s\n", path, block::PartitionErrorName(table.error()),
                read_failed ? ": " : "", read_failed ? block::IoErrorName(io) : "");
    return false;
  }
  auto prep = block::FindPrepPartition(table.value());
  if (prep.is_error()) {
    lib::Printf("tern: %s: cannot boot: %s\n", path, block::PartitionErrorName(prep.error()));
    return false;
  }
  if (!prep.value().active) {
    lib::Printf("tern: %s: PReP partition %u is not marked active; booting it all the same\n", path,
                prep.value().number);
  }
  return LoadPartition(env, disk, prep.value(), path, loaded);
}

}  // namespace

of::AddressRange LoaderStaging(uint64_t rma_bytes) {
  const uint64_t limit = lib::Min<uint64_t>(rma_bytes, lib::GiB(2));
  if (limit < (64u << 20)) return of::AddressRange{};
  return of::AddressRange{(limit - (40u << 20)) & ~uint64_t{0xffff}, kLoaderStagingBytes};
}

bool LoadFromDevices(LoaderEnv& env, lib::Span<const BootDevice> devices, LoadedClient& loaded) {
  of::Phandle nodes[kMaxBootCandidates];
  const size_t count = lib::Min(devices.size(), kMaxBootCandidates);
  for (size_t i = 0; i < count; ++i) nodes[i] = devices[i].node;
  const of::Tree& tree = env.tree;
  // The views into the tree are used before anything below changes the tree (which may move it).
  const BootOrder order = PlanBootOrder(tree, ChosenString(tree, "qemu,boot-list"),
                                        ChosenString(tree, "qemu,boot-device"),
                                        lib::Span<const of::Phandle>(nodes, count));
  for (size_t i = 0; i < order.unknown_count; ++i) {
    lib::Printf("tern: boot list entry %.*s: not a disk tern can read\n",
                static_cast<int>(order.unknown[i].size()), order.unknown[i].data());
  }
  for (size_t i = 0; i < order.count; ++i) {
    char path[128];
    NodePath(tree, order.candidates[i], path);
    const block::Device* disk = DeviceAt(devices, order.candidates[i]);
    if (disk == nullptr || !TryDevice(env, *disk, path, loaded)) continue;
    loaded.device = order.candidates[i];
    return true;
  }
  if (order.strict && order.count == 0) {
    lib::Printf("tern: the boot list allows no disk tern can read\n");
  }
  return false;
}

}  // namespace bootmgr
