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

constexpr int32_t kHostSuccess = 0;
constexpr int32_t kHostNextChild = 2;
constexpr int32_t kHostNextProperty = 3;
constexpr int32_t kHostPrevParent = 4;
constexpr int32_t kHostBusy = -2;

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

void FreeSlot(WalkSlot& slot) {
  const lib::Be32 offset = slot.snapshot_offset;
  const lib::Be32 capacity = slot.snapshot_capacity;
  lib::MemSet(&slot, 0, sizeof(slot));
  slot.snapshot_offset = offset;
  slot.snapshot_capacity = capacity;
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
    if (region.slot(i).drc_index.value() == 0) chosen = i;
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
  lib::MemSet(&slot, 0, sizeof(slot));
  slot.drc_index = lib::Be32(drc_index);
  slot.phase = lib::Be32(static_cast<uint32_t>(SlotPhase::kAcquiring));
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

void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
uint16_t LoadBe16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// Reads the NUL-terminated name at `offset` of the host's work area; 0 when there is none.
uint32_t HostName(const uint8_t* wa, uint32_t offset) {
  if (offset < kDataOffset || offset >= kWorkAreaSize) return 0;
  const uint32_t length = static_cast<uint32_t>(
      lib::StrLengthMax(reinterpret_cast<const char*>(wa + offset), kWorkAreaSize - offset));
  return offset + length < kWorkAreaSize ? length + 1 : 0;
}

enum class Acquired { kDone, kBusy, kFailed };

Acquired TooLarge(const WalkSlot& slot, RtasStatus& failure) {
  lib::Printf("tern-rtas: configure-connector: the fragment of DRC 0x%08x exceeds %u bytes\n",
              slot.drc_index.value(), slot.snapshot_capacity.value());
  failure = RtasStatus::kHardwareError;
  return Acquired::kFailed;
}

Acquired Unusable(const WalkSlot& slot, RtasStatus& failure) {
  lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: the host's answer has no name\n",
              slot.drc_index.value());
  failure = RtasStatus::kHardwareError;
  return Acquired::kFailed;
}

// KVMPPC_H_DRC_FDT statuses (docs/host-abi.md).
constexpr int64_t kHcallSuccess = 0;
constexpr int64_t kHcallNotFound = -9;
constexpr int64_t kHcallState = -75;

// Takes the snapshot with the host's whole-fragment fetch: the blob goes into the upper half of
// the slot's room and is converted into records in the lower half. The generation must not
// change between the size query and the copy; if it does, the OS is asked to call again.
Acquired Fetch(WalkContext& context, Region& region, WalkSlot& slot, RtasStatus& failure) {
  const uint32_t half = slot.snapshot_capacity.value() / 2;
  uint64_t size = 0;
  uint64_t generation = 0;
  int64_t rc =
      context.fetch.fetch(context.fetch.context, slot.drc_index.value(), 0, 0, size, generation);
  if (rc == kHcallSuccess && size > half) {
    lib::Printf(
        "tern-rtas: configure-connector: the fragment of DRC 0x%08x is %llu bytes, more "
        "than %u\n",
        slot.drc_index.value(), static_cast<unsigned long long>(size), half);
    failure = RtasStatus::kHardwareError;
    return Acquired::kFailed;
  }
  const uint32_t blob_offset = slot.snapshot_offset.value() + half;
  uint64_t copied_generation = 0;
  if (rc == kHcallSuccess) {
    rc = context.fetch.fetch(context.fetch.context, slot.drc_index.value(),
                             context.state_address + blob_offset, half, size, copied_generation);
  }
  if (rc == kHcallNotFound || rc == kHcallState) {
    failure = rc == kHcallNotFound ? RtasStatus::kParameterError : RtasStatus::kNotConfigurable;
    return Acquired::kFailed;
  }
  if (rc != kHcallSuccess) {
    failure = RtasStatus::kHardwareError;
    return Acquired::kFailed;
  }
  if (copied_generation != generation) return Acquired::kBusy;  // changed under us: again
  auto records = FdtToRecords(region.at(blob_offset), static_cast<uint32_t>(size),
                              region.at(slot.snapshot_offset.value()), half);
  if (records.is_error()) {
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: %s\n", slot.drc_index.value(),
                FragmentErrorName(records.error()));
    failure = RtasStatus::kHardwareError;
    return Acquired::kFailed;
  }
  lib::MemSet(region.at(blob_offset), 0, half);
  slot.snapshot_size = lib::Be32(records.value());
  const lib::Span<const uint8_t> snapshot(region.at(slot.snapshot_offset.value()), records.value());
  slot.snapshot_crc = lib::Be32(rtas::Crc32(snapshot));
  slot.phase = lib::Be32(static_cast<uint32_t>(SlotPhase::kServing));
  return Acquired::kDone;
}

