// The whole-fragment fetch (KVMPPC_H_DRC_FDT, docs/host-abi.md): FDT-to-records conversion and
// walks served from a fetched fragment.
#include <gtest/gtest.h>
#include <libfdt.h>

#include <string>
#include <vector>

#include "drc/fdt-records.h"
#include "drc/snapshot.h"
#include "drc/snapshot-records.h"
#include "drc/walk-slot.h"
#include "drc/walker.h"
#include "lib/be.h"
#include "lib/crc32.h"
#include "lib/wire.h"
#include "rtas/instantiate.h"
#include "rtas/state-region.h"
#include "tests/console-capture.h"

namespace {

using rtas::RtasStatus;

// A fragment as a host would return it: an unnamed root holding the DRC's node.
std::vector<uint8_t> Fragment(uint32_t big_value = 8, bool second_top_node = false) {
  std::vector<uint8_t> blob(64 * 1024);
  void* fdt = blob.data();
  EXPECT_EQ(fdt_create(fdt, static_cast<int>(blob.size())), 0);
  EXPECT_EQ(fdt_finish_reservemap(fdt), 0);
  EXPECT_EQ(fdt_begin_node(fdt, ""), 0);
  EXPECT_EQ(fdt_begin_node(fdt, "PowerPC,POWER9@8"), 0);
  EXPECT_EQ(fdt_property_string(fdt, "name", "PowerPC,POWER9"), 0);
  EXPECT_EQ(fdt_property_string(fdt, "device_type", "cpu"), 0);
  EXPECT_EQ(fdt_property_u32(fdt, "ibm,my-drc-index", 0x10000008), 0);
  std::vector<uint8_t> value(big_value, 0x5a);
  EXPECT_EQ(fdt_property(fdt, "blob", value.data(), static_cast<int>(value.size())), 0);
  EXPECT_EQ(fdt_begin_node(fdt, "l2-cache@2008"), 0);
  EXPECT_EQ(fdt_property_u32(fdt, "reg", 0x2008), 0);
  EXPECT_EQ(fdt_end_node(fdt), 0);
  EXPECT_EQ(fdt_begin_node(fdt, "l3-cache@3008"), 0);
  EXPECT_EQ(fdt_end_node(fdt), 0);
  EXPECT_EQ(fdt_end_node(fdt), 0);
  if (second_top_node) {
    EXPECT_EQ(fdt_begin_node(fdt, "stray"), 0);
    EXPECT_EQ(fdt_end_node(fdt), 0);
  }
  EXPECT_EQ(fdt_end_node(fdt), 0);
  EXPECT_EQ(fdt_finish(fdt), 0);
  blob.resize(fdt_totalsize(fdt));
  return blob;
}

// drc::FdtHeader is the specification's header, as libfdt reads it, from a blob at any address.
TEST(FdtHeader, IsTheHeaderLibfdtReads) {
  const auto blob = Fragment();
  std::vector<uint8_t> copy(blob.size() + 1);
  std::copy(blob.begin(), blob.end(), copy.begin() + 1);  // misaligned
  const auto header = lib::LoadWire<drc::FdtHeader>(copy.data() + 1);
  const void* fdt = blob.data();
  EXPECT_EQ(header.magic.value(), drc::kFdtMagic);
  EXPECT_EQ(header.totalsize.value(), fdt_totalsize(fdt));
  EXPECT_EQ(header.off_dt_struct.value(), fdt_off_dt_struct(fdt));
  EXPECT_EQ(header.off_dt_strings.value(), fdt_off_dt_strings(fdt));
  EXPECT_EQ(header.off_mem_rsvmap.value(), fdt_off_mem_rsvmap(fdt));
  EXPECT_EQ(header.version.value(), fdt_version(fdt));
  EXPECT_EQ(header.last_comp_version.value(), fdt_last_comp_version(fdt));
  EXPECT_EQ(header.boot_cpuid_phys.value(), fdt_boot_cpuid_phys(fdt));
  EXPECT_EQ(header.size_dt_strings.value(), fdt_size_dt_strings(fdt));
  EXPECT_EQ(header.size_dt_struct.value(), fdt_size_dt_struct(fdt));
}

TEST(FdtToRecords, ConvertsTheFragmentNodeAndItsSubtree) {
  const auto blob = Fragment();
  std::vector<uint8_t> out(4096);
  auto size = drc::FdtToRecords(blob.data(), static_cast<uint32_t>(blob.size()), out.data(),
                                static_cast<uint32_t>(out.size()));
  ASSERT_TRUE(size.is_ok()) << drc::FragmentErrorName(size.error());
  // NODE "PowerPC,POWER9@8", 4 PROPs, NODE l2 with a PROP, END, NODE l3, END, END.
  // Each record checked as the walker checks it before serving it (its CRC included).
  std::string tags;
  const lib::Span<const uint8_t> records(out.data(), size.value());
  for (uint32_t at = 0; at < size.value();) {
    auto record = drc::ReadRecord(records, at);
    ASSERT_TRUE(record.is_ok()) << "at " << at << ": " << drc::RecordErrorName(record.error());
    tags += static_cast<char>('0' + record.value().tag);
    at += record.value().size;
  }
  EXPECT_EQ(tags, "13333134144");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&out[3])), "PowerPC,POWER9@8");
}

