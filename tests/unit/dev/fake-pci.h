// A fake pseries PCI platform for dev_test, on top of tests/fake-hv:
//
// - FakePlatform: PHBs with QEMU's BUIDs and windows, their config space answering the RTAS calls
//   ibm,read-pci-config / ibm,write-pci-config as QEMU does (hw/ppc/spapr_pci.c: -1 for a
//   function that does not exist, a size other than 1/2/4, a misaligned or out-of-range register),
//   and MMIO through H_LOGICAL_CI_LOAD / H_LOGICAL_CI_STORE routed to the function whose BAR
//   decodes the address (only while its command register enables decoding), values returned as
//   QEMU's big-endian ldl_phys sees a little-endian device.
// - FakeFunction: a type-0 config header whose BARs size like hardware.
// - FakeVirtioDevice: a virtio 1.0 PCI device (QEMU's layout: BAR 4 holds the common, ISR,
//   device and notify structures) that processes one split virtqueue against guest RAM, with
//   knobs for the failures a driver must survive; FakeVirtioBlk serves a disk image from it
//   (tests/unit/dev/virtio_scsi_test.cc has a virtio-scsi one).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/guest-memory.h"
#include "tests/fake-hv.h"

namespace tests {

// The fake hypervisor, reset: for fixtures to initialize before their FakePlatform.
inline FakeHypervisor& FreshHypervisor() {
  FakeHypervisor::Get().Reset();
  return FakeHypervisor::Get();
}

class FakeFunction {
 public:
  // A BAR's low bits as it reads them: I/O space, 64-bit memory, prefetchable.
  static constexpr uint32_t kIo = 0x1;
  static constexpr uint32_t kMem64 = 0x4;
  static constexpr uint32_t kPrefetch = 0x8;

  FakeFunction(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision = 0);
  virtual ~FakeFunction() = default;

  void SetBar(int index, uint64_t size, uint32_t flags);
  void SetHeaderType(uint8_t type) { config[0x0e] = type; }
  // Puts a capability (its bytes from the ID on) at `at` and links it at the end of the list.
  void AddCapability(uint8_t at, std::vector<uint8_t> bytes);

  uint32_t ConfigRead(uint32_t reg, uint32_t size) const;
  void ConfigWrite(uint32_t reg, uint32_t size, uint32_t value);
  uint16_t command() const { return static_cast<uint16_t>(config[4] | config[5] << 8); }
  uint64_t BarAddress(int index) const;
  uint64_t BarSize(int index) const { return bars_[index].size; }
  uint32_t BarFlags(int index) const { return bars_[index].flags; }

  // Accesses to BAR `bar` at `offset`, with the register's value (not byte-swapped).
  virtual uint64_t MmioRead(int bar, uint64_t offset, uint32_t size);
  virtual void MmioWrite(int bar, uint64_t offset, uint32_t size, uint64_t value);

  std::array<uint8_t, 256> config{};
  std::vector<std::string> violations;  // what the driver did that a device would not accept

 private:
  struct Bar {
    uint64_t size = 0;
    uint32_t flags = 0;
  };
  Bar bars_[6];
  uint8_t last_capability_ = 0;
};

// A virtio 1.0 PCI device in QEMU's layout (BAR 4: common configuration at 0, ISR at 0x1000,
// device configuration at 0x2000, notify at 0x3000 with a multiplier of 4) with `queue_count`
// queues, of which it serves `served_queue` (and those a subclass adds with ServeQueue): the driver
// may set up only those. Each available chain of a served queue goes to ServeOn (for the first
// one, Serve), which answers it with Complete / CompleteOn (or never).
class FakeVirtioDevice : public FakeFunction {
 private:
  // One served queue as the driver set it up, and the device's place in its rings.
  struct Queue {
    uint16_t size = 0;
    bool enabled = false;
    uint64_t desc = 0;
    uint64_t driver = 0;
    uint64_t device = 0;
    uint16_t notify_off = 0;
    uint16_t last_available = 0;
    uint16_t used_index = 0;
  };
  std::map<uint16_t, Queue> queues_;  // by index; first, for the references below

