#include "drc/walker.h"

#include "drc/fdt-records.h"
#include "drc/walk-slot.h"
#include "lib/be.h"
#include "lib/console.h"
#include "lib/string.h"
#include "rtas/state-region.h"

namespace drc {

using rtas::RtasStatus;

namespace {

struct Region {
  lib::Span<uint8_t> bytes;
  rtas::StateHeader& header() { return *reinterpret_cast<rtas::StateHeader*>(bytes.data()); }
  uint32_t slot_count() { return header().slot_count.value(); }
  WalkSlot& slot(uint32_t i) {
    return *reinterpret_cast<WalkSlot*>(bytes.data() + header().slots_offset.value() +
                                        i * header().slot_size.value());
  }
  uint8_t* at(uint32_t offset) { return bytes.data() + offset; }
  void commit() { rtas::CommitStateRegion(bytes); }
};

WalkState StateOf(const WalkSlot& slot) {
  return static_cast<WalkState>(slot.state.value());
}

// The one place a walk changes state; the transitions are listed in drc/walk-slot.h. Ending a walk
// (any -> kFree) clears the slot but keeps its room. Returns false, changing nothing, for any
// other change.
bool ChangeState(WalkSlot& slot, WalkState to) {
  const WalkState from = StateOf(slot);
  bool allowed = false;
  switch (to) {
    case WalkState::kFree: allowed = true; break;
    case WalkState::kSnapshotting:
      allowed = from == WalkState::kFree || from == WalkState::kDraining;
      break;
    case WalkState::kDraining: allowed = from == WalkState::kSnapshotting; break;
    case WalkState::kServing: allowed = from == WalkState::kSnapshotting; break;
  }
  if (!allowed) return false;
  if (to == WalkState::kFree) {
    const lib::Be32 offset = slot.snapshot_offset;
    const lib::Be32 capacity = slot.snapshot_capacity;
    lib::MemSet(&slot, 0, sizeof(slot));
    slot.snapshot_offset = offset;
    slot.snapshot_capacity = capacity;
  }
  slot.state = lib::Be32(static_cast<uint32_t>(to));
  return true;
}

bool SlotFitsRegion(Region& region, WalkSlot& slot) {
  const uint64_t end = uint64_t{slot.snapshot_offset.value()} + slot.snapshot_capacity.value();
  return slot.snapshot_size.value() <= slot.snapshot_capacity.value() &&
         slot.snapshot_offset.value() >= region.header().data_offset.value() &&
         end <= region.bytes.size() && slot.cursor.value() <= slot.snapshot_size.value();
}

uint32_t NewCookie(Region& region, uint32_t slot_index) {
  // Unique among live slots: the slot number and the region's generation.
  const uint32_t cookie = (region.header().generation.value() << 4) | (slot_index + 1);
  return cookie == 0 ? 1 : cookie;
}

// Takes a slot for a new sequence on `drc_index`: its old one, a free one, or the oldest.
uint32_t TakeSlot(Region& region, uint32_t drc_index) {
  const uint32_t count = region.slot_count();
  const uint32_t per_slot = region.header().data_size.value() / count;
  uint32_t chosen = count;
  for (uint32_t i = 0; i < count && chosen == count; ++i) {
    if (region.slot(i).drc_index.value() == drc_index) chosen = i;
  }
  for (uint32_t i = 0; i < count && chosen == count; ++i) {
    if (StateOf(region.slot(i)) == WalkState::kFree) chosen = i;
  }
  if (chosen == count) {
    chosen = 0;
    for (uint32_t i = 1; i < count; ++i) {
      if (region.slot(i).last_use.value() < region.slot(chosen).last_use.value()) chosen = i;
    }
    lib::Printf("tern-rtas: configure-connector: recycling the abandoned walk of DRC 0x%08x\n",
                region.slot(chosen).drc_index.value());
  }
  WalkSlot& slot = region.slot(chosen);
  (void)ChangeState(slot, WalkState::kFree);
  (void)ChangeState(slot, WalkState::kSnapshotting);
  slot.drc_index = lib::Be32(drc_index);
  slot.snapshot_offset = lib::Be32(region.header().data_offset.value() + chosen * per_slot);
  slot.snapshot_capacity = lib::Be32(per_slot);
  slot.cookie = lib::Be32(NewCookie(region, chosen));
  return chosen;
}

bool Append(Region& region, WalkSlot& slot, const uint8_t* bytes, uint32_t size) {
  const uint32_t used = slot.snapshot_size.value();
  if (size > slot.snapshot_capacity.value() - used) return false;
  lib::MemCopy(region.at(slot.snapshot_offset.value() + used), bytes, size);
  slot.snapshot_size = lib::Be32(used + size);
  slot.snapshot_crc =
      lib::Be32(rtas::Crc32(lib::Span<const uint8_t>(bytes, size), slot.snapshot_crc.value()));
  return true;
}

// Starts the replay over: an empty snapshot, the host's walk from its first call.
void ResetReplay(WalkSlot& slot) {
  slot.snapshot_size = lib::Be32(0);
  slot.snapshot_crc = lib::Be32(0);
  slot.host_depth = lib::Be32(0);
  slot.host_steps = lib::Be32(0);
}

bool SnapshotIntact(Region& region, WalkSlot& slot) {
  const lib::Span<const uint8_t> snapshot(region.at(slot.snapshot_offset.value()),
                                          slot.snapshot_size.value());
  return rtas::Crc32(snapshot) == slot.snapshot_crc.value();
}

// Reads the NUL-terminated name at `offset` of the host's work area; 0 when there is none.
uint32_t HostName(const uint8_t* wa, uint32_t offset) {
  if (offset < kDataOffset || offset >= kWorkAreaSize) return 0;
  const uint32_t length = static_cast<uint32_t>(
      lib::StrLengthMax(reinterpret_cast<const char*>(wa + offset), kWorkAreaSize - offset));
  return offset + length < kWorkAreaSize ? length + 1 : 0;
}

// How far one call got in taking the snapshot; on kFailed, `failure` is the OS's answer.
enum class Progress { kMore, kDone, kBusy, kFailed };

Progress Fail(RtasStatus& failure, RtasStatus status) {
  failure = status;
  return Progress::kFailed;
}

Progress TooLarge(const WalkSlot& slot, RtasStatus& failure) {
  lib::Printf("tern-rtas: configure-connector: the fragment of DRC 0x%08x exceeds %u bytes\n",
              slot.drc_index.value(), slot.snapshot_capacity.value());
  return Fail(failure, RtasStatus::kHardwareError);
}

Progress Unusable(const WalkSlot& slot, RtasStatus& failure) {
  lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: the host's answer has no name\n",
              slot.drc_index.value());
  return Fail(failure, RtasStatus::kHardwareError);
}

// Takes the snapshot with the host's whole-fragment fetch: the blob goes into the upper half of
// the slot's room and is converted into records in the lower half. The generation must not
// change between the size query and the copy; if it does, the OS is asked to call again.
Progress Fetch(WalkContext& context, Region& region, WalkSlot& slot, RtasStatus& failure) {
  using lib::hv::HcallStatus;
  const uint32_t half = slot.snapshot_capacity.value() / 2;
  const uint32_t drc_index = slot.drc_index.value();
  auto sized = context.fetch.fetch(context.fetch.context, drc_index, 0, 0);
  if (sized.is_ok() && sized.value().size > half) {
    lib::Printf(
        "tern-rtas: configure-connector: the fragment of DRC 0x%08x is %llu bytes, more "
        "than %u\n",
        drc_index, static_cast<unsigned long long>(sized.value().size), half);
    return Fail(failure, RtasStatus::kHardwareError);
  }
  const uint32_t blob_offset = slot.snapshot_offset.value() + half;
  auto copied = sized.is_error() ? sized
                                 : context.fetch.fetch(context.fetch.context, drc_index,
                                                       context.state_address + blob_offset, half);
  if (copied.is_error()) {
    switch (copied.error()) {
      case HcallStatus::kNotFound: return Fail(failure, RtasStatus::kParameterError);
      case HcallStatus::kState: return Fail(failure, RtasStatus::kNotConfigurable);
      default: return Fail(failure, RtasStatus::kHardwareError);
    }
  }
  // Changed between the two calls: call again.
  if (copied.value().generation != sized.value().generation) return Progress::kBusy;
  auto records = FdtToRecords(region.at(blob_offset), static_cast<uint32_t>(copied.value().size),
                              region.at(slot.snapshot_offset.value()), half);
  if (records.is_error()) {
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: %s\n", drc_index,
                FragmentErrorName(records.error()));
    return Fail(failure, RtasStatus::kHardwareError);
  }
  lib::MemSet(region.at(blob_offset), 0, half);
  slot.snapshot_size = lib::Be32(records.value());
  const lib::Span<const uint8_t> snapshot(region.at(slot.snapshot_offset.value()), records.value());
  slot.snapshot_crc = lib::Be32(rtas::Crc32(snapshot));
  (void)ChangeState(slot, WalkState::kServing);
  return Progress::kDone;
}