TEST(FdtToRecords, RefusesWhatCannotBeServed) {
  std::vector<uint8_t> out(64 * 1024);
  const auto n = static_cast<uint32_t>(out.size());
  auto two = Fragment(8, true);
  EXPECT_EQ(drc::FdtToRecords(two.data(), static_cast<uint32_t>(two.size()), out.data(), n).error(),
            drc::FragmentError::kMalformed);
  // 20 + "blob\0" + value must fit 4096: 4071 does, 4072 does not.
  auto fits = Fragment(4071);
  EXPECT_TRUE(
      drc::FdtToRecords(fits.data(), static_cast<uint32_t>(fits.size()), out.data(), n).is_ok());
  auto big = Fragment(4072);
  EXPECT_EQ(drc::FdtToRecords(big.data(), static_cast<uint32_t>(big.size()), out.data(), n).error(),
            drc::FragmentError::kPropertyTooLarge);
  // 20 + the node's name and its NUL must fit 4096 too: 4075 characters do, 4076 do not (the
  // walk copied a longer name past the work area; found by the fdt_records fuzz target).
  for (const size_t length : {size_t{4075}, size_t{4076}, size_t{0xfffe}}) {
    std::vector<uint8_t> blob(80 * 1024);
    void* fdt = blob.data();
    ASSERT_EQ(fdt_create(fdt, static_cast<int>(blob.size())), 0);
    ASSERT_EQ(fdt_finish_reservemap(fdt), 0);
    ASSERT_EQ(fdt_begin_node(fdt, ""), 0);
    ASSERT_EQ(fdt_begin_node(fdt, std::string(length, 'n').c_str()), 0);
    ASSERT_EQ(fdt_end_node(fdt), 0);
    ASSERT_EQ(fdt_end_node(fdt), 0);
    ASSERT_EQ(fdt_finish(fdt), 0);
    auto records = drc::FdtToRecords(blob.data(), fdt_totalsize(fdt), out.data(), n);
    if (length == 4075) {
      EXPECT_TRUE(records.is_ok());
    } else {
      EXPECT_EQ(records.error(), drc::FragmentError::kNameTooLarge) << length;
    }
  }
  auto good = Fragment();
  EXPECT_EQ(
      drc::FdtToRecords(good.data(), static_cast<uint32_t>(good.size()), out.data(), 40).error(),
      drc::FragmentError::kTooLarge);
  good[0] ^= 1;
  EXPECT_EQ(
      drc::FdtToRecords(good.data(), static_cast<uint32_t>(good.size()), out.data(), n).error(),
      drc::FragmentError::kMalformed);
}

// A host with the whole-fragment fetch, in a byte-array guest.
struct FetchHost {
  std::vector<uint8_t>* ram;
  std::vector<uint8_t> fragment;
  uint64_t generation = 7;
  int64_t status = 0;
  bool bump_generation_on_copy = false;
  bool bump_generation_on_every_copy = false;  // a fragment that never settles
  int calls = 0;
};

