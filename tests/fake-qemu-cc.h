// A stand-in for QEMU 7.2's own ibm,configure-connector (hw/ppc/spapr_drc.c,
// rtas_ibm_configure_connector; docs/migration.md describes its cursor), for host tests of
// tern's walker (drc/walker.h), which replays the host's walk into a snapshot.
//
// Like QEMU it keeps the walk's cursor in the host, per DRC: the libfdt structure offset and the
// depth in the DRC's fragment, which dt_populate builds lazily on the first call. Every call
// reads the DRC index from work-area word 0 (never from anything tern passes besides the work
// area), writes names and values where QEMU does (name at 20, value right after its NUL, words
// 2-4 as offsets and length), clips every write at 4096 bytes and answers 2, 3, 4 or 0; the
// cursor goes back to the fragment's start at 0. A DRC not in UNISOLATE or CONFIGURED gets -9003,
// an unknown index -3. Migrate() is what a migration landing between two calls does to QEMU: the
// destination has no fragment (drc->fdt NULL) and restarts the walk at the root without an error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "drc/walker.h"
#include "lib/guest-memory.h"
#include "tests/fake-hv.h"

namespace tests {

// QEMU's SpaprDrcState (the values are in its migration stream).
enum class DrcState : uint32_t {
  kLogicalUnusable = 1,
  kLogicalAvailable = 2,
  kLogicalUnisolate = 3,
  kLogicalConfigured = 4,
  kPhysicalPowerOn = 6,
  kPhysicalUnisolate = 7,
  kPhysicalConfigured = 8,
};

class FakeQemuCc {
 public:
  // QEMU's answers (SpaprDRCCResponse and RTAS statuses).
  static constexpr int32_t kSuccess = 0;
  static constexpr int32_t kNextChild = 2;
  static constexpr int32_t kNextProperty = 3;
  static constexpr int32_t kPrevParent = 4;
  static constexpr int32_t kError = -1;
  static constexpr int32_t kParameterError = -3;
  static constexpr int32_t kNotConfigurable = -9003;
  static constexpr uint32_t kWorkAreaLength = 4096;  // CC_WA_LEN
  static constexpr uint32_t kValueOffset = 20;       // CC_VAL_DATA_OFFSET

  // Work-area accesses go through `memory`, as QEMU's go to guest physical memory: writes outside
  // RAM are dropped and reads outside RAM give 0.
  explicit FakeQemuCc(lib::GuestMemory& memory) : memory_(&memory) {}

  // A DRC whose dt_populate builds the first node under "/" of `dtb` (a dtc fixture) with its
  // subtree. With `name_property`, dt_populate then sets "name" to the node's full name, as
  // spapr_core_dt_populate does (libfdt inserts it first; dtc refuses to compile such a "name").
  void AddDrc(uint32_t index, const std::vector<uint8_t>& dtb, DrcState state,
              bool name_property = false);
  bool HasDrc(uint32_t index) const { return drcs_.count(index) != 0; }
  void SetState(uint32_t index, DrcState state);
  DrcState State(uint32_t index) const;
  // The blob dt_populate builds for `index`, and the offset of the fragment's node in it.
  const std::vector<uint8_t>& Fragment(uint32_t index) const;
  int FragmentNode(uint32_t index) const;
  // QEMU's cursor: whether drc->fdt exists, and ccs_depth.
  bool HasWalk(uint32_t index) const;
  int Depth(uint32_t index) const;

  // rtas_ibm_configure_connector on the work area at guest address `work_area`.
  int32_t ConfigureConnector(uint64_t work_area);
  // rtas_set_indicator for isolation-state (9001) and allocation-state (9003); -3 otherwise.
  int32_t SetIndicator(uint32_t type, uint32_t index, uint32_t value);

  // A migration lands now: every DRC keeps its state (migrated) and loses its fragment and cursor.
  void Migrate();
  // A destination QEMU on `memory`: the same DRCs in the same states, no fragments, no cursors.
  std::unique_ptr<FakeQemuCc> Destination(lib::GuestMemory& memory) const;

  // The replay source for drc::WalkContext: each step is one ConfigureConnector call.
  drc::FragmentSource Source() { return drc::FragmentSource{&FakeQemuCc::Step, this}; }
  // Serves configure-connector and set-indicator through the fake hypervisor's KVMPPC_H_RTAS.
  void Install(FakeHypervisor& hv, uint32_t configure_connector_token,
               uint32_t set_indicator_token);

  // Runs before every ConfigureConnector call, with the number of calls made so far: a test
  // migrates there to land between two host steps.
  std::function<void(FakeQemuCc& qemu, uint64_t call)> before_call;
  uint64_t calls = 0;
  // Replay steps whose drc_index argument was not the index in work-area word 0, which is the one
  // QEMU serves.
  uint64_t index_mismatches = 0;

 private:
  struct Drc {
    std::vector<uint8_t> fragment;  // what dt_populate builds
    int node = -1;                  // fdt_start_offset
    DrcState state = DrcState::kLogicalUnusable;
    bool populated = false;  // drc->fdt != NULL
    int offset = 0;          // ccs_offset
    int depth = 0;           // ccs_depth
  };
  static rtas::RtasStatus Step(void* context, uint32_t drc_index, bool first, uint64_t work_area);
  void Store32(uint64_t work_area, uint32_t cell, uint32_t value);
  void StoreClipped(uint64_t work_area, uint32_t offset, const void* data, size_t size);

  lib::GuestMemory* memory_;
  std::map<uint32_t, Drc> drcs_;
};

}  // namespace tests