// The host's walk is not where the replay left it (it restarted under a migration, or an older
// sequence left it mid-way): step it to its end, then replay from the start.
Progress StartDraining(WalkSlot& slot) {
  (void)ChangeState(slot, WalkState::kDraining);
  slot.replays = lib::Be32(slot.replays.value() + 1);
  return Progress::kMore;
}

// Records the node the host named in its work area `wa`.
Progress RecordNode(Region& region, WalkSlot& slot, const uint8_t* wa, RtasStatus& failure) {
  const uint32_t name = lib::LoadBe32(wa + 8);
  const uint32_t name_size = HostName(wa, name);
  if (name_size == 0) return Unusable(slot, failure);
  uint8_t record[3] = {kNode};
  lib::StoreBe16(record + 1, static_cast<uint16_t>(name_size));
  if (!Append(region, slot, record, 3) || !Append(region, slot, wa + name, name_size)) {
    return TooLarge(slot, failure);
  }
  slot.host_depth = lib::Be32(slot.host_depth.value() + 1);
  return Progress::kMore;
}

// Records the property the host put in its work area `wa`.
Progress RecordProperty(Region& region, WalkSlot& slot, const uint8_t* wa, RtasStatus& failure) {
  const uint32_t name = lib::LoadBe32(wa + 8);
  const uint32_t name_size = HostName(wa, name);
  const uint32_t length = lib::LoadBe32(wa + 12);
  const uint32_t value = lib::LoadBe32(wa + 16);
  if (name_size == 0) return Unusable(slot, failure);
  // The OS's work area is one 4 KiB page: a property must fit after its name there. The host
  // clips what does not fit, so its value would be wrong: refuse rather than truncate.
  if (value > kWorkAreaSize || length > kWorkAreaSize - value ||
      kDataOffset + name_size + length > kWorkAreaSize) {
    lib::Printf(
        "tern-rtas: configure-connector: property %s of DRC 0x%08x is %u bytes, "
        "more than the 4 KiB work area holds\n",
        reinterpret_cast<const char*>(wa + name), slot.drc_index.value(), length);
    return Fail(failure, RtasStatus::kHardwareError);
  }
  uint8_t record[7] = {kProperty};
  lib::StoreBe16(record + 1, static_cast<uint16_t>(name_size));
  lib::StoreBe32(record + 3, length);
  if (!Append(region, slot, record, 7) || !Append(region, slot, wa + name, name_size) ||
      !Append(region, slot, wa + value, length)) {
    return TooLarge(slot, failure);
  }
  return Progress::kMore;
}

