// Instantiating tern's RTAS area: layout, relocation at any base, configuration, state region.
#include "rtas/instantiate.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "lib/be.h"
#include "lib/timeout.h"
#include "rtas/state-region.h"
#include "tests/host-cpu.h"
#include "tests/host-fixtures.h"

namespace {

using rtas::InstantiateError;

constexpr uint32_t kQemuRtasSize = 0x82c;  // QEMU 7.2, one vCPU

// A synthetic rtas.bin: header, config, 0x100 bytes of "code", two relocations, 4 KiB in memory.
std::vector<uint8_t> SyntheticImage() {
  const uint32_t config = sizeof(rtas::ImageHeader);
  const uint32_t code = config + sizeof(rtas::ImageConfig);
  const uint32_t rela = code + 0x100;
  const uint32_t size = rela + 2 * sizeof(rtas::Relocation);
  std::vector<uint8_t> image(size);
  auto& h = *reinterpret_cast<rtas::ImageHeader*>(image.data());
  std::memcpy(h.magic, "TERNRTAS", 8);
  h.version = lib::Be32(1);
  h.entry = lib::Be32(code);
  h.toc = lib::Be32(code + 0x80);
  h.file_size = lib::Be32(size);
  h.memory_size = lib::Be32(4096);
  h.rela = lib::Be32(rela);
  h.rela_end = lib::Be32(size);
  h.config = lib::Be32(config);
  for (uint32_t i = 0; i < 0x100; ++i) image[code + i] = static_cast<uint8_t>(i);
  // Pointers at code+0x10 and code+0x18 to image offsets 0x40 and code.
  const uint64_t entries[2][3] = {{code + 0x10, 22, 0x40}, {code + 0x18, 22, code}};
  for (int i = 0; i < 2; ++i) {
    uint8_t* e = &image[rela + i * sizeof(rtas::Relocation)];
    for (int f = 0; f < 3; ++f) {
      for (int b = 0; b < 8; ++b)
        e[8 * f + b] = static_cast<uint8_t>(entries[i][f] >> (56 - 8 * b));
    }
  }
  return image;
}

class InstantiateTest : public ::testing::Test {
 protected:
  lib::Result<uint64_t, InstantiateError> Build(uint64_t base, const std::vector<uint8_t>& image,
                                                uint64_t timebase_frequency = 512000000) {
    auto plan = rtas::PlanArea({image.data(), image.size()}, kQemuRtasSize);
    if (plan.is_error()) return lib::Err(plan.error());
    plan_ = plan.value();
    rtas::InstantiateInputs inputs{};
    inputs.image = {image.data(), image.size()};
    inputs.plan = plan_;
    inputs.ram_top = ram.size();
    inputs.console_unit = 0x71000000;
    inputs.tokens = tokens;
    inputs.token_count = 3;
    inputs.timebase_frequency = timebase_frequency;
    return rtas::Instantiate(memory, base, inputs, 1);
  }
  uint64_t Word(uint64_t address) { return lib::LoadBe64(&ram[address]); }

  std::vector<uint8_t> ram = std::vector<uint8_t>(8 << 20, 0x5a);
  lib::GuestMemory memory{reinterpret_cast<uintptr_t>(ram.data()), ram.size()};
  const uint32_t tokens[3] = {0x2000, 0x2001, 0};
  rtas::AreaPlan plan_{};
};

TEST_F(InstantiateTest, PlanKeepsQemusRangeAndPublishesTheWholeArea) {
  const auto image = SyntheticImage();
  auto plan = rtas::PlanArea({image.data(), image.size()}, kQemuRtasSize);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan.value().host_size, kQemuRtasSize);
  EXPECT_EQ(plan.value().image_offset, 0x1000u);  // past QEMU's FWNMI range, page aligned
  EXPECT_EQ(plan.value().image_size, 4096u);
  EXPECT_EQ(plan.value().state_offset, 0x2000u);
  EXPECT_EQ(plan.value().state_size, rtas::StateRegionSize(rtas::kStateDataSize));
  EXPECT_EQ(plan.value().area_size, 0x2000u + plan.value().state_size);
  EXPECT_GT(plan.value().area_size, kQemuRtasSize);
}

TEST_F(InstantiateTest, WorksAtTwoBasesWithPointersRelocated) {
  const auto image = SyntheticImage();
  const uint32_t code = sizeof(rtas::ImageHeader) + sizeof(rtas::ImageConfig);
  for (uint64_t base : {0x100000ull, 0x5f0000ull}) {
    SCOPED_TRACE(base);
    auto entry = Build(base, image);
    ASSERT_TRUE(entry.is_ok()) << rtas::InstantiateErrorName(entry.error());
    const uint64_t image_at = base + plan_.image_offset;
    EXPECT_EQ(entry.value(), image_at + code);
    EXPECT_EQ(Word(image_at + code + 0x10), image_at + 0x40);
    EXPECT_EQ(Word(image_at + code + 0x18), image_at + code);
    EXPECT_EQ(ram[image_at + code + 0x20], 0x20);  // the rest of the code is copied as is
    // QEMU's part of the area is left alone; the image's .bss is zeroed.
    EXPECT_EQ(ram[base], 0x5a);
    EXPECT_EQ(ram[base + kQemuRtasSize - 1], 0x5a);
    EXPECT_EQ(ram[image_at + image.size()], 0);
    const auto& config =
        *reinterpret_cast<const rtas::ImageConfig*>(&ram[image_at + sizeof(rtas::ImageHeader)]);
    EXPECT_EQ(config.area_base.value(), base);
    EXPECT_EQ(config.ram_top.value(), ram.size());
    EXPECT_EQ(config.console_unit.value(), 0x71000000u);
    EXPECT_EQ(config.service_count.value(), 3u);
    EXPECT_EQ(config.tokens[1].value(), 0x2001u);
    EXPECT_EQ(config.tokens[3].value(), 0u);
    const lib::Span<const uint8_t> state(&ram[base + plan_.state_offset], plan_.state_size);
    EXPECT_TRUE(rtas::CheckStateRegion(state).is_ok());
  }
  EXPECT_GE(tests::SyncedInstructionBytes(), 2 * 4096u);
}

