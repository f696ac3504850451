// ibm,configure-connector served by tern (drc/walker.h): the walker replays a fake of QEMU's own
// walk (tests/fake-qemu-cc.h) into its state region, and an OS that behaves like Linux's
// dlpar_configure_connector walks it. Every walk is checked three ways: the answers equal the ones
// the fragment calls for, the answer codes follow the rules Linux relies on, and the tree Linux
// would build from them equals the fragment (compared with libfdt).
#include "drc/walker.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "drc/rtas-services.h"
#include "drc/walk-slot.h"
#include "lib/be.h"
#include "lib/console.h"
#include "rtas/dispatch.h"
#include "rtas/instantiate.h"
#include "rtas/services.h"
#include "rtas/state-region.h"
#include "tests/console-capture.h"
#include "tests/fake-hv.h"
#include "tests/fake-qemu-cc.h"
#include "tests/fragments.h"
#include "tests/test-data.h"

namespace {

using rtas::RtasStatus;
using tests::DrcState;
using tests::FakeQemuCc;

// The RTAS area of a test guest: the state region, then (4 KiB aligned) the scratch page the
// walker gives the host, as the RTAS image has them.
constexpr uint32_t kStateSize = rtas::StateRegionSize(rtas::kStateDataSize);
constexpr uint32_t kScratchOffset = (kStateSize + 4095) / 4096 * 4096;
constexpr uint32_t kAreaSize = kScratchOffset + rtas::kScratchSize;
constexpr uint32_t kPage = 4096;
constexpr uint32_t kManySteps = 100000;  // host steps per call: the snapshot in the first call

using tests::ConsoleCapture;

// ---------------------------------------------------------------------------------------------
// A guest: byte-array RAM, tern's RTAS area at `rtas_base` (state region and scratch) and the
// host's configure-connector (a fake QEMU).

class Guest {
 public:
  // A new guest with an empty state region; with `migrated_from`, a migration destination whose
  // QEMU has the source's DRCs and states but no fragments and no cursors (the RTAS area is
  // copied in by Migrate()).
  Guest(uint64_t ram_size, uint64_t rtas_base, uint32_t host_steps_per_call,
        const FakeQemuCc* migrated_from = nullptr)
      : ram(ram_size, 0),
        memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size()),
        rtas_base(rtas_base) {
    qemu = migrated_from != nullptr ? migrated_from->Destination(memory)
                                    : std::make_unique<FakeQemuCc>(memory);
    context = std::make_unique<drc::WalkContext>(drc::WalkContext{
        memory, State(), qemu->Source(), Scratch(), ram.data() + Scratch(), host_steps_per_call});
    if (migrated_from == nullptr) {
      EXPECT_TRUE(rtas::InitStateRegion(State(), 1).is_ok());
    }
  }

  lib::Span<uint8_t> State() { return {ram.data() + rtas_base, kStateSize}; }
  uint64_t Scratch() const { return rtas_base + kScratchOffset; }
  const rtas::StateHeader& Header() {
    return *reinterpret_cast<const rtas::StateHeader*>(ram.data() + rtas_base);
  }
  drc::WalkSlot& Slot(uint32_t i) {
    return *reinterpret_cast<drc::WalkSlot*>(
        ram.data() + rtas_base + Header().slots_offset.value() + i * Header().slot_size.value());
  }
  // The slot walking `drc_index`, or nullptr.
  drc::WalkSlot* SlotOf(uint32_t drc_index) {
    for (uint32_t i = 0; i < Header().slot_count.value(); ++i) {
      if (Slot(i).drc_index.value() == drc_index) return &Slot(i);
    }
    return nullptr;
  }
  int SlotsInUse() {
    int used = 0;
    for (uint32_t i = 0; i < Header().slot_count.value(); ++i)
      used += Slot(i).drc_index.value() != 0;
    return used;
  }
  int32_t Call(uint64_t work_area) {
    return static_cast<int32_t>(drc::ConfigureConnector(*context, work_area));
  }

  std::vector<uint8_t> ram;
  lib::GuestMemory memory;
  uint64_t rtas_base;
  std::unique_ptr<FakeQemuCc> qemu;
  std::unique_ptr<drc::WalkContext> context;
};

// What a migration carries of the walker's state: the RTAS area's bytes, at whatever base the
// destination has it.
void CopyRtasArea(const Guest& from, Guest& to) {
  std::memcpy(to.ram.data() + to.rtas_base, from.ram.data() + from.rtas_base, kAreaSize);
}

// ---------------------------------------------------------------------------------------------
// The OS: Linux's dlpar_configure_connector.

struct Answer {
  int32_t code;
  std::string name;            // 1, 2, 3
  std::vector<uint8_t> value;  // 3
  bool operator==(const Answer& other) const = default;
};

void PrintTo(const Answer& answer, std::ostream* os) {
  *os << "{" << answer.code;
  if (!answer.name.empty()) *os << " \"" << answer.name << "\"";
  if (answer.code == 3) *os << " (" << answer.value.size() << " bytes)";
  *os << "}";
}

std::string Show(const std::vector<Answer>& answers) {
  std::string text;
  for (const Answer& a : answers) {
    text += std::to_string(a.code);
    if (!a.name.empty()) text += ":" + a.name;
    if (a.code == 3) text += "[" + std::to_string(a.value.size()) + "]";
    text += " ";
  }
  return text;
}

using OsCall = std::function<int32_t(uint64_t work_area)>;

class OsWalk {
 public:
  // First call: word 0 = the DRC index, word 1 = 0; the rest of the page is whatever the buffer
  // held (Linux does not clear it).
  OsWalk(lib::GuestMemory* memory, OsCall call, uint64_t work_area, uint32_t drc_index)
      : memory_(memory), call_(std::move(call)), work_area_(work_area), drc_index_(drc_index) {
    std::vector<uint8_t> page(kPage, 0xa5);
    lib::StoreBe32(page.data(), drc_index);
    lib::StoreBe32(page.data() + 4, 0);
    EXPECT_TRUE(memory_->Write(work_area_, page.data(), page.size()).is_ok());
  }
  static OsWalk On(Guest& guest, uint64_t work_area, uint32_t drc_index) {
    Guest* g = &guest;
    return OsWalk(
        &guest.memory, [g](uint64_t wa) { return g->Call(wa); }, work_area, drc_index);
  }

  // One call, the work area handed back as the last call left it. Returns the status.
  int32_t Step() {
    const int32_t status = call_(work_area_);
    statuses.push_back(status);
    if (status == -2 || (status >= 9900 && status <= 9905)) return status;  // call again
    std::vector<uint8_t> page(kPage);
    EXPECT_TRUE(memory_->Read(work_area_, page.data(), page.size()).is_ok());
    Answer answer{status, {}, {}};
    if (status == 1 || status == 2 || status == 3) {
      const uint32_t name = lib::LoadBe32(&page[8]);
      if (name >= kPage || std::memchr(&page[name], 0, kPage - name) == nullptr) {
        problems.push_back("call " + std::to_string(statuses.size()) + ": name outside the page");
      } else {
        answer.name = reinterpret_cast<const char*>(&page[name]);
      }
    }
    if (status == 3) {
      const uint32_t length = lib::LoadBe32(&page[12]);
      const uint32_t value = lib::LoadBe32(&page[16]);
      if (value > kPage || length > kPage - value) {
        problems.push_back("call " + std::to_string(statuses.size()) + ": value of " +
                           std::to_string(length) + " bytes at " + std::to_string(value) +
                           " runs past the page");
      } else {
        answer.value.assign(page.begin() + value, page.begin() + value + length);
      }
    }
    answers.push_back(answer);
    if (status != 1 && status != 2 && status != 3 && status != 4) done = true;
    return status;
  }
  void Run(size_t max_calls = 100000) {
    while (!done && statuses.size() < max_calls) Step();
    EXPECT_TRUE(done) << "the walk did not end in " << max_calls << " calls";
  }
  // A migration: the OS's work area goes along with the rest of RAM, at `work_area` there.
  void MoveTo(Guest& guest, uint64_t work_area) {
    Guest* g = &guest;
    MoveTo(
        &guest.memory, [g](uint64_t wa) { return g->Call(wa); }, work_area);
  }
  // The same to a guest whose RTAS calls `call` makes.
  void MoveTo(lib::GuestMemory* memory, OsCall call, uint64_t work_area) {
    std::vector<uint8_t> page(kPage);
    EXPECT_TRUE(memory_->Read(work_area_, page.data(), page.size()).is_ok());
    EXPECT_TRUE(memory->Write(work_area, page.data(), page.size()).is_ok());
    memory_ = memory;
    call_ = std::move(call);
    work_area_ = work_area;
  }
  // A new sequence for the same DRC in the same work area (word 1 = 0).
  void Restart() {
    uint8_t head[8];
    lib::StoreBe32(head, drc_index_);
    lib::StoreBe32(head + 4, 0);
    EXPECT_TRUE(memory_->Write(work_area_, head, 8).is_ok());
    answers.clear();
    statuses.clear();
    done = false;
  }
  uint32_t Word(uint32_t cell) const {
    uint8_t bytes[4] = {};
    EXPECT_TRUE(memory_->Read(work_area_ + 4 * cell, bytes, 4).is_ok());
    return lib::LoadBe32(bytes);
  }
  void SetWord(uint32_t cell, uint32_t value) {
    uint8_t bytes[4];
    lib::StoreBe32(bytes, value);
    EXPECT_TRUE(memory_->Write(work_area_ + 4 * cell, bytes, 4).is_ok());
  }
  std::vector<uint8_t> Page() const {
    std::vector<uint8_t> page(kPage);
    EXPECT_TRUE(memory_->Read(work_area_, page.data(), page.size()).is_ok());
    return page;
  }
  uint64_t work_area() const { return work_area_; }
  uint32_t drc_index() const { return drc_index_; }
  size_t busy() const {
    size_t n = 0;
    for (int32_t s : statuses) n += s == -2;
    return n;
  }

  std::vector<Answer> answers;    // every answer but "call again", the final one included
  std::vector<int32_t> statuses;  // every status returned, -2 included
  std::vector<std::string> problems;
  bool done = false;

 private:
  lib::GuestMemory* memory_;
  OsCall call_;
  uint64_t work_area_;
  uint32_t drc_index_;
};

// The rules the statuses of one walk must follow [LoPAPR 13.5.3.5; Linux
// dlpar_configure_connector]: -2 only before the first data answer, which is 2; never 5; 1 only for
// a node with a parent; 3 inside a node; 4 and 0 balance the 2s (0 when the fragment's node closes,
// last). Returns the violations.
std::vector<std::string> CheckStatuses(const std::vector<int32_t>& statuses) {
  std::vector<std::string> bad;
  bool data = false;
  int depth = 0;
  for (size_t i = 0; i < statuses.size(); ++i) {
    const int32_t s = statuses[i];
    const std::string at = "status " + std::to_string(i) + " (" + std::to_string(s) + "): ";
    if (s == -2) {
      if (data) bad.push_back(at + "call-again after data");
      continue;
    }
    if (s == 5) bad.push_back(at + "need-more-memory, which Linux treats as an error");
    if (!data && s >= 0 && s != 2) bad.push_back(at + "the first data answer must be 2");
    data = true;
    if (s == 2) {
      ++depth;
    } else if (s == 1) {
      if (depth < 2) bad.push_back(at + "a sibling of the fragment's node");
    } else if (s == 3) {
      if (depth < 1) bad.push_back(at + "a property outside any node");
    } else if (s == 4) {
      if (depth < 2) bad.push_back(at + "previous-parent above the fragment's node");
      --depth;
    } else if (s == 0) {
      if (depth != 1) bad.push_back(at + "complete at depth " + std::to_string(depth));
      --depth;
    }
    if (s <= 0 && i + 1 != statuses.size()) bad.push_back(at + "the walk went on after it");
  }
  if (!statuses.empty() && statuses.back() == 0 && depth != 0) bad.push_back("unbalanced");
  return bad;
}

// The answers tern owes for the fragment at `node`, depth first: 2 for the node and a first
// child, 1 for a later sibling (its previous sibling closes in the same answer), 3 per property,
// 4 when a last child closes, 0 when the fragment's node closes.
void ExpectedFor(const void* fdt, int node, int32_t open_code, std::vector<Answer>& out) {
  out.push_back({open_code, fdt_get_name(fdt, node, nullptr), {}});
  int prop;
  fdt_for_each_property_offset(prop, fdt, node) {
    const char* name = nullptr;
    int length = 0;
    const auto* value =
        static_cast<const uint8_t*>(fdt_getprop_by_offset(fdt, prop, &name, &length));
    out.push_back({3, name, std::vector<uint8_t>(value, value + length)});
  }
  bool first = true;
  bool any = false;
  int child;
  fdt_for_each_subnode(child, fdt, node) {
    ExpectedFor(fdt, child, first ? 2 : 1, out);
    first = false;
    any = true;
  }
  if (any) out.push_back({4, {}, {}});
}

std::vector<Answer> Expected(const FakeQemuCc& qemu, uint32_t drc_index) {
  std::vector<Answer> out;
  ExpectedFor(qemu.Fragment(drc_index).data(), qemu.FragmentNode(drc_index), 2, out);
  out.push_back({0, {}, {}});
  return out;
}

