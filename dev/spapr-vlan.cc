#include "dev/spapr-vlan.h"

#include "lib/be.h"
#include "lib/console.h"
#include "lib/fdt.h"
#include "lib/hv.h"
#include "lib/string.h"
#include "lib/timeout.h"

namespace dev {

namespace {

using lib::hv::HcallStatus;

// Buffer descriptors [LoPAPR ILLAN; QEMU hw/net/spapr_llan.c VLAN_BD_*]: valid, the receive
// queue's toggle, a 24-bit length, a 32-bit I/O bus address.
constexpr uint64_t kDescriptorValid = uint64_t{1} << 63;
constexpr uint64_t kMaxDescriptorAddress = uint64_t{1} << 32;
constexpr uint64_t Descriptor(uint64_t ioba, uint32_t length) {
  return kDescriptorValid | (uint64_t{length} << 32) | ioba;
}

constexpr uint8_t kEntryToggle = 0x80;
constexpr uint8_t kEntryValid = 0x40;

// The work area's layout (dev/spapr-vlan.h).
constexpr uint64_t kBufferList = 0;
constexpr uint64_t kFilterList = kVioPage;
constexpr uint64_t kQueue = 2 * kVioPage;
constexpr uint32_t kQueueBytes = kSpaprVlanQueueEntries * sizeof(SpaprVlanRxEntry);
constexpr uint64_t kTransmit = kQueue + kVioPage / 2;
constexpr uint64_t kReceive = 3 * kVioPage;
static_assert(kQueueBytes <= kVioPage / 2 && kVioPage / 2 >= net::kEthernetFrameSize);
static_assert(kSpaprVlanQueueEntries > kSpaprVlanRxBuffers);
static_assert(kReceive + uint64_t{kSpaprVlanRxBuffers} * kSpaprVlanRxBufferBytes <=
              kSpaprVlanWorkBytes);
static_assert(kSpaprVlanRxBufferBytes - kSpaprVlanCorrelatorBytes >= net::kEthernetFrameSize);

// A buffer's correlator: "tern" and its index. The hypervisor hands it back; only the index of a
// buffer it holds is accepted.
constexpr uint64_t kCorrelatorTag = uint64_t{0x7465726e} << 32;

constexpr uint64_t ReceiveBuffer(int index) {
  return kReceive + uint64_t{kSpaprVlanRxBufferBytes} * static_cast<uint64_t>(index);
}

// H_FREE_LOGICAL_LAN and H_SEND_LOGICAL_LAN busy answers taken before giving up, besides the time
// limit (a host whose time base stands still).
constexpr int kBusyAttempts = 100000;

}  // namespace

const char* SpaprVlanErrorName(SpaprVlanError error) {
  switch (error) {
    case SpaprVlanError::kBadNode: return "malformed l-lan node";
    case SpaprVlanError::kBadMac: return "local-mac-address is not a unicast address";
    case SpaprVlanError::kBadWorkMemory: return "work memory not 4 KiB-aligned guest RAM";
    case SpaprVlanError::kWindowTooSmall: return "DMA window too small";
    case SpaprVlanError::kTce: return "H_PUT_TCE failed";
    case SpaprVlanError::kRegister: return "H_REGISTER_LOGICAL_LAN failed";
    case SpaprVlanError::kAddBuffer: return "H_ADD_LOGICAL_LAN_BUFFER failed";
    case SpaprVlanError::kFree: return "H_FREE_LOGICAL_LAN failed";
    case SpaprVlanError::kBadArgument: return "bad argument";
  }
  return "spapr-vlan error";
}

lib::Result<SpaprVlanNode, SpaprVlanError> ParseSpaprVlanNode(const void* fdt, int node) {
  auto vio = ParseVioNode(fdt, node);
  if (vio.is_error()) return lib::Err(SpaprVlanError::kBadNode);
  auto mac = lib::fdt::Property(fdt, node, "local-mac-address");
  if (mac.is_error() || (mac.value().size() != 6 && mac.value().size() != 8)) {
    return lib::Err(SpaprVlanError::kBadNode);
  }
  SpaprVlanNode parsed;
  parsed.vio = vio.value();
  lib::MemCopy(parsed.mac.bytes, mac.value().data() + (mac.value().size() - 6), 6);
  return parsed;
}

int SpaprVlan::buffers_posted() const {
  int count = 0;
  for (bool posted : posted_) count += posted ? 1 : 0;
  return count;
}

lib::Result<void, SpaprVlanError> SpaprVlan::Start(const SpaprVlanNode& node,
                                                   lib::GuestMemory& memory, uint64_t work_address,
                                                   uint64_t work_bytes,
                                                   uint64_t timebase_frequency) {
  if (running() || registered_ || mapped_pages_ > 0) (void)ResetForOs();
  node_ = node;
  memory_ = &memory;
  timebase_frequency_ = timebase_frequency;
  device_ = net::Device{};
  if (auto started = BringUp(work_address, work_bytes); started.is_error()) {
    lib::Printf("tern: %s: %s: not used\n", name(), SpaprVlanErrorName(started.error()));
    (void)ResetForOs();
    return started;
  }
  state_ = DriverState::kRunning;
  device_ = net::Device{node_.mac, net::kEthernetFrameSize, SendFrame, ReceiveFrame, this};
  return lib::Ok<SpaprVlanError>();
}

lib::Result<void, SpaprVlanError> SpaprVlan::BringUp(uint64_t work_address, uint64_t work_bytes) {
  if (timebase_frequency_ == 0) return lib::Err(SpaprVlanError::kBadArgument);
  if (net::CheckDevice(node_.mac, net::kEthernetFrameSize).is_error()) {
    return lib::Err(SpaprVlanError::kBadMac);
  }
  if (node_.vio.window_size < kSpaprVlanWorkBytes ||
      node_.vio.window_base > kMaxDescriptorAddress - kSpaprVlanWorkBytes) {
    return lib::Err(SpaprVlanError::kWindowTooSmall);
  }
  auto work = memory_->Map(work_address, kSpaprVlanWorkBytes, false);
  if (work_address % kVioPage != 0 || work_bytes < kSpaprVlanWorkBytes || work.is_error()) {
    return lib::Err(SpaprVlanError::kBadWorkMemory);
  }
  work_ = work.value();
  lib::MemSet(work_, 0, kSpaprVlanWorkBytes);
  for (int i = 0; i < kSpaprVlanRxBuffers; ++i) {
    lib::StoreBe64(work_ + ReceiveBuffer(i), kCorrelatorTag | static_cast<uint64_t>(i));
    posted_[i] = false;
  }
  next_entry_ = 0;
  toggle_ = true;
  dropped_ = 0;
  TERN_TRY(MapWork(work_address));
  TERN_TRY(Register());
  for (int i = 0; i < kSpaprVlanRxBuffers; ++i) {
    if (!Post(i)) return lib::Err(SpaprVlanError::kAddBuffer);
  }
  return lib::Ok<SpaprVlanError>();
}

lib::Result<void, SpaprVlanError> SpaprVlan::MapWork(uint64_t work_address) {
  for (int page = 0; page < kSpaprVlanWorkPages; ++page) {
    const uint64_t offset = kVioPage * static_cast<uint64_t>(page);
    if (lib::hv::PutTce(node_.vio.liobn, Ioba(offset),
                        (work_address + offset) | lib::hv::kTceRead | lib::hv::kTceWrite)
            .is_error()) {
      return lib::Err(SpaprVlanError::kTce);
    }
    mapped_pages_ = page + 1;
  }
  return lib::Ok<SpaprVlanError>();
}

lib::Result<void, SpaprVlanError> SpaprVlan::Register() {
  uint64_t mac = 0;
  for (uint8_t byte : node_.mac.bytes) mac = (mac << 8) | byte;
  const uint64_t queue = Descriptor(Ioba(kQueue), kQueueBytes);
  const uint64_t unit = node_.vio.unit_address;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);  // the zeroed pages before the hypervisor looks
  auto registered =
      lib::hv::RegisterLogicalLan(unit, Ioba(kBufferList), queue, Ioba(kFilterList), mac);
  if (registered.is_error() && registered.error() == HcallStatus::kResource) {
    // A logical LAN left registered (by an earlier boot stage): free it and register ours.
    registered_ = true;
    TERN_TRY(Free());
    registered =
        lib::hv::RegisterLogicalLan(unit, Ioba(kBufferList), queue, Ioba(kFilterList), mac);
  }
  if (registered.is_error()) {
    lib::Printf("tern: %s: H_REGISTER_LOGICAL_LAN: %s\n", name(),
                lib::hv::HcallStatusName(registered.error()));
    return lib::Err(SpaprVlanError::kRegister);
  }
  registered_ = true;
  return lib::Ok<SpaprVlanError>();
}