// Replays the host's walk into the slot's snapshot, at most `budget` host calls.
Acquired Acquire(WalkContext& context, Region& region, WalkSlot& slot, RtasStatus& failure) {
  if (context.fetch.fetch != nullptr) return Fetch(context, region, slot, failure);
  const uint8_t* wa = context.scratch_host;
  // What the earlier calls recorded must still be what they recorded.
  if (!SnapshotIntact(region, slot)) {
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: fragment snapshot corrupt\n",
                slot.drc_index.value());
    failure = RtasStatus::kHardwareError;
    return Acquired::kFailed;
  }
  for (uint32_t n = 0; n < context.host_steps_per_call; ++n) {
    const bool first = slot.host_steps.value() == 0;
    // The scratch work area is shared by every walk, and the host reads the DRC index from its
    // word 0 on every call: set it every time, or another walk's replay advances here.
    if (first) lib::MemSet(context.scratch_host, 0, kWorkAreaSize);
    lib::StoreBe32(context.scratch_host, slot.drc_index.value());
    const int32_t code =
        context.source.step(context.source.context, slot.drc_index.value(), first, context.scratch);
    slot.host_steps = lib::Be32(slot.host_steps.value() + 1);
    const uint32_t depth = slot.host_depth.value();
    uint8_t record[1 + 2 + 4];
    const bool data = code == kHostNextChild || code == kHostNextProperty ||
                      code == kHostPrevParent || code == kHostSuccess;
    if (data && slot.draining.value() != 0) {
      // The host's walk of this connector was left mid-way (an abandoned or restarted sequence):
      // step it to its end (0 resets its cursor), then replay from the start.
      if (code == kHostSuccess) {
        slot.draining = lib::Be32(0);
        ResetReplay(slot);
      }
      continue;
    }
    if ((code == kHostNextProperty && depth == 0) || (code == kHostPrevParent && depth <= 1)) {
      slot.draining = lib::Be32(1);
      slot.replays = lib::Be32(slot.replays.value() + 1);
      continue;
    }
    if (code == kHostNextChild) {
      const uint32_t name = lib::LoadBe32(wa + 8);
      const uint32_t name_size = HostName(wa, name);
      record[0] = kNode;
      StoreBe16(record + 1, static_cast<uint16_t>(name_size));
      if (name_size == 0) return Unusable(slot, failure);
      if (!Append(region, slot, record, 3) || !Append(region, slot, wa + name, name_size)) {
        return TooLarge(slot, failure);
      }
      slot.host_depth = lib::Be32(depth + 1);
    } else if (code == kHostNextProperty) {
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
        failure = RtasStatus::kHardwareError;
        return Acquired::kFailed;
      }
      record[0] = kProperty;
      StoreBe16(record + 1, static_cast<uint16_t>(name_size));
      lib::StoreBe32(record + 3, length);
      if (!Append(region, slot, record, 7) || !Append(region, slot, wa + name, name_size) ||
          !Append(region, slot, wa + value, length)) {
        return TooLarge(slot, failure);
      }
    } else if (code == kHostPrevParent || code == kHostSuccess) {
      // The host answers 0 when its root closes (depth 1 here). Anything else means the host's
      // walk restarted under us (a migration between two host calls): replay from the start.
      if (code == kHostSuccess && depth != 1) {
        slot.replays = lib::Be32(slot.replays.value() + 1);
        ResetReplay(slot);
        continue;
      }
      record[0] = kEnd;
      if (!Append(region, slot, record, 1)) return TooLarge(slot, failure);
      slot.host_depth = lib::Be32(depth - 1);
      if (code == kHostSuccess) {
        slot.phase = lib::Be32(static_cast<uint32_t>(SlotPhase::kServing));
        return Acquired::kDone;
      }
    } else if (code == kHostBusy || (code >= 9900 && code <= 9905)) {
      slot.host_steps = lib::Be32(slot.host_steps.value() - 1);
      return Acquired::kBusy;
    } else {
      // -9003 (unusable connector), -3 (unknown index) and the like on the first call are the
      // answer to the OS; later they are a hardware error.
      failure = first ? static_cast<RtasStatus>(code) : RtasStatus::kHardwareError;
      return Acquired::kFailed;
    }
  }
  return Acquired::kBusy;
}

