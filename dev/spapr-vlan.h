// spapr-vlan: QEMU's PAPR interpartition logical LAN (hw/net/spapr_llan.c; Linux's ibmveth),
// a net::Device.
//
// The NIC is a VIO device under /vdevice (dev/vio.h): `l-lan@<reg>`, compatible "IBM,l-lan",
// its MAC address in `local-mac-address` (6 bytes, or 8 with the address in the last 6: QEMU's
// spapr_vlan_devnode pads it for old ibmveth drivers). The hypervisor reaches four things of the
// driver's through the unit's DMA window [LoPAPR, "Interpartition Logical LAN (ILLAN) Option"]:
// - the buffer list, a 4 KiB page: the receive queue's descriptor at 0, the filter list's at 8,
//   receive-buffer descriptors after that (QEMU keeps them in pools of its own instead, the
//   default use-rx-buffer-pools=on), a count of frames dropped for want of a buffer in the last
//   8 bytes. The hypervisor writes it; the driver only zeroes it before H_REGISTER_LOGICAL_LAN.
// - the filter list, a 4 KiB page of multicast filters (none: tern receives its unicast address
//   and broadcasts, which need no filter).
// - the receive queue: kSpaprVlanQueueEntries 16-byte entries (SpaprVlanRxEntry) the hypervisor
//   fills in order, wrapping to the first; an entry is new while its toggle bit equals the
//   driver's, which starts at 1 and flips at every wrap (QEMU flips the toggle bit of the queue's
//   descriptor in the buffer list as it wraps, and writes an entry's control byte last).
// - receive buffers, each added with H_ADD_LOGICAL_LAN_BUFFER: the hypervisor copies the buffer's
//   first 8 bytes (the driver's correlator) into the queue entry and the frame after them.
// A frame goes out with H_SEND_LOGICAL_LAN from one descriptor of the driver's transmit buffer,
// which the hypervisor has copied when the call returns.
//
// The work memory (kSpaprVlanWorkBytes, 4 KiB-aligned) is mapped page by page at the start of
// the window while the NIC runs: page 0 the buffer list, page 1 the filter list, page 2 the
// receive queue then the transmit buffer at 2 KiB, pages 3.. the receive buffers
// (kSpaprVlanRxBuffers of kSpaprVlanRxBufferBytes).
//
// What the hypervisor writes is checked before use: a queue entry's correlator must name a
// buffer the hypervisor holds (it is an index, never a pointer), and its offset and length must
// lie inside that buffer; a frame longer than the caller's buffer, or shorter than an Ethernet
// header, is dropped and its buffer added again. Anything else stops the NIC (kBadResponse): its
// logical LAN is freed and its TCEs unmapped, so that nothing the hypervisor does later reaches
// memory. ResetForOs does the same for the OS's ibmveth, which registers its own.
#pragma once

#include "dev/driver.h"
#include "dev/vio.h"
#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/types.h"
#include "lib/wire.h"
#include "net/device.h"

namespace dev {

enum class SpaprVlanError {
  kBadNode,         // reg, ibm,my-dma-window or local-mac-address missing or malformed
  kBadMac,          // not a unicast address (net::CheckDevice)
  kBadWorkMemory,   // the work area is not 4 KiB-aligned guest RAM of kSpaprVlanWorkBytes
  kWindowTooSmall,  // the DMA window cannot hold the work area below 4 GiB of bus addresses
  kTce,             // H_PUT_TCE refused a mapping or an unmapping
  kRegister,        // H_REGISTER_LOGICAL_LAN failed
  kAddBuffer,       // H_ADD_LOGICAL_LAN_BUFFER refused a receive buffer
  kFree,            // H_FREE_LOGICAL_LAN failed, or stayed busy past kSpaprVlanFreeSeconds
  kBadArgument,     // no time base frequency
};

const char* SpaprVlanErrorName(SpaprVlanError error);

struct SpaprVlanNode {
  VioNode vio;
  net::MacAddress mac;
};

// Reads node `node` of `fdt` (ParseVioNode, then local-mac-address: 6 bytes, or 8 of which the
// last 6). The address itself is checked by Start.
lib::Result<SpaprVlanNode, SpaprVlanError> ParseSpaprVlanNode(const void* fdt, int node);

inline constexpr int kSpaprVlanRxBuffers = 16;
// A correlator, then a frame of up to 1528 bytes: an MTU-1500 frame (1514) fits.
inline constexpr uint32_t kSpaprVlanRxBufferBytes = 1536;
inline constexpr uint32_t kSpaprVlanCorrelatorBytes = 8;
inline constexpr int kSpaprVlanQueueEntries = 32;  // more than there are buffers: never full
inline constexpr int kSpaprVlanWorkPages =
    3 + (kSpaprVlanRxBuffers * kSpaprVlanRxBufferBytes + kVioPage - 1) / kVioPage;
inline constexpr uint64_t kSpaprVlanWorkBytes = uint64_t{kSpaprVlanWorkPages} * kVioPage;
inline constexpr int kSpaprVlanInstances = 4;
// How long H_FREE_LOGICAL_LAN may answer busy, and H_SEND_LOGICAL_LAN may.
inline constexpr uint64_t kSpaprVlanFreeSeconds = 5;
inline constexpr uint64_t kSpaprVlanSendSeconds = 1;

// A receive queue entry [LoPAPR ILLAN; QEMU spapr_vlan_receive]: the control byte (0x80 toggle,
// 0x40 valid, 0x02 no checksum, 0x01 checksum good), the frame's offset in its buffer, its
// length, and the buffer's correlator.
struct SpaprVlanRxEntry {
  uint8_t control;
  uint8_t reserved;
  lib::UBe16 offset;
  lib::UBe32 length;
  lib::UBe64 correlator;
};
static_assert(sizeof(SpaprVlanRxEntry) == 16);

class SpaprVlan {
 public:
  constexpr SpaprVlan() = default;
  SpaprVlan(const SpaprVlan&) = delete;
  SpaprVlan& operator=(const SpaprVlan&) = delete;