// Records the end of the innermost node; the end of the root completes the snapshot.
Progress RecordEnd(Region& region, WalkSlot& slot, RtasStatus& failure) {
  const uint8_t record[1] = {kEnd};
  if (!Append(region, slot, record, 1)) return TooLarge(slot, failure);
  slot.host_depth = lib::Be32(slot.host_depth.value() - 1);
  if (slot.host_depth.value() > 0) return Progress::kMore;
  (void)ChangeState(slot, WalkState::kServing);
  return Progress::kDone;
}

// While draining, the host's answers only move its walk on; its end (0, which also resets the
// host's cursor) starts the replay.
Progress Drain(WalkSlot& slot, RtasStatus answer, bool first, RtasStatus& failure) {
  switch (answer) {
    case RtasStatus::kSuccess:
      (void)ChangeState(slot, WalkState::kSnapshotting);
      ResetReplay(slot);
      return Progress::kMore;
    case RtasStatus::kNextChild:
    case RtasStatus::kNextProperty:
    case RtasStatus::kPreviousParent: return Progress::kMore;
    default: break;
  }
  if (answer == RtasStatus::kBusy || rtas::IsExtendedDelay(answer)) {
    slot.host_steps = lib::Be32(slot.host_steps.value() - 1);
    return Progress::kBusy;
  }
  return Fail(failure, first ? answer : RtasStatus::kHardwareError);
}

