// drc::FdtToRecords (drc/fdt-records.cc): a DRC's fragment as a host returns it through
// KVMPPC_H_DRC_FDT, converted into the snapshot records the configure-connector walk serves the
// OS from. The fragment and the output are exact-size heap buffers (AddressSanitizer catches any
// access past them), and records it accepts must be well formed and fit the OS's 4 KiB work area
// (drc/work-area.h: names from kDataOffset on; a property's value after its name), since the walk
// copies each one there. Input: the output capacity (2 bytes), then the fragment.
#include <libfdt.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <memory>
#include <vector>

#include "drc/fdt-records.h"
#include "drc/snapshot-records.h"
#include "drc/walk-slot.h"
#include "drc/work-area.h"
#include "lib/be.h"
#include "tests/fuzz/fuzz-support.h"

namespace {

// Walks the records in [records, records + size) as the walker reads them (drc::ReadRecord: their
// framing and CRC); aborts on a malformed stream or one that does not fit the work area.
void CheckRecords(const uint8_t* records, uint32_t size) {
  const lib::Span<const uint8_t> snapshot(records, size);
  uint32_t at = 0;
  int depth = 0;
  int nodes = 0;
  while (at < size) {
    auto read = drc::ReadRecord(snapshot, at);
    if (read.is_error()) fuzz::Violation(drc::RecordErrorName(read.error()));
    const drc::Record& record = read.value();
    if (record.tag == drc::kNode) {
      if (drc::kDataOffset + record.name_size > drc::kWorkAreaSize) {
        fuzz::Violation("NODE name does not fit the work area");
      }
      if (depth == 0 && nodes > 0) fuzz::Violation("a second top-level node");
      ++depth;
      ++nodes;
    } else if (record.tag == drc::kProperty) {
      if (depth == 0) fuzz::Violation("PROP outside a node");
      if (uint64_t{drc::kDataOffset} + record.name_size + record.value_size > drc::kWorkAreaSize) {
        fuzz::Violation("PROP does not fit the work area");
      }
    } else {
      if (depth == 0) fuzz::Violation("END without a node");
      --depth;
    }
    at += record.size;
  }
  if (depth != 0 || nodes == 0) fuzz::Violation("records do not close the fragment");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input input(data, size);
  const uint32_t capacity = input.U16();
  const std::vector<uint8_t> fragment_bytes = input.Rest();
  const uint32_t fragment_size = static_cast<uint32_t>(fragment_bytes.size());
  std::unique_ptr<uint8_t[]> fragment(new uint8_t[fragment_size + 1]);
  std::copy(fragment_bytes.begin(), fragment_bytes.end(), fragment.get());
  std::unique_ptr<uint8_t[]> out(new uint8_t[capacity + 1]);
  auto records = drc::FdtToRecords(fragment.get(), fragment_size, out.get(), capacity);
  if (records.is_ok()) {
    if (records.value() > capacity) fuzz::Violation("records larger than the output");
    CheckRecords(out.get(), records.value());
  }
  return 0;
}

namespace {

// A fragment as a host returns it (docs/host-abi.md): an unnamed root holding the DRC's node, here
// with a name of `name_length` characters and one property of `value_length` bytes.
std::vector<uint8_t> Fragment(size_t name_length, size_t value_length) {
  std::vector<uint8_t> blob(16384);
  void* fdt = blob.data();
  const std::string name(name_length, 'n');
  const std::vector<uint8_t> value(value_length, 0x5a);
  if (fdt_create(fdt, static_cast<int>(blob.size())) != 0 || fdt_finish_reservemap(fdt) != 0 ||
      fdt_begin_node(fdt, "") != 0 || fdt_begin_node(fdt, name.c_str()) != 0 ||
      fdt_property_u32(fdt, "ibm,my-drc-index", 0x10000008) != 0 ||
      fdt_property(fdt, "blob", value.data(), static_cast<int>(value.size())) != 0 ||
      fdt_begin_node(fdt, "l2-cache@2008") != 0 || fdt_end_node(fdt) != 0 ||
      fdt_end_node(fdt) != 0 || fdt_end_node(fdt) != 0 || fdt_finish(fdt) != 0) {
    std::abort();
  }
  blob.resize(fdt_totalsize(fdt));
  return blob;
}

}  // namespace

void fuzz::MakeSeeds(Seeds& seeds) {
  // Names and values near the 4 KiB work area's limits.
  std::vector<uint8_t> seed;
  PutU16(seed, 16384);
  PutBytes(seed, Fragment(4000, 16));
  seeds.Add("long-node-name", seed);
  seed.clear();
  PutU16(seed, 16384);
  PutBytes(seed, Fragment(14, 4000));
  seeds.Add("big-property", seed);
  // dtc's output for the fixtures: a root holding the fragment node, as a host returns it.
  for (const char* name : {"drc-cpu-core", "drc-pci-bridge", "drc-deep", "drc-tree"}) {
    std::vector<uint8_t> seed;
    PutU16(seed, 16384);
    PutBytes(seed, Fixture(name));
    seeds.Add(name, seed);
  }
}