bool SpaprVlan::Post(int index) {
  const uint64_t buffer = Descriptor(Ioba(ReceiveBuffer(index)), kSpaprVlanRxBufferBytes);
  if (lib::hv::AddLogicalLanBuffer(node_.vio.unit_address, buffer).is_error()) return false;
  posted_[index] = true;
  return true;
}

void SpaprVlan::Replenish() {
  for (int i = 0; i < kSpaprVlanRxBuffers; ++i) {
    if (!posted_[i]) (void)Post(i);
  }
}

lib::Result<void, net::DeviceError> SpaprVlan::SendFrame(void* driver, const net::Frame& frame) {
  return static_cast<SpaprVlan*>(driver)->Send(frame);
}

lib::Result<uint32_t, net::DeviceError> SpaprVlan::ReceiveFrame(void* driver, uint8_t* buffer,
                                                                uint32_t capacity) {
  return static_cast<SpaprVlan*>(driver)->Receive(buffer, capacity);
}

lib::Result<void, net::DeviceError> SpaprVlan::Send(const net::Frame& frame) {
  if (!running()) return lib::Err(net::DeviceError::kNotReady);
  if (frame.length < net::kEthernetHeaderSize || frame.length > device_.max_frame) {
    return lib::Err(net::DeviceError::kBadFrame);
  }
  if (frame.bytes == nullptr) return lib::Err(net::DeviceError::kBadBuffer);
  lib::MemCopy(work_ + kTransmit, frame.bytes, frame.length);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);  // the frame before the hypervisor copies it
  const uint64_t descriptors[lib::hv::kLogicalLanSendDescriptors] = {
      Descriptor(Ioba(kTransmit), frame.length)};
  const lib::Deadline deadline =
      lib::Deadline::AfterSeconds(kSpaprVlanSendSeconds, timebase_frequency_);
  for (int attempt = 0;; ++attempt) {
    auto sent = lib::hv::SendLogicalLan(node_.vio.unit_address, descriptors);
    if (sent.is_ok()) return lib::Ok<net::DeviceError>();
    // [LoPAPR ILLAN]: H_DROPPED, the frame did not reach its destination: lost, as on a wire.
    if (sent.error() == HcallStatus::kDropped) return lib::Err(net::DeviceError::kBusy);
    if (!lib::hv::IsBusy(sent.error())) {
      lib::Printf("tern: %s: H_SEND_LOGICAL_LAN: %s\n", name(),
                  lib::hv::HcallStatusName(sent.error()));
      return lib::Err(net::DeviceError::kDevice);
    }
    if (deadline.Passed() || attempt + 1 >= kBusyAttempts) {
      return lib::Err(net::DeviceError::kTimeout);
    }
  }
}