// Takes one answer of the host's walk into the snapshot. `wa` is the host's work area.
Progress Replay(Region& region, WalkSlot& slot, RtasStatus answer, const uint8_t* wa, bool first,
                RtasStatus& failure) {
  const uint32_t depth = slot.host_depth.value();
  switch (answer) {
    case RtasStatus::kNextChild: return RecordNode(region, slot, wa, failure);
    case RtasStatus::kNextProperty:
      // A property outside any node: the host's walk is not the one being replayed.
      if (depth == 0) return StartDraining(slot);
      return RecordProperty(region, slot, wa, failure);
    case RtasStatus::kPreviousParent:
      // Backing out of the root (the host answers 0 there): not the walk being replayed.
      if (depth <= 1) return StartDraining(slot);
      return RecordEnd(region, slot, failure);
    case RtasStatus::kSuccess:
      // The host answers 0 when its root closes (depth 1 here). Anything else means the host's
      // walk restarted under us (a migration between two host calls) and already ended: replay
      // from the start.
      if (depth != 1) {
        slot.replays = lib::Be32(slot.replays.value() + 1);
        ResetReplay(slot);
        return Progress::kMore;
      }
      return RecordEnd(region, slot, failure);
    case RtasStatus::kBusy:
      slot.host_steps = lib::Be32(slot.host_steps.value() - 1);
      return Progress::kBusy;
    case RtasStatus::kNextSibling:
    case RtasStatus::kMoreMemory:
      // QEMU never answers these (it walks siblings as 4 then 2, and fits one page).
      lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: the host answered %d\n",
                  slot.drc_index.value(), static_cast<int>(answer));
      return Fail(failure, RtasStatus::kHardwareError);
    default: break;
  }
  if (rtas::IsExtendedDelay(answer)) {
    slot.host_steps = lib::Be32(slot.host_steps.value() - 1);
    return Progress::kBusy;
  }
  // -9003 (unusable connector), -3 (unknown index) and the like on the first call are the answer
  // to the OS; later they are a hardware error.
  return Fail(failure, first ? answer : RtasStatus::kHardwareError);
}

// Takes the snapshot: with the host's fetch when it offers one, otherwise by replaying the host's
// walk, at most `host_steps_per_call` host calls per OS call.
Progress TakeSnapshot(WalkContext& context, Region& region, WalkSlot& slot, RtasStatus& failure) {
  if (context.fetch.fetch != nullptr) return Fetch(context, region, slot, failure);
  // What the earlier calls recorded must still be what they recorded.
  if (!SnapshotIntact(region, slot)) {
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: fragment snapshot corrupt\n",
                slot.drc_index.value());
    return Fail(failure, RtasStatus::kHardwareError);
  }
  for (uint32_t n = 0; n < context.host_steps_per_call; ++n) {
    const bool first = slot.host_steps.value() == 0;
    // The scratch work area is shared by every walk, and the host reads the DRC index from its
    // word 0 on every call: set it every time, or another walk's replay advances here.
    if (first) lib::MemSet(context.scratch_host, 0, kWorkAreaSize);
    lib::StoreBe32(context.scratch_host, slot.drc_index.value());
    const RtasStatus answer =
        context.source.step(context.source.context, slot.drc_index.value(), first, context.scratch);
    slot.host_steps = lib::Be32(slot.host_steps.value() + 1);
    const Progress progress =
        StateOf(slot) == WalkState::kDraining
            ? Drain(slot, answer, first, failure)
            : Replay(region, slot, answer, context.scratch_host, first, failure);
    if (progress != Progress::kMore) return progress;
  }
  return Progress::kBusy;
}

// Writes a name (and a value) into the OS's work area as QEMU lays them out.
bool WriteNode(lib::GuestMemory& memory, uint64_t wa, const uint8_t* name, uint32_t name_size) {
  uint8_t offset[4];
  lib::StoreBe32(offset, kDataOffset);
  return memory.Write(wa + 8, offset, 4).is_ok() &&
         memory.Write(wa + kDataOffset, name, name_size).is_ok();
}

// The OS's view of the walk while it is served: where the next record is and how many nodes are
// open. An answer moves it on only when the work area was written.
struct Cursor {
  const uint8_t* snapshot;
  uint32_t size;
  uint32_t at;
  uint32_t depth;

