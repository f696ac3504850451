// A live tree and a client interface around it as boot/main.cc builds them, for the fuzz targets
// that drive the client interface (client_interface, cas_answer): guest RAM of kRamSize bytes
// with the firmware's footprint protected but for the client stack, the footprint claimed, the
// RTAS area planned around the tree's rtas-size, /chosen prepared. Built anew for every input, so
// that no input sees another's changes.
#pragma once

#include <libfdt.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "block/device.h"
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
#include "tests/fuzz/fuzz-support.h"
#include "tests/host-fixtures.h"

namespace fuzz {

class ClientRig {
 public:
  // A small machine: a client may write or read all of guest RAM in one call, and each input
  // must stay fast. The firmware's footprint as boot/main.cc protects it, scaled down.
  static constexpr uint64_t kRamSize = 8ull << 20;
  static constexpr uint64_t kFirmwareEnd = 0x100000;
  static constexpr uint64_t kStackBottom = 0xc0000;
  static constexpr uint64_t kStackTop = 0xd0000;
  static constexpr uint64_t kBlock = kStackTop - 0x100;  // prom_args on the client stack
  static constexpr uint64_t kData = 0x400000;            // client memory for strings, buffers
  static constexpr uint64_t kConsoleUnit = 0x71000000;
  static constexpr uint64_t kTimebaseFrequency = 512000000;
  // boot/main.cc gives CAS QEMU's FDT_MAX_SIZE (2 MiB); the answer is moved and checked in the
  // whole buffer, so a smaller one keeps each input fast, and still holds any answer a fuzzer
  // writes (libFuzzer's inputs stay below it unless -max_len says otherwise).
  static constexpr uint64_t kCasBufferSize = 64u << 10;

  // Guest RAM is mapped once; each rig drops the pages the last input touched, so every input
  // starts from zeroed RAM (pages reappear, zeroed, as they are touched).
  static uint8_t* Ram() {
    static uint8_t* ram = [] {
      uint8_t* mapped = tests::MapGuestRam(kRamSize);
      if (mapped == nullptr) std::abort();
      return mapped;
    }();
    return ram;
  }

  // The firmware arena the live tree grows in, reused by every rig.
  static constexpr size_t kArenaSize = 8u << 20;
  static uint8_t* ArenaMemory() {
    static uint8_t* memory = new uint8_t[kArenaSize];
    return memory;
  }

  // The disk of a rig built with_disk: /pci@800000020000000/scsi@2 (alias "disk"), kDiskBlocks
  // blocks of 512 bytes whose every byte is its offset's low byte plus its block number, but for
  // block 0, an MBR whose partition N (1 to 4) is blocks [16 N, 16 N + 16).
  static constexpr uint64_t kDiskBlocks = 256;
  static lib::Result<void, block::IoError> ReadDisk(void*, uint64_t lba, uint32_t count,
                                                    uint64_t buffer) {
    // `buffer` is a real address: on the host, the firmware's bounce buffer itself.
    auto* out = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(buffer));
    for (uint64_t i = 0; i < uint64_t{count} * 512; ++i) {
      out[i] = static_cast<uint8_t>(i + lba + i / 512);
    }
    if (lba == 0 && count > 0) {
      std::memset(out + 446, 0, 64);
      for (uint32_t n = 1; n <= 4; ++n) {
        uint8_t* entry = out + 446 + 16 * (n - 1);
        entry[4] = 0x83;
        lib::StoreLe32(entry + 8, 16 * n);
        lib::StoreLe32(entry + 12, 16);
      }
      out[510] = 0x55;
      out[511] = 0xaa;
    }
    return lib::Ok<block::IoError>();
  }

