// The driver table: every device driver registers itself, from its own file, with
//   TERN_DRIVER(kVirtioBlkDriver) = {{"virtio-blk", kVirtioBlkIds, nullptr, Probe, Quiesce}};
// (a linker section, as the RTAS handlers do: lib/section-table.h). Probing is "for each PCI
// function and each /vdevice node, the first driver that matches" (dev/probe.h); quiescing is
// "each running instance of each driver". A new driver is one new file and its sources.mk line.
//
// A driver owns its instances (a fixed pool: no heap) and the DMA memory each needs; each
// instance has one explicit state (DriverState). What a probe finds it reports to a ProbeSink:
// the caller (boot/) decides what becomes of it in the device tree and the client interface, so
// dev/ knows nothing of either.
#pragma once

#include "block/device.h"
#include "dev/pci.h"
#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/section-table.h"
#include "lib/span.h"
#include "lib/types.h"
#include "net/device.h"

namespace dev {

// The life of one driver instance:
//   kIdle    -> kRunning  Start turned the device on (its registers, DMA and rings are the
//                         driver's from here on)
//   kRunning -> kStopped  the device was reset and turned off: for the OS, or after a failure
//                         (a bring-up that went wrong, a request that timed out or got a
//                         malformed answer), which also makes every later request kNotReady
//   kStopped -> kRunning  Start again (the instance is reused for another device)
// A Start refused before it touched the device leaves the state as it was.
enum class DriverState : uint8_t { kIdle, kRunning, kStopped };

// A PCI function a driver takes: vendor and device ID.
struct PciId {
  uint16_t vendor;
  uint16_t device;
};

// What a driver is asked to start: one PCI function (its BARs assigned by dev::ScanPhbs), or one
// node under /vdevice of the flattened tree `fdt`.
struct ProbeTarget {
  const PciDevice* pci = nullptr;
  const void* fdt = nullptr;
  int node = -1;     // the /vdevice node's offset in `fdt` (pci == nullptr)
  const char* path;  // the target's node path ("" for a PCI function QEMU gave no node)
};

// One device a driver started, with a line for the console: a block device (a disk or a CD-ROM)
// at the target's node, or at a child node `unit` of it ("disk@8000000000000000" for a SCSI LUN)
// ("virtio-blk, 184320 blocks of 512 bytes (90 MiB)"); or a network device at the target's node
// (`net` set, `block` null, device_type "network": "spapr-vlan, MAC 52:54:00:12:34:56").
struct FoundDevice {
  const char* path = "";  // the target's node
  const char* unit = "";  // "" : the target's node itself
  const char* device_type = "block";
  const block::Device* block = nullptr;
  block::Media media = block::Media::kDisk;
  const net::Device* net = nullptr;
  const char* description = "";
};

// Where a probe reports what it found; add() returns false when the caller has no room left for
// it (the driver then stops the device again and says so).
struct ProbeSink {
  bool (*add)(void* context, const FoundDevice& found) = nullptr;
  void* context = nullptr;
};

struct ProbeEnv;

// Reports NIC `device` at node `path` to `env`'s sink: device_type "network", the description
// "<driver>, MAC 52:54:00:12:34:56" written into `description` (which must outlive the report).
// False when the sink has no room for it.
bool ReportNetworkDevice(ProbeEnv& env, const char* path, const net::Device& device,
                         const char* driver, lib::Span<char> description);

// Memory the devices can DMA to (rings, queues, command buffers), handed out to a driver instance
// as it starts a device, in stack order: a probe that fails gives back what it took (Release, the
// last taken first), so devices that cannot be used cost no memory.
class DmaPool {
 public:
  constexpr DmaPool() = default;
  // [address, address + size) of real memory, inside the GuestMemory the drivers are given.
  constexpr DmaPool(uint64_t address, uint64_t size) : next_(address), end_(address + size) {}

  // `bytes` at a multiple of `alignment` (a power of two): a real address, or 0 when none is left.
  uint64_t Take(uint64_t bytes, uint64_t alignment) {
    const uint64_t start = lib::AlignUp(next_, alignment);
    if (start < next_ || start > end_ || bytes > end_ - start) return 0;
    next_ = start + bytes;
    return start;
  }
  // Gives back [address, address + bytes) when it is the last range taken (and taken with no
  // alignment padding after the one before); anything else is kept.
  void Release(uint64_t address, uint64_t bytes) {
    if (address + bytes == next_) next_ = address;
  }
  uint64_t remaining() const { return end_ - next_; }

 private:
  uint64_t next_ = 0;
  uint64_t end_ = 0;
};

// The DMA memory one probe takes for its device: given back when the probe ends without Keep()
// (the last range first), so that every way out of a failed probe frees it.
class DmaLease {
 public:
  static constexpr int kMaxRanges = 4;

  explicit DmaLease(DmaPool& pool) : pool_(pool) {}
  DmaLease(const DmaLease&) = delete;
  DmaLease& operator=(const DmaLease&) = delete;
  ~DmaLease() {
    if (kept_) return;
    for (int i = count_ - 1; i >= 0; --i) pool_.Release(ranges_[i].address, ranges_[i].bytes);
  }

  // DmaPool::Take; 0 when the pool has no room left.
  uint64_t Take(uint64_t bytes, uint64_t alignment) {
    if (count_ == kMaxRanges) return 0;
    const uint64_t address = pool_.Take(bytes, alignment);
    if (address != 0) ranges_[count_++] = Range{address, bytes};
    return address;
  }
  // The device is the driver's: its memory stays taken.
  void Keep() { kept_ = true; }

 private:
  struct Range {
    uint64_t address;
    uint64_t bytes;
  };
  DmaPool& pool_;
  Range ranges_[kMaxRanges] = {};
  int count_ = 0;
  bool kept_ = false;
};

struct ProbeEnv {
  lib::GuestMemory& memory;     // firmware memory: real addresses the devices can DMA to
  uint64_t timebase_frequency;  // of/machine-info.h bounds it (lib/timeout.h)
  DmaPool& dma;
  ProbeSink sink;
};

enum class ProbeError {
  kRefused,   // the device cannot be used; the driver printed why
  kPoolFull,  // the driver has no free instance left (the caller says so once)
};

struct Driver {
  const char* name;
  lib::Span<const PciId> pci_ids;  // PCI functions it takes (empty: none)
  const char* compatible;          // /vdevice nodes it takes, by `compatible` (nullptr: none)
  lib::Result<void, ProbeError> (*probe)(ProbeEnv& env, const ProbeTarget& target);
  // Resets every running instance for the OS's own drivers; reports failures on the console.
  void (*quiesce)();
};

#define TERN_DRIVER(name) TERN_SECTION_TABLE(tern_drivers, ::dev::Driver, name)

// The drivers linked into this program, in link order.
lib::Span<const Driver> Drivers();

// A fixed set of driver instances: the first one not running is handed out (an instance whose
// device failed to start, or was refused, is reused: unusable devices take no slot).
template <class T, int N>
struct Pool {
  T items[N];

  static constexpr int kSize = N;
  T* Take() {
    for (T& item : items) {
      if (item.state() != DriverState::kRunning) return &item;
    }
    return nullptr;
  }
  template <class F>
  void ForEachRunning(F f) {
    for (T& item : items) {
      if (item.state() == DriverState::kRunning) f(item);
    }
  }
};

}  // namespace dev