  // Checks the MAC address (net::CheckDevice), maps the work area [work_address, work_address +
  // work_bytes) of `memory` into the window, registers the logical LAN (freeing one left
  // registered first, as ibmveth does after a kexec) and adds every receive buffer. `memory` must
  // outlive the driver; `node` is copied. On failure a line naming the NIC says why, and nothing
  // stays registered or mapped. Starting a running driver stops it first.
  lib::Result<void, SpaprVlanError> Start(const SpaprVlanNode& node, lib::GuestMemory& memory,
                                          uint64_t work_address, uint64_t work_bytes,
                                          uint64_t timebase_frequency);

  // The NIC (max_frame net::kEthernetFrameSize). Valid while the driver lives; after ResetForOs,
  // or after the NIC was stopped, its operations fail with kNotReady.
  const net::Device& device() const { return device_; }
  DriverState state() const { return state_; }
  bool running() const { return state_ == DriverState::kRunning; }
  const char* name() const { return node_.vio.path; }
  // TCE entries mapped (kSpaprVlanWorkPages while running; 0 after ResetForOs).
  int mapped_tces() const { return mapped_pages_; }
  // Receive buffers the hypervisor holds.
  int buffers_posted() const;
  // Frames dropped: longer than the caller's buffer, or shorter than an Ethernet header.
  uint64_t frames_dropped() const { return dropped_; }

  // For the hand-off to the OS: H_FREE_LOGICAL_LAN (retried while the hypervisor answers busy,
  // at most kSpaprVlanFreeSeconds), then H_PUT_TCE 0 for every page still mapped. Safe to call
  // twice, or on a driver that never started. Reports the first failure; keeps going after one.
  lib::Result<void, SpaprVlanError> ResetForOs();

 private:
  static lib::Result<void, net::DeviceError> SendFrame(void* driver, const net::Frame& frame);
  static lib::Result<uint32_t, net::DeviceError> ReceiveFrame(void* driver, uint8_t* buffer,
                                                              uint32_t capacity);
  lib::Result<void, net::DeviceError> Send(const net::Frame& frame);
  lib::Result<uint32_t, net::DeviceError> Receive(uint8_t* buffer, uint32_t capacity);
  lib::Result<void, SpaprVlanError> BringUp(uint64_t work_address, uint64_t work_bytes);
  lib::Result<void, SpaprVlanError> Register();
  lib::Result<void, SpaprVlanError> MapWork(uint64_t work_address);
  // H_ADD_LOGICAL_LAN_BUFFER for buffer `index`.
  bool Post(int index);
  // Adds again every buffer the hypervisor does not hold (an earlier add failed).
  void Replenish();
  // The buffer a queue entry names, checked against the buffers the hypervisor holds; -1 if none.
  int BufferOf(const SpaprVlanRxEntry& entry) const;
  // Stops the NIC after a malformed queue entry.
  net::DeviceError Refuse(const char* what, const SpaprVlanRxEntry& entry);
  lib::Result<void, SpaprVlanError> Free();
  uint64_t Ioba(uint64_t offset) const { return node_.vio.window_base + offset; }

  SpaprVlanNode node_;
  lib::GuestMemory* memory_ = nullptr;
  uint64_t timebase_frequency_ = 0;
  uint8_t* work_ = nullptr;  // host view of the work area
  int mapped_pages_ = 0;
  bool registered_ = false;
  bool posted_[kSpaprVlanRxBuffers] = {};
  int next_entry_ = 0;
  bool toggle_ = true;
  uint64_t dropped_ = 0;
  DriverState state_ = DriverState::kIdle;
  net::Device device_;
};

}  // namespace dev