int SpaprVlan::BufferOf(const SpaprVlanRxEntry& entry) const {
  const uint64_t correlator = entry.correlator.value();
  const uint64_t index = correlator & 0xffffffff;
  if ((correlator & ~uint64_t{0xffffffff}) != kCorrelatorTag || index >= kSpaprVlanRxBuffers) {
    return -1;
  }
  return posted_[index] ? static_cast<int>(index) : -1;
}

net::DeviceError SpaprVlan::Refuse(const char* what, const SpaprVlanRxEntry& entry) {
  lib::Printf(
      "tern: %s: receive queue entry with %s (correlator 0x%016llx, offset %u, length %u); the "
      "NIC is stopped\n",
      name(), what, static_cast<unsigned long long>(entry.correlator.value()), entry.offset.value(),
      entry.length.value());
  (void)ResetForOs();
  return net::DeviceError::kBadResponse;
}

// [LoPAPR ILLAN; QEMU spapr_vlan_receive; Linux ibmveth_poll]: entries in order while their
// toggle bit is the driver's. Each one returns a buffer; an entry without its valid bit carries
// no frame. Bounded by the queue's length: a hypervisor cannot keep the driver here.
lib::Result<uint32_t, net::DeviceError> SpaprVlan::Receive(uint8_t* buffer, uint32_t capacity) {
  if (!running()) return lib::Err(net::DeviceError::kNotReady);
  if (buffers_posted() < kSpaprVlanRxBuffers) Replenish();
  for (int consumed = 0; consumed < kSpaprVlanQueueEntries; ++consumed) {
    uint8_t* slot = work_ + kQueue + sizeof(SpaprVlanRxEntry) * next_entry_;
    const uint8_t control = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (((control & kEntryToggle) != 0) != toggle_) return 0u;
    const auto entry = lib::LoadWire<SpaprVlanRxEntry>(slot);
    if (++next_entry_ == kSpaprVlanQueueEntries) {
      next_entry_ = 0;
      toggle_ = !toggle_;
    }
    const int index = BufferOf(entry);
    if (index < 0) return lib::Err(Refuse("a correlator of no buffer it holds", entry));
    posted_[index] = false;
    const uint32_t offset = entry.offset.value();
    const uint32_t length = entry.length.value();
    if ((control & kEntryValid) != 0 &&
        (offset < kSpaprVlanCorrelatorBytes || offset > kSpaprVlanRxBufferBytes ||
         length > kSpaprVlanRxBufferBytes - offset)) {
      return lib::Err(Refuse("a frame outside its buffer", entry));
    }
    const bool keep =
        (control & kEntryValid) != 0 && length >= net::kEthernetHeaderSize && length <= capacity;
    if (keep) lib::MemCopy(buffer, work_ + ReceiveBuffer(index) + offset, length);
    if (!keep && (control & kEntryValid) != 0) ++dropped_;
    (void)Post(index);  // a failure is retried at the next Receive
    if (keep) return length;
  }
  return 0u;
}