 public:
  struct Descriptor {
    uint64_t address = 0;
    uint32_t length = 0;
    uint16_t flags = 0;  // 1 NEXT, 2 WRITE
  };
  // How a completion is put into the used ring.
  enum class UsedFault {
    kNone,
    kBadId,      // a used entry whose id is no descriptor of the chain
    kBadLength,  // a used entry claiming more bytes than the chain could take
    kTwoUsed,    // advances the used index by two for one request
  };
  static constexpr uint64_t kVersion1 = uint64_t{1} << 32;
  static constexpr uint64_t kAccessPlatform = uint64_t{1} << 33;

  FakeVirtioDevice(lib::GuestMemory& ram, uint16_t device_id, uint16_t subsystem_id,
                   uint32_t class_code, uint8_t revision, bool io_bar, uint16_t queue_count,
                   uint16_t served_queue);

  uint64_t MmioRead(int bar, uint64_t offset, uint32_t size) override;
  void MmioWrite(int bar, uint64_t offset, uint32_t size, uint64_t value) override;

  // What Complete puts into the used ring: the entry's id and length, and how far the used index
  // moves.
  struct UsedEntry {
    uint32_t id;
    uint32_t length;
    uint16_t advance;
  };

  // Knobs.
  uint64_t offered = kVersion1;
  // Changes every used-ring entry before it is published (fuzz targets: any entry a device could
  // write), after the UsedFault of the completion.
  std::function<void(UsedEntry&)> tamper_used;
  uint16_t queue_max = 256;
  uint16_t& notify_off;                // the served queue's queue_notify_off
  uint64_t stall_ticks = 0;            // how far the time base jumps for a request never answered
  bool reset_sticks = false;           // device_status never reads 0 again
  uint64_t ticks_per_status_read = 0;  // time that passes per device_status read
  int generation_changes = 0;          // config_generation reads that each see a new generation
  bool reject_features = false;        // clears FEATURES_OK whatever the driver accepted

  // What the driver did; the queue_* fields are the first served queue's.
  uint8_t status = 0;
  uint64_t driver_features = 0;
  int resets = 0;
  uint16_t& queue_size;
  bool& queue_enabled;
  uint64_t& queue_desc;
  uint64_t& queue_driver;
  uint64_t& queue_device;

  // Whether served queue `index` is enabled.
  bool QueueEnabled(uint16_t index) const;
  // Processes the available chains of served queue `index` now, as a device does when it has
  // something to put there (a frame received) and not only when notified.
  void Poll(uint16_t index);

 protected:
  // The device-specific configuration structure, as it reads now.
  virtual std::vector<uint8_t> DeviceConfig() = 0;
  // One request: its chain, checked to be inside the table and guest RAM.
  virtual void Serve(uint16_t head, const std::vector<Descriptor>& chain) = 0;
  // One request on served queue `queue`; the first served queue's go to Serve.
  virtual void ServeOn(uint16_t queue, uint16_t head, const std::vector<Descriptor>& chain);
  // Serves queue `index` too (its queue_notify_off is its index).
  void ServeQueue(uint16_t index);
  // Returns request `head` with `written` bytes (on the first served queue, or on `queue`).
  void Complete(uint16_t head, uint32_t written, UsedFault fault);
  void CompleteOn(uint16_t queue, uint16_t head, uint32_t written, UsedFault fault);
  // Takes the request and never answers: the time base jumps by stall_ticks.
  void Stall();
  uint8_t* Ram(uint64_t address, uint64_t size);

 private:
  uint64_t CommonRead(uint64_t offset, uint32_t size);
  void CommonWrite(uint64_t offset, uint32_t size, uint64_t value);
  void Reset();
  void Process(uint16_t index);
  Queue* Selected();