// A CPU waits 2 s of time base for another's RTAS call: 2 * frequency ticks, saturating, never
// wrapping to a few ticks; 2 s at the fastest rate lib/timeout.h accepts when the frequency is
// unknown, so that the wait is at least 2 s on any time base.
TEST_F(InstantiateTest, TheEntryLockTimeoutIsTwoSecondsAndNeverWraps) {
  const auto image = SyntheticImage();
  const uint64_t base = 0x100000;
  auto lock_timeout = [&](uint64_t frequency) {
    EXPECT_TRUE(Build(base, image, frequency).is_ok());
    const uint64_t config = base + plan_.image_offset + sizeof(rtas::ImageHeader);
    return reinterpret_cast<const rtas::ImageConfig*>(&ram[config])->lock_timeout.value();
  };
  EXPECT_EQ(lock_timeout(512000000), 1024000000u);
  EXPECT_EQ(lock_timeout(lib::kMaxTimebaseFrequency), 2 * lib::kMaxTimebaseFrequency);
  // 2 * (2^63 + 1) is 2 in 64 bits: the lock would have been given up after two ticks.
  EXPECT_EQ(lock_timeout((uint64_t{1} << 63) + 1), ~uint64_t{0});
  EXPECT_EQ(lock_timeout(~uint64_t{0}), ~uint64_t{0});
  EXPECT_EQ(lock_timeout(0), 2 * lib::kMaxTimebaseFrequency);
}

TEST_F(InstantiateTest, RefusesBadBasesAndMemory) {
  const auto image = SyntheticImage();
  EXPECT_EQ(Build(0x100800, image).error(), InstantiateError::kBadBase);
  EXPECT_EQ(Build(ram.size() - 0x1000, image).error(), InstantiateError::kOutOfMemory);
  memory.Protect(0x200000, 0x1000);  // e.g. the firmware's own memory
  EXPECT_EQ(Build(0x1ff000, image).error(), InstantiateError::kOutOfMemory);
}

TEST_F(InstantiateTest, RefusesMalformedImages) {
  auto image = SyntheticImage();
  image[0] = 'X';
  EXPECT_EQ(Build(0x100000, image).error(), InstantiateError::kBadImage);
  image = SyntheticImage();
  const uint32_t rela = reinterpret_cast<const rtas::ImageHeader*>(image.data())->rela.value();
  image[rela + 15] = 1;  // R_PPC64_ADDR32 instead of RELATIVE
  EXPECT_EQ(Build(0x100000, image).error(), InstantiateError::kBadImage);
  image = SyntheticImage();
  image[rela + 5] = 0x10;  // offset 1 MiB: outside the image
  EXPECT_EQ(Build(0x100000, image).error(), InstantiateError::kBadImage);
  image = SyntheticImage();
  image.pop_back();  // file_size no longer matches
  EXPECT_EQ(Build(0x100000, image).error(), InstantiateError::kBadImage);
}

// The real rtas.bin the build produced: a valid header, only RELATIVE relocations, and an entry
// and TOC inside the image.
TEST_F(InstantiateTest, TheBuiltImage) {
  std::ifstream in(TERN_RTAS_IMAGE, std::ios::binary);
  ASSERT_TRUE(in.good()) << TERN_RTAS_IMAGE;
  const std::vector<uint8_t> image((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  const auto& h = *reinterpret_cast<const rtas::ImageHeader*>(image.data());
  EXPECT_LT(h.entry.value(), image.size());
  EXPECT_LT(h.toc.value(), h.memory_size.value() + 0x8000);
  EXPECT_GT(h.rela_end.value(), h.rela.value());  // it has pointers to relocate
  for (uint64_t base : {0x100000ull, 0x531000ull}) {
    auto entry = Build(base, image);
    ASSERT_TRUE(entry.is_ok()) << rtas::InstantiateErrorName(entry.error());
    EXPECT_EQ(entry.value(), base + plan_.image_offset + h.entry.value());
  }
}

// An rtas-size near 4 GiB leaves no 32-bit room for tern's image after QEMU's part: refused, not
// wrapped to a small area whose offsets overlap.
TEST(PlanArea, ARtasSizeNear4GiBIsRefusedNotWrapped) {
  const std::vector<uint8_t> image = tests::MinimalRtasImage();
  const lib::Span<const uint8_t> span(image.data(), image.size());
  EXPECT_EQ(rtas::PlanArea(span, 0xfffff000u).error(), rtas::InstantiateError::kAreaTooLarge);
  EXPECT_EQ(rtas::PlanArea(span, 0xffffffffu).error(), rtas::InstantiateError::kAreaTooLarge);
  auto fits = rtas::PlanArea(span, 0x10000000u);
  ASSERT_TRUE(fits.is_ok());
  EXPECT_EQ(fits.value().image_offset, 0x10000000u);
  EXPECT_GT(fits.value().area_size, fits.value().state_offset);
}

}  // namespace
