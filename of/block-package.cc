// The "block" package [IEEE 1275 PowerPC binding, the "block" device type; IEEE 1275 3.8.3 the
// deblocker and disk-label support packages]: what a client such as GRUB or yaboot opens a disk,
// a partition of it or a file on it by. Reads go through the deblocker (block/deblocker.h) into a
// bounce buffer of the firmware's and from there into client memory; the open arguments are the
// disk-label's (block/disk-label.h). Files are read from an ISO 9660 volume (fs/iso9660.h) on the
// whole disk (",\path") or on a partition ("N,\path"); tern reads no other file system. The
// device is the block::Device the boot code bound to the node.
#include "block/deblocker.h"
#include "block/device.h"
#include "block/disk-label.h"
#include "fs/iso9660.h"
#include "lib/console.h"
#include "of/client-interface.h"
#include "of/package.h"

namespace of {
namespace {

// A firmware buffer the disks read into (a real address a device can DMA to), copied from there
// into the client's memory through GuestMemory; it also holds the partition table while an open
// reads it. The client interface runs on one CPU.
alignas(4096) constinit uint8_t bounce_buffer[64 * 1024];

block::Bounce Bounce() {
  return block::Bounce{bounce_buffer, reinterpret_cast<uintptr_t>(bounce_buffer),
                       sizeof(bounce_buffer)};
}

struct BlockState {
  block::Extent extent;  // the disk or the partition the instance reads in
  uint64_t start;        // the first byte it covers, from the extent's start: a file's, or 0
  uint64_t size;         // bytes it covers: the extent's, or the file's (which may end mid-block)
  uint64_t position;     // in bytes, from `start`
};

const block::Device& DeviceOf(const Instance& instance) {
  return *static_cast<const block::Device*>(instance.device);
}

// Narrows `state` (a disk or a partition) to the file at `path` of the ISO 9660 volume it holds.
// The volume is read through the bounce buffer.
bool OpenFile(const block::Device& device, lib::StringView path, BlockState& state) {
  const block::SliceDevice slice(device, state.extent);
  auto volume = fs::OpenVolume(slice.device(), bounce_buffer);
  if (volume.is_error()) return false;
  auto file = fs::Lookup(volume.value(), path, bounce_buffer);
  if (file.is_error()) return false;
  state.start = file.value().offset;
  state.size = file.value().size;
  return true;
}

bool Open(ClientInterface& client, Instance& instance, lib::StringView arguments) {
  auto label = block::ParseDiskLabel(arguments);
  if (label.is_error()) return false;
  const block::Device& device = DeviceOf(instance);
  auto extent = block::LabelExtent(device, label.value(), bounce_buffer);
  if (extent.is_error()) return false;
  BlockState state{extent.value(), 0, extent.value().count * device.block_size, 0};
  // "N," and "," with no name: the partition or the disk itself.
  if (!label.value().file.empty() && !OpenFile(device, label.value().file, state)) return false;
  instance.State<BlockState>() = state;
  return true;
}

// Reads up to `size` bytes at the instance's position into client memory at `address`; the
// position moves by what was read.
lib::Result<uint32_t, IoStatus> Read(ClientInterface& client, Instance& instance, uint64_t address,
                                     uint32_t size) {
  BlockState& state = instance.State<BlockState>();
  if (state.position >= state.size) return 0u;
  const uint64_t wanted = lib::Min<uint64_t>(size, state.size - state.position);
  block::ReadFailure failure;
  auto read = block::ReadBytes(DeviceOf(instance), state.extent, state.start + state.position,
                               wanted, client.memory(), address, Bounce(), &failure);
  if (read.is_error()) {
    if (read.error() == block::DeblockError::kDevice) {
      lib::Printf("tern: disk read at block %llu failed: %s\n",
                  static_cast<unsigned long long>(failure.lba), block::IoErrorName(failure.error));
    }
    return lib::Err(IoStatus::kFailed);
  }
  if (read.value().device_failed) {
    lib::Printf("tern: disk read at block %llu failed: %s\n",
                static_cast<unsigned long long>(read.value().failure.lba),
                block::IoErrorName(read.value().failure.error));
  }
  state.position += read.value().bytes;
  return static_cast<uint32_t>(read.value().bytes);
}

// seek: 0, or -1 past the end of what the instance covers (the position stays).
lib::Result<void, IoStatus> Seek(ClientInterface&, Instance& instance, uint64_t position) {
  BlockState& state = instance.State<BlockState>();
  if (position > state.size) return lib::Err(IoStatus::kFailed);
  state.position = position;
  return lib::Ok<IoStatus>();
}

// load ( addr -- size ): what the instance covers (a disk's or a partition's blocks, a file's
// bytes) from its start into client memory, as much as fits there; the position of read is left
// alone.
lib::Result<uint32_t, IoStatus> Load(ClientInterface& client, Instance& instance,
                                     uint64_t address) {
  BlockState& state = instance.State<BlockState>();
  const uint64_t saved = state.position;
  state.position = 0;
  const uint64_t bytes = lib::Min<uint64_t>(state.size, 0xffffffffu);
  auto read = Read(client, instance, address, static_cast<uint32_t>(bytes));
  state.position = saved;
  return read;
}

// block-size ( -- size )
lib::Result<void, IoStatus> BlockSize(ClientInterface&, Instance& instance, MethodCall& call) {
  call.results[0] = DeviceOf(instance).block_size;
  return lib::Ok<IoStatus>();
}

// The blocks the instance covers: its extent's, or as many as a file's bytes fill.
uint64_t Blocks(Instance& instance) {
  const BlockState& state = instance.State<BlockState>();
  const uint64_t block_size = DeviceOf(instance).block_size;
  return state.size / block_size + (state.size % block_size != 0 ? 1 : 0);
}

// #blocks ( -- n ): the blocks the instance covers, at most 2^32 - 1.
lib::Result<void, IoStatus> BlockCount(ClientInterface&, Instance& instance, MethodCall& call) {
  call.results[0] = static_cast<uint32_t>(lib::Min<uint64_t>(Blocks(instance), 0xffffffffu));
  return lib::Ok<IoStatus>();
}

// max-transfer ( -- n ): the bytes one read-blocks moves at most (the bounce buffer's size).
lib::Result<void, IoStatus> MaxTransfer(ClientInterface&, Instance&, MethodCall& call) {
  call.results[0] = static_cast<uint32_t>(sizeof(bounce_buffer));
  return lib::Ok<IoStatus>();
}

// read-blocks ( addr block# #blocks -- #read ): whole blocks of the instance (a file's last one
// may be short), the position of read left alone. Blocks past the end throw.
lib::Result<void, IoStatus> ReadBlocks(ClientInterface& client, Instance& instance,
                                       MethodCall& call) {
  if (call.args.size() < 3) return lib::Err(IoStatus::kFailed);
  BlockState& state = instance.State<BlockState>();
  const uint64_t block_size = DeviceOf(instance).block_size;
  const uint64_t count = call.args[0];
  const uint64_t block = call.args[1];
  const uint64_t address = call.args[2];
  const uint64_t blocks = Blocks(instance);
  if (block > blocks || count > blocks - block || count * block_size > 0xffffffffu) {
    return lib::Err(IoStatus::kFailed);
  }
  const uint64_t saved = state.position;
  state.position = block * block_size;
  auto read = Read(client, instance, address, static_cast<uint32_t>(count * block_size));
  state.position = saved;
  call.results[0] = read.is_ok() ? static_cast<uint32_t>(read.value() / block_size) : 0;
  return lib::Ok<IoStatus>();
}

constexpr PackageMethod kMethods[] = {
    {"block-size", BlockSize},
    {"#blocks", BlockCount},
    {"max-transfer", MaxTransfer},
    {"read-blocks", ReadBlocks},
};

}  // namespace

TERN_PACKAGE(kBlockPackage) = {
    {"block", "block", Open, nullptr, Read, nullptr, Seek, Load, kMethods}};

}  // namespace of