  // Builds the rig on `tree_blob` (a dtc fixture that has /rtas rtas-size and
  // /vdevice/vty@71000000); aborts when that cannot be done, which is a fixture error.
  explicit ClientRig(const std::vector<uint8_t>& tree_blob, bool with_disk = false)
      : arena_(reinterpret_cast<uintptr_t>(ArenaMemory()),
               reinterpret_cast<uintptr_t>(ArenaMemory()) + kArenaSize),
        memory_(reinterpret_cast<uintptr_t>(Ram()), kRamSize),
        claims_(kRamSize),
        rtas_image_(tests::MinimalRtasImage()) {
    tests::FakeHypervisor& hv = tests::FakeHypervisor::Get();
    hv.Reset();
    // The console takes everything and keeps nothing: a client may write all of RAM to it.
    hv.record_calls = false;
    hv.overrides[lib::hv::H_PUT_TERM_CHAR] = [](const tests::FakeHypervisor::Call&) {
      return lib::hv::HcallReturn{lib::hv::HcallStatus::kSuccess, {}};
    };
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
    if (with_disk) {
      const of::Phandle pci = tree_.FindDevice("/pci@800000020000000");
      auto node = pci == 0 ? lib::Result<of::Phandle, lib::fdt::FdtError>(
                                 lib::Err(lib::fdt::FdtError::kNotFound))
                           : tree_.AddNode(pci, "scsi@2", 0);
      auto aliases = tree_.AddNode(tree_.Root(), "aliases", 0);
      const char path[] = "/pci@800000020000000/scsi@2";
      if (node.is_error() || aliases.is_error() ||
          tree_.SetProperty(aliases.value(), "disk", path, sizeof(path)).is_error()) {
        std::abort();
      }
      disk_device_.block_size = 512;
      disk_device_.blocks = kDiskBlocks;
      disk_device_.max_transfer_blocks = 128;
      disk_device_.read = ReadDisk;
      bindings_[0] = of::Binding{node.value(), of::PackageForType("block"), &disk_device_};
      if (bindings_[0].package == nullptr) std::abort();
      config.bindings = lib::Span<const of::Binding>(bindings_, 1);
    }
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
  lib::Arena arena_;
  lib::GuestMemory memory_;
  of::ClaimMap claims_;
  std::vector<uint8_t> rtas_image_;
  const uint32_t rtas_tokens_[2] = {0x2003, 0x2007};
  rtas::InstantiateInputs rtas_inputs_{};
  of::Tree tree_;
  block::Device disk_device_;
  of::Binding bindings_[1];
  std::unique_ptr<of::ClientInterface> client_;
};

// The live tree's index agrees with its blob: every node of the blob has a distinct nonzero
// phandle that leads back to it, the Child/Peer walk visits the blob's nodes in depth-first
// order with the right parents, and every node has a path. A tree that fails
// this after an operation that reported success would misroute every later client call.
inline void CheckTree(const of::Tree& tree) {
  const void* blob = tree.blob();
  if (lib::fdt::CheckBlob(blob, fdt_totalsize(blob)).is_error()) Violation("tree blob invalid");
  std::vector<of::Phandle> in_blob;
  for (int offset = 0; offset >= 0; offset = fdt_next_node(blob, offset, nullptr)) {
    const of::Phandle phandle = fdt_get_phandle(blob, offset);
    if (phandle == 0 || tree.OffsetOf(phandle) != offset || tree.PhandleAt(offset) != phandle) {
      Violation("a node's phandle does not lead back to it");
    }
    in_blob.push_back(phandle);
  }
  if (tree.node_count() != in_blob.size()) Violation("node count differs from the blob");
  std::vector<of::Phandle> walked;
  std::vector<of::Phandle> stack{tree.Root()};
  while (!stack.empty()) {
    const of::Phandle node = stack.back();
    stack.pop_back();
    walked.push_back(node);
    if (walked.size() > in_blob.size()) Violation("the Child/Peer walk does not end");
    std::vector<of::Phandle> children;
    for (of::Phandle child = tree.Child(node); child != 0; child = tree.Peer(child)) {
      if (tree.Parent(child) != node) Violation("a child's parent is another node");
      children.push_back(child);
      if (children.size() > in_blob.size()) Violation("a child list does not end");
    }
    stack.insert(stack.end(), children.rbegin(), children.rend());
  }
  if (walked != in_blob) Violation("the Child/Peer walk differs from the blob's order");
  // Path look-ups walk the same Child/Peer lists, so they need no check of their own (and the
  // hypervisor's names may repeat, or hold ':' or upper-case unit addresses, which a look-up reads
  // differently from the name [IEEE 1275 4.3.1]); every path must still be writable.
  for (of::Phandle node : in_blob) {
    char path[1024];
    if (tree.Path(node, path, sizeof(path)).is_error()) Violation("a node has no path");
  }
}

}  // namespace fuzz
