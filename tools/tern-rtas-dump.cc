// tern-rtas-dump: reads tern's RTAS area out of a guest memory dump and prints it.
//
// It finds the RTAS image ("TERNRTAS") and the state region ("TERNSTAT", rtas/state-region.h) by
// searching the dump, or at --base, and prints the image's configuration, the state header with
// its checks, the walk slots and the per-service call statistics. Host tool; see --help.
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "drc/walk-slot.h"
#include "lib/be.h"
#include "rtas/layout.h"
#include "rtas/services.h"
#include "rtas/state-region.h"

// The version string of the firmware built beside it (BUILD/version.h, -include'd by the Makefile).
#ifndef TERN_VERSION_STRING
#error "build tern-rtas-dump through the Makefile, which passes -include BUILD/version.h"
#endif

namespace {

constexpr const char* kUsage = R"(usage: tern-rtas-dump [--base ADDR] [--start ADDR] DUMP

Prints tern's RTAS area from a guest memory dump: the RTAS image's configuration, the state
region's header and checks, the configure-connector walk slots and per-service call statistics.

DUMP is either
  - a raw dump, as QEMU's monitor writes with `pmemsave ADDR SIZE FILE`; --start ADDR tells which
    guest address its first byte is (default 0), or
  - an ELF core, as `dump-guest-memory FILE` writes (guest addresses from its program headers).