  lib::GuestMemory& ram_;
  uint16_t queue_count_ = 1;
  uint16_t served_queue_ = 0;
  uint32_t device_feature_select_ = 0;
  uint32_t driver_feature_select_ = 0;
  uint16_t queue_select_ = 0;
  uint8_t generation_ = 0;
};

// A virtio-blk device processing its queue 0 against a disk image.
class FakeVirtioBlk : public FakeVirtioDevice {
 public:
  enum class Completion {
    kNormal,
    kIoError,      // status VIRTIO_BLK_S_IOERR
    kUnsupported,  // status VIRTIO_BLK_S_UNSUPP
    kNever,        // takes the request and never answers (the time base jumps by stall_ticks)
    kBadId,        // a used entry whose id is no descriptor of the chain
    kBadLength,    // a used entry claiming more bytes than the chain could take
    kNoStatus,     // completes without writing the status byte
    kTwoUsed,      // advances the used index by two for one request
  };
  static constexpr uint64_t kBlkSize = uint64_t{1} << 6;
  static constexpr uint64_t kSegMax = uint64_t{1} << 2;

  // Transitional (device 0x1001: I/O BAR 0 too) or modern-only (0x1042), as QEMU makes them.
  FakeVirtioBlk(lib::GuestMemory& ram, std::vector<uint8_t> disk, bool modern_only = false);

  // Knobs.
  uint32_t blk_size = 512;
  Completion completion = Completion::kNormal;
  uint64_t capacity_sectors = 0;  // what the device reports; 0: the image's size
  std::function<void(uint8_t& status)> tamper_status;  // changes each request's status byte

  // What the driver did.
  std::vector<uint64_t> sectors;  // of each request, in order
  std::vector<uint32_t> lengths;  // data bytes of each request
  std::vector<uint8_t> disk;

 protected:
  std::vector<uint8_t> DeviceConfig() override;
  void Serve(uint16_t head, const std::vector<Descriptor>& chain) override;
};

class FakePlatform {
 public:
  static constexpr uint32_t kReadToken = 0x2016;
  static constexpr uint32_t kWriteToken = 0x2017;
  struct Window {
    uint64_t pci_base = 0;
    uint64_t cpu_base = 0;
    uint64_t size = 0;
  };
  struct Phb {
    uint64_t buid = 0;
    Window io;
    Window mem32;
    Window mem64;
    std::map<uint8_t, FakeFunction*> functions;  // by devfn
    // Functions behind bridges, by bus << 8 | devfn: config space only (no MMIO routing); the
    // bridges' bus-number registers are not consulted, as a test sets them to what it wants.
    std::map<uint16_t, FakeFunction*> behind_bridges;
  };

  // Installs the RTAS services and the CI load/store handlers into `hv`.
  explicit FakePlatform(FakeHypervisor& hv);
  // PHB `index` as QEMU makes it (hw/ppc/spapr_pci.c, spapr_phb_placement; the dumped trees):
  // BUID 0x800000020000000 + index, I/O at 0x200000000000 + index * 64 KiB, 32-bit memory at
  // 0x200000000000 + (index + 1) * 2 GiB (bus 0x80000000), 64-bit memory identity-mapped at
  // 0x210000000000 + index * 1 TiB.
  Phb& AddQemuPhb(uint32_t index);
  void Plug(Phb& phb, uint8_t device, uint8_t function, FakeFunction& fake);
  void PlugBehindBridge(Phb& phb, uint8_t bus, uint8_t device, uint8_t function,
                        FakeFunction& fake);

  std::vector<std::unique_ptr<Phb>> phbs;
  int config_reads = 0;
  int config_writes = 0;
  int unclaimed_mmio = 0;    // CI accesses no BAR decoded
  bool fail_config = false;  // every config access answers -1

 private:
  FakeFunction* Find(uint64_t buid, uint32_t config_address, uint32_t& reg);
  bool Route(uint64_t address, FakeFunction*& function, int& bar, uint64_t& offset);
};

}  // namespace tests