// The tree Linux builds from the answers (dlpar.c): 2 is the first node or a child of the last
// node (which becomes its only `child`), 1 a sibling of the last node, 3 a property of the last
// node, 4 makes the last node's parent the last node.
struct LinuxNode {
  std::string name;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> properties;
  LinuxNode* parent = nullptr;
  LinuxNode* child = nullptr;
  LinuxNode* sibling = nullptr;
};

struct LinuxTree {
  std::vector<std::unique_ptr<LinuxNode>> nodes;
  LinuxNode* first = nullptr;
  std::string error;  // where Linux would fail or dereference NULL
};

LinuxTree BuildLikeLinux(const std::vector<Answer>& answers) {
  LinuxTree tree;
  LinuxNode* last = nullptr;
  auto node = [&](const Answer& a) {
    tree.nodes.push_back(std::make_unique<LinuxNode>());
    tree.nodes.back()->name = a.name;
    return tree.nodes.back().get();
  };
  for (const Answer& a : answers) {
    switch (a.code) {
      case 0: return tree;
      case 1: {
        if (last == nullptr) {
          tree.error = "sibling without a last node";
          return tree;
        }
        LinuxNode* n = node(a);
        n->parent = last->parent;
        last->sibling = n;
        last = n;
        break;
      }
      case 2: {
        LinuxNode* n = node(a);
        if (tree.first == nullptr) {
          tree.first = n;
        } else {
          n->parent = last;
          if (last != nullptr) last->child = n;
        }
        last = n;
        break;
      }
      case 3:
        if (last == nullptr) {
          tree.error = "property without a last node";
          return tree;
        }
        last->properties.emplace_back(a.name, a.value);
        break;
      case 4:
        if (last == nullptr) {
          tree.error = "previous-parent without a last node";
          return tree;
        }
        last = last->parent;
        break;
      default: tree.error = "the walk failed with " + std::to_string(a.code); return tree;
    }
  }
  tree.error = "no configuration-complete";
  return tree;
}

// "" when `node` and its subtree equal the fragment's node `offset`, else the first difference.
std::string Compare(const LinuxNode* node, const void* fdt, int offset, const std::string& path) {
  const std::string name = fdt_get_name(fdt, offset, nullptr);
  const std::string here = path + "/" + name;
  if (node == nullptr) return here + ": missing";
  if (node->name != name) return here + ": Linux has a node named " + node->name;
  size_t i = 0;
  int prop;
  fdt_for_each_property_offset(prop, fdt, offset) {
    const char* prop_name = nullptr;
    int length = 0;
    const auto* value =
        static_cast<const uint8_t*>(fdt_getprop_by_offset(fdt, prop, &prop_name, &length));
    if (i >= node->properties.size()) return here + ": property " + prop_name + " missing";
    if (node->properties[i].first != prop_name) {
      return here + ": property " + std::to_string(i) + " is " + node->properties[i].first +
             ", not " + prop_name;
    }
    if (node->properties[i].second != std::vector<uint8_t>(value, value + length)) {
      return here + ": property " + prop_name + " differs";
    }
    ++i;
  }
  if (i != node->properties.size()) return here + ": extra property " + node->properties[i].first;
  const LinuxNode* child = node->child;
  int sub;
  fdt_for_each_subnode(sub, fdt, offset) {
    if (child != nullptr && child->parent != node) return here + ": a child with another parent";
    const std::string diff = Compare(child, fdt, sub, here);
    if (!diff.empty()) return diff;
    child = child->sibling;
  }
  if (child != nullptr) return here + ": extra child " + child->name;
  return "";
}

// Everything a finished walk must satisfy for the DRC's fragment.
void ExpectCorrectWalk(const OsWalk& walk, const FakeQemuCc& qemu, uint32_t drc_index) {
  EXPECT_TRUE(walk.problems.empty()) << walk.problems.front();
  const auto bad = CheckStatuses(walk.statuses);
  EXPECT_TRUE(bad.empty()) << bad.front();
  const auto expected = Expected(qemu, drc_index);
  EXPECT_EQ(walk.answers, expected)
      << "got      " << Show(walk.answers) << "\nexpected " << Show(expected);
  LinuxTree tree = BuildLikeLinux(walk.answers);
  EXPECT_EQ(tree.error, "");
  if (tree.error.empty()) {
    EXPECT_EQ(tree.first->sibling, nullptr);
    EXPECT_EQ(
        Compare(tree.first, qemu.Fragment(drc_index).data(), qemu.FragmentNode(drc_index), ""), "");
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

struct FragmentFixture {
  const char* dtb;
  uint32_t drc_index;
  DrcState state;
  bool name_property;  // dt_populate adds "name" (CPU cores)
};

const FragmentFixture kFixtures[] = {
    {"drc-cpu-core.dtb", 0x10000008, DrcState::kLogicalUnisolate, true},
    {"drc-pci-bridge.dtb", 0x40000018, DrcState::kPhysicalUnisolate, false},
    {"drc-deep.dtb", 0x20000001, DrcState::kLogicalUnisolate, false},
    {"drc-many-props.dtb", 0x80000010, DrcState::kLogicalUnisolate, false},
    {"drc-big-prop.dtb", 0x90000000, DrcState::kLogicalUnisolate, false},
    // Dumped from QEMU 7.2: a virtio-net device, a PHB, a pci-bridge with a device behind it.
    {"drc-pci-device.dtb", 0x40000010, DrcState::kPhysicalUnisolate, false},
    {"drc-phb.dtb", 0x20000002, DrcState::kLogicalUnisolate, false},
    {"drc-qemu-pci-bridge.dtb", 0x40010000, DrcState::kPhysicalUnisolate, false},
};

void AddFixture(Guest& guest, const FragmentFixture& f) {
  guest.qemu->AddDrc(f.drc_index, tests::LoadDtb(f.dtb), f.state, f.name_property);
}

constexpr uint32_t kCpu = 0x10000008;
const FragmentFixture& CpuCore() {
  return kFixtures[0];
}

// The CPU-core fragment for core `id`: node name, reg, ibm,my-drc-index and the interrupt
// servers differ per core, so mixed-up walks show.
std::vector<uint8_t> CoreFragment(uint32_t id) {
  const auto dtb = tests::LoadDtb("drc-cpu-core.dtb");
  std::vector<uint8_t> blob(dtb.size() + 1024);
  EXPECT_EQ(fdt_open_into(dtb.data(), blob.data(), static_cast<int>(blob.size())), 0);
  void* fdt = blob.data();
  const int node = fdt_first_subnode(fdt, 0);
  const std::string name = "PowerPC,POWER9@" + std::to_string(id);
  EXPECT_EQ(fdt_set_name(fdt, node, name.c_str()), 0);
  EXPECT_EQ(fdt_setprop_u32(fdt, node, "reg", id), 0);
  EXPECT_EQ(fdt_setprop_u32(fdt, node, "ibm,my-drc-index", 0x10000000 | id), 0);
  const fdt32_t servers[4] = {cpu_to_fdt32(id), cpu_to_fdt32(id + 1), cpu_to_fdt32(id + 2),
                              cpu_to_fdt32(id + 3)};
  EXPECT_EQ(fdt_setprop(fdt, node, "ibm,ppc-interrupt-server#s", servers, sizeof(servers)), 0);
  return blob;
}

void AddCore(Guest& guest, uint32_t id, DrcState state = DrcState::kLogicalUnisolate) {
  guest.qemu->AddDrc(0x10000000 | id, CoreFragment(id), state, true);
}

using tests::PciBridgeTree;
using tests::WideFragment;

// Layouts: the source guest and a destination with other RAM, another RTAS base and another OS
// work-area address.
constexpr uint64_t kRam = 1024 * 1024;
constexpr uint64_t kRtasBase = 0x40000;
constexpr uint64_t kWorkArea = 0x2000;
constexpr uint64_t kOtherRam = 2 * 1024 * 1024 + 8192;
constexpr uint64_t kOtherRtasBase = 0x11d000;
constexpr uint64_t kOtherWorkArea = 0x7000;

// One uninterrupted walk of `f` on a fresh guest.
struct Reference {
  std::vector<Answer> answers;
  std::vector<int32_t> statuses;
  uint64_t host_calls;
};

Reference Uninterrupted(const FragmentFixture& f, uint32_t steps) {
  Guest guest(kRam, kRtasBase, steps);
  AddFixture(guest, f);
  OsWalk walk = OsWalk::On(guest, kWorkArea, f.drc_index);
  walk.Run();
  return {walk.answers, walk.statuses, guest.qemu->calls};
}

// ---------------------------------------------------------------------------------------------
// The fake itself: what QEMU 7.2 answers.

TEST(FakeQemuCc, WalksTheCpuCoreLikeQemu) {
  std::vector<uint8_t> ram(64 * 1024);
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size());
  FakeQemuCc qemu(memory);
  qemu.AddDrc(kCpu, tests::LoadDtb("drc-cpu-core.dtb"), DrcState::kLogicalUnisolate, true);
  lib::StoreBe32(&ram[0x1000], kCpu);
  std::vector<Answer> answers;
  for (int i = 0; i < 100; ++i) {
    const int32_t code = qemu.ConfigureConnector(0x1000);
    Answer a{code, {}, {}};
    if (code == 2 || code == 3) {
      EXPECT_EQ(lib::LoadBe32(&ram[0x1008]), 20u);
      a.name = reinterpret_cast<const char*>(&ram[0x1000 + 20]);
    }
    if (code == 3) {
      EXPECT_EQ(lib::LoadBe32(&ram[0x1010]), 20 + a.name.size() + 1);
      a.value.assign(
          ram.begin() + 0x1000 + lib::LoadBe32(&ram[0x1010]),
          ram.begin() + 0x1000 + lib::LoadBe32(&ram[0x1010]) + lib::LoadBe32(&ram[0x100c]));
    }
    answers.push_back(a);
    if (code <= 0) break;
  }
  // [verified on QEMU 7.2.22]: 2 "PowerPC,POWER9@1", 27 properties from "name" and "ibm,dec-bits"
  // to "ibm,my-drc-index", then 0.
  ASSERT_EQ(answers.size(), 29u) << Show(answers);
  EXPECT_EQ(answers[0], (Answer{2, "PowerPC,POWER9@8", {}}));
  EXPECT_EQ(answers[1].name, "name");
  EXPECT_EQ(std::string(answers[1].value.begin(), answers[1].value.end()),
            std::string("PowerPC,POWER9@8") + '\0');
  EXPECT_EQ(answers[2].name, "ibm,dec-bits");
  EXPECT_EQ(answers[4].name, "ibm,ppc-interrupt-gserver#s");
  EXPECT_EQ(answers[27].name, "ibm,my-drc-index");
  EXPECT_EQ(answers[28].code, 0);
  EXPECT_EQ(qemu.State(kCpu), DrcState::kLogicalConfigured);
  EXPECT_EQ(qemu.Depth(kCpu), 0);
  // The cursor went back to the start: a CONFIGURED DRC walks again from its node.
  EXPECT_EQ(qemu.ConfigureConnector(0x1000), 2);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&ram[0x1000 + 20])), "PowerPC,POWER9@8");
}

TEST(FakeQemuCc, NeverAnswersSiblingsSoLinuxLosesChildren) {
  // QEMU reports a second child as 2 after a 4: Linux's `last->child = dn` then drops the first.
  // The Linux-model rebuild must catch that, or the tree comparison proves nothing.
  std::vector<uint8_t> ram(64 * 1024);
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size());
  FakeQemuCc qemu(memory);
  qemu.AddDrc(0x40000018, tests::LoadDtb("drc-pci-bridge.dtb"), DrcState::kPhysicalUnisolate);
  lib::StoreBe32(&ram[0x1000], 0x40000018);
  std::vector<Answer> answers;
  for (int i = 0; i < 1000; ++i) {
    const int32_t code = qemu.ConfigureConnector(0x1000);
    Answer a{code, {}, {}};
    if (code == 2 || code == 3) a.name = reinterpret_cast<const char*>(&ram[0x1000 + 20]);
    if (code == 3) {
      const uint32_t value = lib::LoadBe32(&ram[0x1010]);
      a.value.assign(ram.begin() + 0x1000 + value,
                     ram.begin() + 0x1000 + value + lib::LoadBe32(&ram[0x100c]));
    }
    EXPECT_NE(code, 1);
    answers.push_back(a);
    if (code <= 0) break;
  }
  EXPECT_EQ(answers.back().code, 0);
  EXPECT_EQ(qemu.State(0x40000018), DrcState::kPhysicalConfigured);
  LinuxTree tree = BuildLikeLinux(answers);
  ASSERT_EQ(tree.error, "");
  EXPECT_NE(
      Compare(tree.first, qemu.Fragment(0x40000018).data(), qemu.FragmentNode(0x40000018), ""), "");
}

TEST(FakeQemuCc, ClipsAtTheEndOfThePageAndReportsTheFullLength) {
  std::vector<uint8_t> ram(64 * 1024, 0xee);
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size());
  FakeQemuCc qemu(memory);
  qemu.AddDrc(0x90000001, tests::LoadDtb("drc-too-big.dtb"), DrcState::kLogicalUnisolate);
  lib::StoreBe32(&ram[0x1000], 0x90000001);
  EXPECT_EQ(qemu.ConfigureConnector(0x1000), 2);
  EXPECT_EQ(qemu.ConfigureConnector(0x1000), 3);  // reg
  EXPECT_EQ(qemu.ConfigureConnector(0x1000), 3);  // ibm,big-value
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&ram[0x1000 + 20])), "ibm,big-value");
  EXPECT_EQ(lib::LoadBe32(&ram[0x100c]), 4063u);  // the full length...
  EXPECT_EQ(lib::LoadBe32(&ram[0x1010]), 34u);
  EXPECT_EQ(ram[0x1000 + 4095], (4061 * 7 + 3) % 251);  // ...but only 4062 bytes written
  EXPECT_EQ(ram[0x1000 + 4096], 0xee);
}