  --base ADDR   the RTAS area's base (/rtas/linux,rtas-base); without it the dump is searched for
                the image and state-region magics
  --start ADDR  guest address of a raw dump's first byte
  --version     print the tern version this tool was built with (the firmware banner's) and exit
  --help        this text

Exit status: 0 when a state region was found and passed its checks, 1 when none was found or one
failed its checks, 2 on usage or I/O errors.
)";

struct Segment {
  uint64_t guest;  // guest physical address of data[offset]
  size_t offset;
  size_t size;
};

struct Dump {
  std::vector<uint8_t> data;
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
};

uint16_t Be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// ELF64 big-endian core from dump-guest-memory: PT_LOAD segments give guest physical addresses.
bool ParseElf(Dump& dump) {
  const std::vector<uint8_t>& d = dump.data;
  if (d.size() < 64 || std::memcmp(d.data(),
                                   "\x7f"
                                   "ELF",
                                   4) != 0)
    return false;
  if (d[4] != 2 || d[5] != 2) {
    std::fprintf(stderr, "tern-rtas-dump: only big-endian ELF64 cores are supported\n");
    std::exit(2);
  }
  const uint64_t phoff = lib::LoadBe64(&d[32]);
  const uint16_t phentsize = Be16(&d[54]);
  const uint16_t phnum = Be16(&d[56]);
  for (uint16_t i = 0; i < phnum; ++i) {
    const uint64_t at = phoff + uint64_t{i} * phentsize;
    if (at + 56 > d.size()) break;
    const uint8_t* ph = &d[at];
    if (lib::LoadBe32(ph) != 1) continue;  // PT_LOAD
    const uint64_t offset = lib::LoadBe64(ph + 8);
    const uint64_t paddr = lib::LoadBe64(ph + 24);
    const uint64_t filesz = lib::LoadBe64(ph + 32);
    if (offset > d.size() || filesz > d.size() - offset) continue;
    dump.segments.push_back(
        Segment{paddr, static_cast<size_t>(offset), static_cast<size_t>(filesz)});
  }
  return true;
}

std::optional<uint64_t> ParseNumber(const char* text) {
  errno = 0;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0') return std::nullopt;
  return value;
}

// Guest addresses of every 8-aligned occurrence of `magic` in the dump.
std::vector<uint64_t> Find(const Dump& dump, const char (&magic)[9]) {
  std::vector<uint64_t> found;
  for (const Segment& s : dump.segments) {
    for (size_t i = 0; i + 8 <= s.size; i += 8) {
      if (std::memcmp(&dump.data[s.offset + i], magic, 8) == 0) found.push_back(s.guest + i);
    }
  }
  return found;
}

void PrintImage(const Dump& dump, uint64_t address) {
  const uint8_t* p = dump.At(address, sizeof(rtas::ImageHeader));
  const auto& header = *reinterpret_cast<const rtas::ImageHeader*>(p);
  std::printf("RTAS image at 0x%" PRIx64 ": header v%u, %u bytes, %u in memory, entry +0x%x\n",
              address, header.version.value(), header.file_size.value(), header.memory_size.value(),
              header.entry.value());
  const uint8_t* c = dump.At(address + header.config.value(), sizeof(rtas::ImageConfig));
  if (c == nullptr) return;
  const auto& config = *reinterpret_cast<const rtas::ImageConfig*>(c);
  std::printf("  area base 0x%" PRIx64 ", RAM top 0x%" PRIx64 ", console 0x%" PRIx64
              ", state at +0x%x (%u bytes), %u services\n",
              config.area_base.value(), config.ram_top.value(), config.console_unit.value(),
              config.state_offset.value(), config.state_size.value(), config.service_count.value());
}

// Prints the region at `address`; true when it passed its checks.
// The walk's snapshot record by record, each checked as the RTAS checks it before serving it.
void PrintRecords(const uint8_t* region, uint32_t size, const drc::WalkSlot& walk) {
  const uint64_t end = uint64_t{walk.snapshot_offset.value()} + walk.snapshot_size.value();
  if (walk.snapshot_size.value() == 0 || end > size) return;
  const lib::Span<const uint8_t> snapshot(region + walk.snapshot_offset.value(),
                                          walk.snapshot_size.value());
  uint32_t counts[3] = {};  // nodes, properties, ends
  uint32_t at = 0;
  while (at < snapshot.size()) {
    auto record = drc::ReadRecord(snapshot, at);
    if (record.is_error()) {
      std::printf("    record at +%u: %s\n", at, drc::RecordErrorName(record.error()));
      return;
    }
    ++counts[record.value().tag == drc::kNode ? 0 : record.value().tag == drc::kProperty ? 1 : 2];
    at += record.value().size;
  }
  std::printf("    records intact: %u nodes, %u properties, %u ends\n", counts[0], counts[1],
              counts[2]);
}

bool PrintState(const Dump& dump, uint64_t address) {
  const uint8_t* p = dump.At(address, sizeof(rtas::StateHeader));
  const auto& header = *reinterpret_cast<const rtas::StateHeader*>(p);
  const uint32_t size = header.region_size.value();
  const uint8_t* region = dump.At(address, size);
  std::printf("state region at 0x%" PRIx64
              ": layout v%u, %u bytes, generation %u, "
              "checksum 0x%08x, instantiated %u time(s)\n",
              address, header.layout_version.value(), size, header.generation.value(),
              header.checksum.value(), header.instantiations.value());
  if (region == nullptr) {
    std::printf("  the dump does not hold the whole region\n");
    return false;
  }
  auto checked = rtas::CheckStateRegion(lib::Span<const uint8_t>(region, size));
  std::printf("  checks: %s\n", checked.is_ok() ? "ok" : rtas::StateErrorName(checked.error()));
  if (checked.is_error()) return false;

  const uint32_t slots = header.slot_count.value();
  uint32_t used = 0;
  for (uint32_t i = 0; i < slots; ++i) {
    const uint8_t* slot = region + header.slots_offset.value() + i * header.slot_size.value();
    const auto& walk = *reinterpret_cast<const drc::WalkSlot*>(slot);
    if (walk.state.value() == static_cast<uint32_t>(drc::WalkState::kFree)) continue;
    ++used;
    const auto slot_checked = rtas::CheckSlot(lib::Span<const uint8_t>(region, size), i);
    std::printf("  slot %u: DRC 0x%08x %s, cookie 0x%08x, last use %u, checksum %s\n", i,
                walk.drc_index.value(), drc::WalkStateName(walk.state.value()), walk.cookie.value(),
                walk.last_use.value(),
                slot_checked.is_ok() ? "ok" : rtas::StateErrorName(slot_checked.error()));
    std::printf(
        "    snapshot %u of %u bytes at +0x%x, %u dropped; cursor %u, depth %u, "
        "%u answers; host walk: %u steps, depth %u, %u replay(s)\n",
        walk.snapshot_size.value(), walk.snapshot_capacity.value(), walk.snapshot_offset.value(),
        walk.dropped.value(), walk.cursor.value(), walk.depth.value(), walk.served.value(),
        walk.host_steps.value(), walk.host_depth.value(), walk.replays.value());
    if (slot_checked.is_ok()) PrintRecords(region, size, walk);
  }
  std::printf("  walk slots: %u of %u in use\n", used, slots);

  const auto services = rtas::Services();
  const auto* stats =
      reinterpret_cast<const rtas::ServiceStats*>(region + header.stats_offset.value());
  std::printf("  calls by service (calls, last status):\n");
  for (uint32_t i = 0; i < header.stats_count.value() && i < services.size(); ++i) {
    if (stats[i].calls.value() == 0) continue;
    std::printf("    %-34s %8u %6d\n", services[i].name, stats[i].calls.value(),
                static_cast<int32_t>(stats[i].last_status.value()));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<uint64_t> base;
  uint64_t start = 0;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("tern-rtas-dump %s\n", TERN_VERSION_STRING);
      return 0;
    }
    if ((arg == "--base" || arg == "--start") && i + 1 < argc) {
      auto value = ParseNumber(argv[++i]);
      if (!value) {
        std::fprintf(stderr, "tern-rtas-dump: bad address '%s'\n", argv[i]);
        return 2;
      }
      if (arg == "--base") {
        base = value;
      } else {
        start = *value;
      }
      continue;
    }
    if (arg[0] == '-' || path != nullptr) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    path = argv[i];
  }
  if (path == nullptr) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "tern-rtas-dump: cannot read %s: %s\n", path, std::strerror(errno));
    return 2;
  }
  Dump dump;
  dump.data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!ParseElf(dump)) dump.segments.push_back(Segment{start, 0, dump.data.size()});

  std::vector<uint64_t> images = Find(dump, "TERNRTAS");
  std::vector<uint64_t> states = Find(dump, "TERNSTAT");
  if (base) {
    // Only what lies in this area: [base, base + 4 MiB) is more than any area tern builds.
    auto outside = [&](uint64_t a) { return a < *base || a - *base >= (4u << 20); };
    std::erase_if(images, outside);
    std::erase_if(states, outside);
  }
  // The image inside tern.bin (the firmware copy at 0) is not an instantiated area.
  std::erase_if(images, [&](uint64_t a) {
    const uint8_t* h = dump.At(a, sizeof(rtas::ImageHeader));
    if (h == nullptr) return true;
    const auto& header = *reinterpret_cast<const rtas::ImageHeader*>(h);
    const uint8_t* c = dump.At(a + header.config.value(), sizeof(rtas::ImageConfig));
    return c == nullptr || reinterpret_cast<const rtas::ImageConfig*>(c)->area_base.value() == 0;
  });
  // The magic also occurs as data (the constant inside the RTAS code): a region starts with a
  // 64-byte header. One that an image's configuration names is always taken.
  std::erase_if(states, [&](uint64_t a) {
    const uint8_t* h = dump.At(a, sizeof(rtas::StateHeader));
    return h == nullptr || reinterpret_cast<const rtas::StateHeader*>(h)->header_size.value() !=
                               sizeof(rtas::StateHeader);
  });
  for (uint64_t image : images) {
    PrintImage(dump, image);
    const auto& header =
        *reinterpret_cast<const rtas::ImageHeader*>(dump.At(image, sizeof(rtas::ImageHeader)));
    const auto& config = *reinterpret_cast<const rtas::ImageConfig*>(
        dump.At(image + header.config.value(), sizeof(rtas::ImageConfig)));
    const uint64_t state = config.area_base.value() + config.state_offset.value();
    if (dump.At(state, 8) != nullptr &&
        std::find(states.begin(), states.end(), state) == states.end()) {
      states.push_back(state);
    }
  }
  if (states.empty()) {
    std::printf("no state region found\n");
    return 1;
  }
  bool ok = true;
  for (uint64_t state : states) ok = PrintState(dump, state) && ok;
  return ok ? 0 : 1;
}