  // The NODE record at `offset`, if there is a well-formed one: its name's size (with the NUL).
  uint32_t NodeAt(uint32_t offset) const {
    if (offset + 3 > size || snapshot[offset] != kNode) return 0;
    const uint32_t name_size = lib::LoadBe16(snapshot + offset + 1);
    const bool ok = name_size > 0 && name_size <= size - offset - 3 &&
                    snapshot[offset + 3 + name_size - 1] == 0;
    return ok ? name_size : 0;
  }
};

// Opens the node whose record is at the cursor: 2 (next child), or `answer` for a sibling.
RtasStatus ServeNode(lib::GuestMemory& memory, uint64_t wa, Cursor& cursor, RtasStatus answer) {
  const uint32_t name_size = cursor.NodeAt(cursor.at);
  if (name_size == 0) return RtasStatus::kHardwareError;
  if (!WriteNode(memory, wa, cursor.snapshot + cursor.at + 3, name_size)) {
    return RtasStatus::kParameterError;
  }
  cursor.at += 3 + name_size;
  ++cursor.depth;
  return answer;
}

// The property whose record is at the cursor: 3 (next property).
RtasStatus ServeProperty(lib::GuestMemory& memory, uint64_t wa, Cursor& cursor) {
  const uint32_t at = cursor.at;
  const uint32_t size = cursor.size;
  if (at + 7 > size || cursor.depth == 0) return RtasStatus::kHardwareError;
  const uint32_t name_size = lib::LoadBe16(cursor.snapshot + at + 1);
  const uint32_t length = lib::LoadBe32(cursor.snapshot + at + 3);
  if (name_size == 0 || name_size > size - at - 7 || length > size - at - 7 - name_size ||
      kDataOffset + name_size + length > kWorkAreaSize) {
    return RtasStatus::kHardwareError;
  }
  uint8_t cells[12];
  lib::StoreBe32(cells, kDataOffset);
  lib::StoreBe32(cells + 4, length);
  lib::StoreBe32(cells + 8, kDataOffset + name_size);
  const uint8_t* name = cursor.snapshot + at + 7;
  if (memory.Write(wa + 8, cells, 12).is_error() ||
      memory.Write(wa + kDataOffset, name, name_size).is_error() ||
      memory.Write(wa + kDataOffset + name_size, name + name_size, length).is_error()) {
    return RtasStatus::kParameterError;
  }
  cursor.at += 7 + name_size + length;
  return RtasStatus::kNextProperty;
}

// The end of the innermost node: 0 when it is the root's (configuration complete), 1 when a
// sibling opens next (one answer for both [LoPAPR 13.5.3.5]), else 4 (previous parent).
RtasStatus ServeEnd(lib::GuestMemory& memory, uint64_t wa, Cursor& cursor) {
  if (cursor.depth == 0) return RtasStatus::kHardwareError;
  ++cursor.at;
  --cursor.depth;
  if (cursor.depth == 0) {
    return cursor.at == cursor.size ? RtasStatus::kSuccess : RtasStatus::kHardwareError;
  }
  if (cursor.NodeAt(cursor.at) != 0) {
    return ServeNode(memory, wa, cursor, RtasStatus::kNextSibling);
  }
  return RtasStatus::kPreviousParent;
}

// Answers the OS's next step from the snapshot; kHardwareError when it is inconsistent,
// kParameterError when the OS's work area cannot be written.
RtasStatus Serve(WalkContext& context, Region& region, WalkSlot& slot, uint64_t wa) {
  Cursor cursor{region.at(slot.snapshot_offset.value()), slot.snapshot_size.value(),
                slot.cursor.value(), slot.depth.value()};
  if (cursor.at >= cursor.size) return RtasStatus::kHardwareError;
  RtasStatus answer;
  switch (cursor.snapshot[cursor.at]) {
    // The first data answer is always a node: 2.
    case kNode: answer = ServeNode(context.memory, wa, cursor, RtasStatus::kNextChild); break;
    case kProperty: answer = ServeProperty(context.memory, wa, cursor); break;
    case kEnd: answer = ServeEnd(context.memory, wa, cursor); break;
    default: return RtasStatus::kHardwareError;
  }
  if (answer == RtasStatus::kHardwareError || answer == RtasStatus::kParameterError) return answer;
  slot.cursor = lib::Be32(cursor.at);
  slot.depth = lib::Be32(cursor.depth);
  slot.served = lib::Be32(slot.served.value() + 1);
  return answer;
}

}  // namespace

