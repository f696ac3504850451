// spapr-vscsi (dev/vscsi.cc) against the fake host of tests/unit/dev, whose SRP responses the
// input rewrites: any bytes of the SRP_RSP IU and any length the CRQ entry announces, plus a
// target that never answers, stale answers, a refused login. Through Start (CRQ handshake, SRP
// login), the SCSI scan, a disk's bring-up and reads, and the hand-off (ResetForOs). Every DMA
// goes through the fake's TCE table, which records any access to a page tern did not map; the
// time base moves with every read of it, so waits end.
//
// Input: flags (bit 0: the host never answers the handshake; bit 1: it refuses the login; bit 2:
// two stale answers before the next one; bit 3: commands get no answer at all), LUN 1's block
// size index (1 byte: 512, 4096, 520, 0) and block count (4 bytes), then per SRP response a mode
// byte (0: untouched; otherwise an offset (2 bytes), a count (1 byte) and that many bytes written
// into the IU at the offset, then the announced length (2 bytes)).
#include <libfdt.h>

#include <cstring>
#include <memory>
#include <vector>

#include "dev/scsi.h"
#include "dev/vscsi.h"
#include "lib/be.h"
#include "lib/guest-memory.h"
#include "tests/fake-hv.h"
#include "tests/fuzz/fuzz-support.h"
#include "tests/host-cpu.h"
#include "tests/unit/dev/fake-scsi.h"
#include "tests/unit/dev/fake-vscsi.h"

namespace {

constexpr uint64_t kTimebaseHz = 512000000;
constexpr uint64_t kRamSize = 1u << 20;
constexpr uint64_t kWork = 0x2000;
constexpr uint64_t kScratch = 0x8000;
constexpr uint32_t kScratchBytes = 4096;
constexpr uint64_t kBuffer = 0x10000;

// /vdevice/v-scsi@71000003 as QEMU 7.2 makes it.
std::vector<uint8_t> Tree() {
  std::vector<uint8_t> blob(4096);
  void* fdt = blob.data();
  uint8_t window[20];
  lib::StoreBe32(window, tests::FakeVscsiHost::kLiobn);
  lib::StoreBe64(window + 4, 0);
  lib::StoreBe64(window + 12, tests::FakeVscsiHost::kWindowSize);
  if (fdt_create(fdt, static_cast<int>(blob.size())) != 0 || fdt_finish_reservemap(fdt) != 0 ||
      fdt_begin_node(fdt, "") != 0 || fdt_begin_node(fdt, "vdevice") != 0 ||
      fdt_begin_node(fdt, "v-scsi@71000003") != 0 ||
      fdt_property_u32(fdt, "reg", tests::FakeVscsiHost::kUnit) != 0 ||
      fdt_property_string(fdt, "compatible", "IBM,v-scsi") != 0 ||
      fdt_property_u32(fdt, "ibm,#dma-address-cells", 2) != 0 ||
      fdt_property_u32(fdt, "ibm,#dma-size-cells", 2) != 0 ||
      fdt_property(fdt, "ibm,my-dma-window", window, sizeof(window)) != 0 ||
      fdt_end_node(fdt) != 0 || fdt_end_node(fdt) != 0 || fdt_end_node(fdt) != 0 ||
      fdt_finish(fdt) != 0) {
    std::abort();
  }
  return blob;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tests::FakeHypervisor& hv = tests::FakeHypervisor::Get();
  hv.Reset();
  tests::SetTimebase(1000);
  tests::SetTimebaseStep(kTimebaseHz / 100);  // a 10 s command timeout is 1000 polls
  static const std::vector<uint8_t> tree = Tree();
  std::vector<uint8_t> ram(kRamSize);
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size());
  tests::FakeVscsiHost host(hv, memory);

  fuzz::Input input(data, size);
  const uint8_t flags = input.U8();
  host.answer_init = (flags & 1) == 0;
  host.reject_login = (flags & 2) != 0;
  host.stale_answers = (flags & 4) != 0 ? 2 : 0;
  host.silent = (flags & 8) != 0;
  host.stall_ticks = kTimebaseHz;
  constexpr uint32_t kBlockSizes[] = {512, 4096, 520, 0};
  host.bus.Add(0, 0);
  tests::FakeLun lun;
  lun.block_size = kBlockSizes[input.U8() & 3];
  lun.blocks = input.U32();
  host.bus.Add(0, 1, lun);
  host.mangle_response = [&input](std::vector<uint8_t>& iu, uint16_t& length) {
    if (input.U8() == 0) return;
    const uint16_t offset = input.U16();
    const std::vector<uint8_t> bytes = input.Bytes(input.U8());
    for (size_t i = 0; i < bytes.size() && offset + i < iu.size(); ++i) iu[offset + i] = bytes[i];
    length = input.U16();
  };

  auto node =
      dev::ParseVscsiNode(tree.data(), fdt_path_offset(tree.data(), "/vdevice/v-scsi@71000003"));
  if (node.is_error()) std::abort();
  auto driver = std::make_unique<dev::Vscsi>();
  if (driver->Start(node.value(), memory, kWork, dev::kVscsiWorkBytes, kTimebaseHz).is_ok()) {
    static dev::ScsiScan scan;
    dev::ScanScsi(driver->transport(), memory, kScratch, kScratchBytes, kTimebaseHz, "v-scsi",
                  scan);
    for (int i = 0; i < scan.count; ++i) {
      if (scan.units[i].device_type != 0 || !scan.units[i].ready) continue;
      dev::ScsiDisk disk;
      if (disk.Start(driver->transport(), memory, kScratch, kScratchBytes, scan.units[i].target,
                     scan.units[i].lun, kTimebaseHz, "v-scsi-disk")
              .is_error()) {
        continue;
      }
      const uint32_t blocks = disk.disk().block_size <= 4096 ? 4 : 1;
      (void)disk.disk().Read(0, blocks, kBuffer);
    }
  }
  (void)driver->ResetForOs();
  if (driver->mapped_tces() != 0 || !host.tces.empty()) {
    fuzz::Violation("TCEs still mapped after the hand-off");
  }
  for (const std::string& violation : host.violations) fuzz::Violation(violation.c_str());
  return 0;
}

void fuzz::MakeSeeds(Seeds& seeds) {
  std::vector<uint8_t> seed = {0, 0};
  PutU32(seed, 4096);
  seeds.Add("two-luns", seed);
  seed = {0, 1};
  PutU32(seed, 100);
  // The first responses untouched, then one claiming a sense length past the IU.
  for (int i = 0; i < 3; ++i) PutU8(seed, 0);
  PutU8(seed, 1);
  PutU16(seed, 20);
  PutU8(seed, 4);
  PutU32(seed, 0x00ffffff);
  PutU16(seed, 36);
  seeds.Add("mangled-response", seed);
}