TEST(FakeQemuCc, StatesAndIndexesAndMigration) {
  std::vector<uint8_t> ram(64 * 1024);
  lib::GuestMemory memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size());
  FakeQemuCc qemu(memory);
  qemu.AddDrc(kCpu, tests::LoadDtb("drc-cpu-core.dtb"), DrcState::kLogicalAvailable, true);
  lib::StoreBe32(&ram[0x1000], kCpu);
  EXPECT_EQ(qemu.ConfigureConnector(0x1000), -9003);
  EXPECT_EQ(qemu.SetIndicator(9001, kCpu, 1), 0);
  EXPECT_EQ(qemu.State(kCpu), DrcState::kLogicalUnisolate);
  EXPECT_EQ(qemu.ConfigureConnector(0x1000), 2);
  EXPECT_EQ(qemu.ConfigureConnector(0x1000), 3);
  EXPECT_EQ(qemu.SetIndicator(9001, kCpu, 0), -3);  // QEMU refuses to isolate mid-walk
  qemu.Migrate();
  EXPECT_EQ(qemu.ConfigureConnector(0x1000), 2);  // from the root again, no error
  EXPECT_EQ(qemu.Depth(kCpu), 1);
  lib::StoreBe32(&ram[0x1000], 0x10000009);
  EXPECT_EQ(qemu.ConfigureConnector(0x1000), -3);
  EXPECT_EQ(qemu.ConfigureConnector(ram.size()), -3);  // reads 0 outside RAM
}

// ---------------------------------------------------------------------------------------------
// Every fixture, whole walks.

class FragmentWalk : public ::testing::TestWithParam<FragmentFixture> {};

std::string FixtureName(const ::testing::TestParamInfo<FragmentFixture>& info) {
  std::string name = info.param.dtb;
  name = name.substr(0, name.find('.'));
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FragmentWalk, ::testing::ValuesIn(kFixtures), FixtureName);

TEST_P(FragmentWalk, UninterruptedWalkIsTheFragment) {
  for (uint32_t steps : {1u, 3u, drc::kHostStepsPerCall, kManySteps}) {
    SCOPED_TRACE("host steps per call " + std::to_string(steps));
    Guest guest(kRam, kRtasBase, steps);
    AddFixture(guest, GetParam());
    OsWalk walk = OsWalk::On(guest, kWorkArea, GetParam().drc_index);
    walk.Run();
    ExpectCorrectWalk(walk, *guest.qemu, GetParam().drc_index);
    EXPECT_EQ(guest.SlotsInUse(), 0);
    EXPECT_EQ(guest.qemu->index_mismatches, 0u);
    const DrcState state = guest.qemu->State(GetParam().drc_index);
    EXPECT_TRUE(state == DrcState::kLogicalConfigured || state == DrcState::kPhysicalConfigured);
    EXPECT_TRUE(rtas::CheckStateRegion(guest.State()).is_ok());
  }
}

TEST_P(FragmentWalk, AConfiguredConnectorWalksAgain) {
  Guest guest(kRam, kRtasBase, drc::kHostStepsPerCall);
  AddFixture(guest, GetParam());
  for (int round = 0; round < 3; ++round) {
    OsWalk walk = OsWalk::On(guest, kWorkArea + round * kPage, GetParam().drc_index);
    walk.Run();
    ExpectCorrectWalk(walk, *guest.qemu, GetParam().drc_index);
  }
}

