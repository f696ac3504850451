#include "tests/unit/dev/fake-llan.h"

#include <algorithm>

#include "lib/be.h"
#include "lib/cpu.h"
#include "tests/host-cpu.h"

namespace tests {

using lib::hv::HcallReturn;
using lib::hv::HcallStatus;

namespace {

HcallReturn Status(HcallStatus status) {
  return HcallReturn{status, {}};
}

// QEMU hw/net/spapr_llan.c: VLAN_BD_*, VLAN_RXQC_*.
constexpr uint64_t kValid = uint64_t{1} << 63;
constexpr uint64_t kToggle = uint64_t{1} << 62;
constexpr uint64_t Length(uint64_t bd) {
  return (bd >> 32) & 0xffffff;
}
constexpr uint64_t Address(uint64_t bd) {
  return bd & 0xffffffff;
}
constexpr uint8_t kEntryToggle = 0x80;
constexpr uint8_t kEntryValid = 0x40;
constexpr uint64_t kPage = 4096;

void AdvanceTime(uint64_t ticks) {
  if (ticks != 0) SetTimebase(lib::ReadTimebase() + ticks);
}

}  // namespace

FakeLlanHost::FakeLlanHost(FakeHypervisor& hv, lib::GuestMemory& memory) : memory_(memory) {
  using Call = FakeHypervisor::Call;
  hv.overrides[lib::hv::H_PUT_TCE] = [this](const Call& c) { return PutTce(c); };
  hv.overrides[lib::hv::H_REGISTER_LOGICAL_LAN] = [this](const Call& c) { return Register(c); };
  hv.overrides[lib::hv::H_FREE_LOGICAL_LAN] = [this](const Call& c) { return Free(c); };
  hv.overrides[lib::hv::H_ADD_LOGICAL_LAN_BUFFER] = [this](const Call& c) { return AddBuffer(c); };
  hv.overrides[lib::hv::H_SEND_LOGICAL_LAN] = [this](const Call& c) { return Send(c); };
}

// QEMU hw/ppc/spapr_iommu.c: h_put_tce.
HcallReturn FakeLlanHost::PutTce(const FakeHypervisor::Call& call) {
  if (call.args[0] != kLiobn) return Status(HcallStatus::kParameter);
  const uint64_t ioba = call.args[1] & ~(kPage - 1);
  if (ioba >= kWindowSize) return Status(HcallStatus::kParameter);
  if (call.args[2] == 0) {
    tces.erase(ioba / kPage);
  } else {
    tces[ioba / kPage] = call.args[2];
  }
  return Status(HcallStatus::kSuccess);
}

bool FakeLlanHost::Mapped(uint64_t ioba, uint64_t size) {
  for (uint64_t page = ioba / kPage; size != 0 && page <= (ioba + size - 1) / kPage; ++page) {
    auto entry = tces.find(page);
    const uint64_t both = lib::hv::kTceRead | lib::hv::kTceWrite;
    if (ioba + size > kWindowSize || entry == tces.end() || (entry->second & both) != both) {
      return false;
    }
  }
  return true;
}

bool FakeLlanHost::Dma(uint64_t ioba, void* data, size_t size, bool write) {
  auto* bytes = static_cast<uint8_t*>(data);
  if (!Mapped(ioba, size)) {
    violations.push_back("DMA to unmapped bus address 0x" + std::to_string(ioba));
    return false;
  }
  while (size > 0) {
    const size_t chunk = std::min<size_t>(size, kPage - ioba % kPage);
    const uint64_t real = (tces[ioba / kPage] & ~(kPage - 1)) + ioba % kPage;
    const bool ok = write ? memory_.Write(real, bytes, chunk).is_ok()
                          : memory_.Read(real, bytes, chunk).is_ok();
    if (!ok) {
      violations.push_back("DMA outside guest RAM at 0x" + std::to_string(real));
      return false;
    }
    ioba += chunk;
    bytes += chunk;
    size -= chunk;
  }
  return true;
}

uint64_t FakeLlanHost::Load64(uint64_t ioba) {
  uint8_t bytes[8] = {};
  (void)Dma(ioba, bytes, sizeof(bytes), false);
  return lib::LoadBe64(bytes);
}

void FakeLlanHost::Store64(uint64_t ioba, uint64_t value) {
  uint8_t bytes[8];
  lib::StoreBe64(bytes, value);
  (void)Dma(ioba, bytes, sizeof(bytes), true);
}

bool FakeLlanHost::CheckDescriptor(uint64_t descriptor, uint64_t alignment) {
  return Address(descriptor) % alignment == 0 && Length(descriptor) % alignment == 0 &&
         Mapped(Address(descriptor), Length(descriptor));
}

// QEMU h_register_logical_lan.
HcallReturn FakeLlanHost::Register(const FakeHypervisor::Call& call) {
  ++register_calls;
  if (call.args[0] != kUnit) return Status(HcallStatus::kParameter);
  if (open || already_registered) return Status(HcallStatus::kResource);
  const uint64_t list = call.args[1];
  const uint64_t queue = call.args[2];
  const uint64_t filter = call.args[3];
  if (!CheckDescriptor(kValid | (kPage << 32) | list, kPage) ||
      !CheckDescriptor(kValid | (kPage << 32) | filter, kPage) || (queue & kValid) == 0 ||
      !CheckDescriptor(queue, 16)) {
    return Status(HcallStatus::kParameter);
  }
  buffer_list = list;
  receive_queue = queue & ~kToggle;
  filter_list = filter;
  mac = call.args[4];
  Store64(list, receive_queue);
  Store64(list + 8, kValid | (kPage << 32) | filter);
  std::vector<uint8_t> zeros(kPage - 16);
  (void)Dma(list + 16, zeros.data(), zeros.size(), true);
  zeros.assign(Length(queue), 0);
  (void)Dma(Address(queue), zeros.data(), zeros.size(), true);
  queue_offset_ = 0;
  pool.clear();
  open = true;
  return Status(HcallStatus::kSuccess);
}

// QEMU h_free_logical_lan.
HcallReturn FakeLlanHost::Free(const FakeHypervisor::Call& call) {
  ++free_calls;
  if (call.args[0] != kUnit) return Status(HcallStatus::kParameter);
  if (free_always_busy || busy_frees > 0) {
    if (busy_frees > 0) --busy_frees;
    AdvanceTime(ticks_per_busy);
    return Status(HcallStatus::kBusy);
  }
  if (!open && !already_registered) return Status(HcallStatus::kResource);
  open = false;
  already_registered = false;
  pool.clear();
  buffer_list = receive_queue = filter_list = 0;
  return Status(HcallStatus::kSuccess);
}

// QEMU h_add_logical_lan_buffer, spapr_vlan_add_rxbuf_to_pool.
HcallReturn FakeLlanHost::AddBuffer(const FakeHypervisor::Call& call) {
  ++add_calls;
  if (call.args[0] != kUnit) return Status(HcallStatus::kParameter);
  const uint64_t descriptor = call.args[1];
  if (!CheckDescriptor(descriptor, 4) || Length(descriptor) < 16) {
    return Status(HcallStatus::kParameter);
  }
  if (!open) return Status(HcallStatus::kResource);
  if (failing_adds > 0) {
    --failing_adds;
    return Status(HcallStatus::kResource);
  }
  for (uint64_t held : pool) {
    if (Address(held) == Address(descriptor)) violations.push_back("a buffer added twice");
  }
  pool.push_back(descriptor);
  if (on_add) on_add();
  return Status(HcallStatus::kSuccess);
}

// QEMU h_send_logical_lan.
HcallReturn FakeLlanHost::Send(const FakeHypervisor::Call& call) {
  ++send_calls;
  if (call.args[0] != kUnit) return Status(HcallStatus::kParameter);
  if (!open) return Status(HcallStatus::kDropped);
  if (call.args[7] != 0) return Status(HcallStatus::kHardware);
  if (send_always_busy || busy_sends > 0) {
    if (busy_sends > 0) --busy_sends;
    AdvanceTime(ticks_per_busy);
    return Status(HcallStatus::kBusy);
  }
  if (send_status != HcallStatus::kSuccess) return Status(send_status);
  std::vector<uint8_t> frame;
  for (int i = 1; i <= 6 && (call.args[i] & kValid) != 0; ++i) {
    std::vector<uint8_t> part(Length(call.args[i]));
    if (!Dma(Address(call.args[i]), part.data(), part.size(), false)) {
      return Status(HcallStatus::kParameter);
    }
    frame.insert(frame.end(), part.begin(), part.end());
  }
  if (!frame.empty()) sent.push_back(frame);
  return Status(HcallStatus::kSuccess);
}

uint64_t FakeLlanHost::DroppedCount() {
  return open ? Load64(buffer_list + kPage - 8) : 0;
}

// QEMU spapr_vlan_receive with its buffer pools: the last buffer added that holds the frame.
bool FakeLlanHost::Deliver(const std::vector<uint8_t>& frame) {
  if (!open) return false;
  auto buffer = std::find_if(pool.rbegin(), pool.rend(), [&](uint64_t descriptor) {
    return Length(descriptor) >= frame.size() + 8;
  });
  if (buffer == pool.rend()) {
    Store64(buffer_list + kPage - 8, DroppedCount() + 1);
    return false;
  }
  const uint64_t descriptor = *buffer;
  pool.erase(std::next(buffer).base());
  std::vector<uint8_t> bytes = frame;
  if (!Dma(Address(descriptor) + 8, bytes.data(), bytes.size(), true)) return false;
  Entry entry{kEntryToggle | kEntryValid, 8, static_cast<uint32_t>(frame.size()),
              Load64(Address(descriptor))};
  if (tamper) tamper(entry);
  WriteEntry(entry);
  return true;
}

void FakeLlanHost::WriteEntry(Entry entry) {
  const uint64_t queue = Load64(buffer_list);
  if ((queue & kToggle) != 0) entry.control ^= kEntryToggle;
  uint8_t bytes[16] = {};
  lib::StoreBe16(bytes + 2, entry.offset);
  lib::StoreBe32(bytes + 4, entry.length);
  lib::StoreBe64(bytes + 8, entry.correlator);
  const uint64_t at = Address(queue) + queue_offset_;
  (void)Dma(at + 1, bytes + 1, 15, true);
  (void)Dma(at, &entry.control, 1, true);  // the control byte last
  queue_offset_ += 16;
  if (queue_offset_ >= Length(queue)) {
    queue_offset_ = 0;
    Store64(buffer_list, queue ^ kToggle);
  }
}

}  // namespace tests