uint32_t ForgetWalks(lib::Span<uint8_t> state, uint32_t drc_index) {
  if (rtas::CheckStateRegion(state).is_error()) return 0;
  Region region{state};
  uint32_t freed = 0;
  for (uint32_t i = 0; i < region.slot_count(); ++i) {
    WalkSlot& slot = region.slot(i);
    if (StateOf(slot) != WalkState::kFree &&
        (drc_index == 0 || slot.drc_index.value() == drc_index)) {
      (void)ChangeState(slot, WalkState::kFree);
      ++freed;
    }
  }
  if (freed > 0) region.commit();
  return freed;
}

namespace {

// The slot of the walk the OS's work area names: a new one for cookie 0, else the DRC's slot with
// that cookie; the slot count when there is none.
uint32_t FindWalk(Region& region, uint32_t drc_index, uint32_t cookie) {
  if (cookie == 0) return TakeSlot(region, drc_index);
  for (uint32_t i = 0; i < region.slot_count(); ++i) {
    const WalkSlot& slot = region.slot(i);
    if (slot.drc_index.value() == drc_index && slot.cookie.value() == cookie) return i;
  }
  return region.slot_count();
}

// Ends the walk in `slot` with the OS's answer `status`.
RtasStatus EndWalk(Region& region, WalkSlot& slot, RtasStatus status) {
  (void)ChangeState(slot, WalkState::kFree);
  region.commit();
  return status;
}

// Ends the walk in `slot` as corrupt: -1 and a console message, never a silent restart.
RtasStatus Corrupt(Region& region, WalkSlot& slot, uint32_t drc_index, const char* what) {
  lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: %s\n", drc_index, what);
  return EndWalk(region, slot, RtasStatus::kHardwareError);
}

// Stamps the walk's cookie into work-area word 1: the OS hands it back on its next call.
void StampCookie(lib::GuestMemory& memory, uint64_t wa, const WalkSlot& slot) {
  uint8_t stamp[4];
  lib::StoreBe32(stamp, slot.cookie.value());
  (void)memory.Write(wa + 4, stamp, 4);
}

}  // namespace

RtasStatus ConfigureConnector(WalkContext& context, uint64_t wa) {
  uint8_t head[8];
  if (context.memory.Read(wa, head, sizeof(head)).is_error() ||
      !context.memory.Map(wa, kWorkAreaSize, true).is_ok()) {
    return RtasStatus::kParameterError;
  }
  const uint32_t drc_index = lib::LoadBe32(head);
  const uint32_t cookie = lib::LoadBe32(head + 4);
  if (drc_index == 0) return RtasStatus::kParameterError;
  Region region{context.state};

  const uint32_t index = FindWalk(region, drc_index, cookie);
  if (index == region.slot_count()) {
    lib::Printf(
        "tern-rtas: configure-connector: DRC 0x%08x: no walk with cookie 0x%08x "
        "(stale or abandoned work area)\n",
        drc_index, cookie);
    return RtasStatus::kHardwareError;
  }
  WalkSlot& slot = region.slot(index);
  if (!SlotFitsRegion(region, slot)) return Corrupt(region, slot, drc_index, "corrupt walk state");
  slot.last_use = lib::Be32(region.header().generation.value());

  switch (StateOf(slot)) {
    case WalkState::kSnapshotting:
    case WalkState::kDraining: {
      RtasStatus failure = RtasStatus::kHardwareError;
      const Progress progress = TakeSnapshot(context, region, slot, failure);
      if (progress == Progress::kFailed) return EndWalk(region, slot, failure);
      if (progress != Progress::kDone) {
        region.commit();
        StampCookie(context.memory, wa, slot);
        return RtasStatus::kBusy;  // -2: call again with the work area as it is
      }
      break;
    }
    case WalkState::kServing: break;
    case WalkState::kFree:
    default: return Corrupt(region, slot, drc_index, "corrupt walk state");
  }
  if (!SnapshotIntact(region, slot)) {
    return Corrupt(region, slot, drc_index, "fragment snapshot corrupt");
  }
  const RtasStatus result = Serve(context, region, slot, wa);
  if (result == RtasStatus::kSuccess || result == RtasStatus::kHardwareError) {
    return EndWalk(region, slot, result);
  }
  if (result != RtasStatus::kParameterError) StampCookie(context.memory, wa, slot);
  region.commit();
  return result;
}

}  // namespace drc
