// A live tree and a client interface around it as boot/main.cc builds them, for the fuzz targets
// that drive the client interface (client_interface, cas_answer): guest RAM of kRamSize bytes
// with the firmware's footprint protected but for the client stack, the footprint claimed, the
// RTAS area planned around the tree's rtas-size, /chosen prepared. Built anew for every input, so
// that no input sees another's changes.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "lib/arena.h"
#include "lib/be.h"
#include "lib/fdt.h"
#include "lib/guest-memory.h"
#include "of/claims.h"
#include "of/client-interface.h"
#include "of/tree.h"
#include "rtas/instantiate.h"
#include "rtas/layout.h"
#include "tests/fake-hv.h"

namespace fuzz {

// A minimal valid RTAS image (rtas/layout.h): header, configuration, 64 bytes of "code", no
// relocations, 4 KiB in memory.
inline std::vector<uint8_t> MinimalRtasImage() {
  const uint32_t config = sizeof(rtas::ImageHeader);
  const uint32_t code = config + sizeof(rtas::ImageConfig);
  const uint32_t size = code + 64;
  std::vector<uint8_t> image(size);
  auto& header = *reinterpret_cast<rtas::ImageHeader*>(image.data());
  std::memcpy(header.magic, "TERNRTAS", 8);
  header.version = lib::Be32(rtas::kImageHeaderVersion);
  header.entry = lib::Be32(code);
  header.toc = lib::Be32(code);
  header.file_size = lib::Be32(size);
  header.memory_size = lib::Be32(4096);
  header.rela = lib::Be32(size);
  header.rela_end = lib::Be32(size);
  header.config = lib::Be32(config);
  return image;
}

class ClientRig {
 public:
  static constexpr uint64_t kRamSize = 64ull << 20;
  static constexpr uint64_t kFirmwareEnd = 0x400000;
  static constexpr uint64_t kStackBottom = 0x300000;
  static constexpr uint64_t kStackTop = 0x310000;
  static constexpr uint64_t kBlock = kStackTop - 0x100;  // prom_args on the client stack
  static constexpr uint64_t kData = 0x1000000;           // client memory for strings, buffers
  static constexpr uint64_t kConsoleUnit = 0x71000000;
  static constexpr uint64_t kTimebaseFrequency = 512000000;
  // boot/main.cc gives CAS QEMU's FDT_MAX_SIZE (2 MiB); a quarter of it keeps each input fast and
  // still holds any answer the fuzzer writes.
  static constexpr uint64_t kCasBufferSize = 512u << 10;

  // Guest RAM is mapped once; each rig drops the pages the last input touched, so every input
  // starts from zeroed RAM (pages reappear, zeroed, as they are touched).
  static uint8_t* Ram() {
    static uint8_t* ram = [] {
      void* mapped = mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (mapped == MAP_FAILED) std::abort();
      return static_cast<uint8_t*>(mapped);
    }();
    return ram;
  }

  // Builds the rig on `tree_blob` (a dtc fixture); false when the tree cannot be prepared, which
  // is a fixture error.
  explicit ClientRig(const std::vector<uint8_t>& tree_blob)
      : arena_memory_(8u << 20),
        arena_(reinterpret_cast<uintptr_t>(arena_memory_.data()),
               reinterpret_cast<uintptr_t>(arena_memory_.data()) + arena_memory_.size()),
        memory_(reinterpret_cast<uintptr_t>(Ram()), kRamSize),
        claims_(kRamSize),
        rtas_image_(MinimalRtasImage()) {
    tests::FakeHypervisor::Get().Reset();
    if (madvise(Ram(), kRamSize, MADV_DONTNEED) != 0) std::abort();
    if (!memory_.Protect(0, kStackBottom) ||
        !memory_.Protect(kStackTop, kFirmwareEnd - kStackTop) ||
        claims_.Claim(0, kFirmwareEnd, 0).is_error()) {
      std::abort();
    }
    if (tree_.Init(tree_blob.data(), arena_, 64 * 1024).is_error()) std::abort();
    const of::Phandle rtas_node = tree_.FindDevice("/rtas");
    auto rtas_size = lib::fdt::PropertyU32(tree_.blob(), tree_.OffsetOf(rtas_node), "rtas-size");
    if (rtas_node == 0 || rtas_size.is_error()) std::abort();
    auto plan = rtas::PlanArea({rtas_image_.data(), rtas_image_.size()}, rtas_size.value());
    if (plan.is_error()) std::abort();
    rtas_inputs_.image = lib::Span<const uint8_t>(rtas_image_.data(), rtas_image_.size());
    rtas_inputs_.plan = plan.value();
    rtas_inputs_.ram_top = kRamSize;
    rtas_inputs_.console_unit = kConsoleUnit;
    rtas_inputs_.tokens = rtas_tokens_;
    rtas_inputs_.token_count = 2;
    rtas_inputs_.timebase_frequency = kTimebaseFrequency;
    of::ClientConfig config;
    config.console_unit = kConsoleUnit;
    config.timebase_frequency = kTimebaseFrequency;
    config.cas_buffer_size = kCasBufferSize;
    config.rtas = &rtas_inputs_;
    client_ = std::make_unique<of::ClientInterface>(tree_, memory_, claims_, config);
    const of::Phandle console = tree_.FindDevice("/vdevice/vty@71000000");
    if (client_->Prepare(console).is_error()) std::abort();
  }

  of::ClientInterface& client() { return *client_; }
  of::Tree& tree() { return tree_; }
  lib::GuestMemory& memory() { return memory_; }
  uint8_t* Host(uint64_t address) { return Ram() + address; }

 private:
  std::vector<uint8_t> arena_memory_;
  lib::Arena arena_;
  lib::GuestMemory memory_;
  of::ClaimMap claims_;
  std::vector<uint8_t> rtas_image_;
  const uint32_t rtas_tokens_[2] = {0x2003, 0x2007};
  rtas::InstantiateInputs rtas_inputs_{};
  of::Tree tree_;
  std::unique_ptr<of::ClientInterface> client_;
};

}  // namespace fuzz
