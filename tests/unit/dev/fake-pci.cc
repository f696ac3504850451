#include "tests/unit/dev/fake-pci.h"

#include <cstdio>
#include <cstring>

#include "lib/be.h"
#include "lib/cpu.h"
#include "tests/host-cpu.h"

namespace tests {

namespace {

std::string Describe(const char* what, uint64_t offset, uint32_t size) {
  char text[128];
  std::snprintf(text, sizeof(text), "%s: %u-byte access at 0x%llx", what, size,
                static_cast<unsigned long long>(offset));
  return text;
}

uint64_t LoadLe(const uint8_t* bytes, uint32_t size) {
  uint64_t value = 0;
  for (uint32_t i = 0; i < size; ++i) value |= uint64_t{bytes[i]} << (8 * i);
  return value;
}

void StoreLe(uint8_t* bytes, uint32_t size, uint64_t value) {
  for (uint32_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
}

// What QEMU's ldl_phys and friends give a ppc64 guest for a little-endian device register.
uint64_t BigEndianView(uint64_t value, uint32_t size) {
  switch (size) {
    case 2: return __builtin_bswap16(static_cast<uint16_t>(value));
    case 4: return __builtin_bswap32(static_cast<uint32_t>(value));
    case 8: return __builtin_bswap64(value);
    default: return value & 0xff;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// FakeFunction

FakeFunction::FakeFunction(uint16_t vendor, uint16_t device, uint32_t class_code,
                           uint8_t revision) {
  StoreLe(&config[0x00], 2, vendor);
  StoreLe(&config[0x02], 2, device);
  config[0x08] = revision;
  StoreLe(&config[0x09], 3, class_code);
}

void FakeFunction::SetBar(int index, uint64_t size, uint32_t flags) {
  bars_[index] = Bar{size, flags};
  StoreLe(&config[0x10 + 4 * index], 4, flags);
}

void FakeFunction::AddCapability(uint8_t at, std::vector<uint8_t> bytes) {
  std::memcpy(&config[at], bytes.data(), bytes.size());
  config[at + 1] = 0;
  if (last_capability_ == 0) {
    config[0x34] = at;
    config[0x06] |= 0x10;  // capabilities list
  } else {
    config[last_capability_ + 1] = at;
  }
  last_capability_ = at;
}

uint32_t FakeFunction::ConfigRead(uint32_t reg, uint32_t size) const {
  return static_cast<uint32_t>(LoadLe(&config[reg], size));
}

void FakeFunction::ConfigWrite(uint32_t reg, uint32_t size, uint32_t value) {
  if (reg >= 0x10 && reg < 0x28) {
    if (size != 4) {
      violations.push_back(Describe("BAR write not of 4 bytes", reg, size));
      return;
    }
    const int index = static_cast<int>(reg - 0x10) / 4;
    const Bar& bar = bars_[index];
    uint32_t stored = 0;
    if (index > 0 && (bars_[index - 1].flags & 0x7) == kMem64 && bars_[index - 1].size != 0) {
      stored = value & static_cast<uint32_t>(~(bars_[index - 1].size - 1) >> 32);  // upper half
    } else if (bar.size != 0) {
      stored = (value & static_cast<uint32_t>(~(bar.size - 1))) | bar.flags;
      if ((bar.flags & kIo) != 0) stored &= ~uint32_t{0x2};
    }
    StoreLe(&config[reg], 4, stored);
    return;
  }
  if (reg == 0x04 && size == 2) {
    StoreLe(&config[reg], 2, value & 0x0547);  // I/O, memory, master, parity, SERR, INTx off
    return;
  }
  violations.push_back(Describe("config write to a read-only register", reg, size));
}

uint64_t FakeFunction::BarAddress(int index) const {
  const uint64_t low = LoadLe(&config[0x10 + 4 * index], 4);
  if ((bars_[index].flags & kIo) != 0) return low & ~uint64_t{0x3};
  uint64_t address = low & ~uint64_t{0xf};
  if ((bars_[index].flags & 0x7) == kMem64) {
    address |= LoadLe(&config[0x14 + 4 * index], 4) << 32;
  }
  return address;
}

uint64_t FakeFunction::MmioRead(int, uint64_t offset, uint32_t size) {
  violations.push_back(Describe("MMIO read of a register-less BAR", offset, size));
  return ~uint64_t{0};
}

void FakeFunction::MmioWrite(int, uint64_t offset, uint32_t size, uint64_t) {
  violations.push_back(Describe("MMIO write to a register-less BAR", offset, size));
}

// ---------------------------------------------------------------------------------------------
// FakeVirtioDevice

namespace {

constexpr uint64_t kCommon = 0x0000;
constexpr uint64_t kIsr = 0x1000;
constexpr uint64_t kDevice = 0x2000;
constexpr uint64_t kNotify = 0x3000;
constexpr uint32_t kNotifyMultiplier = 4;
constexpr int kModernBar = 4;

std::vector<uint8_t> VirtioCapability(uint8_t type, uint32_t offset, uint32_t length,
                                      bool notify = false) {
  std::vector<uint8_t> bytes(notify ? 20 : 16, 0);
  bytes[0] = 0x09;
  bytes[2] = static_cast<uint8_t>(bytes.size());
  bytes[3] = type;
  bytes[4] = kModernBar;
  StoreLe(&bytes[8], 4, offset);
  StoreLe(&bytes[12], 4, length);
  if (notify) StoreLe(&bytes[16], 4, kNotifyMultiplier);
  return bytes;
}

}  // namespace

FakeVirtioDevice::FakeVirtioDevice(lib::GuestMemory& ram, uint16_t device_id, uint16_t subsystem_id,
                                   uint32_t class_code, uint8_t revision, bool io_bar,
                                   uint16_t queue_count, uint16_t served_queue)
    : FakeFunction(0x1af4, device_id, class_code, revision),
      notify_off(queues_[served_queue].notify_off),
      queue_size(queues_[served_queue].size),
      queue_enabled(queues_[served_queue].enabled),
      queue_desc(queues_[served_queue].desc),
      queue_driver(queues_[served_queue].driver),
      queue_device(queues_[served_queue].device),
      ram_(ram),
      queue_count_(queue_count),
      served_queue_(served_queue) {
  notify_off = served_queue;
  StoreLe(&config[0x2c], 2, 0x1af4);        // subsystem vendor
  StoreLe(&config[0x2e], 2, subsystem_id);  // subsystem: the virtio device ID when transitional
  config[0x3d] = 1;                         // INTA
  if (io_bar) SetBar(0, 0x80, kIo);
  SetBar(1, 0x1000, 0);
  SetBar(kModernBar, 0x4000, kMem64 | kPrefetch);
  AddCapability(0x40, {0x11, 0, 0x01, 0x80, 0x01, 0, 0, 0, 0x01, 0x08, 0, 0});  // MSI-X
  AddCapability(0x50, VirtioCapability(1, kCommon, 0x1000));
  AddCapability(0x60, VirtioCapability(3, kIsr, 0x1000));
  AddCapability(0x70, VirtioCapability(4, kDevice, 0x1000));
  AddCapability(0x80, VirtioCapability(2, kNotify, 0x1000, true));
  std::vector<uint8_t> pci_cfg = VirtioCapability(5, 0, 0, true);
  pci_cfg[4] = 0;
  AddCapability(0x94, pci_cfg);
}

uint8_t* FakeVirtioDevice::Ram(uint64_t address, uint64_t size) {
  auto mapped = ram_.Map(address, size, false);
  if (mapped.is_error()) {
    violations.push_back(Describe("device DMA outside guest RAM", address, 0));
    return nullptr;
  }
  return mapped.value();
}

void FakeVirtioDevice::ServeQueue(uint16_t index) {
  queues_[index].notify_off = index;
}

bool FakeVirtioDevice::QueueEnabled(uint16_t index) const {
  auto queue = queues_.find(index);
  return queue != queues_.end() && queue->second.enabled;
}

FakeVirtioDevice::Queue* FakeVirtioDevice::Selected() {
  auto queue = queues_.find(queue_select_);
  return queue != queues_.end() ? &queue->second : nullptr;
}

void FakeVirtioDevice::Reset() {
  ++resets;
  if (!reset_sticks) status = 0;
  driver_features = 0;
  device_feature_select_ = 0;
  driver_feature_select_ = 0;
  queue_select_ = 0;
  for (auto& [index, queue] : queues_) queue = Queue{.notify_off = queue.notify_off};
}

uint64_t FakeVirtioDevice::MmioRead(int bar, uint64_t offset, uint32_t size) {
  if (bar != kModernBar) return FakeFunction::MmioRead(bar, offset, size);
  if (offset < kIsr) return CommonRead(offset - kCommon, size);
  if (offset < kDevice) {
    if (size != 1) violations.push_back(Describe("ISR read not of 1 byte", offset, size));
    return 0;
  }
  if (offset < kNotify) {
    // The device-specific structure; QEMU takes accesses of 1, 2 and 4 bytes only.
    const std::vector<uint8_t> device_config = DeviceConfig();
    const uint64_t at = offset - kDevice;
    if ((size != 1 && size != 2 && size != 4) || at + size > device_config.size()) {
      violations.push_back(Describe("device config read", at, size));
      return 0;
    }
    return LoadLe(&device_config[at], size);
  }
  violations.push_back(Describe("notify read", offset, size));
  return 0;
}

void FakeVirtioDevice::MmioWrite(int bar, uint64_t offset, uint32_t size, uint64_t value) {
  if (bar != kModernBar) return FakeFunction::MmioWrite(bar, offset, size, value);
  if (offset < kIsr) return CommonWrite(offset - kCommon, size, value);
  if (offset >= kNotify) {
    // virtio 1.1 §4.1.4.4: at queue_notify_off * multiplier, the queue's index.
    auto queue = queues_.find(static_cast<uint16_t>(value));
    if (size != 2 || queue == queues_.end() ||
        offset != kNotify + queue->second.notify_off * kNotifyMultiplier) {
      violations.push_back(Describe("notify write", offset, size));
      return;
    }
    if ((status & 0x4) == 0 || !queue->second.enabled) {
      violations.push_back("notify before DRIVER_OK or before the queue is enabled");
      return;
    }
    if ((command() & 0x4) == 0) {
      violations.push_back("notify without bus mastering: the device cannot DMA");
      return;
    }
    Process(queue->first);
    return;
  }
  violations.push_back(Describe("write to a read-only structure", offset, size));
}

uint64_t FakeVirtioDevice::CommonRead(uint64_t offset, uint32_t size) {
  const Queue* queue = Selected();
  auto field = [&](uint32_t width) {
    if (size != width) violations.push_back(Describe("common cfg read", offset, size));
  };
  switch (offset) {
    case 0x00: field(4); return device_feature_select_;
    case 0x04:
      field(4);
      return device_feature_select_ < 2
                 ? static_cast<uint32_t>(offered >> (32 * device_feature_select_))
                 : 0;
    case 0x08: field(4); return driver_feature_select_;
    case 0x0c:
      field(4);
      return driver_feature_select_ < 2
                 ? static_cast<uint32_t>(driver_features >> (32 * driver_feature_select_))
                 : 0;
    case 0x10: field(2); return 0xffff;
    case 0x12: field(2); return queue_count_;
    case 0x14:
      field(1);
      if (ticks_per_status_read != 0) SetTimebase(lib::ReadTimebase() + ticks_per_status_read);
      return status;
    case 0x15:
      field(1);
      if (generation_changes > 0) {
        --generation_changes;
        ++generation_;
      }
      return generation_;
    case 0x16: field(2); return queue_select_;
    case 0x18:
      field(2);
      if (queue != nullptr) return queue->size != 0 ? queue->size : queue_max;
      return queue_select_ < queue_count_ ? queue_max : 0;
    case 0x1a: field(2); return 0xffff;
    case 0x1c: field(2); return queue != nullptr && queue->enabled;
    case 0x1e: field(2); return queue != nullptr ? queue->notify_off : queue_select_;
    case 0x20: field(4); return queue != nullptr ? static_cast<uint32_t>(queue->desc) : 0;
    case 0x24: field(4); return queue != nullptr ? queue->desc >> 32 : 0;
    case 0x28: field(4); return queue != nullptr ? static_cast<uint32_t>(queue->driver) : 0;
    case 0x2c: field(4); return queue != nullptr ? queue->driver >> 32 : 0;
    case 0x30: field(4); return queue != nullptr ? static_cast<uint32_t>(queue->device) : 0;
    case 0x34: field(4); return queue != nullptr ? queue->device >> 32 : 0;
    default: violations.push_back(Describe("common cfg read", offset, size)); return 0;
  }
}

void FakeVirtioDevice::CommonWrite(uint64_t offset, uint32_t size, uint64_t value) {
  auto field = [&](uint32_t width) {
    if (size == width) return true;
    violations.push_back(Describe("common cfg write", offset, size));
    return false;
  };
  Queue* queue = Selected();
  auto set_half = [&](uint64_t Queue::*target, bool high) {
    if (!field(4)) return;
    if (queue == nullptr) {
      violations.push_back("a queue the device does not serve set up");
      return;
    }
    if (queue->enabled) violations.push_back("queue address changed while enabled");
    const uint64_t keep = high ? 0x00000000ffffffffull : 0xffffffff00000000ull;
    queue->*target = (queue->*target & keep) | (high ? value << 32 : value);
  };
  switch (offset) {
    case 0x00:
      if (field(4)) device_feature_select_ = static_cast<uint32_t>(value);
      return;
    case 0x08:
      if (field(4)) driver_feature_select_ = static_cast<uint32_t>(value);
      return;
    case 0x0c:
      if (field(4) && driver_feature_select_ < 2) {
        const uint32_t shift = 32 * driver_feature_select_;
        driver_features = (driver_features & ~(0xffffffffull << shift)) | (value << shift);
      }
      return;
    case 0x14: {
      if (!field(1)) return;
      const auto written = static_cast<uint8_t>(value);
      if (written == 0) {
        Reset();
        return;
      }
      if ((written & status) != status) violations.push_back("status bits cleared without reset");
      uint8_t next = written;
      if ((next & 0x8) != 0 && (status & 0x8) == 0) {
        const bool subset = (driver_features & ~offered) == 0;
        const bool version1 = (driver_features & kVersion1) != 0;
        const bool platform =
            (offered & kAccessPlatform) == 0 || (driver_features & kAccessPlatform) != 0;
        if (reject_features || !subset || !version1 || !platform) next &= ~uint8_t{0x8};
      }
      if ((next & 0x4) != 0 && (next & 0x8) == 0)
        violations.push_back("DRIVER_OK without FEATURES_OK");
      status = next;
      return;
    }
    case 0x16:
      if (field(2)) queue_select_ = static_cast<uint16_t>(value);
      return;
    case 0x18:
      if (!field(2)) return;
      if (queue == nullptr || value == 0 || value > queue_max) {
        violations.push_back("queue_size out of range");
        return;
      }
      queue->size = static_cast<uint16_t>(value);
      return;
    case 0x1a: field(2); return;
    case 0x1c:
      if (!field(2)) return;
      if (value != 1 || queue == nullptr) {
        violations.push_back("queue_enable written with something other than 1");
        return;
      }
      if (queue->desc % 16 != 0 || queue->driver % 2 != 0 || queue->device % 4 != 0) {
        violations.push_back("misaligned ring");
      }
      if (queue->size == 0) queue->size = queue_max;
      queue->enabled = true;
      return;
    case 0x20: set_half(&Queue::desc, false); return;
    case 0x24: set_half(&Queue::desc, true); return;
    case 0x28: set_half(&Queue::driver, false); return;
    case 0x2c: set_half(&Queue::driver, true); return;
    case 0x30: set_half(&Queue::device, false); return;
    case 0x34: set_half(&Queue::device, true); return;
    default: violations.push_back(Describe("common cfg write", offset, size)); return;
  }
}

void FakeVirtioDevice::ServeOn(uint16_t, uint16_t head, const std::vector<Descriptor>& chain) {
  Serve(head, chain);
}

void FakeVirtioDevice::Poll(uint16_t index) {
  if (QueueEnabled(index) && (status & 0x4) != 0) Process(index);
}

// The device's side of the split virtqueue [virtio 1.1 §2.6]: every new available chain goes to
// ServeOn.
void FakeVirtioDevice::Process(uint16_t index) {
  Queue& queue = queues_.at(index);
  const uint16_t size = queue.size;
  uint8_t* available = Ram(queue.driver, 6 + 2 * size);
  if (available == nullptr || Ram(queue.device, 6 + 8 * size) == nullptr) return;
  const uint16_t available_index = lib::LoadLe16(available + 2);
  while (queue.last_available != available_index) {
    const uint16_t head = lib::LoadLe16(available + 4 + 2 * (queue.last_available % size));
    ++queue.last_available;
    std::vector<Descriptor> chain;
    for (uint16_t at = head, hops = 0;; ++hops) {
      uint8_t* d = at < size && hops < size ? Ram(queue.desc + 16 * at, 16) : nullptr;
      if (d == nullptr) {
        violations.push_back("descriptor chain out of the table or looping");
        return;
      }
      chain.push_back({lib::LoadLe64(d), lib::LoadLe32(d + 8), lib::LoadLe16(d + 12)});
      if ((chain.back().flags & 1) == 0) break;
      at = lib::LoadLe16(d + 14);
    }
    for (const Descriptor& descriptor : chain) {
      if (Ram(descriptor.address, descriptor.length) == nullptr) return;
    }
    ServeOn(index, head, chain);
  }
}

void FakeVirtioDevice::Stall() {
  SetTimebase(lib::ReadTimebase() + stall_ticks);
}

void FakeVirtioDevice::Complete(uint16_t head, uint32_t written, UsedFault fault) {
  CompleteOn(served_queue_, head, written, fault);
}

void FakeVirtioDevice::CompleteOn(uint16_t index, uint16_t head, uint32_t written,
                                  UsedFault fault) {
  Queue& queue = queues_.at(index);
  const uint16_t size = queue.size;
  uint8_t* used = Ram(queue.device, 6 + 8 * size);
  if (used == nullptr) return;
  UsedEntry entry{head, written, static_cast<uint16_t>(fault == UsedFault::kTwoUsed ? 2 : 1)};
  if (fault == UsedFault::kBadId) entry.id = size + 3u;
  if (fault == UsedFault::kBadLength) entry.length += 4096;
  if (tamper_used) tamper_used(entry);
  uint8_t* element = used + 4 + 8 * (queue.used_index % size);
  lib::StoreLe32(element, entry.id);
  lib::StoreLe32(element + 4, entry.length);
  queue.used_index = static_cast<uint16_t>(queue.used_index + entry.advance);
  lib::StoreLe16(used + 2, queue.used_index);
}

// ---------------------------------------------------------------------------------------------
// FakeVirtioBlk

FakeVirtioBlk::FakeVirtioBlk(lib::GuestMemory& ram, std::vector<uint8_t> image, bool modern_only)
    : FakeVirtioDevice(ram, modern_only ? 0x1042 : 0x1001, modern_only ? 0x1100 : 2, 0x010000,
                       modern_only ? 1 : 0, !modern_only, 1, 0),
      disk(std::move(image)) {
  offered = kVersion1 | kBlkSize | kSegMax;
}

std::vector<uint8_t> FakeVirtioBlk::DeviceConfig() {
  // struct virtio_blk_config, up to blk_size.
  std::vector<uint8_t> blk_config(24);
  StoreLe(&blk_config[0], 8, capacity_sectors != 0 ? capacity_sectors : disk.size() / 512);
  StoreLe(&blk_config[12], 4, queue_max - 2);  // seg_max
  StoreLe(&blk_config[20], 4, blk_size);
  return blk_config;
}

// A virtio-blk request (header, data, status) served from `disk`.
void FakeVirtioBlk::Serve(uint16_t head, const std::vector<Descriptor>& chain) {
  if (chain.size() < 3 || chain.front().length != 16 || (chain.front().flags & 2) != 0 ||
      (chain.back().flags & 2) == 0 || chain.back().length < 1) {
    violations.push_back("not a header / data / status chain");
    return;
  }
  uint8_t* header = Ram(chain.front().address, 16);
  uint8_t* status_byte = Ram(chain.back().address, 1);
  const uint32_t type = lib::LoadLe32(header);
  const uint64_t sector = lib::LoadLe64(header + 8);
  if (type != 0) violations.push_back("a request other than VIRTIO_BLK_T_IN");
  uint32_t data_bytes = 0;
  for (size_t i = 1; i + 1 < chain.size(); ++i) {
    if ((chain[i].flags & 2) == 0) violations.push_back("read into a device-readable buffer");
    data_bytes += chain[i].length;
  }
  sectors.push_back(sector);
  lengths.push_back(data_bytes);
  if (completion == Completion::kNever) {
    Stall();
    return;
  }
  uint8_t result = 0;
  if (completion == Completion::kIoError) result = 1;
  if (completion == Completion::kUnsupported) result = 2;
  if (result == 0) {
    // Checked without wrapping: a driver may name any sector (2^55 - 1 of a huge capacity).
    uint64_t at = sector <= disk.size() / 512 ? sector * 512 : disk.size() + 1;
    for (size_t i = 1; i + 1 < chain.size(); ++i) {
      if (at > disk.size() || chain[i].length > disk.size() - at) {
        result = 1;
        break;
      }
      std::memcpy(Ram(chain[i].address, chain[i].length), disk.data() + at, chain[i].length);
      at += chain[i].length;
    }
  }
  if (tamper_status) tamper_status(result);
  if (completion != Completion::kNoStatus) *status_byte = result;
  UsedFault fault = UsedFault::kNone;
  if (completion == Completion::kBadId) fault = UsedFault::kBadId;
  if (completion == Completion::kBadLength) fault = UsedFault::kBadLength;
  if (completion == Completion::kTwoUsed) fault = UsedFault::kTwoUsed;
  Complete(head, (result == 0 ? data_bytes : 0) + 1, fault);
}

// ---------------------------------------------------------------------------------------------
// FakePlatform

FakePlatform::FakePlatform(FakeHypervisor& hv) {
  hv.rtas_services[kReadToken] = [this](const std::vector<uint32_t>& args,
                                        std::vector<uint32_t>& rets) -> int32_t {
    ++config_reads;
    if (args.size() != 4 || rets.size() != 1 || fail_config) return -1;
    const uint32_t size = args[3];
    uint32_t reg = 0;
    FakeFunction* function = Find((uint64_t{args[1]} << 32) | args[2], args[0], reg);
    if (function == nullptr || (size != 1 && size != 2 && size != 4) || reg % size != 0) return -1;
    rets[0] = reg < 256 ? function->ConfigRead(reg, size) : 0;
    return 0;
  };
  hv.rtas_services[kWriteToken] = [this](const std::vector<uint32_t>& args,
                                         std::vector<uint32_t>& rets) -> int32_t {
    ++config_writes;
    if (args.size() != 5 || !rets.empty() || fail_config) return -1;
    const uint32_t size = args[3];
    uint32_t reg = 0;
    FakeFunction* function = Find((uint64_t{args[1]} << 32) | args[2], args[0], reg);
    if (function == nullptr || (size != 1 && size != 2 && size != 4) || reg % size != 0) return -1;
    if (reg < 256) function->ConfigWrite(reg, size, args[4]);
    return 0;
  };
  using lib::hv::HcallReturn;
  using lib::hv::HcallStatus;
  hv.overrides[lib::hv::H_LOGICAL_CI_LOAD] = [this](const FakeHypervisor::Call& call) {
    const auto size = static_cast<uint32_t>(call.args[0]);
    if (size != 1 && size != 2 && size != 4 && size != 8) {
      return HcallReturn{HcallStatus::kParameter, {}};
    }
    FakeFunction* function = nullptr;
    int bar = 0;
    uint64_t offset = 0;
    if (!Route(call.args[1], function, bar, offset)) {
      ++unclaimed_mmio;
      return HcallReturn{HcallStatus::kSuccess, {BigEndianView(~uint64_t{0}, size)}};
    }
    return HcallReturn{HcallStatus::kSuccess,
                       {BigEndianView(function->MmioRead(bar, offset, size), size)}};
  };
  hv.overrides[lib::hv::H_LOGICAL_CI_STORE] = [this](const FakeHypervisor::Call& call) {
    const auto size = static_cast<uint32_t>(call.args[0]);
    if (size != 1 && size != 2 && size != 4 && size != 8) {
      return HcallReturn{HcallStatus::kParameter, {}};
    }
    FakeFunction* function = nullptr;
    int bar = 0;
    uint64_t offset = 0;
    if (!Route(call.args[1], function, bar, offset)) {
      ++unclaimed_mmio;
      return HcallReturn{HcallStatus::kSuccess, {}};
    }
    function->MmioWrite(bar, offset, size, BigEndianView(call.args[2], size));
    return HcallReturn{HcallStatus::kSuccess, {}};
  };
}

FakePlatform::Phb& FakePlatform::AddQemuPhb(uint32_t index) {
  auto phb = std::make_unique<Phb>();
  phb->buid = 0x800000020000000ull + index;
  phb->io = Window{0, 0x200000000000ull + index * 0x10000ull, 0x10000};
  phb->mem32 = Window{0x80000000, 0x200000000000ull + (index + 1) * 0x80000000ull, 0x80000000};
  const uint64_t mem64 = 0x210000000000ull + index * 0x10000000000ull;
  phb->mem64 = Window{mem64, mem64, 0x10000000000ull};
  phbs.push_back(std::move(phb));
  return *phbs.back();
}

void FakePlatform::Plug(Phb& phb, uint8_t device, uint8_t function, FakeFunction& fake) {
  phb.functions[static_cast<uint8_t>(device << 3 | function)] = &fake;
}

void FakePlatform::PlugBehindBridge(Phb& phb, uint8_t bus, uint8_t device, uint8_t function,
                                    FakeFunction& fake) {
  phb.behind_bridges[static_cast<uint16_t>(bus << 8 | device << 3 | function)] = &fake;
}

// QEMU hw/ppc/spapr_pci.c: spapr_pci_find_dev, rtas_pci_cfgaddr.
FakeFunction* FakePlatform::Find(uint64_t buid, uint32_t config_address, uint32_t& reg) {
  reg = ((config_address >> 20) & 0xf00) | (config_address & 0xff);
  for (auto& phb : phbs) {
    if (phb->buid != buid) continue;
    if (((config_address >> 16) & 0xff) != 0) {
      auto behind = phb->behind_bridges.find(static_cast<uint16_t>(config_address >> 8));
      return behind == phb->behind_bridges.end() ? nullptr : behind->second;
    }
    auto it = phb->functions.find(static_cast<uint8_t>(config_address >> 8));
    return it == phb->functions.end() ? nullptr : it->second;
  }
  return nullptr;
}

bool FakePlatform::Route(uint64_t address, FakeFunction*& function, int& bar, uint64_t& offset) {
  for (auto& phb : phbs) {
    const Window* windows[3] = {&phb->io, &phb->mem32, &phb->mem64};
    for (const Window* window : windows) {
      if (address < window->cpu_base || address - window->cpu_base >= window->size) continue;
      const uint64_t bus_address = window->pci_base + (address - window->cpu_base);
      const bool io = window == &phb->io;
      for (auto& [devfn, fake] : phb->functions) {
        if ((fake->command() & (io ? 0x1 : 0x2)) == 0) continue;  // not decoding
        for (int i = 0; i < 6; ++i) {
          if (fake->BarSize(i) == 0 || ((fake->BarFlags(i) & FakeFunction::kIo) != 0) != io) {
            continue;
          }
          const uint64_t base = fake->BarAddress(i);
          if (base == 0 || bus_address < base || bus_address - base >= fake->BarSize(i)) continue;
          function = fake;
          bar = i;
          offset = bus_address - base;
          return true;
        }
      }
    }
  }
  return false;
}

}  // namespace tests
