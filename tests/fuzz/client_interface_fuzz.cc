// The IEEE 1275 client interface (of/client-interface.cc): sequences of argument blocks through
// ClientInterface::Dispatch, against the live tree of tests/data/cas-initial.dts with a disk, as
// an OS or a boot loader calls it. Every address in a block is the fuzzer's; the invariant is that
// tern answers (with -1 or an error in the return cells) and reads and writes only the guest RAM
// it validated, and that the tree stays consistent (fuzz::CheckTree).
//
// Input: a call count byte, then per call: a service byte (an index into of::ClientServices(); a
// larger value names the service by the address in the next 4 bytes), an nargs byte and an nret
// byte (bit 7 set: the service's own count, plus the low 2 bits for the variadic ones; else the
// low 5 bits, which may exceed what blocks hold), then nargs 4-byte argument cells. The rest of
// the input is copied to guest address ClientRig::kData, where the seeds point strings and
// buffers. Blocks sit on the client stack (ClientRig::kBlock); nargs byte 0xff puts the block at
// the address in the next 4 bytes instead. "exit" is never called: it halts the machine.
#include <cstring>
#include <vector>

#include "lib/be.h"
#include "of/client-interface.h"
#include "tests/fuzz/client-rig.h"
#include "tests/fuzz/fuzz-support.h"