// Writes a name (and a value) into the OS's work area as QEMU lays them out.
bool WriteNode(lib::GuestMemory& memory, uint64_t wa, const uint8_t* name, uint32_t name_size) {
  uint8_t offset[4];
  lib::StoreBe32(offset, kDataOffset);
  return memory.Write(wa + 8, offset, 4).is_ok() &&
         memory.Write(wa + kDataOffset, name, name_size).is_ok();
}

// Answers the OS's next step from the snapshot; kHardwareError when it is inconsistent.
RtasStatus Serve(WalkContext& context, Region& region, WalkSlot& slot, uint64_t wa) {
  const uint8_t* snapshot = region.at(slot.snapshot_offset.value());
  const uint32_t size = slot.snapshot_size.value();
  uint32_t cursor = slot.cursor.value();
  uint32_t depth = slot.depth.value();
  auto node_at = [&](uint32_t at, uint32_t& name_size) {
    if (at + 3 > size || snapshot[at] != kNode) return false;
    name_size = LoadBe16(snapshot + at + 1);
    return name_size > 0 && name_size <= size - at - 3 && snapshot[at + 3 + name_size - 1] == 0;
  };
  if (cursor >= size) return RtasStatus::kHardwareError;
  RtasStatus code;
  uint32_t name_size = 0;
  if (snapshot[cursor] == kNode) {
    if (!node_at(cursor, name_size)) return RtasStatus::kHardwareError;
    if (!WriteNode(context.memory, wa, snapshot + cursor + 3, name_size)) {
      return RtasStatus::kParameterError;
    }
    code = static_cast<RtasStatus>(2);  // next child; the first data answer is always this
    cursor += 3 + name_size;
    ++depth;
  } else if (snapshot[cursor] == kProperty) {
    if (cursor + 7 > size || depth == 0) return RtasStatus::kHardwareError;
    name_size = LoadBe16(snapshot + cursor + 1);
    const uint32_t length = lib::LoadBe32(snapshot + cursor + 3);
    if (name_size == 0 || name_size > size - cursor - 7 || length > size - cursor - 7 - name_size ||
        kDataOffset + name_size + length > kWorkAreaSize) {
      return RtasStatus::kHardwareError;
    }
    uint8_t cells[12];
    lib::StoreBe32(cells, kDataOffset);
    lib::StoreBe32(cells + 4, length);
    lib::StoreBe32(cells + 8, kDataOffset + name_size);
    const uint8_t* name = snapshot + cursor + 7;
    if (context.memory.Write(wa + 8, cells, 12).is_error() ||
        context.memory.Write(wa + kDataOffset, name, name_size).is_error() ||
        context.memory.Write(wa + kDataOffset + name_size, name + name_size, length).is_error()) {
      return RtasStatus::kParameterError;
    }
    code = static_cast<RtasStatus>(3);
    cursor += 7 + name_size + length;
  } else if (snapshot[cursor] == kEnd) {
    if (depth == 0) return RtasStatus::kHardwareError;
    ++cursor;
    --depth;
    if (depth == 0) {
      if (cursor != size) return RtasStatus::kHardwareError;
      code = RtasStatus::kSuccess;  // configuration complete
    } else if (node_at(cursor, name_size)) {
      // A node closes and its sibling opens: one answer, 1 [LoPAPR 13.5.3.5].
      if (!WriteNode(context.memory, wa, snapshot + cursor + 3, name_size)) {
        return RtasStatus::kParameterError;
      }
      code = static_cast<RtasStatus>(1);
      cursor += 3 + name_size;
      ++depth;
    } else {
      code = static_cast<RtasStatus>(4);  // previous parent
    }
  } else {
    return RtasStatus::kHardwareError;
  }
  slot.cursor = lib::Be32(cursor);
  slot.depth = lib::Be32(depth);
  slot.served = lib::Be32(slot.served.value() + 1);
  return code;
}

}  // namespace

