// The hypervisor's answer to ibm,client-architecture-support (KVMPPC_H_CAS: a 4-byte header, then
// an FDT) merged into the live tree, through the client interface as Linux calls it:
// call-method("ibm,client-architecture-support", root instance, Linux 6.1's vector) on the tree
// of tests/data/cas-initial.dts, after which the tree must be consistent (fuzz::CheckTree) and
// flatten, and, when the call refused the answer, be byte for byte what it was before (the merge
// is all or nothing, of/cas.h CasMerge), with the claims as they were. Input: the bytes the fake
// hypervisor writes into the answer buffer.
#include <libfdt.h>

#include <cstring>
#include <vector>

#include "lib/be.h"
#include "lib/hv.h"
#include "tests/fake-hv.h"
#include "tests/fuzz/client-rig.h"
#include "tests/fuzz/fuzz-support.h"
#include "tests/linux-cas-vector.h"

namespace {

using fuzz::ClientRig;

// Writes a prom_args block calling `service` with `args` and `nret` return cells at `block`;
// strings go to `data`. Returns the return cells after Dispatch.
std::vector<uint32_t> Call(ClientRig& rig, const char* service, const std::vector<uint32_t>& args,
                           uint32_t nret) {
  const uint64_t name = ClientRig::kData + 0x10000;
  std::memcpy(rig.Host(name), service, std::strlen(service) + 1);
  uint8_t* block = rig.Host(ClientRig::kBlock);
  lib::StoreBe32(block, static_cast<uint32_t>(name));
  lib::StoreBe32(block + 4, static_cast<uint32_t>(args.size()));
  lib::StoreBe32(block + 8, nret);
  for (size_t i = 0; i < args.size(); ++i) lib::StoreBe32(block + 12 + 4 * i, args[i]);
  (void)rig.client().Dispatch(ClientRig::kBlock);
  std::vector<uint32_t> rets;
  for (uint32_t i = 0; i < nret; ++i) {
    rets.push_back(lib::LoadBe32(block + 12 + 4 * (args.size() + i)));
  }
  return rets;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<uint8_t> initial = fuzz::Fixture("cas-initial");
  ClientRig rig(initial);
  const std::vector<uint8_t> answer(data, data + size);
  tests::FakeHypervisor::Get().overrides[lib::hv::KVMPPC_H_CAS] =
      [&](const tests::FakeHypervisor::Call& call) {
        if (answer.size() > call.args[2] || !rig.memory().Contains(call.args[1], call.args[2])) {
          return lib::hv::HcallReturn{lib::hv::HcallStatus::kParameter, {}};
        }
        if (!answer.empty()) std::memcpy(rig.Host(call.args[1]), answer.data(), answer.size());
        return lib::hv::HcallReturn{lib::hv::HcallStatus::kSuccess, {}};
      };

  // A packed copy of the live tree, to compare before and after.
  auto flat = [&rig] {
    std::vector<uint8_t> out(rig.tree().capacity());
    if (rig.tree().Flatten(out.data(), out.size()).is_error()) fuzz::Violation("flatten failed");
    out.resize(fdt_totalsize(out.data()));
    return out;
  };
  const std::vector<uint8_t> vector = tests::LinuxVector();
  std::memcpy(rig.Host(ClientRig::kData), vector.data(), vector.size());
  const uint64_t slash = ClientRig::kData + 0x20000;
  std::memcpy(rig.Host(slash), "/", 2);
  const uint32_t root_instance = Call(rig, "open", {static_cast<uint32_t>(slash)}, 1)[0];
  const uint64_t method = ClientRig::kData + 0x20010;
  const char kCas[] = "ibm,client-architecture-support";
  std::memcpy(rig.Host(method), kCas, sizeof(kCas));
  const std::vector<uint8_t> before = flat();
  const size_t claims = rig.client().claims().claimed().size();
  const std::vector<uint32_t> rets = Call(
      rig, "call-method",
      {static_cast<uint32_t>(method), root_instance, static_cast<uint32_t>(ClientRig::kData)}, 2);

  fuzz::CheckTree(rig.tree());
  // quiesce flattens the tree for H_UPDATE_DT; the client keeps reading it first.
  const std::vector<uint8_t> after = flat();
  if (rets[1] != 0 && after != before) fuzz::Violation("a refused CAS answer changed the tree");
  if (rig.client().claims().claimed().size() != claims) fuzz::Violation("CAS kept a claim");
  return 0;
}

void fuzz::MakeSeeds(Seeds& seeds) {
  const std::vector<uint8_t> little = {0x01, 0x00, 0x00, 0x00};  // QEMU on a little-endian host
  const std::vector<uint8_t> big = {0x00, 0x00, 0x00, 0x01};
  std::vector<uint8_t> seed = little;
  PutBytes(seed, Fixture("cas-answer"));
  seeds.Add("qemu-answer", seed);
  seed = big;
  PutBytes(seed, Fixture("cas-answer"));
  seeds.Add("qemu-answer-big-endian-header", seed);
  seed = little;
  PutBytes(seed, Fixture("cas-initial"));
  seeds.Add("unchanged-tree", seed);
  seeds.Add("no-update", {0, 0, 0, 0});
}
