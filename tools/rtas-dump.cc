// The reading half of tern-rtas-dump (tools/tern-rtas-dump.cc has the command line): finds tern's
// RTAS image ("TERNRTAS") and state region ("TERNSTAT", rtas/state-region.h) in a guest memory
// dump and prints them. Apart from main so that tests/fuzz/rtas_dump_fuzz.cc runs it on any bytes.
#include "tools/rtas-dump.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <optional>

#include "drc/snapshot-records.h"
#include "drc/walk-slot.h"
#include "lib/be.h"
#include "rtas/layout.h"
#include "rtas/services.h"
#include "rtas/state-region.h"

namespace rtas_dump {
namespace {

struct Segment {
  uint64_t guest;  // guest physical address of data[offset]
  size_t offset;
  size_t size;
};

struct Dump {
  const std::vector<uint8_t>& data;  // the file, not copied: a dump-guest-memory core is GiBs
  std::vector<Segment> segments;

  // Host pointer for [address, address + size), or nullptr when the dump does not hold it.
  const uint8_t* At(uint64_t address, uint64_t size) const {
    for (const Segment& s : segments) {
      if (address >= s.guest && address - s.guest <= s.size &&
          size <= s.size - (address - s.guest)) {
        return data.data() + s.offset + (address - s.guest);
      }
    }
    return nullptr;
  }