// Requirement 4a: a migration after any call of the walk (k = 0 .. all of them). The destination
// has the RTAS area at another base in other RAM, the OS's work area elsewhere, and a QEMU that
// lost its cursor; the walk goes on there and gives exactly the uninterrupted answers.
TEST_P(FragmentWalk, MigrationAfterAnyCallResumesExactly) {
  const FragmentFixture& f = GetParam();
  for (uint32_t steps : {3u, drc::kHostStepsPerCall}) {
    const Reference reference = Uninterrupted(f, steps);
    for (size_t k = 0; k <= reference.statuses.size(); ++k) {
      SCOPED_TRACE("host steps per call " + std::to_string(steps) + ", migration after call " +
                   std::to_string(k) + " of " + std::to_string(reference.statuses.size()));
      Guest source(kRam, kRtasBase, steps);
      AddFixture(source, f);
      OsWalk walk = OsWalk::On(source, kWorkArea, f.drc_index);
      for (size_t i = 0; i < k; ++i) walk.Step();
      Guest destination(kOtherRam, kOtherRtasBase, steps, source.qemu.get());
      CopyRtasArea(source, destination);
      walk.MoveTo(destination, kOtherWorkArea);
      walk.Run();
      ExpectCorrectWalk(walk, *destination.qemu, f.drc_index);
      EXPECT_EQ(walk.answers, reference.answers);
      EXPECT_EQ(destination.SlotsInUse(), 0);
      EXPECT_TRUE(rtas::CheckStateRegion(destination.State()).is_ok());
      EXPECT_EQ(source.qemu->index_mismatches + destination.qemu->index_mismatches, 0u);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// A migration after every single call, back and forth between two layouts. The snapshot is taken
// within one call here: a replay spread over several calls cannot finish when QEMU loses its
// walk after each of them (the walk then ends with -1 once the slot is full).
TEST_P(FragmentWalk, MigrationAfterEveryCall) {
  const FragmentFixture& f = GetParam();
  auto guest = std::make_unique<Guest>(kRam, kRtasBase, kManySteps);
  AddFixture(*guest, f);
  OsWalk walk = OsWalk::On(*guest, kWorkArea, f.drc_index);
  for (int hop = 0; !walk.done && hop < 100000; ++hop) {
    walk.Step();
    const bool odd = hop % 2 == 0;
    auto next = std::make_unique<Guest>(odd ? kOtherRam : kRam, odd ? kOtherRtasBase : kRtasBase, 3,
                                        guest->qemu.get());
    CopyRtasArea(*guest, *next);
    walk.MoveTo(*next, odd ? kOtherWorkArea : kWorkArea);
    guest = std::move(next);
  }
  ExpectCorrectWalk(walk, *guest->qemu, f.drc_index);
  EXPECT_EQ(guest->SlotsInUse(), 0);
}

// Requirement 4b: word 1 = 0 again, after any call once the snapshot is taken, starts the walk
// over from the fragment's node.
TEST_P(FragmentWalk, RestartAfterAnyCallWalksFromTheStart) {
  const FragmentFixture& f = GetParam();
  const Reference reference = Uninterrupted(f, kManySteps);
  for (size_t k = 1; k < reference.statuses.size(); ++k) {
    SCOPED_TRACE("restart after call " + std::to_string(k));
    Guest guest(kRam, kRtasBase, kManySteps);
    AddFixture(guest, f);
    OsWalk walk = OsWalk::On(guest, kWorkArea, f.drc_index);
    for (size_t i = 0; i < k; ++i) walk.Step();
    walk.Restart();
    walk.Run();
    ExpectCorrectWalk(walk, *guest.qemu, f.drc_index);
    EXPECT_EQ(guest.SlotsInUse(), 0);
    if (::testing::Test::HasFailure()) return;
  }
}

// Requirement 4g: QEMU's walk restarts from its root between two host steps of the replay (a
// migration landing inside tern's call, or between two calls that answered -2). The snapshot
// must never keep the half-walk: the OS gets the uninterrupted answers, and the slot counts the
// replay.
TEST_P(FragmentWalk, HostRestartDuringTheReplayIsReplayedAgain) {
  const FragmentFixture& f = GetParam();
  const Reference reference = Uninterrupted(f, 3);
  ASSERT_GT(reference.host_calls, 2u);
  for (uint64_t m = 1; m < reference.host_calls; ++m) {
    SCOPED_TRACE("QEMU migrated before host step " + std::to_string(m + 1) + " of " +
                 std::to_string(reference.host_calls));
    Guest guest(kRam, kRtasBase, 3);
    AddFixture(guest, f);
    guest.qemu->before_call = [m](FakeQemuCc& qemu, uint64_t call) {
      if (call == m) qemu.Migrate();
    };
    OsWalk walk = OsWalk::On(guest, kWorkArea, f.drc_index);
    uint32_t replays = 0;
    while (!walk.done) {
      walk.Step();
      if (walk.answers.size() == 1 && walk.answers[0].code == 2) {
        const drc::WalkSlot* slot = guest.SlotOf(f.drc_index);
        ASSERT_NE(slot, nullptr);
        replays = slot->replays.value();
      }
    }
    ExpectCorrectWalk(walk, *guest.qemu, f.drc_index);
    EXPECT_EQ(walk.answers, reference.answers);
    EXPECT_EQ(replays, 1u);
    EXPECT_GT(walk.busy(), reference.statuses.size() - reference.answers.size());
    if (::testing::Test::HasFailure()) return;
  }
}

// A migration at any point of a walk, for fragments from 1 to 64 KiB and every way of taking the
// snapshot: after any OS call (the destination has the RTAS area at another base, the OS's work
// area elsewhere and a QEMU without its cursor), or before any host step inside a call (QEMU
// loses its cursor while tern's call goes on, as when a migration lands between two of its
// H_RTAS calls). 1, 3, 8 and unbounded host steps per OS call. The answers must equal the
// uninterrupted walk's. Every point is tried for fragments up to 12 KiB; for the 64 KiB one, 60
// points of each kind spread evenly, the first and the last included.
struct SizedFragment {
  std::string name;
  std::vector<uint8_t> blob;
  uint32_t drc_index;
  DrcState state;
  bool name_property;
};

std::vector<SizedFragment> FragmentsUpTo64K() {
  std::vector<SizedFragment> fragments;
  for (const FragmentFixture& f : {kFixtures[0], kFixtures[5], kFixtures[6], kFixtures[7]}) {
    fragments.push_back({f.dtb, tests::LoadDtb(f.dtb), f.drc_index, f.state, f.name_property});
  }
  fragments.push_back({"12 KiB of large properties", WideFragment(3, 4000), 0x20000006,
                       DrcState::kLogicalUnisolate, false});
  fragments.push_back({"64 KiB pci-bridge tree", PciBridgeTree(64 * 1024), 0x40010000,
                       DrcState::kPhysicalUnisolate, false});
  EXPECT_GE(fragments.back().blob.size(), 64u * 1024);
  return fragments;
}

std::vector<uint64_t> Points(uint64_t count, bool all) {
  std::vector<uint64_t> points;
  const uint64_t stride = all ? 1 : lib::Max<uint64_t>(1, count / 60);
  for (uint64_t p = 0; p < count; p += stride) points.push_back(p);
  if (points.back() != count - 1) points.push_back(count - 1);
  return points;
}

TEST(WalkerMigration, AtAnyPointOfAnyFragmentResumesExactly) {
  for (const SizedFragment& f : FragmentsUpTo64K()) {
    ASSERT_FALSE(f.blob.empty()) << f.name;
    const bool all = f.blob.size() <= 16 * 1024;
    for (uint32_t steps : {1u, 3u, drc::kHostStepsPerCall, kManySteps}) {
      auto add = [&](Guest& guest) {
        guest.qemu->AddDrc(f.drc_index, f.blob, f.state, f.name_property);
      };
      Guest plain(kRam, kRtasBase, steps);
      add(plain);
      OsWalk reference = OsWalk::On(plain, kWorkArea, f.drc_index);
      reference.Run();
      ExpectCorrectWalk(reference, *plain.qemu, f.drc_index);
      const size_t calls = reference.statuses.size();
      const uint64_t host_calls = plain.qemu->calls;
      for (uint64_t k : Points(calls + 1, all)) {
        SCOPED_TRACE(f.name + ", host steps per call " + std::to_string(steps) +
                     ", migration after OS call " + std::to_string(k) + " of " +
                     std::to_string(calls));
        Guest source(kRam, kRtasBase, steps);
        add(source);
        OsWalk walk = OsWalk::On(source, kWorkArea, f.drc_index);
        for (size_t i = 0; i < k; ++i) walk.Step();
        Guest destination(kOtherRam, kOtherRtasBase, steps, source.qemu.get());
        CopyRtasArea(source, destination);
        walk.MoveTo(destination, kOtherWorkArea);
        walk.Run();
        EXPECT_EQ(walk.answers, reference.answers);
        EXPECT_TRUE(CheckStatuses(walk.statuses).empty());
        EXPECT_EQ(destination.SlotsInUse(), 0);
        if (::testing::Test::HasFailure()) return;
      }
      for (uint64_t m : Points(host_calls, all)) {
        if (m == 0) continue;  // before the first host step nothing is lost
        SCOPED_TRACE(f.name + ", host steps per call " + std::to_string(steps) +
                     ", QEMU migrated before host step " + std::to_string(m + 1) + " of " +
                     std::to_string(host_calls));
        Guest guest(kRam, kRtasBase, steps);
        add(guest);
        guest.qemu->before_call = [m](FakeQemuCc& qemu, uint64_t call) {
          if (call == m) qemu.Migrate();
        };
        OsWalk walk = OsWalk::On(guest, kWorkArea, f.drc_index);
        walk.Run();
        EXPECT_EQ(walk.answers, reference.answers);
        EXPECT_TRUE(CheckStatuses(walk.statuses).empty());
        EXPECT_EQ(guest.SlotsInUse(), 0);
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

// Requirement 4b during the replay: word 1 = 0 again after any call that answered -2 (QEMU's walk
// of the connector is then somewhere in the middle) still walks from the start.
TEST_P(FragmentWalk, RestartDuringTheReplayAfterAnyCall) {
  const FragmentFixture& f = GetParam();
  for (uint32_t steps : {3u, drc::kHostStepsPerCall}) {
    const Reference reference = Uninterrupted(f, steps);
    const size_t busy = reference.statuses.size() - reference.answers.size();
    for (size_t k = 1; k <= busy; ++k) {
      SCOPED_TRACE("host steps per call " + std::to_string(steps) + ", restart after call " +
                   std::to_string(k));
      Guest guest(kRam, kRtasBase, steps);
      AddFixture(guest, f);
      OsWalk walk = OsWalk::On(guest, kWorkArea, f.drc_index);
      for (size_t i = 0; i < k; ++i) EXPECT_EQ(walk.Step(), -2);
      walk.Restart();
      walk.Run();
      ExpectCorrectWalk(walk, *guest.qemu, f.drc_index);
      EXPECT_EQ(guest.SlotsInUse(), 0);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// A restart during the replay leaves QEMU's walk mid-way, and tern runs it to its end before the
// new replay; a migration after any later call (QEMU's walk lost again, tern's draining state
// carried in the slot) still ends in the whole fragment.
TEST(WalkerReplay, MigrationAfterARestartDuringTheReplay) {
  const Reference reference = Uninterrupted(CpuCore(), 3);
  const size_t busy = reference.statuses.size() - reference.answers.size();
  for (size_t k = 1; k <= busy; ++k) {
    for (size_t j = 1; j <= busy + 2; ++j) {
      SCOPED_TRACE("restart after call " + std::to_string(k) + ", migration " + std::to_string(j) +
                   " calls later");
      Guest source(kRam, kRtasBase, 3);
      AddFixture(source, CpuCore());
      OsWalk walk = OsWalk::On(source, kWorkArea, kCpu);
      for (size_t i = 0; i < k; ++i) walk.Step();
      walk.Restart();
      for (size_t i = 0; i < j && !walk.done; ++i) walk.Step();
      Guest destination(kOtherRam, kOtherRtasBase, 3, source.qemu.get());
      CopyRtasArea(source, destination);
      walk.MoveTo(destination, kOtherWorkArea);
      walk.Run();
      ExpectCorrectWalk(walk, *destination.qemu, kCpu);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// A replay abandoned after any of its calls (set-indicator made tern forget it): the connector's
// next sequence, from another work area, walks the whole fragment.
TEST_P(FragmentWalk, NewSequenceAfterAReplayAbandonedAfterAnyCall) {
  const FragmentFixture& f = GetParam();
  const Reference reference = Uninterrupted(f, 3);
  const size_t busy = reference.statuses.size() - reference.answers.size();
  for (size_t k = 1; k <= busy; ++k) {
    SCOPED_TRACE("abandoned after call " + std::to_string(k));
    Guest guest(kRam, kRtasBase, 3);
    AddFixture(guest, f);
    OsWalk abandoned = OsWalk::On(guest, kWorkArea, f.drc_index);
    for (size_t i = 0; i < k; ++i) EXPECT_EQ(abandoned.Step(), -2);
    EXPECT_EQ(drc::ForgetWalks(guest.State(), f.drc_index), 1u);
    OsWalk walk = OsWalk::On(guest, kOtherWorkArea, f.drc_index);
    walk.Run();
    ExpectCorrectWalk(walk, *guest.qemu, f.drc_index);
    EXPECT_EQ(abandoned.Step(), -1);
    if (::testing::Test::HasFailure()) return;
  }
}

// ---------------------------------------------------------------------------------------------
// Restart, cookies, abandonment, isolation.

class WalkerTest : public ::testing::Test {
 protected:
  WalkerTest() : guest(kRam, kRtasBase, kManySteps) {
    for (const FragmentFixture& f : kFixtures) AddFixture(guest, f);
  }
  OsWalk Walk(uint32_t drc_index, uint64_t work_area = kWorkArea) {
    return OsWalk::On(guest, work_area, drc_index);
  }
  Guest guest;
};

TEST_F(WalkerTest, RestartWhileAnotherConnectorWalksLeavesItAlone) {
  OsWalk cpu = Walk(kCpu, 0x1000);
  OsWalk pci = Walk(0x40000018, 0x3000);
  for (int i = 0; i < 5; ++i) cpu.Step();
  for (int i = 0; i < 7; ++i) pci.Step();
  cpu.Restart();
  cpu.Run();
  pci.Run();
  ExpectCorrectWalk(cpu, *guest.qemu, kCpu);
  ExpectCorrectWalk(pci, *guest.qemu, 0x40000018);
}

TEST_F(WalkerTest, RestartInAnotherWorkAreaStartsOverToo) {
  // librtas copies the work area into a fresh buffer for every call: the walk belongs to the DRC.
  OsWalk first = Walk(kCpu, 0x1000);
  for (int i = 0; i < 5; ++i) first.Step();
  OsWalk second = Walk(kCpu, 0x5000);
  for (int i = 0; i < 3; ++i) second.Step();
  // The first sequence's work area must not drive the new one.
  const auto page = first.Page();
  EXPECT_EQ(first.Step(), -1);
  EXPECT_EQ(first.Page(), page);
  second.Run();
  ExpectCorrectWalk(second, *guest.qemu, kCpu);
  EXPECT_EQ(first.Step(), -1);
}

TEST_F(WalkerTest, StaleCookieIsAHardwareErrorAndNeverARestart) {
  OsWalk walk = Walk(kCpu);
  for (int i = 0; i < 4; ++i) walk.Step();
  const uint32_t cookie = walk.Word(1);
  ASSERT_NE(cookie, 0u);
  ASSERT_NE(guest.SlotOf(kCpu), nullptr);
  const drc::WalkSlot before = *guest.SlotOf(kCpu);
  ConsoleCapture console;
  for (uint32_t wrong : {cookie + 1, cookie ^ 0x80000000u, 0xffffffffu, 1u}) {
    walk.SetWord(1, wrong);
    const auto page = walk.Page();
    EXPECT_EQ(guest.Call(walk.work_area()), -1);
    EXPECT_EQ(walk.Page(), page) << "a refused call must not write the work area";
  }
  EXPECT_TRUE(console.Has("tern-rtas: configure-connector: DRC 0x10000008: no walk with cookie"))
      << console.text;
  // The walk's slot is untouched: nothing was served from it.
  ASSERT_NE(guest.SlotOf(kCpu), nullptr);
  EXPECT_EQ(guest.SlotOf(kCpu)->cursor, before.cursor);
  EXPECT_EQ(guest.SlotOf(kCpu)->served, before.served);
}

TEST_F(WalkerTest, CookieOfAnotherConnectorIsRefused) {
  OsWalk cpu = Walk(kCpu, 0x1000);
  OsWalk pci = Walk(0x40000018, 0x3000);
  cpu.Step();
  pci.Step();
  ConsoleCapture console;
  pci.SetWord(1, cpu.Word(1));
  EXPECT_EQ(guest.Call(pci.work_area()), -1);
  OsWalk never = Walk(0x20000001, 0x5000);  // a first call with a made-up cookie
  never.SetWord(1, 0x1234);
  EXPECT_EQ(never.Step(), -1);
  EXPECT_EQ(guest.SlotOf(0x20000001), nullptr);
  cpu.Run();
  ExpectCorrectWalk(cpu, *guest.qemu, kCpu);
}

// Requirement 4c: a walk abandoned mid-way keeps its slot until the slots run out; then the
// oldest goes, and its cookie gets -1.
TEST(WalkerSlots, AbandonedWalkIsRecycledOldestFirst) {
  Guest guest(kRam, kRtasBase, kManySteps);
  for (uint32_t id = 0; id < 9; ++id) AddCore(guest, id * 8);
  auto index = [](uint32_t n) { return 0x10000000u | (n * 8); };
  OsWalk abandoned = OsWalk::On(guest, 0x1000, index(0));
  for (int i = 0; i < 3; ++i) abandoned.Step();
  // Walks on other connectors go on and end while A waits: A keeps its slot.
  for (int round = 0; round < 3; ++round) {
    OsWalk other = OsWalk::On(guest, 0x2000, index(1));
    other.Run();
    ExpectCorrectWalk(other, *guest.qemu, index(1));
  }
  ASSERT_NE(guest.SlotOf(index(0)), nullptr);
  // Seven walks in flight with A fill the eight slots; the ninth recycles A's.
  std::vector<OsWalk> walks;
  for (uint32_t n = 1; n < 8; ++n) {
    walks.push_back(OsWalk::On(guest, 0x2000 + n * kPage, index(n)));
    walks.back().Step();
  }
  EXPECT_EQ(guest.SlotsInUse(), 8);
  ConsoleCapture console;
  walks.push_back(OsWalk::On(guest, 0x2000 + 8 * kPage, index(8)));
  walks.back().Step();
  EXPECT_TRUE(console.Has("recycling the abandoned walk of DRC 0x10000000")) << console.text;
  EXPECT_EQ(guest.SlotOf(index(0)), nullptr);
  EXPECT_EQ(abandoned.Step(), -1);
  EXPECT_TRUE(console.Has("DRC 0x10000000: no walk with cookie")) << console.text;
  for (size_t i = 0; i < walks.size(); ++i) {
    walks[i].Run();
    ExpectCorrectWalk(walks[i], *guest.qemu, index(static_cast<uint32_t>(i + 1)));
  }
  EXPECT_EQ(guest.SlotsInUse(), 0);
}

TEST(WalkerSlots, RecyclingFollowsLastUseNotStartOrder) {
  Guest guest(kRam, kRtasBase, kManySteps);
  for (uint32_t id = 0; id < 9; ++id) AddCore(guest, id * 8);
  auto index = [](uint32_t n) { return 0x10000000u | (n * 8); };
  std::vector<OsWalk> walks;
  for (uint32_t n = 0; n < 8; ++n) {
    walks.push_back(OsWalk::On(guest, 0x1000 + n * kPage, index(n)));
    walks.back().Step();
  }
  walks[0].Step();  // the first-started walk is now the most recently used
  walks[1].Step();
  ConsoleCapture console;
  OsWalk ninth = OsWalk::On(guest, 0x1000 + 8 * kPage, index(8));
  ninth.Run();
  ExpectCorrectWalk(ninth, *guest.qemu, index(8));
  EXPECT_TRUE(console.Has("recycling the abandoned walk of DRC 0x10000010")) << console.text;
  EXPECT_EQ(walks[2].Step(), -1);
  for (uint32_t n : {0u, 1u, 3u, 4u, 5u, 6u, 7u}) {
    walks[n].Run();
    ExpectCorrectWalk(walks[n], *guest.qemu, index(n));
  }
}

// A walk abandoned while its snapshot was being taken loses its slot to eight others; a new
// sequence on its connector later walks the whole fragment although QEMU's walk of it was left
// in the middle.
TEST(WalkerSlots, RecycledReplayLeavesNoTrace) {
  Guest guest(kRam, kRtasBase, 3);
  for (uint32_t id = 0; id < 9; ++id) AddCore(guest, id * 8);
  auto index = [](uint32_t n) { return 0x10000000u | (n * 8); };
  OsWalk abandoned = OsWalk::On(guest, 0x1000, index(0));
  EXPECT_EQ(abandoned.Step(), -2);
  EXPECT_EQ(abandoned.Step(), -2);
  for (uint32_t n = 1; n < 9; ++n) {
    OsWalk other = OsWalk::On(guest, 0x2000 + n * kPage, index(n));
    other.Step();
  }
  EXPECT_EQ(guest.SlotOf(index(0)), nullptr);
  EXPECT_EQ(abandoned.Step(), -1);
  OsWalk again = OsWalk::On(guest, 0x1000, index(0));
  again.Run();
  ExpectCorrectWalk(again, *guest.qemu, index(0));
}

// Requirement 4f: nine walks at once, one call each in turn, on eight slots.
TEST(WalkerSlots, NineConcurrentWalks) {
  Guest guest(kRam, kRtasBase, kManySteps);
  for (uint32_t id = 0; id < 9; ++id) AddCore(guest, id * 8);
  auto index = [](uint32_t n) { return 0x10000000u | (n * 8); };
  std::vector<OsWalk> walks;
  for (uint32_t n = 0; n < 9; ++n) walks.push_back(OsWalk::On(guest, 0x1000 + n * kPage, index(n)));
  ConsoleCapture console;
  for (int round = 0; round < 40; ++round) {
    for (OsWalk& walk : walks) {
      if (!walk.done) walk.Step();
    }
  }
  // The ninth start took the slot of the first walk, which had gone longest without a call.
  EXPECT_TRUE(console.Has("recycling the abandoned walk of DRC 0x10000000")) << console.text;
  ASSERT_EQ(walks[0].answers.size(), 2u) << Show(walks[0].answers);
  EXPECT_EQ(walks[0].answers[1].code, -1);
  for (uint32_t n = 1; n < 9; ++n) ExpectCorrectWalk(walks[n], *guest.qemu, index(n));
  EXPECT_EQ(guest.SlotsInUse(), 0);
}

// Requirement 4d: isolation mid-walk ends it.
TEST_F(WalkerTest, ForgetWalksEndsTheWalkOfThatConnectorOnly) {
  OsWalk cpu = Walk(kCpu, 0x1000);
  OsWalk pci = Walk(0x40000018, 0x3000);
  for (int i = 0; i < 6; ++i) cpu.Step();
  for (int i = 0; i < 6; ++i) pci.Step();
  EXPECT_EQ(drc::ForgetWalks(guest.State(), kCpu), 1u);
  EXPECT_EQ(guest.SlotOf(kCpu), nullptr);
  EXPECT_TRUE(rtas::CheckStateRegion(guest.State()).is_ok());
  ConsoleCapture console;
  EXPECT_EQ(cpu.Step(), -1);
  EXPECT_TRUE(console.Has("DRC 0x10000008: no walk with cookie")) << console.text;
  pci.Run();
  ExpectCorrectWalk(pci, *guest.qemu, 0x40000018);
  EXPECT_EQ(drc::ForgetWalks(guest.State(), kCpu), 0u);
  // And a new sequence on the isolated-then-unisolated connector works.
  OsWalk again = Walk(kCpu, 0x5000);
  again.Run();
  ExpectCorrectWalk(again, *guest.qemu, kCpu);
}

TEST_F(WalkerTest, ForgetAllWalks) {
  OsWalk cpu = Walk(kCpu, 0x1000);
  OsWalk pci = Walk(0x40000018, 0x3000);
  OsWalk deep = Walk(0x20000001, 0x5000);
  cpu.Step();
  pci.Step();
  deep.Step();
  EXPECT_EQ(drc::ForgetWalks(guest.State(), 0), 3u);
  EXPECT_EQ(guest.SlotsInUse(), 0);
  EXPECT_EQ(cpu.Step(), -1);
  EXPECT_EQ(pci.Step(), -1);
  EXPECT_EQ(deep.Step(), -1);
}

// Requirement 4e: walks on several connectors, interleaved call by call, each in its own work
// area, once their snapshots are taken.
TEST_F(WalkerTest, InterleavedWalksAreEachCorrect) {
  std::vector<OsWalk> walks;
  for (size_t i = 0; i < std::size(kFixtures); ++i) {
    walks.push_back(Walk(kFixtures[i].drc_index, 0x1000 + i * 2 * kPage));
  }
  for (bool any = true; any;) {
    any = false;
    for (OsWalk& walk : walks) {
      if (!walk.done) {
        walk.Step();
        any = true;
      }
    }
  }
  for (size_t i = 0; i < walks.size(); ++i) {
    ExpectCorrectWalk(walks[i], *guest.qemu, kFixtures[i].drc_index);
  }
  EXPECT_EQ(guest.qemu->index_mismatches, 0u);
}

// The same while the snapshots are still being taken: the replays of several connectors are in
// progress at once and share the scratch work area. Regression test: the DRC index was written
// into the scratch's word 0 only on a replay's first host step, and QEMU reads it on every call,
// so one core's snapshot took the other core's properties (reg, ibm,my-drc-index) without an
// error (fixed in 9bcb08c).
TEST(WalkerInterleaved, InterleavedReplays) {
  for (uint32_t steps : {1u, 3u, drc::kHostStepsPerCall}) {
    SCOPED_TRACE("host steps per call " + std::to_string(steps));
    Guest guest(kRam, kRtasBase, steps);
    AddCore(guest, 8);
    AddCore(guest, 16);
    for (const FragmentFixture& f : kFixtures) AddFixture(guest, f);
    std::vector<std::pair<OsWalk, uint32_t>> walks;
    walks.emplace_back(OsWalk::On(guest, 0x1000, 0x10000008), 0x10000008);
    walks.emplace_back(OsWalk::On(guest, 0x3000, 0x10000010), 0x10000010);
    // Two cores and six fixtures: eight walks, one per slot.
    for (size_t i = 1; i < std::size(kFixtures) && walks.size() < rtas::kSlotCount; ++i) {
      walks.emplace_back(OsWalk::On(guest, 0x5000 + i * 2 * kPage, kFixtures[i].drc_index),
                         kFixtures[i].drc_index);
    }
    for (bool any = true; any;) {
      any = false;
      for (auto& [walk, index] : walks) {
        if (!walk.done) {
          walk.Step();
          any = true;
        }
      }
    }
    EXPECT_EQ(guest.qemu->index_mismatches, 0u);
    for (auto& [walk, index] : walks) ExpectCorrectWalk(walk, *guest.qemu, index);
    EXPECT_EQ(guest.SlotsInUse(), 0);
  }
}

// ---------------------------------------------------------------------------------------------
// The 4 KiB limit (requirement 4h).

TEST(WalkerLimits, PropertyFillingTheWorkAreaExactlyIsServedIntact) {
  Guest guest(kRam, kRtasBase, 1);
  AddFixture(guest, kFixtures[4]);
  OsWalk walk = OsWalk::On(guest, kWorkArea, 0x90000000);
  walk.Run();
  ExpectCorrectWalk(walk, *guest.qemu, 0x90000000);
  ASSERT_GE(walk.answers.size(), 3u);
  const Answer& big = walk.answers[2];
  EXPECT_EQ(big.name, "ibm,big-value");
  ASSERT_EQ(big.value.size(), 4062u);
  EXPECT_EQ(20 + big.name.size() + 1 + big.value.size(), 4096u);
  for (size_t i = 0; i < big.value.size(); ++i) {
    ASSERT_EQ(big.value[i], (i * 7 + 3) % 251) << "byte " << i;
  }
}

TEST(WalkerLimits, PropertyOneByteOverIsRefusedNeverTruncated) {
  for (uint32_t steps : {1u, 2u, drc::kHostStepsPerCall, kManySteps}) {
    SCOPED_TRACE("host steps per call " + std::to_string(steps));
    Guest guest(kRam, kRtasBase, steps);
    guest.qemu->AddDrc(0x90000001, tests::LoadDtb("drc-too-big.dtb"), DrcState::kLogicalUnisolate);
    ConsoleCapture console;
    OsWalk walk = OsWalk::On(guest, kWorkArea, 0x90000001);
    walk.Run();
    ASSERT_EQ(walk.answers.size(), 1u) << Show(walk.answers);  // no data before the refusal
    EXPECT_EQ(walk.answers[0].code, -1);
    EXPECT_TRUE(
        console.Has("property ibm,big-value of DRC 0x90000001 is 4063 bytes, more than "
                    "the 4 KiB work area holds"))
        << console.text;
    EXPECT_EQ(guest.SlotsInUse(), 0);
  }
}

// Fragments up to drc::kMaxSnapshotSize are served whole; one record more is refused with -1 and
// a message, whatever the host steps per call, and the room is given back.
TEST(WalkerLimits, FragmentsUpToTheLimitAreServedLargerOnesRefused) {
  // WideFragment(n, 4000): n records of 7 + 3 + 4000 + 4 bytes, plus the node's 14 and ends' 5.
  const int fitting = static_cast<int>((drc::kMaxSnapshotSize - 64) / 4014);
  for (uint32_t steps : {1u, drc::kHostStepsPerCall, kManySteps}) {
    SCOPED_TRACE("host steps per call " + std::to_string(steps));
    Guest guest(kRam, kRtasBase, steps);
    guest.qemu->AddDrc(0x20000004, WideFragment(fitting, 4000), DrcState::kLogicalUnisolate);
    guest.qemu->AddDrc(0x20000005, WideFragment(fitting + 1, 4000), DrcState::kLogicalUnisolate);
    OsWalk walk = OsWalk::On(guest, kWorkArea, 0x20000004);
    walk.Run();
    ExpectCorrectWalk(walk, *guest.qemu, 0x20000004);
    ConsoleCapture console;
    OsWalk refused = OsWalk::On(guest, kWorkArea, 0x20000005);
    refused.Run();
    ASSERT_EQ(refused.answers.size(), 1u) << Show(refused.answers);
    EXPECT_EQ(refused.answers[0].code, -1);
    EXPECT_TRUE(
        console.Has("the fragment of DRC 0x20000005 is larger than the 131072 bytes of "
                    "snapshot a walk may take"))
        << console.text;
    EXPECT_EQ(guest.SlotsInUse(), 0);
  }
}

// A host whose walk never ends (here: a node opened on every step) gets -1 and a message once the
// walk is past any fragment tern could serve, never an endless -2.
TEST(WalkerLimits, AHostWalkThatNeverEndsIsAHardwareError) {
  Guest guest(kRam, kRtasBase, kManySteps);
  ConsoleCapture console;
  // The host's answer names "x" at offset 20 of the scratch work area on every step.
  guest.context->source.context = guest.ram.data() + guest.Scratch();
  guest.context->source.step = [](void* wa, uint32_t, bool, uint64_t) {
    auto* bytes = static_cast<uint8_t*>(wa);
    lib::StoreBe32(bytes + 8, drc::kDataOffset);
    bytes[drc::kDataOffset] = 'x';
    bytes[drc::kDataOffset + 1] = 0;
    return RtasStatus::kNextChild;
  };
  OsWalk walk = OsWalk::On(guest, kWorkArea, 0x20000007);
  walk.Run(100);
  ASSERT_EQ(walk.answers.size(), 1u) << Show(walk.answers);
  EXPECT_EQ(walk.answers[0].code, -1);
  EXPECT_TRUE(console.Has("DRC 0x20000007: the host's walk did not end") ||
              console.Has("is larger than the 131072 bytes"))
      << console.text;
  EXPECT_EQ(guest.SlotsInUse(), 0);
}

// The room is shared: walks in progress of other connectors leave enough for a fragment of the
// limit, and complete walks keep only what their snapshot takes.
TEST(WalkerLimits, WalksShareTheRoom) {
  Guest guest(kRam, kRtasBase, 3);
  const int fitting = static_cast<int>((drc::kMaxSnapshotSize - 64) / 4014);
  guest.qemu->AddDrc(0x20000004, WideFragment(fitting, 4000), DrcState::kLogicalUnisolate);
  guest.qemu->AddDrc(0x20000005, WideFragment(fitting, 4000), DrcState::kLogicalUnisolate);
  AddCore(guest, 8);
  OsWalk core = OsWalk::On(guest, 0x1000, kCpu);
  for (int i = 0; i < 20; ++i) core.Step();  // the core is served: its room is its snapshot
  const drc::WalkSlot* core_slot = guest.SlotOf(kCpu);
  ASSERT_NE(core_slot, nullptr);
  EXPECT_EQ(core_slot->snapshot_capacity.value(), core_slot->snapshot_size.value());
  OsWalk first = OsWalk::On(guest, 0x3000, 0x20000004);
  OsWalk second = OsWalk::On(guest, 0x5000, 0x20000005);
  while (!first.done || !second.done) {  // two walks of the limit's size, interleaved
    if (!first.done) first.Step();
    if (!second.done) second.Step();
  }
  core.Run();
  ExpectCorrectWalk(first, *guest.qemu, 0x20000004);
  ExpectCorrectWalk(second, *guest.qemu, 0x20000005);
  ExpectCorrectWalk(core, *guest.qemu, kCpu);
  EXPECT_EQ(guest.SlotsInUse(), 0);
}

// A host restart late in the replay of a large fragment: the half-taken walk and the restarted
// whole one are more than the room, yet the restart is found (QEMU's end comes at the wrong
// depth) and the fragment replayed again, for a migration before any host step.
TEST(WalkerLimits, LargeFragmentSurvivesAHostRestartDuringTheReplay) {
  const int fitting = static_cast<int>((drc::kMaxSnapshotSize - 64) / 4014);
  for (int count : {3, 16, fitting}) {
    const auto fragment = WideFragment(count, 4000);
    Guest plain(kRam, kRtasBase, 1);
    plain.qemu->AddDrc(0x20000006, fragment, DrcState::kLogicalUnisolate);
    OsWalk reference = OsWalk::On(plain, kWorkArea, 0x20000006);
    reference.Run();
    ExpectCorrectWalk(reference, *plain.qemu, 0x20000006);
    const uint64_t host_calls = plain.qemu->calls;
    for (uint64_t m = 1; m < host_calls; ++m) {
      SCOPED_TRACE(std::to_string(fragment.size()) +
                   "-byte fragment, QEMU migrated before host "
                   "step " +
                   std::to_string(m + 1) + " of " + std::to_string(host_calls));
      Guest guest(kRam, kRtasBase, 1);
      guest.qemu->AddDrc(0x20000006, fragment, DrcState::kLogicalUnisolate);
      guest.qemu->before_call = [m](FakeQemuCc& qemu, uint64_t call) {
        if (call == m) qemu.Migrate();
      };
      OsWalk walk = OsWalk::On(guest, kWorkArea, 0x20000006);
      walk.Run();
      ExpectCorrectWalk(walk, *guest.qemu, 0x20000006);
      EXPECT_EQ(walk.answers, reference.answers);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// First-call errors (requirement 4i).

TEST(WalkerErrors, UnusableConnectorIsNotConfigurable) {
  for (DrcState state :
       {DrcState::kLogicalUnusable, DrcState::kLogicalAvailable, DrcState::kPhysicalPowerOn}) {
    SCOPED_TRACE(static_cast<int>(state));
    for (uint32_t steps : {1u, drc::kHostStepsPerCall}) {
      Guest guest(kRam, kRtasBase, steps);
      AddCore(guest, 8, state);
      OsWalk walk = OsWalk::On(guest, kWorkArea, kCpu);
      EXPECT_EQ(walk.Step(), -9003);
      EXPECT_EQ(guest.SlotsInUse(), 0);
      EXPECT_EQ(walk.Word(1), 0u);  // no cookie: there is no sequence to continue
      EXPECT_TRUE(rtas::CheckStateRegion(guest.State()).is_ok());
    }
  }
}

TEST(WalkerErrors, UnknownIndexIsAParameterError) {
  Guest guest(kRam, kRtasBase, drc::kHostStepsPerCall);
  AddCore(guest, 8);
  OsWalk walk = OsWalk::On(guest, kWorkArea, 0x10000009);
  EXPECT_EQ(walk.Step(), -3);
  EXPECT_EQ(guest.SlotsInUse(), 0);
  OsWalk zero = OsWalk::On(guest, kWorkArea, 0);
  EXPECT_EQ(zero.Step(), -3);
  EXPECT_EQ(guest.qemu->calls, 1u);  // index 0 never reaches the host
}

TEST(WalkerErrors, WorkAreaOutsideGuestRamIsAParameterError) {
  Guest guest(kRam, kRtasBase, drc::kHostStepsPerCall);
  AddCore(guest, 8);
  for (uint64_t wa : {kRam, kRam - 8, kRam - kPage + 4, uint64_t{1} << 40, ~uint64_t{0} - 4}) {
    SCOPED_TRACE(wa);
    if (wa < kRam &&
        wa + 8 <= kRam) {  // a first call whose first words are in RAM, the rest of the page not
      lib::StoreBe32(&guest.ram[wa], kCpu);
      lib::StoreBe32(&guest.ram[wa + 4], 0);
    }
    EXPECT_EQ(guest.Call(wa), -3);
  }
  EXPECT_EQ(guest.qemu->calls, 0u);
  EXPECT_EQ(guest.SlotsInUse(), 0);
  // The last page of RAM is fine.
  OsWalk walk = OsWalk::On(guest, kRam - kPage, kCpu);
  walk.Run();
  ExpectCorrectWalk(walk, *guest.qemu, kCpu);
}

TEST(WalkerErrors, ConnectorBecomingUnusableDuringTheReplayIsAHardwareError) {
  Guest guest(kRam, kRtasBase, 3);
  AddCore(guest, 8);
  OsWalk walk = OsWalk::On(guest, kWorkArea, kCpu);
  EXPECT_EQ(walk.Step(), -2);
  guest.qemu->SetState(kCpu, DrcState::kLogicalAvailable);
  EXPECT_EQ(walk.Step(), -1);
  EXPECT_EQ(guest.SlotsInUse(), 0);
}

// ---------------------------------------------------------------------------------------------
// Restart and abandonment while the snapshot is being taken.

TEST(WalkerReplay, RestartDuringTheReplayWalksFromTheStart) {
  // Regression test: a new sequence (word 1 = 0) on a connector whose replay is under way starts
  // a new replay, but QEMU's walk of that connector is still where the old replay left it. The
  // walker took its first answer (a property at depth 0) as an error, so the OS's restart got -1
  // ("the host's answer has no name"), 22 times in a row for the CPU core after two -2s, until
  // QEMU's walk had run out. Now the walker runs QEMU's stale walk to its end first.
  Guest guest(kRam, kRtasBase, 3);
  AddCore(guest, 8);
  OsWalk walk = OsWalk::On(guest, kWorkArea, kCpu);
  EXPECT_EQ(walk.Step(), -2);
  EXPECT_EQ(walk.Step(), -2);
  walk.Restart();
  walk.Run();
  ExpectCorrectWalk(walk, *guest.qemu, kCpu);
}

TEST(WalkerReplay, NewWalkAfterAnAbandonedReplay) {
  // Regression test (same cause): a walk abandoned while its snapshot was being taken (the OS
  // gave up after -2, or its slot was recycled, or set-indicator made tern forget it) leaves
  // QEMU's cursor mid-walk; the connector's next sequence failed with -1.
  Guest guest(kRam, kRtasBase, 3);
  AddCore(guest, 8);
  OsWalk abandoned = OsWalk::On(guest, kWorkArea, kCpu);
  EXPECT_EQ(abandoned.Step(), -2);
  EXPECT_EQ(drc::ForgetWalks(guest.State(), kCpu), 1u);
  OsWalk walk = OsWalk::On(guest, kWorkArea + kPage, kCpu);
  walk.Run();
  ExpectCorrectWalk(walk, *guest.qemu, kCpu);
}

// ---------------------------------------------------------------------------------------------
// Corruption (requirement 4j).

// Every record carries its CRC and is checked when it is served: a byte of a record not yet served
// that changes ends the walk with -1 when the walk reaches it, every answer before it right; a
// byte of a record already served is never read again and changes nothing.
TEST(WalkerCorruption, AnyCorruptSnapshotByteIsAHardwareErrorWhenItsRecordIsServed) {
  Guest probe(kRam, kRtasBase, kManySteps);
  AddCore(probe, 8);
  OsWalk first = OsWalk::On(probe, kWorkArea, kCpu);
  first.Step();
  ASSERT_NE(probe.SlotOf(kCpu), nullptr);
  const uint32_t size = probe.SlotOf(kCpu)->snapshot_size.value();
  ASSERT_GT(size, 0u);
  const std::vector<Answer> expected = Expected(*probe.qemu, kCpu);
  for (uint32_t byte = 0; byte < size; ++byte) {
    SCOPED_TRACE("snapshot byte " + std::to_string(byte));
    Guest guest(kRam, kRtasBase, kManySteps);
    AddCore(guest, 8);
    OsWalk walk = OsWalk::On(guest, kWorkArea, kCpu);
    for (int i = 0; i < 5; ++i) walk.Step();
    ASSERT_NE(guest.SlotOf(kCpu), nullptr);
    const drc::WalkSlot& slot = *guest.SlotOf(kCpu);
    const uint32_t served_up_to = slot.cursor.value();
    guest.ram[guest.rtas_base + slot.snapshot_offset.value() + byte] ^= 0x20;
    ConsoleCapture console;
    walk.Run();
    if (byte < served_up_to) {
      ExpectCorrectWalk(walk, *guest.qemu, kCpu);
    } else {
      ASSERT_EQ(walk.answers.back().code, -1) << Show(walk.answers);
      for (size_t i = 0; i + 1 < walk.answers.size(); ++i) {
        ASSERT_LT(i, expected.size());
        EXPECT_EQ(walk.answers[i], expected[i]) << "answer " << i;
      }
      EXPECT_TRUE(console.Has("DRC 0x10000008: snapshot record changed since it was written") ||
                  console.Has("DRC 0x10000008: malformed snapshot record"))
          << console.text;
      EXPECT_EQ(walk.Step(), -1);  // and the walk stays ended
    }
    EXPECT_EQ(guest.SlotsInUse(), 0);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(WalkerCorruption, CorruptSnapshotByteDuringTheReplayIsAHardwareError) {
  // A byte of the records already taken that changes between two calls that answered -2 (here
  // "ibm,dec-bits" with its last bit flipped) is never served: the walk ends with -1 when it gets
  // there, every answer before it right.
  Guest guest(kRam, kRtasBase, 3);
  AddCore(guest, 8);
  OsWalk walk = OsWalk::On(guest, kWorkArea, kCpu);
  EXPECT_EQ(walk.Step(), -2);  // node, "name", "ibm,dec-bits" recorded
  ASSERT_NE(guest.SlotOf(kCpu), nullptr);
  const drc::WalkSlot& slot = *guest.SlotOf(kCpu);
  const uint32_t size = slot.snapshot_size.value();
  ASSERT_GT(size, 8u);
  guest.ram[guest.rtas_base + slot.snapshot_offset.value() + size - 5] ^= 0x01;  // dec-bits value
  ConsoleCapture console;
  walk.Run();
  const std::vector<Answer> expected = Expected(*guest.qemu, kCpu);
  const std::vector<Answer> answers = walk.answers;
  ASSERT_EQ(answers.size(), 3u) << Show(walk.answers);  // node, "name", then -1
  EXPECT_EQ(answers[0], expected[0]);
  EXPECT_EQ(answers[1], expected[1]);
  EXPECT_EQ(answers[2].code, -1);
  EXPECT_TRUE(console.Has("snapshot record changed since it was written")) << console.text;
}

TEST(WalkerCorruption, CorruptSlotFieldsNeverServeGarbage) {
  // Without the dispatcher's region check (drc::ConfigureConnector alone), a slot whose offsets
  // or cursor are out of range ends the walk with -1.
  struct Damage {
    const char* what;
    std::function<void(drc::WalkSlot&)> apply;
  };
  const Damage damages[] = {
      {"cursor past the snapshot", [](drc::WalkSlot& s) { s.cursor = lib::Be32(0x100000); }},
      {"size past the capacity",
       [](drc::WalkSlot& s) { s.snapshot_size = lib::Be32(s.snapshot_capacity.value() + 1); }},
      {"snapshot before the data area", [](drc::WalkSlot& s) { s.snapshot_offset = lib::Be32(8); }},
      {"snapshot past the region",
       [](drc::WalkSlot& s) { s.snapshot_offset = lib::Be32(kStateSize - 100); }},
      {"snapshot far outside the region",
       [](drc::WalkSlot& s) { s.snapshot_offset = lib::Be32(0xfffff000); }},
      {"state unknown", [](drc::WalkSlot& s) { s.state = lib::Be32(7); }},
      {"records dropped", [](drc::WalkSlot& s) { s.dropped = lib::Be32(1); }},
      {"capacity past the region",
       [](drc::WalkSlot& s) { s.snapshot_capacity = lib::Be32(kStateSize); }},
      {"cursor moved one byte",
       [](drc::WalkSlot& s) { s.cursor = lib::Be32(s.cursor.value() + 1); }},
  };
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.what);
    Guest guest(kRam, kRtasBase, kManySteps);
    AddCore(guest, 8);
    OsWalk walk = OsWalk::On(guest, kWorkArea, kCpu);
    for (int i = 0; i < 4; ++i) walk.Step();
    ASSERT_NE(guest.SlotOf(kCpu), nullptr);
    damage.apply(*guest.SlotOf(kCpu));
    rtas::CommitStateRegion(guest.State());  // as if the slot were written consistently
    walk.Run();
    const std::vector<Answer> expected = Expected(*guest.qemu, kCpu);
    // Every answer after the damage is either the right one or the final -1.
    for (size_t i = 4; i < walk.answers.size(); ++i) {
      if (walk.answers[i].code == -1) {
        EXPECT_EQ(i + 1, walk.answers.size());
        break;
      }
      ASSERT_LT(i, expected.size());
      EXPECT_EQ(walk.answers[i], expected[i]) << "answer " << i;
    }
    if (walk.answers.back().code == -1) {
      EXPECT_EQ(guest.SlotOf(kCpu), nullptr) << "-1 ends the sequence: its slot is free";
    }
  }
}

// drc/ registers its handlers through the linker section the RTAS image's dispatcher reads; each
// names a service of the table, so the tokens of /rtas reach it.
TEST(DrcHandlers, AreRegisteredForServicesOfTheTable) {
  const auto own = drc::RtasHandlers();
  const auto registered = rtas::RegisteredHandlers();
  ASSERT_EQ(registered.size(), own.size());
  EXPECT_EQ(registered.data(), own.data());
  std::vector<std::string> names;
  for (const rtas::ServiceHandler& handler : registered) {
    EXPECT_GE(rtas::FindService(handler.service), 0) << handler.service;
    names.push_back(handler.service);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"ibm,configure-connector", "set-indicator",
                                             "ibm,os-term", "system-reboot"}));
}

// Through the dispatcher, with the real service table (configure-connector is tern's own; its
// host walk goes out through KVMPPC_H_RTAS to the fake QEMU).
class WalkerDispatchTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kTokenBase = 0x2000;
  static constexpr uint64_t kBlock = 0x800;

  void SetUp() override {
    hv.Reset();
    hv.rtas_guest_base = reinterpret_cast<uintptr_t>(guest.ram.data());
    for (size_t i = 0; i < rtas::Services().size(); ++i) tokens.push_back(kTokenBase + i);
    guest.qemu->Install(hv, Token("ibm,configure-connector"), Token("set-indicator"));
    AddCore(guest, 8);
    AddFixture(guest, kFixtures[1]);
  }
  void TearDown() override { hv.Reset(); }
  static uint32_t Token(const char* name) {
    return kTokenBase + static_cast<uint32_t>(rtas::FindService(name));
  }
  rtas::RtasContext Context() {
    rtas::RtasContext context{guest.memory, lib::Span<const uint32_t>(tokens.data(), tokens.size()),
                              guest.State()};
    context.handlers = drc::RtasHandlers();
    context.scratch = guest.Scratch();
    context.scratch_host = guest.ram.data() + guest.Scratch();
    return context;
  }
  // One RTAS call from the OS: returns rets[0], and the dispatcher's outcome in `outcome`.
  int32_t Rtas(const char* service, std::vector<uint32_t> args,
               rtas::DispatchOutcome* outcome = nullptr) {
    lib::StoreBe32(&guest.ram[kBlock], Token(service));
    lib::StoreBe32(&guest.ram[kBlock + 4], static_cast<uint32_t>(args.size()));
    lib::StoreBe32(&guest.ram[kBlock + 8], 1);
    for (size_t i = 0; i < args.size(); ++i)
      lib::StoreBe32(&guest.ram[kBlock + 12 + 4 * i], args[i]);
    lib::StoreBe32(&guest.ram[kBlock + 12 + 4 * args.size()], 0xaaaaaaaa);
    rtas::RtasContext context = Context();
    const rtas::DispatchOutcome result = rtas::Dispatch(context, kBlock);
    if (outcome != nullptr) *outcome = result;
    return static_cast<int32_t>(lib::LoadBe32(&guest.ram[kBlock + 12 + 4 * args.size()]));
  }
  OsWalk Walk(uint32_t drc_index, uint64_t work_area) {
    return OsWalk(
        &guest.memory,
        [this](uint64_t wa) {
          return Rtas("ibm,configure-connector",
                      {static_cast<uint32_t>(wa), static_cast<uint32_t>(wa >> 32)});
        },
        work_area, drc_index);
  }

  tests::FakeHypervisor& hv = tests::FakeHypervisor::Get();
  Guest guest{kRam, kRtasBase, drc::kHostStepsPerCall};
  std::vector<uint32_t> tokens;
};

TEST_F(WalkerDispatchTest, WalksThroughTheServiceTable) {
  OsWalk cpu = Walk(kCpu, 0x1000);
  cpu.Run();
  ExpectCorrectWalk(cpu, *guest.qemu, kCpu);
  EXPECT_EQ(cpu.busy(), 3u);  // 29 host steps at 8 per call
  OsWalk pci = Walk(0x40000018, 0x3000);
  pci.Run();
  ExpectCorrectWalk(pci, *guest.qemu, 0x40000018);
  const auto& header = guest.Header();
  const auto* stats = reinterpret_cast<const rtas::ServiceStats*>(
      guest.ram.data() + guest.rtas_base + header.stats_offset.value());
  EXPECT_EQ(stats[rtas::FindService("ibm,configure-connector")].calls.value(),
            cpu.statuses.size() + pci.statuses.size());
  // Only configure-connector steps went to the host, each from the scratch page.
  for (const auto& call : hv.calls) {
    EXPECT_EQ(call.opcode, lib::hv::KVMPPC_H_RTAS);
    EXPECT_EQ(call.args[0], guest.Scratch() + drc::kWorkAreaSize);
  }
}

TEST_F(WalkerDispatchTest, StateRegionFailingItsChecksIsAHardwareError) {
  OsWalk walk = Walk(kCpu, 0x1000);
  for (int i = 0; i < 6; ++i) walk.Step();
  ConsoleCapture console;
  guest.ram[guest.rtas_base + 20] ^= 0x01;  // the generation: the checksum no longer matches
  const auto page = walk.Page();
  rtas::DispatchOutcome outcome;
  EXPECT_EQ(Rtas("ibm,configure-connector", {0x1000, 0}, &outcome), -1);
  EXPECT_EQ(outcome, rtas::DispatchOutcome::kStateCorrupt);
  EXPECT_EQ(walk.Page(), page);
  EXPECT_TRUE(console.Has("tern-rtas: ibm,configure-connector: state region checksum mismatch"))
      << console.text;
  // A first call too: nothing is served from a region that fails its checks.
  OsWalk other = Walk(0x40000018, 0x3000);
  EXPECT_EQ(other.Step(), -1);
}

// A region of layout version 1 (as a tern before the explicit walk states wrote it), even with a
// valid checksum, is read by nothing: -1 and a message, the walk is not restarted.
TEST_F(WalkerDispatchTest, LayoutVersionsOneAndTwoAreRefused) {
  OsWalk walk = Walk(kCpu, 0x1000);
  for (int i = 0; i < 6; ++i) walk.Step();
  for (uint32_t version : {1u, 2u}) {
    ConsoleCapture console;
    const_cast<rtas::StateHeader&>(guest.Header()).layout_version = lib::Be32(version);
    rtas::CommitStateRegion(guest.State());
    const auto page = walk.Page();
    rtas::DispatchOutcome outcome;
    EXPECT_EQ(Rtas("ibm,configure-connector", {0x1000, 0}, &outcome), -1);
    EXPECT_EQ(outcome, rtas::DispatchOutcome::kStateCorrupt);
    EXPECT_EQ(walk.Page(), page);
    EXPECT_TRUE(
        console.Has("tern-rtas: ibm,configure-connector: state region layout version is "
                    "not 3, the only one this RTAS reads"))
        << console.text;
  }
}

TEST_F(WalkerDispatchTest, CorruptSlotIsCaughtByItsChecksum) {
  OsWalk walk = Walk(kCpu, 0x1000);
  for (int i = 0; i < 6; ++i) walk.Step();
  ASSERT_NE(guest.SlotOf(kCpu), nullptr);
  drc::WalkSlot& slot = *guest.SlotOf(kCpu);
  slot.cursor = lib::Be32(slot.cursor.value() + 1);  // a stray write, no commit
  ConsoleCapture console;
  EXPECT_EQ(walk.Step(), -1);
  EXPECT_TRUE(console.Has("DRC 0x10000008: walk slot checksum mismatch")) << console.text;
  EXPECT_EQ(guest.SlotOf(kCpu), nullptr);
  EXPECT_EQ(walk.Step(), -1);  // and the walk stays ended
}

TEST_F(WalkerDispatchTest, CorruptHeaderIsCaughtByItsChecksum) {
  OsWalk walk = Walk(kCpu, 0x1000);
  for (int i = 0; i < 6; ++i) walk.Step();
  auto& header = const_cast<rtas::StateHeader&>(guest.Header());
  header.generation = lib::Be32(header.generation.value() ^ 0x100);  // no commit
  ConsoleCapture console;
  rtas::DispatchOutcome outcome;
  EXPECT_EQ(Rtas("ibm,configure-connector", {0x1000, 0}, &outcome), -1);
  EXPECT_EQ(outcome, rtas::DispatchOutcome::kStateCorrupt);
  EXPECT_TRUE(console.Has("state region checksum mismatch")) << console.text;
}

TEST_F(WalkerDispatchTest, CorruptSnapshotIsAHardwareError) {
  OsWalk walk = Walk(kCpu, 0x1000);
  for (int i = 0; i < 6; ++i) walk.Step();
  ASSERT_NE(guest.SlotOf(kCpu), nullptr);
  const drc::WalkSlot& slot = *guest.SlotOf(kCpu);
  // A byte of the name of the next record to serve.
  guest.ram[guest.rtas_base + slot.snapshot_offset.value() + slot.cursor.value() + 8] ^= 0x04;
  ConsoleCapture console;
  rtas::DispatchOutcome outcome;
  EXPECT_EQ(Rtas("ibm,configure-connector", {0x1000, 0}, &outcome), -1);
  EXPECT_EQ(outcome, rtas::DispatchOutcome::kHandled);
  EXPECT_TRUE(console.Has("DRC 0x10000008: snapshot record changed since it was written"))
      << console.text;
}

TEST_F(WalkerDispatchTest, IsolationThroughSetIndicatorEndsTheWalk) {
  OsWalk walk = Walk(kCpu, 0x1000);
  for (int i = 0; i < 6; ++i) walk.Step();  // the snapshot is taken: QEMU's DRC is configured
  EXPECT_EQ(Rtas("set-indicator", {9001, kCpu, 0}), 0);
  EXPECT_EQ(guest.qemu->State(kCpu), DrcState::kLogicalAvailable);
  EXPECT_EQ(guest.SlotOf(kCpu), nullptr);
  EXPECT_EQ(walk.Step(), -1);
  EXPECT_EQ(Rtas("set-indicator", {9001, kCpu, 1}), 0);
  OsWalk again = Walk(kCpu, 0x2000);
  again.Run();
  ExpectCorrectWalk(again, *guest.qemu, kCpu);
}

TEST_F(WalkerDispatchTest, OsTermAndRebootEndEveryWalk) {
  for (const char* service : {"ibm,os-term", "system-reboot"}) {
    SCOPED_TRACE(service);
    hv.rtas_services[Token(service)] = [](const std::vector<uint32_t>&, std::vector<uint32_t>&) {
      return 0;
    };
    OsWalk cpu = Walk(kCpu, 0x1000);
    OsWalk pci = Walk(0x40000018, 0x3000);
    for (int i = 0; i < 5; ++i) cpu.Step();
    pci.Step();
    EXPECT_EQ(guest.SlotsInUse(), 2);
    EXPECT_EQ(Rtas(service, std::strcmp(service, "ibm,os-term") == 0 ? std::vector<uint32_t>{0}
                                                                     : std::vector<uint32_t>{}),
              0);
    EXPECT_EQ(guest.SlotsInUse(), 0);
    EXPECT_EQ(cpu.Step(), -1);
    EXPECT_EQ(pci.Step(), -1);
  }
}

TEST_F(WalkerDispatchTest, WorkAreaOutsideRamAndWrongCounts) {
  EXPECT_EQ(Rtas("ibm,configure-connector", {0, 1}), -3);  // 4 GiB: past RAM
  EXPECT_EQ(Rtas("ibm,configure-connector", {static_cast<uint32_t>(kRam), 0}), -3);
  EXPECT_EQ(Rtas("ibm,configure-connector", {0x1000}), -3);  // one argument
  EXPECT_TRUE(hv.calls.empty());
}

// ---------------------------------------------------------------------------------------------
// Measurements (printed, not asserted): OS calls, host calls and state-region bytes per walk.

TEST(WalkerMeasurements, CallsAndBytesPerWalk) {
  std::printf("%-20s %6s %9s %6s %10s %14s %14s\n", "fragment", "steps", "OS calls", "of -2",
              "host calls", "snapshot bytes", "bytes in use");
  for (const FragmentFixture& f : kFixtures) {
    for (uint32_t steps : {drc::kHostStepsPerCall, kManySteps}) {
      Guest guest(kRam, kRtasBase, steps);
      AddFixture(guest, f);
      OsWalk walk = OsWalk::On(guest, kWorkArea, f.drc_index);
      uint32_t snapshot = 0;
      while (!walk.done) {
        walk.Step();
        if (const drc::WalkSlot* slot = guest.SlotOf(f.drc_index); slot != nullptr) {
          snapshot = slot->snapshot_size.value();
        }
      }
      ExpectCorrectWalk(walk, *guest.qemu, f.drc_index);
      std::printf("%-20s %6u %9zu %6zu %10llu %14u %14u\n", f.dtb, steps == kManySteps ? 0 : steps,
                  walk.statuses.size(), walk.busy(),
                  static_cast<unsigned long long>(guest.qemu->calls), snapshot,
                  static_cast<uint32_t>(sizeof(drc::WalkSlot)) + snapshot);
      if (&f == &CpuCore() && steps == drc::kHostStepsPerCall) {
        ::testing::Test::RecordProperty("cpu_core_os_calls",
                                        static_cast<int>(walk.statuses.size()));
        ::testing::Test::RecordProperty("cpu_core_host_calls", static_cast<int>(guest.qemu->calls));
        ::testing::Test::RecordProperty("cpu_core_state_bytes",
                                        static_cast<int>(sizeof(drc::WalkSlot) + snapshot));
      }
    }
  }
  std::printf("(steps 0: unbounded; slot capacity %u bytes of snapshot, %u slots)\n",
              rtas::kStateDataSize / rtas::kSlotCount, rtas::kSlotCount);
}

}  // namespace

namespace {

// ---------------------------------------------------------------------------------------------
// The walk through the dispatcher of an RTAS area that rtas::Instantiate built from the real
// rtas.bin, with the context the image derives from its configuration (rtas/runtime.cc); the
// host's walk goes out through KVMPPC_H_RTAS to the fake QEMU. A migration copies the area to a
// destination where rtas.bin was instantiated at another base.

class InstantiatedGuest {
 public:
  static constexpr uint32_t kTokenBase = 0x2000;
  static constexpr uint64_t kBlock = 0x800;
  static constexpr uint32_t kHostRtasSize = 0x2000;  // QEMU's own part, left alone

  InstantiatedGuest(uint64_t ram_size, uint64_t base, const FakeQemuCc* migrated_from = nullptr)
      : ram(ram_size, 0), memory(reinterpret_cast<uintptr_t>(ram.data()), ram.size()), base(base) {
    qemu = migrated_from != nullptr ? migrated_from->Destination(memory)
                                    : std::make_unique<FakeQemuCc>(memory);
    image = tests::ReadFile(TERN_RTAS_IMAGE);
    for (size_t i = 0; i < rtas::Services().size(); ++i) tokens.push_back(kTokenBase + i);
    auto plan = rtas::PlanArea({image.data(), image.size()}, kHostRtasSize);
    EXPECT_TRUE(plan.is_ok());
    area = plan.value();
    const rtas::InstantiateInputs inputs{
        {image.data(), image.size()},         area,      ram_size, 0, tokens.data(),
        static_cast<uint32_t>(tokens.size()), 512000000, 0};
    EXPECT_TRUE(rtas::Instantiate(memory, base, inputs, 1).is_ok());
  }

  // The image's configuration as instantiation wrote it.
  const rtas::ImageConfig& Config() const {
    const auto* header = reinterpret_cast<const rtas::ImageHeader*>(image.data());
    return *reinterpret_cast<const rtas::ImageConfig*>(ram.data() + base + area.image_offset +
                                                       header->config.value());
  }
  // The scratch page the handlers get: the image has it in its .bss, inside the area; here it is
  // the page after the area, which a migration carries along with it.
  uint64_t Scratch() const { return (base + area.area_size + 4095) / 4096 * 4096; }
  uint64_t End() const { return Scratch() + rtas::kScratchSize; }

  int32_t Rtas(tests::FakeHypervisor& hv, const char* service, std::vector<uint32_t> args) {
    hv.rtas_guest_base = reinterpret_cast<uintptr_t>(ram.data());
    qemu->Install(hv, Token("ibm,configure-connector"), Token("set-indicator"));
    const rtas::ImageConfig& config = Config();
    lib::StoreBe32(&ram[kBlock], Token(service));
    lib::StoreBe32(&ram[kBlock + 4], static_cast<uint32_t>(args.size()));
    lib::StoreBe32(&ram[kBlock + 8], 1);
    for (size_t i = 0; i < args.size(); ++i) lib::StoreBe32(&ram[kBlock + 12 + 4 * i], args[i]);
    // As rtas/runtime.cc builds it, addresses translated to this test's RAM.
    lib::GuestMemory os_memory(reinterpret_cast<uintptr_t>(ram.data()), config.ram_top.value());
    EXPECT_TRUE(os_memory.Protect(base, End() - base));
    std::vector<uint32_t> config_tokens;
    for (uint32_t i = 0; i < config.service_count.value(); ++i) {
      config_tokens.push_back(config.tokens[i].value());
    }
    const uint64_t state = config.area_base.value() + config.state_offset.value();
    rtas::RtasContext context{os_memory,
                              {config_tokens.data(), config_tokens.size()},
                              {ram.data() + state, config.state_size.value()}};
    context.handlers = drc::RtasHandlers();
    context.scratch = Scratch();
    context.scratch_host = ram.data() + Scratch();
    context.state_address = state;
    context.host_features = config.host_features.value();
    EXPECT_EQ(rtas::Dispatch(context, kBlock), rtas::DispatchOutcome::kHandled);
    return static_cast<int32_t>(lib::LoadBe32(&ram[kBlock + 12 + 4 * args.size()]));
  }
  static uint32_t Token(const char* name) {
    return kTokenBase + static_cast<uint32_t>(rtas::FindService(name));
  }

  std::vector<uint8_t> ram;
  lib::GuestMemory memory;
  uint64_t base;
  std::unique_ptr<FakeQemuCc> qemu;
  std::vector<uint8_t> image;
  std::vector<uint32_t> tokens;
  rtas::AreaPlan area{};
};

TEST(WalkerMigration, ThroughTheDispatcherOfAnInstantiatedAreaAtAnotherBase) {
  tests::FakeHypervisor& hv = tests::FakeHypervisor::Get();
  constexpr uint64_t kSourceBase = 0x40000;
  constexpr uint64_t kDestinationBase = 0x123000;
  const std::vector<uint8_t> fragment = PciBridgeTree(0);  // the bridge and its device
  auto call_on = [&hv](InstantiatedGuest& guest) -> OsCall {
    InstantiatedGuest* g = &guest;
    return [g, &hv](uint64_t wa) {
      return g->Rtas(hv, "ibm,configure-connector",
                     {static_cast<uint32_t>(wa), static_cast<uint32_t>(wa >> 32)});
    };
  };
  auto walk_on = [&](InstantiatedGuest& guest, uint64_t work_area) {
    return OsWalk(&guest.memory, call_on(guest), work_area, 0x40010000);
  };
  hv.Reset();
  InstantiatedGuest plain(kRam, kSourceBase);
  plain.qemu->AddDrc(0x40010000, fragment, DrcState::kPhysicalUnisolate);
  OsWalk reference = walk_on(plain, kWorkArea);
  reference.Run();
  ExpectCorrectWalk(reference, *plain.qemu, 0x40010000);
  const size_t calls = reference.statuses.size();
  for (size_t k = 0; k <= calls; ++k) {
    SCOPED_TRACE("migration after call " + std::to_string(k) + " of " + std::to_string(calls));
    hv.Reset();
    InstantiatedGuest source(kRam, kSourceBase);
    source.qemu->AddDrc(0x40010000, fragment, DrcState::kPhysicalUnisolate);
    OsWalk walk = walk_on(source, kWorkArea);
    for (size_t i = 0; i < k; ++i) walk.Step();
    InstantiatedGuest destination(kOtherRam, kDestinationBase, source.qemu.get());
    ASSERT_EQ(destination.area.state_offset, source.area.state_offset);
    // What the migration carries of tern's state: the state region and the scratch page.
    const rtas::ImageConfig& from = source.Config();
    const rtas::ImageConfig& to = destination.Config();
    ASSERT_EQ(to.area_base.value(), kDestinationBase);
    std::memcpy(destination.ram.data() + to.area_base.value() + to.state_offset.value(),
                source.ram.data() + from.area_base.value() + from.state_offset.value(),
                from.state_size.value());
    std::memcpy(destination.ram.data() + destination.Scratch(),
                source.ram.data() + source.Scratch(), rtas::kScratchSize);
    walk.MoveTo(&destination.memory, call_on(destination), kOtherWorkArea);
    walk.Run();
    EXPECT_EQ(walk.answers, reference.answers);
    EXPECT_TRUE(CheckStatuses(walk.statuses).empty());
    if (::testing::Test::HasFailure()) break;
  }
  hv.Reset();
}

}  // namespace

namespace {

// A host step that answers `code` every time, writing nothing.
struct ConstantHost {
  int32_t code;
  static RtasStatus Step(void* self, uint32_t, bool, uint64_t) {
    return static_cast<RtasStatus>(static_cast<ConstantHost*>(self)->code);
  }
};

TEST(WalkerErrors, AHostThatStaysBusyGetsAHardwareErrorNotAnEndlessCallAgain) {
  for (int32_t code : {-2, 9900, 9905}) {
    SCOPED_TRACE(code);
    Guest guest(kRam, kRtasBase, drc::kHostStepsPerCall);
    ConstantHost host{code};
    guest.context->source = drc::FragmentSource{ConstantHost::Step, &host};
    ConsoleCapture console;
    OsWalk walk = OsWalk::On(guest, kWorkArea, 0x20000007);
    walk.Run(20000);
    ASSERT_EQ(walk.answers.size(), 1u) << Show(walk.answers);
    EXPECT_EQ(walk.answers[0].code, -1);
    EXPECT_EQ(walk.busy(), 10000u);
    EXPECT_TRUE(console.Has("DRC 0x20000007: the host stayed busy for 10000 calls"))
        << console.text;
    EXPECT_EQ(guest.SlotsInUse(), 0);
  }
}

// The first step's errors configure-connector defines reach the OS; any other code is -1.
TEST(WalkerErrors, OnlyDefinedFirstStepErrorsArePassedOn) {
  for (int32_t code : {-3, -9001, -9002, -9003, -1, -4, -9004, 6, 7, 9899, 9906, 12345}) {
    SCOPED_TRACE(code);
    Guest guest(kRam, kRtasBase, drc::kHostStepsPerCall);
    ConstantHost host{code};
    guest.context->source = drc::FragmentSource{ConstantHost::Step, &host};
    ConsoleCapture console;
    OsWalk walk = OsWalk::On(guest, kWorkArea, 0x20000007);
    walk.Run(10);
    ASSERT_EQ(walk.answers.size(), 1u) << Show(walk.answers);
    const bool defined = code == -3 || code == -9001 || code == -9002 || code == -9003;
    EXPECT_EQ(walk.answers[0].code, defined ? code : -1);
    if (!defined && code != -1) {
      EXPECT_TRUE(console.Has("the host answered " + std::to_string(code))) << console.text;
    }
    EXPECT_EQ(guest.SlotsInUse(), 0);
  }
}

}  // namespace

namespace {

// Regression (fuzz target state_region): a walk whose room grew read the other walks' rooms
// without checking them, so another slot re-checksummed with a room far outside the region made
// the compaction write there. The other slots are checked whenever their rooms are read.
TEST(WalkerCorruption, AnotherSlotWithARoomOutsideTheRegionIsDroppedNotUsed) {
  Guest guest(kRam, kRtasBase, 1);
  guest.qemu->AddDrc(0x20000006, WideFragment(3, 4000), DrcState::kLogicalUnisolate);
  OsWalk walk = OsWalk::On(guest, kWorkArea, 0x20000006);
  EXPECT_EQ(walk.Step(), -2);  // the node: 4 KiB of room taken
  drc::WalkSlot& other = guest.Slot(5);
  other.drc_index = lib::Be32(0x10000008);
  other.state = lib::Be32(static_cast<uint32_t>(drc::WalkState::kServing));
  other.snapshot_offset = lib::Be32(0xfff00000);
  other.snapshot_capacity = lib::Be32(0x80000);
  other.snapshot_size = lib::Be32(0x1000);
  rtas::CommitSlot(guest.State(), 5);  // as if the OS wrote it and its checksum
  ConsoleCapture console;
  walk.Run();  // the properties need more room: the walk's room grows
  ExpectCorrectWalk(walk, *guest.qemu, 0x20000006);
  EXPECT_TRUE(console.Has("walk slot 5 is corrupt (room outside the data area): dropped"))
      << console.text;
  EXPECT_EQ(guest.SlotsInUse(), 0);
}

}  // namespace

namespace {

// The bytes the walker writes into the state region are layout version 3 (docs/rtas.md), which
// tern-rtas-dump and a live migration between two tern builds rely on. Each scenario folds the
// CRC-32 of the whole region (header, slots, rooms) after every OS call; the values were recorded
// with the walker as one file (drc/walker.cc before its split, commit 0f70bc8). A different value
// means the region's bytes changed somewhere in the walk.
uint32_t Fold(Guest& guest, uint32_t crc) {
  return lib::Crc32(guest.State(), crc);
}

TEST(WalkerLayout, EveryFixtureWritesTheSameRegionBytes) {
  uint32_t crc = 0;
  for (const FragmentFixture& f : kFixtures) {
    for (uint32_t steps : {1u, 3u, kManySteps}) {
      Guest guest(kRam, kRtasBase, steps);
      AddFixture(guest, f);
      OsWalk walk = OsWalk::On(guest, kWorkArea, f.drc_index);
      while (!walk.done && walk.statuses.size() < 100000) {
        walk.Step();
        crc = Fold(guest, crc);
      }
      ExpectCorrectWalk(walk, *guest.qemu, f.drc_index);
    }
  }
  EXPECT_EQ(crc, 0x3d919817u);
}

TEST(WalkerLayout, SharedRoomsRestartsAndRecyclingWriteTheSameRegionBytes) {
  Guest guest(kRam, kRtasBase, 3);
  const int fitting = static_cast<int>((drc::kMaxSnapshotSize - 64) / 4014);
  guest.qemu->AddDrc(0x20000004, WideFragment(fitting, 4000), DrcState::kLogicalUnisolate);
  guest.qemu->AddDrc(0x20000005, PciBridgeTree(100 * 1024), DrcState::kLogicalUnisolate);
  guest.qemu->AddDrc(0x20000006, WideFragment(fitting, 4000), DrcState::kLogicalUnisolate);
  for (uint32_t id = 0; id < 10; ++id) AddCore(guest, 8 * id);
  uint32_t crc = 0;
  OsWalk core = OsWalk::On(guest, 0x1000, 0x10000000);
  for (int i = 0; i < 20; ++i) crc = Fold(guest, (core.Step(), crc));
  OsWalk first = OsWalk::On(guest, 0x3000, 0x20000004);
  OsWalk second = OsWalk::On(guest, 0x5000, 0x20000005);
  OsWalk third = OsWalk::On(guest, 0x7000, 0x20000006);
  // Three walks of about the limit's size fill the data area: their rooms are compacted.
  for (int i = 0; !first.done || !second.done || !third.done; ++i) {
    if (!first.done) first.Step();
    if (!second.done) second.Step();
    if (!third.done && i % 2 == 0) third.Step();
    if (i == 40) second.Restart();
    crc = Fold(guest, crc);
  }
  ExpectCorrectWalk(first, *guest.qemu, 0x20000004);
  ExpectCorrectWalk(second, *guest.qemu, 0x20000005);
  ExpectCorrectWalk(third, *guest.qemu, 0x20000006);
  // Nine more cores than free slots: the oldest walks are recycled.
  ConsoleCapture console;
  std::vector<OsWalk> cores;
  for (uint32_t id = 1; id < 10; ++id) {
    cores.push_back(OsWalk::On(guest, 0x10000 + id * kPage, 0x10000000 | (8 * id)));
    for (int i = 0; i < 3; ++i) crc = Fold(guest, (cores.back().Step(), crc));
  }
  EXPECT_TRUE(console.Has("recycling the abandoned walk of DRC 0x10000000")) << console.text;
  EXPECT_EQ(drc::ForgetWalks(guest.State(), 0x10000000 | 8 * 9), 1u);
  crc = Fold(guest, crc);
  EXPECT_EQ(drc::ForgetWalks(guest.State(), 0), 7u);
  EXPECT_EQ(Fold(guest, crc), 0xbf9b8806u);
}

}  // namespace