lib::Result<lib::hv::DrcFragment, lib::hv::HcallStatus> Fetch(void* context, uint32_t,
                                                              uint64_t buffer, uint64_t size) {
  auto& host = *static_cast<FetchHost*>(context);
  ++host.calls;
  if (buffer != 0) {
    if (host.bump_generation_on_copy || host.bump_generation_on_every_copy) {
      ++host.generation;
      host.bump_generation_on_copy = false;
    }
    if (size < host.fragment.size()) return lib::Err(lib::hv::HcallStatus::kParameter);
    std::copy(host.fragment.begin(), host.fragment.end(), host.ram->begin() + buffer);
  }
  if (host.status != 0) return lib::Err(static_cast<lib::hv::HcallStatus>(host.status));
  return lib::hv::DrcFragment{host.fragment.size(), host.generation};
}

rtas::RtasStatus NoReplay(void*, uint32_t, bool, uint64_t) {
  ADD_FAILURE() << "the replay must not run when the host offers the fetch";
  return rtas::RtasStatus::kHardwareError;
}

class FetchWalkTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kState = 0x10000;
  static constexpr uint64_t kScratch = 0x8000;
  static constexpr uint64_t kWorkArea = 0x1000;

  void SetUp() override {
    ASSERT_TRUE(rtas::InitStateRegion(State(), 1).is_ok());
    host.ram = &ram;
    host.fragment = Fragment();
  }
  lib::Span<uint8_t> State() {
    return {ram.data() + kState, rtas::StateRegionSize(rtas::kStateDataSize)};
  }
  RtasStatus Call() {
    drc::WalkContext context{
        memory, State(), drc::FragmentSource{NoReplay, nullptr}, kScratch, ram.data() + kScratch,
        8};
    context.fetch = drc::FragmentFetch{Fetch, &host};
    context.state_address = kState;
    return drc::ConfigureConnector(context, kWorkArea);
  }
  void Start(uint32_t drc_index) {
    lib::StoreBe32(&ram[kWorkArea], drc_index);
    lib::StoreBe32(&ram[kWorkArea + 4], 0);
  }
  std::string Name() { return reinterpret_cast<const char*>(&ram[kWorkArea + 20]); }

  std::vector<uint8_t> ram = std::vector<uint8_t>(512 * 1024);
  lib::GuestMemory memory{reinterpret_cast<uintptr_t>(ram.data()), ram.size()};
  FetchHost host;
};

TEST_F(FetchWalkTest, ServesTheFetchedFragment) {
  Start(0x10000008);
  std::vector<std::pair<int, std::string>> answers;
  for (int i = 0; i < 20; ++i) {
    const auto status = static_cast<int>(Call());
    answers.emplace_back(status, status == 1 || status == 2 || status == 3 ? Name() : "");
    if (status <= 0) break;
  }
  const std::vector<std::pair<int, std::string>> expected = {{2, "PowerPC,POWER9@8"},
                                                             {3, "name"},
                                                             {3, "device_type"},
                                                             {3, "ibm,my-drc-index"},
                                                             {3, "blob"},
                                                             {2, "l2-cache@2008"},
                                                             {3, "reg"},
                                                             {1, "l3-cache@3008"},
                                                             {4, ""},
                                                             {0, ""}};
  EXPECT_EQ(answers, expected);
  EXPECT_EQ(host.calls, 2);  // one size query and one copy, in the first call
}

// The region's bytes after every call of a fetched walk (layout version 3, docs/rtas.md), folded
// into one CRC-32 as the walker wrote them before its split into files (commit 0f70bc8).
TEST_F(FetchWalkTest, WritesTheSameRegionBytes) {
  host.fragment = Fragment(300);
  uint32_t crc = 0;
  Start(0x10000008);
  int status = 0;
  for (int i = 0; i < 20; ++i) {
    status = static_cast<int>(Call());
    crc = lib::Crc32(State(), crc);
    if (status <= 0) break;
  }
  EXPECT_EQ(status, 0);
  EXPECT_EQ(crc, 0xdeb27432u);
}

TEST_F(FetchWalkTest, AFragmentChangingDuringTheCopyIsFetchedAgain) {
  host.bump_generation_on_copy = true;
  Start(0x10000008);
  EXPECT_EQ(Call(), RtasStatus::kBusy);
  EXPECT_NE(lib::LoadBe32(&ram[kWorkArea + 4]), 0u);  // the cookie, so the next call continues
  EXPECT_EQ(static_cast<int>(Call()), 2);
  EXPECT_EQ(Name(), "PowerPC,POWER9@8");
}