namespace {

using fuzz::ClientRig;

constexpr int kMaxCalls = 24;
constexpr uint64_t kMaxDataBytes = 1u << 20;

uint32_t Count(uint8_t byte, int8_t declared) {
  if ((byte & 0x80) == 0) return byte & 0x1f;
  const uint32_t base = static_cast<uint32_t>(declared < 0 ? -declared : declared);
  return base + (declared < 0 ? (byte & 0x3) : 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<uint8_t> initial = fuzz::Fixture("cas-initial");
  ClientRig rig(initial, true);
  const auto services = of::ClientServices();
  fuzz::Input input(data, size);
  struct Planned {
    uint32_t name;
    bool custom_block;
    uint64_t block;
    uint32_t nargs;
    uint32_t nret;
    std::vector<uint32_t> args;
  };
  std::vector<Planned> calls;
  const int count = input.U8() % (kMaxCalls + 1);
  // Service names live after the data the input brings.
  const uint64_t names = ClientRig::kData + kMaxDataBytes;
  uint64_t next_name = names;
  for (int i = 0; i < count && !input.empty(); ++i) {
    Planned call{};
    const uint8_t service = input.U8();
    int8_t nargs = 0;
    int8_t nret = 0;
    if (service < services.size()) {
      const char* name = services[service].name;
      if (std::strcmp(name, "exit") == 0) continue;
      nargs = services[service].nargs;
      nret = services[service].nret;
      std::memcpy(rig.Host(next_name), name, std::strlen(name) + 1);
      call.name = static_cast<uint32_t>(next_name);
      next_name += std::strlen(name) + 1;
    } else {
      call.name = input.U32();
    }
    const uint8_t nargs_byte = input.U8();
    if (nargs_byte == 0xff) {
      call.custom_block = true;
      call.block = input.U32();
      call.nargs = input.U8() & 0x1f;
    } else {
      call.nargs = Count(nargs_byte, nargs);
    }
    call.nret = Count(input.U8(), nret);
    for (uint32_t a = 0; a < call.nargs; ++a) call.args.push_back(input.U32());
    calls.push_back(call);
  }
  const std::vector<uint8_t> bytes = input.Bytes(kMaxDataBytes);
  if (!bytes.empty()) std::memcpy(rig.Host(ClientRig::kData), bytes.data(), bytes.size());

  for (const Planned& call : calls) {
    const uint64_t block = call.custom_block ? call.block : ClientRig::kBlock;
    // A block the fuzzer placed is written only where guest RAM has room for it.
    const uint64_t bytes_needed = 12 + 4 * (uint64_t{call.nargs} + call.nret);
    if (rig.memory().Contains(block, bytes_needed)) {
      uint8_t* p = rig.Host(block);
      lib::StoreBe32(p, call.name);
      lib::StoreBe32(p + 4, call.nargs);
      lib::StoreBe32(p + 8, call.nret);
      for (size_t a = 0; a < call.args.size(); ++a) lib::StoreBe32(p + 12 + 4 * a, call.args[a]);
    }
    // The name the block names, as tern will read it: "exit" halts by design.
    char name[64] = {};
    if (rig.memory().ReadString(call.name, name, sizeof(name)).is_ok() &&
        std::strcmp(name, "exit") == 0) {
      continue;
    }
    (void)rig.client().Dispatch(block);
  }
  fuzz::CheckTree(rig.tree());
  return 0;
}

namespace {

// Seeds are call sequences with their data; addresses point into ClientRig::kData.
class SeedBuilder {
 public:
  // A string in the data area; returns its guest address.
  uint32_t String(const std::string& text) {
    const uint32_t address = static_cast<uint32_t>(ClientRig::kData + data_.size());
    data_.insert(data_.end(), text.begin(), text.end());
    data_.push_back(0);
    while (data_.size() % 8 != 0) data_.push_back(0);
    return address;
  }
  uint32_t Buffer(size_t size) {
    const uint32_t address = static_cast<uint32_t>(ClientRig::kData + data_.size());
    data_.resize(data_.size() + size + 8);
    return address;
  }
  void Call(const char* service, const std::vector<uint32_t>& args, uint32_t nret) {
    const auto services = of::ClientServices();
    uint8_t index = 0;
    while (index < services.size() && std::strcmp(services[index].name, service) != 0) ++index;
    fuzz::PutU8(calls_, index);
    fuzz::PutU8(calls_, static_cast<uint8_t>(args.size()));
    fuzz::PutU8(calls_, static_cast<uint8_t>(nret));
    for (uint32_t a : args) fuzz::PutU32(calls_, a);
    ++count_;
  }
  std::vector<uint8_t> Build() const {
    std::vector<uint8_t> out{static_cast<uint8_t>(count_)};
    fuzz::PutBytes(out, calls_);
    fuzz::PutBytes(out, data_);
    return out;
  }

 private:
  std::vector<uint8_t> calls_;
  std::vector<uint8_t> data_;
  int count_ = 0;
};

}  // namespace

void fuzz::MakeSeeds(Seeds& seeds) {
  {  // prom_init's walk of the tree.
    SeedBuilder s;
    const uint32_t root = 0x1112;  // cas-initial's root after Tree::Init
    const uint32_t name = s.Buffer(64);
    const uint32_t value = s.Buffer(256);
    s.Call("finddevice", {s.String("/chosen")}, 1);
    s.Call("getprop", {root + 1, s.String("stdout"), value, 4}, 1);
    s.Call("child", {root}, 1);
    s.Call("peer", {root + 1}, 1);
    s.Call("parent", {root + 2}, 1);
    s.Call("nextprop", {root, 0, name}, 1);
    s.Call("nextprop", {root, name, name}, 1);
    s.Call("getproplen", {root, s.String("model")}, 1);
    s.Call("getprop", {root, s.String("model"), value, 256}, 1);
    s.Call("package-to-path", {root + 3, value, 256}, 1);
    s.Call("instance-to-path", {0x49000000, value, 256}, 1);
    s.Call("instance-to-package", {0x49000000}, 1);
    s.Call("setprop", {root + 1, s.String("linux,initrd-start"), value, 8}, 1);
    s.Call("claim", {0x600000, 0x10000, 0}, 1);
    s.Call("claim", {0, 0x10000, 0x10000}, 1);
    s.Call("release", {0x600000, 0x10000}, 0);
    s.Call("milliseconds", {}, 1);
    s.Call("test", {s.String("finddevice")}, 1);
    seeds.Add("prom-init", s.Build());
  }
  {  // The console: open, write, read, close.
    SeedBuilder s;
    const uint32_t text = s.String("tern fuzz\r\n");
    const uint32_t buffer = s.Buffer(16);
    s.Call("open", {s.String("/vdevice/vty@71000000")}, 1);
    s.Call("write", {0x49000000, text, 11}, 1);
    s.Call("read", {0x49000001, buffer, 16}, 1);
    s.Call("close", {0x49000002}, 0);
    s.Call("interpret", {s.String("output-device output")}, 1);
    seeds.Add("console", s.Build());
  }
  {  // GRUB's disk access: open a partition, seek, read, block methods.
    SeedBuilder s;
    const uint32_t buffer = s.Buffer(2048);
    s.Call("open", {s.String("disk:2")}, 1);
    s.Call("seek", {0x49000002, 0, 1000}, 1);
    s.Call("read", {0x49000002, buffer, 2048}, 1);
    s.Call("call-method", {s.String("block-size"), 0x49000002}, 2);
    s.Call("call-method", {s.String("#blocks"), 0x49000002}, 2);
    s.Call("call-method", {s.String("read-blocks"), 0x49000002, buffer, 3, 2}, 2);
    s.Call("open", {s.String("/pci@800000020000000/scsi@2:0")}, 1);
    s.Call("read", {0x49000003, buffer, 1024}, 1);
    seeds.Add("disk", s.Build());
  }
  {  // Issue 26: a path after a disk's arguments names no node; a file needs a file system; a
     // read whose buffer runs past the end of RAM reads what fits.
    SeedBuilder s;
    s.Call("open", {s.String("disk:2/foo")}, 1);
    s.Call("open", {s.String("disk:2,\\boot\\grub")}, 1);
    s.Call("open", {s.String("disk")}, 1);
    s.Call("read", {0x49000002, static_cast<uint32_t>(ClientRig::kRamSize - 100), 4096}, 1);
    s.Call("call-method", {s.String("max-transfer"), 0x49000002}, 2);
    s.Call("call-method", {s.String("load"), 0x49000002, 0x800000}, 2);
    seeds.Add("disk-hostile", s.Build());
  }
  {  // instantiate-rtas, then quiesce.
    SeedBuilder s;
    s.Call("open", {s.String("/rtas")}, 1);
    s.Call("call-method", {s.String("instantiate-rtas"), 0x49000002, 0x700000}, 2);
    s.Call("quiesce", {}, 0);
    seeds.Add("rtas-quiesce", s.Build());
  }
}
