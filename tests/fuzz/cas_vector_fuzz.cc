// The OS's ibm,client-architecture-support vector [LoPAPR B.5.2] through of::CheckCasVector, the
// check that keeps vectors QEMU would exit on away from the hypervisor. The vector ends exactly at
// the end of guest RAM (an exact-size heap buffer), so a read past what GuestMemory validated is
// an AddressSanitizer report. Input: a length byte and that many bytes of
// ibm,arch-vec-5-platform-support, an offset byte (where the vector starts), then guest RAM.
#include <algorithm>
#include <memory>
#include <vector>

#include "lib/guest-memory.h"
#include "of/cas.h"
#include "tests/fuzz/fuzz-support.h"
#include "tests/linux-cas-vector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input input(data, size);
  const std::vector<uint8_t> support = input.Bytes(input.U8());
  const uint8_t offset = input.U8();
  const std::vector<uint8_t> rest = input.Rest();
  // Heap storage of exactly the RAM's size (a vector's data would be nullptr when empty).
  std::unique_ptr<uint8_t[]> ram(new uint8_t[rest.size() + 1]);
  std::copy(rest.begin(), rest.end(), ram.get());
  const lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.get()), rest.size());
  auto info =
      of::CheckCasVector(memory, offset, lib::Span<const uint8_t>(support.data(), support.size()));
  if (info.is_ok() && offset + info.value().size > rest.size()) {
    fuzz::Violation("the vector's size reaches past guest RAM");
  }
  return 0;
}

void fuzz::MakeSeeds(Seeds& seeds) {
  const std::vector<uint8_t> qemu_support = {0x17, 0x80, 0x18, 0xc0, 0x19, 0x00, 0x1a, 0x40};
  auto seed = [&](const std::vector<uint8_t>& support, const std::vector<uint8_t>& vector) {
    std::vector<uint8_t> out;
    PutU8(out, static_cast<uint8_t>(support.size()));
    PutBytes(out, support);
    PutU8(out, 0);
    PutBytes(out, vector);
    return out;
  };
  seeds.Add("linux-xive-radix", seed(qemu_support, tests::LinuxVector(0x40, 0x40)));
  seeds.Add("linux-xics-hash", seed(qemu_support, tests::LinuxVector(0x00, 0x00)));
  seeds.Add("xics-only-platform", seed({0x17, 0x00, 0x18, 0x00}, tests::LinuxVector(0x40, 0x00)));
  seeds.Add("mmu-both", seed({}, tests::LinuxVector(0x00, 0x80)));
}
