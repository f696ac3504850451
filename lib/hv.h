// The hypervisor interface: the only way tern talks to QEMU/KVM.
//
// Hcall() is the single primitive; lib/hv-ppc64.cc implements it with `sc 1` (the one file that
// does), tests/fake-hv.cc with a scripted fake. Everything else here is plain C++ over Hcall(), so
// it is unit-tested on the host. Opcodes and status values are from [LoPAPR 14.5] and QEMU's
// include/hw/ppc/spapr.h (the KVMPPC_* private range).
#pragma once

#include "lib/result.h"
#include "lib/types.h"

namespace lib::hv {

// hcall opcodes (r3).
inline constexpr uint64_t H_PUT_TCE = 0x20;
inline constexpr uint64_t H_LOGICAL_CI_LOAD = 0x3c;
inline constexpr uint64_t H_LOGICAL_CI_STORE = 0x40;
inline constexpr uint64_t H_GET_TERM_CHAR = 0x54;
inline constexpr uint64_t H_PUT_TERM_CHAR = 0x58;
inline constexpr uint64_t H_CEDE = 0xe0;
inline constexpr uint64_t H_REG_CRQ = 0xfc;
inline constexpr uint64_t H_FREE_CRQ = 0x100;
inline constexpr uint64_t H_SEND_CRQ = 0x108;
inline constexpr uint64_t H_REGISTER_LOGICAL_LAN = 0x114;
inline constexpr uint64_t H_FREE_LOGICAL_LAN = 0x118;
inline constexpr uint64_t H_ADD_LOGICAL_LAN_BUFFER = 0x11c;
inline constexpr uint64_t H_SEND_LOGICAL_LAN = 0x120;
inline constexpr uint64_t KVMPPC_H_RTAS = 0xf000;
inline constexpr uint64_t KVMPPC_H_CAS = 0xf002;
inline constexpr uint64_t KVMPPC_H_UPDATE_DT = 0xf003;
// Proposed by tern (docs/host-abi.md): a DRC's device-tree fragment, whole. Not in QEMU 7.2.
inline constexpr uint64_t KVMPPC_H_DRC_FDT = 0xf006;

// hcall status (r3 on return) [LoPAPR 14.5.3].
enum class HcallStatus : int64_t {
  kSuccess = 0,
  kBusy = 1,
  kClosed = 2,
  kHardware = -1,
  kFunction = -2,
  kPrivilege = -3,
  kParameter = -4,
  kBadMode = -5,
  kNotFound = -9,
  kDropped = -12,   // H_DROPPED: H_SEND_LOGICAL_LAN's frame was not delivered
  kResource = -16,  // H_RESOURCE: e.g. H_REG_CRQ on a unit that already has a queue
  kState = -75,     // H_STATE: the resource is not in a state for this request
  kMultiThreadsActive = -9005,
};

const char* HcallStatusName(HcallStatus status);

inline constexpr int kMaxHcallArgs = 9;     // r4..r12
inline constexpr int kMaxHcallReturns = 9;  // r4..r12 on return

struct HcallReturn {
  HcallStatus status;
  uint64_t values[kMaxHcallReturns];
};

// Issues hypercall `opcode` with arguments in r4.. and returns r3 and r4..r12.
HcallReturn Hcall(uint64_t opcode, const uint64_t (&args)[kMaxHcallArgs]);

// Largest chunk one H_PUT_TERM_CHAR / H_GET_TERM_CHAR carries [LoPAPR 14.5.4.6].
inline constexpr size_t kTermChunk = 16;

// Writes all of `data` to the virtual terminal `unit`, 16 bytes per call, retrying while the
// host answers H_BUSY (a bounded number of times).
Result<void, HcallStatus> PutTermChars(uint64_t unit, const char* data, size_t size);

// Reads up to 16 pending bytes from virtual terminal `unit` into `buffer`; returns the count
// (0 when nothing is pending).
Result<size_t, HcallStatus> GetTermChars(uint64_t unit, char (&buffer)[kTermChunk]);

// Forwards the RTAS argument block at real address `block` to the host (KVMPPC_H_RTAS). The RTAS
// status itself is in the block's first return cell; the hcall status says whether the host took
// the call (H_PARAMETER for an unknown token).
Result<void, HcallStatus> ForwardRtas(uint64_t block);

// H_LOGICAL_CI_LOAD / H_LOGICAL_CI_STORE (QEMU hw/ppc/spapr_hcall.c: h_logical_load,
// h_logical_store; in KVM since Linux commit 99342cf "kvmppc: Implement H_LOGICAL_CI_{LOAD,STORE}
// in KVM"): a cache-inhibited load or store of `size` (1, 2, 4 or 8) bytes at real address
// `address`. The firmware runs with the MMU off, where a plain load or store is cacheable, so
// device registers are reached only through these. The value is what a big-endian load of those
// bytes gives (QEMU's ldl_phys on ppc64): little-endian registers (PCI, virtio) need a byte swap.
// Any other size is refused with H_PARAMETER without calling the host.
Result<uint64_t, HcallStatus> LogicalCiLoad(uint64_t size, uint64_t address);
Result<void, HcallStatus> LogicalCiStore(uint64_t size, uint64_t address, uint64_t value);

// KVMPPC_H_CAS (QEMU hw/ppc/spapr_hcall.c: h_client_architecture_support): hands the OS's CAS
// vector at real address `vector` to the host, which writes its answer (a 4-byte header, then a
// device tree) into the `size`-byte buffer at real address `buffer`.
Result<void, HcallStatus> ClientArchitectureSupport(uint64_t vector, uint64_t buffer,
                                                    uint64_t size);

// KVMPPC_H_UPDATE_DT (QEMU hw/ppc/spapr_hcall.c: h_update_dt): gives the host the final device
// tree at real address `fdt`.
Result<void, HcallStatus> UpdateDeviceTree(uint64_t fdt);

// KVMPPC_H_DRC_FDT (docs/host-abi.md): DRC `drc_index`'s device-tree fragment, whole. With
// `buffer` 0 it asks for the size only; otherwise it copies the blob into the `size`-byte buffer
// at real address `buffer`. H_NOT_FOUND: not a DRC; H_STATE: not configurable now.
struct DrcFragment {
  uint64_t size;        // bytes of the fragment's blob
  uint64_t generation;  // changes whenever the fragment does
};
Result<DrcFragment, HcallStatus> DrcFdt(uint32_t drc_index, uint64_t buffer, uint64_t size);

// Translation control entries of a VIO device's DMA window [LoPAPR 14.5.4.2.2 H_PUT_TCE] (QEMU
// hw/ppc/spapr_iommu.c: h_put_tce): entry `ioba` (an I/O bus address inside the window of
// `liobn`, page aligned) becomes `tce`: a real page address with bit 0 (the device may read) and
// bit 1 (the device may write), or 0 to unmap. H_PARAMETER: not a window, or ioba outside it.
inline constexpr uint64_t kTceRead = 1;
inline constexpr uint64_t kTceWrite = 2;
Result<void, HcallStatus> PutTce(uint64_t liobn, uint64_t ioba, uint64_t tce);

// The command/response queue of a VIO device [LoPAPR 14.5.4.4] (QEMU hw/ppc/spapr_vio.c:
// h_reg_crq, h_free_crq, h_send_crq). RegisterCrq gives unit `unit` the queue of `size` bytes at
// I/O bus address `queue` (4 KiB aligned, 4 KiB to 256 MiB, reached through the unit's DMA
// window); H_RESOURCE: the unit has a queue already. FreeCrq takes it away again. SendCrq hands
// the unit one 16-byte message: `high` is its first 8 bytes, big-endian, `low` the last 8.
Result<void, HcallStatus> RegisterCrq(uint64_t unit, uint64_t queue, uint64_t size);
Result<void, HcallStatus> FreeCrq(uint64_t unit);
Result<void, HcallStatus> SendCrq(uint64_t unit, uint64_t high, uint64_t low);

// H_BUSY, or one of the "long busy" answers (9900..9905: retry after 10^(n-9900) ms) [LoPAPR
// 14.5.3]: the same call may succeed later.
bool IsBusy(HcallStatus status);

// The logical LAN of a VIO device (spapr-vlan) [LoPAPR, "Interpartition Logical LAN (ILLAN)
// Option"] (QEMU hw/net/spapr_llan.c: h_register_logical_lan, h_free_logical_lan,
// h_add_logical_lan_buffer, h_send_logical_lan). Addresses are I/O bus addresses in the unit's DMA
// window; a buffer descriptor is bit 0 valid, bits 8..31 a length, bits 32..63 an address.
// RegisterLogicalLan gives unit `unit` its buffer list page, its receive queue (a descriptor) and
// its filter list page, with the MAC address in the low 48 bits of `mac`; H_RESOURCE: the unit has
// them already. FreeLogicalLan takes them away. AddLogicalLanBuffer hands it one receive buffer
// (a descriptor). SendLogicalLan sends one frame gathered from up to six descriptors (the first
// invalid one ends the list); H_DROPPED: the frame was not delivered.
inline constexpr int kLogicalLanSendDescriptors = 6;
Result<void, HcallStatus> RegisterLogicalLan(uint64_t unit, uint64_t buffer_list,
                                             uint64_t receive_queue, uint64_t filter_list,
                                             uint64_t mac);
Result<void, HcallStatus> FreeLogicalLan(uint64_t unit);
Result<void, HcallStatus> AddLogicalLanBuffer(uint64_t unit, uint64_t descriptor);
Result<void, HcallStatus> SendLogicalLan(uint64_t unit,
                                         const uint64_t (&descriptors)[kLogicalLanSendDescriptors]);

}  // namespace lib::hv