lib::Result<void, SpaprVlanError> SpaprVlan::Free() {
  const lib::Deadline deadline =
      lib::Deadline::AfterSeconds(kSpaprVlanFreeSeconds, timebase_frequency_);
  auto freed = lib::hv::FreeLogicalLan(node_.vio.unit_address);
  for (int attempt = 1; freed.is_error() && lib::hv::IsBusy(freed.error()) &&
                        attempt < kBusyAttempts && !deadline.Passed();
       ++attempt) {
    freed = lib::hv::FreeLogicalLan(node_.vio.unit_address);
  }
  if (freed.is_error()) {
    lib::Printf("tern: %s: H_FREE_LOGICAL_LAN: %s\n", name(),
                lib::hv::HcallStatusName(freed.error()));
    return lib::Err(SpaprVlanError::kFree);
  }
  registered_ = false;
  for (bool& posted : posted_) posted = false;
  return lib::Ok<SpaprVlanError>();
}

lib::Result<void, SpaprVlanError> SpaprVlan::ResetForOs() {
  if (running() || registered_ || mapped_pages_ > 0) state_ = DriverState::kStopped;
  lib::Result<void, SpaprVlanError> result = lib::Ok<SpaprVlanError>();
  if (registered_) result = Free();
  // Unmapped even when the free failed: the hypervisor's DMA then fails instead of landing.
  for (; mapped_pages_ > 0; --mapped_pages_) {
    const uint64_t ioba = Ioba(kVioPage * static_cast<uint64_t>(mapped_pages_ - 1));
    if (lib::hv::PutTce(node_.vio.liobn, ioba, 0).is_error()) {
      lib::Printf("tern: %s: H_PUT_TCE could not unmap bus address 0x%llx\n", name(),
                  static_cast<unsigned long long>(ioba));
      if (result.is_ok()) result = lib::Err(SpaprVlanError::kTce);
      break;
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The driver table's entry: spapr-vlan NICs under /vdevice.

namespace {

struct Instance {
  SpaprVlan driver;
  char description[64] = {};
  DriverState state() const { return driver.state(); }
};

constinit Pool<Instance, kSpaprVlanInstances> pool;

lib::Result<void, ProbeError> Probe(ProbeEnv& env, const ProbeTarget& target) {
  auto node = ParseSpaprVlanNode(target.fdt, target.node);
  if (node.is_error()) {
    lib::Printf("tern: %s: %s: not used\n", target.path, SpaprVlanErrorName(node.error()));
    return lib::Err(ProbeError::kRefused);
  }
  Instance* instance = pool.Take();
  if (instance == nullptr) return lib::Err(ProbeError::kPoolFull);
  DmaLease dma(env.dma);
  const uint64_t work = dma.Take(kSpaprVlanWorkBytes, kVioPage);
  if (work == 0) {
    lib::Printf("tern: %s: no DMA memory left: not used\n", target.path);
    return lib::Err(ProbeError::kRefused);
  }
  SpaprVlan& driver = instance->driver;
  if (driver.Start(node.value(), env.memory, work, kSpaprVlanWorkBytes, env.timebase_frequency)
          .is_error()) {
    return lib::Err(ProbeError::kRefused);  // Start said why
  }
  if (!ReportNetworkDevice(env, target.path, driver.device(), "spapr-vlan",
                           instance->description)) {
    (void)driver.ResetForOs();
    return lib::Err(ProbeError::kRefused);  // the sink said why
  }
  dma.Keep();
  return lib::Ok<ProbeError>();
}

void Quiesce() {
  // Linux's ibmveth registers its own logical LAN: tern's is freed and its TCEs unmapped.
  pool.ForEachRunning([](Instance& instance) {
    if (auto reset = instance.driver.ResetForOs(); reset.is_error()) {
      lib::Printf("tern: %s: hand-off failed: %s\n", instance.driver.name(),
                  SpaprVlanErrorName(reset.error()));
    }
  });
}

}  // namespace

TERN_DRIVER(kSpaprVlanDriver) = {{"spapr-vlan", {}, "IBM,l-lan", Probe, Quiesce}};

}  // namespace dev