// Issue #26 item 2: a fragment whose generation changes between the size query and every copy
// made configure-connector answer -2 for ever (drmgr and Linux retry for ever). Each change
// counts as the host being busy (the slot's host_busy): after drc::kMaxHostBusy of them the walk
// ends with -1 and a message, as a replay whose host stays busy does.
TEST_F(FetchWalkTest, AFragmentThatNeverSettlesIsAHardwareErrorNotAnEndlessCallAgain) {
  host.bump_generation_on_every_copy = true;
  Start(0x10000008);
  tests::ConsoleCapture console;
  uint32_t busy = 0;
  RtasStatus answer = RtasStatus::kBusy;
  while (busy <= 2 * drc::kMaxHostBusy && (answer = Call()) == RtasStatus::kBusy) ++busy;
  EXPECT_EQ(busy, drc::kMaxHostBusy);
  EXPECT_EQ(answer, RtasStatus::kHardwareError);
  EXPECT_TRUE(console.Has("DRC 0x10000008: the fragment changed during each of the 10000 fetches"))
      << console.text;
  EXPECT_EQ(host.calls, 2 * static_cast<int>(drc::kMaxHostBusy + 1));
  // The walk ended: its slot is free, and the next sequence starts afresh and completes.
  host.bump_generation_on_every_copy = false;
  Start(0x10000008);
  EXPECT_EQ(static_cast<int>(Call()), 2);
  EXPECT_EQ(Name(), "PowerPC,POWER9@8");
}

// A walk a replay left draining (a migration from a host without the fetch to one with it) has
// no host walk to drain: it is fetched once and served, in the states drc/walk-slot.h lists.
TEST_F(FetchWalkTest, AWalkLeftDrainingByAReplayIsFetched) {
  host.bump_generation_on_copy = true;
  Start(0x10000008);
  EXPECT_EQ(Call(), RtasStatus::kBusy);
  const auto& header = *reinterpret_cast<const rtas::StateHeader*>(State().data());
  uint32_t index = 0;
  drc::WalkSlot* slot = nullptr;
  for (; index < header.slot_count.value(); ++index) {
    slot = reinterpret_cast<drc::WalkSlot*>(State().data() + header.slots_offset.value() +
                                            index * sizeof(drc::WalkSlot));
    if (slot->drc_index.value() == 0x10000008) break;
  }
  ASSERT_LT(index, header.slot_count.value());
  slot->state = lib::Be32(static_cast<uint32_t>(drc::WalkState::kDraining));
  rtas::CommitSlot(State(), index);
  tests::ConsoleCapture console;
  EXPECT_EQ(static_cast<int>(Call()), 2);
  EXPECT_EQ(Name(), "PowerPC,POWER9@8");
  EXPECT_EQ(slot->state.value(), static_cast<uint32_t>(drc::WalkState::kServing));
  int answers = 1;
  while (static_cast<int>(Call()) > 0) ++answers;
  EXPECT_EQ(answers, 9);
  EXPECT_EQ(host.calls, 4);  // two fetches of two calls each, then served from the snapshot
  EXPECT_EQ(console.text, "");
}

TEST_F(FetchWalkTest, HostRefusalsBecomeRtasStatuses) {
  host.status = -9;  // H_NOT_FOUND: no such DRC
  Start(0x10000009);
  EXPECT_EQ(Call(), RtasStatus::kParameterError);
  host.status = -75;  // H_STATE: the connector is not usable
  Start(0x10000008);
  EXPECT_EQ(Call(), RtasStatus::kNotConfigurable);
  host.status = -1;
  Start(0x10000008);
  EXPECT_EQ(Call(), RtasStatus::kHardwareError);
}

TEST_F(FetchWalkTest, AFragmentLargerThanTheSnapshotLimitIsRefused) {
  host.fragment = Fragment(4000);
  host.fragment.resize(drc::kMaxSnapshotSize + 1, 0);  // the size the host reports
  Start(0x10000008);
  tests::ConsoleCapture console;
  EXPECT_EQ(Call(), RtasStatus::kHardwareError);
  EXPECT_TRUE(console.Has("the fragment of DRC 0x10000008 is 131073 bytes, more than 131072"))
      << console.text;
}

}  // namespace
