// A fake spapr-vlan host for dev_test, on tests/fake-hv's overrides: H_PUT_TCE into a TCE table
// for the NIC's window, and H_REGISTER_LOGICAL_LAN / H_FREE_LOGICAL_LAN /
// H_ADD_LOGICAL_LAN_BUFFER / H_SEND_LOGICAL_LAN as QEMU's hw/net/spapr_llan.c implements them with
// its default use-rx-buffer-pools=on: the descriptors checked (check_bd), the buffer list and the
// receive queue zeroed at registration, receive buffers kept in a pool (the last one added used
// first), a frame the host delivers written after the buffer's 8-byte correlator and announced by
// a receive-queue entry whose control byte is written last, the queue's toggle flipped at each
// wrap, a frame without a buffer counted in the buffer list's last 8 bytes. Every DMA to an
// address the table does not map is recorded as a violation.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/guest-memory.h"
#include "tests/fake-hv.h"

namespace tests {

class FakeLlanHost {
 public:
  static constexpr uint32_t kUnit = 0x71000002;
  static constexpr uint32_t kLiobn = 0x71000002;
  static constexpr uint64_t kWindowSize = 0x10000000;

  FakeLlanHost(FakeHypervisor& hv, lib::GuestMemory& memory);

  // A receive-queue entry as the host is about to write it.
  struct Entry {
    uint8_t control = 0;
    uint16_t offset = 0;
    uint32_t length = 0;
    uint64_t correlator = 0;
  };

  // Delivers `frame` as QEMU's spapr_vlan_receive does; false when the LAN is closed or no buffer
  // holds it (then counted as dropped).
  bool Deliver(const std::vector<uint8_t>& frame);
  // Writes `entry` into the receive queue as the next one, without taking a buffer: a host that
  // lies. Its control byte is given as on the queue's first lap (0x80 set); the host flips that
  // bit on every other lap.
  void WriteEntry(Entry entry);
  // The host's count of frames dropped for want of a buffer (the buffer list's last 8 bytes).
  uint64_t DroppedCount();

  std::vector<std::string> violations;
  std::map<uint64_t, uint64_t> tces;  // by page index in the window; only nonzero entries
  bool open = false;
  uint64_t buffer_list = 0;  // bus addresses, as registered
  uint64_t receive_queue = 0;
  uint64_t filter_list = 0;
  uint64_t mac = 0;
  std::vector<uint64_t> pool;  // receive-buffer descriptors, the last one used first
  std::vector<std::vector<uint8_t>> sent;
  int register_calls = 0;
  int free_calls = 0;
  int add_calls = 0;
  int send_calls = 0;

  // Knobs.
  bool already_registered = false;  // H_REGISTER_LOGICAL_LAN answers H_RESOURCE until a free
  int busy_frees = 0;               // the next N H_FREE_LOGICAL_LAN answer H_BUSY
  bool free_always_busy = false;
  int busy_sends = 0;  // the next N H_SEND_LOGICAL_LAN answer H_BUSY
  bool send_always_busy = false;
  lib::hv::HcallStatus send_status = lib::hv::HcallStatus::kSuccess;  // what a send answers
  uint64_t ticks_per_busy = 0;  // time that passes with each busy answer
  int failing_adds = 0;         // the next N H_ADD_LOGICAL_LAN_BUFFER answer H_RESOURCE
  // Called after each buffer added (QEMU flushes the frames it queued when a buffer comes).
  std::function<void()> on_add;
  // Changes each entry Deliver writes.
  std::function<void(Entry&)> tamper;

 private:
  lib::hv::HcallReturn PutTce(const FakeHypervisor::Call& call);
  lib::hv::HcallReturn Register(const FakeHypervisor::Call& call);
  lib::hv::HcallReturn Free(const FakeHypervisor::Call& call);
  lib::hv::HcallReturn AddBuffer(const FakeHypervisor::Call& call);
  lib::hv::HcallReturn Send(const FakeHypervisor::Call& call);
  // QEMU check_bd: aligned address and length, and DMA-able both ways.
  bool CheckDescriptor(uint64_t descriptor, uint64_t alignment);
  bool Mapped(uint64_t ioba, uint64_t size);
  bool Dma(uint64_t ioba, void* data, size_t size, bool write);
  uint64_t Load64(uint64_t ioba);
  void Store64(uint64_t ioba, uint64_t value);

  lib::GuestMemory& memory_;
  uint64_t queue_offset_ = 0;  // QEMU's rxq_ptr
};

}  // namespace tests