  // A copy of the T at `address` (the dump's bytes need not be aligned for T), or nothing when
  // the dump does not hold all of it.
  template <class T>
  std::optional<T> Load(uint64_t address) const {
    const uint8_t* bytes = At(address, sizeof(T));
    if (bytes == nullptr) return std::nullopt;
    T value;
    std::memcpy(&value, bytes, sizeof(T));
    return value;
  }
};

uint16_t Be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

enum class ElfKind { kNotElf, kCore, kUnsupported };

// ELF64 big-endian core from dump-guest-memory: PT_LOAD segments give guest physical addresses.
ElfKind ParseElf(Dump& dump, std::FILE* err) {
  const std::vector<uint8_t>& d = dump.data;
  if (d.size() < 64 || std::memcmp(d.data(),
                                   "\x7f"
                                   "ELF",
                                   4) != 0)
    return ElfKind::kNotElf;
  if (d[4] != 2 || d[5] != 2) {
    std::fprintf(err, "tern-rtas-dump: only big-endian ELF64 cores are supported\n");
    return ElfKind::kUnsupported;
  }
  const uint64_t phoff = lib::LoadBe64(&d[32]);
  const uint16_t phentsize = Be16(&d[54]);
  const uint16_t phnum = Be16(&d[56]);
  // Elf64_Phdr is 56 bytes; QEMU's dump-guest-memory writes one PT_LOAD per RAM block, a few at
  // most. More segments than kMaxSegments (or overlapping program headers) are not a dump of a
  // guest, and would make every look-up below scan them all.
  constexpr uint16_t kMaxSegments = 1024;
  if (phentsize != 56 || phnum > kMaxSegments) {
    std::fprintf(err,
                 "tern-rtas-dump: not a guest memory dump: %u program headers of %u bytes "
                 "(at most %u of 56)\n",
                 phnum, phentsize, kMaxSegments);
    return ElfKind::kUnsupported;
  }
  for (uint16_t i = 0; i < phnum; ++i) {
    const uint64_t at = phoff + uint64_t{i} * phentsize;
    if (at < phoff || at > d.size() || d.size() - at < 56) break;
    const uint8_t* ph = &d[at];
    if (lib::LoadBe32(ph) != 1) continue;  // PT_LOAD
    const uint64_t offset = lib::LoadBe64(ph + 8);
    const uint64_t paddr = lib::LoadBe64(ph + 24);
    const uint64_t filesz = lib::LoadBe64(ph + 32);
    if (offset > d.size() || filesz > d.size() - offset) continue;
    dump.segments.push_back(
        Segment{paddr, static_cast<size_t>(offset), static_cast<size_t>(filesz)});
  }
  return ElfKind::kCore;
}

// Guest addresses of the 8-aligned occurrences of `magic` in the dump, at most kMaxFound: a guest
// has one RTAS area (two images and regions at most, with the firmware's own copy), and every
// occurrence is decoded below.
constexpr size_t kMaxFound = 64;
std::vector<uint64_t> Find(const Dump& dump, const char (&magic)[9]) {
  std::vector<uint64_t> found;
  for (const Segment& s : dump.segments) {
    for (size_t i = 0; i + 8 <= s.size && found.size() < kMaxFound; i += 8) {
      if (std::memcmp(&dump.data[s.offset + i], magic, 8) == 0) found.push_back(s.guest + i);
    }
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

// Prints the image whose header is at `address` (the caller found it there).
void PrintImage(const Dump& dump, uint64_t address, std::FILE* out) {
  const auto found = dump.Load<rtas::ImageHeader>(address);
  if (!found) return;
  const rtas::ImageHeader& header = *found;
  std::fprintf(out,
               "RTAS image at 0x%" PRIx64 ": header v%u, %u bytes, %u in memory, entry +0x%x\n",
               address, header.version.value(), header.file_size.value(),
               header.memory_size.value(), header.entry.value());
  const auto config_found = dump.Load<rtas::ImageConfig>(address + header.config.value());
  if (!config_found) return;
  const rtas::ImageConfig& config = *config_found;
  std::fprintf(out,
               "  area base 0x%" PRIx64 ", RAM top 0x%" PRIx64 ", console 0x%" PRIx64
               ", state at +0x%x (%u bytes), %u services\n",
               config.area_base.value(), config.ram_top.value(), config.console_unit.value(),
               config.state_offset.value(), config.state_size.value(),
               config.service_count.value());
}

// The walk's snapshot record by record, each checked as the RTAS checks it before serving it.
void PrintRecords(const uint8_t* region, uint32_t size, const drc::WalkSlot& walk, std::FILE* out) {
  const uint64_t end = uint64_t{walk.snapshot_offset.value()} + walk.snapshot_size.value();
  if (walk.snapshot_size.value() == 0 || end > size) return;
  const lib::Span<const uint8_t> snapshot(region + walk.snapshot_offset.value(),
                                          walk.snapshot_size.value());
  uint32_t counts[3] = {};  // nodes, properties, ends
  uint32_t at = 0;
  while (at < snapshot.size()) {
    auto record = drc::ReadRecord(snapshot, at);
    if (record.is_error()) {
      std::fprintf(out, "    record at +%u: %s\n", at, drc::RecordErrorName(record.error()));
      return;
    }
    ++counts[record.value().tag == drc::kNode ? 0 : record.value().tag == drc::kProperty ? 1 : 2];
    at += record.value().size;
  }
  std::fprintf(out, "    records intact: %u nodes, %u properties, %u ends\n", counts[0], counts[1],
               counts[2]);
}

// Prints the region at `address`; true when it passed its checks.
bool PrintState(const Dump& dump, uint64_t address, std::FILE* out) {
  const auto found = dump.Load<rtas::StateHeader>(address);
  if (!found) {
    std::fprintf(out, "state region at 0x%" PRIx64 ": the dump does not hold its header\n",
                 address);
    return false;
  }
  const rtas::StateHeader& header = *found;
  const uint32_t size = header.region_size.value();
  const uint8_t* in_dump = dump.At(address, size);
  std::fprintf(out,
               "state region at 0x%" PRIx64
               ": layout v%u, %u bytes, generation %u, "
               "checksum 0x%08x, instantiated %u time(s)\n",
               address, header.layout_version.value(), size, header.generation.value(),
               header.checksum.value(), header.instantiations.value());
  if (in_dump == nullptr) {
    std::fprintf(out, "  the dump does not hold the whole region\n");
    return false;
  }
  // An aligned copy: rtas/state-region.cc reads the header in place, as the RTAS image's own
  // region is aligned; a dump's bytes need not be (an ELF segment can start anywhere).
  const std::vector<uint8_t> copy(in_dump, in_dump + size);
  const uint8_t* region = copy.data();
  auto checked = rtas::CheckStateRegion(lib::Span<const uint8_t>(region, size));
  std::fprintf(out, "  checks: %s\n",
               checked.is_ok() ? "ok" : rtas::StateErrorName(checked.error()));
  if (checked.is_error()) return false;

  // The checks put every slot and the statistics inside the region; a slot smaller than a walk
  // slot (drc/walk-slot.h) is not one tern writes, and is not decoded.
  const uint32_t slots = header.slot_count.value();
  uint32_t used = 0;
  if (slots > 0 && header.slot_size.value() < sizeof(drc::WalkSlot)) {
    std::fprintf(out, "  %u walk slots of %u bytes, smaller than a walk slot: not shown\n", slots,
                 header.slot_size.value());
  }
  for (uint32_t i = 0; i < slots && header.slot_size.value() >= sizeof(drc::WalkSlot); ++i) {
    drc::WalkSlot walk;
    std::memcpy(&walk,
                region + header.slots_offset.value() + uint64_t{i} * header.slot_size.value(),
                sizeof(walk));
    if (walk.state.value() == static_cast<uint32_t>(drc::WalkState::kFree)) continue;
    ++used;
    const auto slot_checked = rtas::CheckSlot(lib::Span<const uint8_t>(region, size), i);
    std::fprintf(out, "  slot %u: DRC 0x%08x %s, cookie 0x%08x, last use %u, checksum %s\n", i,
                 walk.drc_index.value(), drc::WalkStateName(walk.state.value()),
                 walk.cookie.value(), walk.last_use.value(),
                 slot_checked.is_ok() ? "ok" : rtas::StateErrorName(slot_checked.error()));
    std::fprintf(out,
                 "    snapshot %u of %u bytes at +0x%x, %u dropped; cursor %u, depth %u, "
                 "%u answers; host walk: %u steps, depth %u, %u replay(s), %u busy\n",
                 walk.snapshot_size.value(), walk.snapshot_capacity.value(),
                 walk.snapshot_offset.value(), walk.dropped.value(), walk.cursor.value(),
                 walk.depth.value(), walk.served.value(), walk.host_steps.value(),
                 walk.host_depth.value(), walk.replays.value(), walk.host_busy.value());
    if (slot_checked.is_ok()) PrintRecords(region, size, walk, out);
  }
  std::fprintf(out, "  walk slots: %u of %u in use\n", used, slots);

  const auto services = rtas::Services();
  std::fprintf(out, "  calls by service (calls, last status):\n");
  for (uint32_t i = 0; i < header.stats_count.value() && i < services.size(); ++i) {
    rtas::ServiceStats stats;
    std::memcpy(&stats, region + header.stats_offset.value() + uint64_t{i} * sizeof(stats),
                sizeof(stats));
    if (stats.calls.value() == 0) continue;
    std::fprintf(out, "    %-34s %8u %6d\n", services[i].name, stats.calls.value(),
                 static_cast<int32_t>(stats.last_status.value()));
  }
  return true;
}

}  // namespace

int PrintRtasArea(const std::vector<uint8_t>& bytes, const Options& options, std::FILE* out,
                  std::FILE* err) {
  Dump dump{bytes, {}};
  switch (ParseElf(dump, err)) {
    case ElfKind::kNotElf:
      dump.segments.push_back(Segment{options.start, 0, dump.data.size()});
      break;
    case ElfKind::kCore: break;
    case ElfKind::kUnsupported: return 2;
  }

  std::vector<uint64_t> images = Find(dump, "TERNRTAS");
  std::vector<uint64_t> states = Find(dump, "TERNSTAT");
  if (options.base) {
    // Only what lies in this area: [base, base + 4 MiB) is more than any area tern builds.
    auto outside = [&](uint64_t a) { return a < *options.base || a - *options.base >= (4u << 20); };
    std::erase_if(images, outside);
    std::erase_if(states, outside);
  }
  // The image inside tern.bin (the firmware copy at 0) is not an instantiated area.
  std::erase_if(images, [&](uint64_t a) {
    const auto header = dump.Load<rtas::ImageHeader>(a);
    if (!header) return true;
    const auto config = dump.Load<rtas::ImageConfig>(a + header->config.value());
    return !config || config->area_base.value() == 0;
  });
  // The magic also occurs as data (the constant inside the RTAS code): a region starts with a
  // 64-byte header. One that an image's configuration names is always taken.
  std::erase_if(states, [&](uint64_t a) {
    const auto header = dump.Load<rtas::StateHeader>(a);
    return !header || header->header_size.value() != sizeof(rtas::StateHeader);
  });
  // Inside an image (its code, data, .bss and stack: memory_size from its header), the magic is
  // the RTAS's own data, e.g. a header copied to its stack while checking it, not a region.
  std::erase_if(states, [&](uint64_t a) {
    for (uint64_t image : images) {
      const auto header = dump.Load<rtas::ImageHeader>(image);
      if (header && a >= image && a - image < header->memory_size.value()) return true;
    }
    return false;
  });
  for (uint64_t image : images) {
    PrintImage(dump, image, out);
    // Kept above: both the header and the configuration are in the dump.
    const auto header = dump.Load<rtas::ImageHeader>(image);
    const auto config = dump.Load<rtas::ImageConfig>(image + header->config.value());
    const uint64_t state = config->area_base.value() + config->state_offset.value();
    if (dump.At(state, 8) != nullptr &&
        std::find(states.begin(), states.end(), state) == states.end()) {
      states.push_back(state);
    }
  }
  if (states.empty()) {
    std::fprintf(out, "no state region found\n");
    return 1;
  }
  bool ok = true;
  for (uint64_t state : states) ok = PrintState(dump, state, out) && ok;
  return ok ? 0 : 1;
}

}  // namespace rtas_dump