uint32_t ForgetWalks(lib::Span<uint8_t> state, uint32_t drc_index) {
  if (rtas::CheckStateRegion(state).is_error()) return 0;
  Region region{state};
  uint32_t freed = 0;
  for (uint32_t i = 0; i < region.slot_count(); ++i) {
    WalkSlot& slot = region.slot(i);
    if (slot.drc_index.value() != 0 && (drc_index == 0 || slot.drc_index.value() == drc_index)) {
      FreeSlot(slot);
      ++freed;
    }
  }
  if (freed > 0) region.commit();
  return freed;
}

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

  uint32_t index = region.slot_count();
  if (cookie == 0) {
    index = TakeSlot(region, drc_index);
  } else {
    for (uint32_t i = 0; i < region.slot_count(); ++i) {
      const WalkSlot& s = region.slot(i);
      if (s.drc_index.value() == drc_index && s.cookie.value() == cookie) index = i;
    }
    if (index == region.slot_count()) {
      lib::Printf(
          "tern-rtas: configure-connector: DRC 0x%08x: no walk with cookie 0x%08x "
          "(stale or abandoned work area)\n",
          drc_index, cookie);
      return RtasStatus::kHardwareError;
    }
  }
  WalkSlot& slot = region.slot(index);
  if (!SlotFitsRegion(region, slot)) {
    FreeSlot(slot);
    region.commit();
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: corrupt walk state\n", drc_index);
    return RtasStatus::kHardwareError;
  }
  slot.last_use = lib::Be32(region.header().generation.value());

  RtasStatus result;
  if (slot.phase.value() == static_cast<uint32_t>(SlotPhase::kAcquiring)) {
    RtasStatus failure = RtasStatus::kHardwareError;
    const Acquired acquired = Acquire(context, region, slot, failure);
    if (acquired == Acquired::kFailed) {
      FreeSlot(slot);
      region.commit();
      return failure;
    }
    if (acquired == Acquired::kBusy) {
      region.commit();
      uint8_t stamp[4];
      lib::StoreBe32(stamp, slot.cookie.value());
      (void)context.memory.Write(wa + 4, stamp, 4);
      return RtasStatus::kBusy;  // -2: call again with the work area as it is
    }
  }
  if (slot.phase.value() != static_cast<uint32_t>(SlotPhase::kServing)) {
    FreeSlot(slot);
    region.commit();
    return RtasStatus::kHardwareError;
  }
  if (!SnapshotIntact(region, slot)) {
    lib::Printf("tern-rtas: configure-connector: DRC 0x%08x: fragment snapshot corrupt\n",
                drc_index);
    FreeSlot(slot);
    region.commit();
    return RtasStatus::kHardwareError;
  }
  result = Serve(context, region, slot, wa);
  if (result == RtasStatus::kSuccess || result == RtasStatus::kHardwareError) {
    FreeSlot(slot);
  } else if (result != RtasStatus::kParameterError) {
    uint8_t stamp[4];
    lib::StoreBe32(stamp, slot.cookie.value());
    (void)context.memory.Write(wa + 4, stamp, 4);
  }
  region.commit();
  return result;
}

}  // namespace drc
