// lib/timeout.h: time-base arithmetic for timeouts, exact where it can be and saturating where it
// cannot, for every frequency of the accepted range and every count.
#include "lib/timeout.h"

#include <gtest/gtest.h>

#include "tests/host-cpu.h"

namespace {

constexpr uint64_t kMax = ~uint64_t{0};
constexpr uint64_t kQemu = 512'000'000;  // QEMU's pseries timebase-frequency

// floor(count * frequency / per_second) in 128 bits (the host has them; the firmware does not).
uint64_t Exact(uint64_t count, uint64_t frequency, uint64_t per_second) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(count) * frequency / per_second);
}

// The bounds are what of/machine-info.h accepts; the arithmetic below relies on them.
static_assert(lib::kMinTimebaseFrequency == 1'000'000);
static_assert(lib::kMaxTimebaseFrequency == 16'000'000'000);

TEST(Timeout, SecondsAndMillisecondsAreExactAt512MHz) {
  EXPECT_EQ(lib::SecondsToTicks(0, kQemu), 0u);
  EXPECT_EQ(lib::SecondsToTicks(1, kQemu), kQemu);
  EXPECT_EQ(lib::SecondsToTicks(10, kQemu), 10 * kQemu);
  EXPECT_EQ(lib::MillisecondsToTicks(1, kQemu), 512'000u);
  EXPECT_EQ(lib::MillisecondsToTicks(1500, kQemu), 768'000'000u);
  // The largest count that does not saturate: every multiple is exact up to there.
  const uint64_t most_seconds = kMax / kQemu;
  EXPECT_EQ(lib::SecondsToTicks(most_seconds, kQemu), most_seconds * kQemu);
  EXPECT_EQ(lib::MillisecondsToTicks(most_seconds * 1000, kQemu), most_seconds * kQemu);
}

TEST(Timeout, FrequenciesThatAreNotWholeKilohertzRoundDown) {
  // 1 000 999 Hz: 1000.999 ticks a millisecond.
  EXPECT_EQ(lib::MillisecondsToTicks(1, 1'000'999), 1000u);
  EXPECT_EQ(lib::MillisecondsToTicks(1000, 1'000'999), 1'000'999u);
  EXPECT_EQ(lib::MillisecondsToTicks(1001, 1'000'999), 1'001'999u);  // 1001999.999
  // Any per_second up to 2^32 is exact: microseconds at 512 MHz, and counts up to 10^15 (32 years
  // of microseconds).
  EXPECT_EQ(lib::TicksFor(3, 1'000'000, kQemu), 1536u);
  constexpr uint64_t kBig = 1'000'000'000'000'000;
  EXPECT_EQ(lib::TicksFor(uint64_t{1} << 40, 1'000'000, 999'999),
            Exact(uint64_t{1} << 40, 999'999, 1'000'000));
  EXPECT_EQ(lib::TicksFor(kBig, 1'000'000, lib::kMaxTimebaseFrequency - 1),
            Exact(kBig, lib::kMaxTimebaseFrequency - 1, 1'000'000));
}

TEST(Timeout, HugeCountsAndFrequenciesSaturateInsteadOfWrapping) {
  // 10 s at a frequency of 2^64 - 1 would wrap to a few ticks with a plain product.
  EXPECT_EQ(lib::SecondsToTicks(10, kMax), kMax);
  EXPECT_EQ(lib::SecondsToTicks(kMax, kQemu), kMax);
  EXPECT_EQ(lib::MillisecondsToTicks(kMax, kQemu), kMax);
  EXPECT_EQ(lib::MillisecondsToTicks(kMax, lib::kMaxTimebaseFrequency), kMax);
  // One past the largest exact count saturates, never wraps below it.
  const uint64_t most_seconds = kMax / lib::kMaxTimebaseFrequency;
  EXPECT_EQ(lib::SecondsToTicks(most_seconds, lib::kMaxTimebaseFrequency),
            most_seconds * lib::kMaxTimebaseFrequency);
  EXPECT_EQ(lib::SecondsToTicks(most_seconds + 1, lib::kMaxTimebaseFrequency), kMax);
  // Where the whole part fits but adding the fraction does not.
  EXPECT_EQ(lib::TicksFor(kMax, 1000, 1001), kMax);
  // A zero per_second is not a unit: it counts as forever.
  EXPECT_EQ(lib::TicksFor(1, 0, kQemu), kMax);
}

TEST(Timeout, TinyCountsAndFrequenciesAreNeverRoundedUp) {
  EXPECT_EQ(lib::MillisecondsToTicks(1, 999), 0u);  // below one tick
  EXPECT_EQ(lib::MillisecondsToTicks(1, lib::kMinTimebaseFrequency), 1000u);
  EXPECT_EQ(lib::SecondsToTicks(1, lib::kMinTimebaseFrequency), lib::kMinTimebaseFrequency);
  EXPECT_EQ(lib::SecondsToTicks(5, 0), 0u);  // no time base: no ticks
  EXPECT_EQ(lib::MillisecondsToTicks(0, kMax), 0u);
}

TEST(Timeout, TicksToMillisecondsIsExactAndCannotOverflow) {
  EXPECT_EQ(lib::TicksToMilliseconds(0, kQemu), 0u);
  EXPECT_EQ(lib::TicksToMilliseconds(kQemu * 5 + kQemu / 1000 - 1, kQemu), 5000u);
  EXPECT_EQ(lib::TicksToMilliseconds(kQemu * 5 + kQemu / 1000, kQemu), 5001u);
  // A frequency that is no whole number of kilohertz: 1000 s are 1 000 000 ms exactly.
  EXPECT_EQ(lib::TicksToMilliseconds(1'000'999'000, 1'000'999), 1'000'000u);
  // The last tick of the time base, at both ends of the range.
  EXPECT_EQ(lib::TicksToMilliseconds(kMax, kQemu),
            (kMax / kQemu) * 1000 + (kMax % kQemu) / 512'000);
  EXPECT_EQ(lib::TicksToMilliseconds(kMax, lib::kMinTimebaseFrequency), kMax / 1000);
  EXPECT_EQ(lib::TicksToMilliseconds(kMax, lib::kMaxTimebaseFrequency),
            (kMax / lib::kMaxTimebaseFrequency) * 1000 +
                (kMax % lib::kMaxTimebaseFrequency) / 16'000'000);
  // Outside the range (0 is "the tree gave none"): nothing is counted.
  EXPECT_EQ(lib::TicksToMilliseconds(kMax, 0), 0u);
  EXPECT_EQ(lib::TicksToMilliseconds(kMax, lib::kMinTimebaseFrequency - 1), 0u);
  EXPECT_EQ(lib::TicksToMilliseconds(kMax, lib::kMaxTimebaseFrequency + 1), 0u);
}

TEST(Timeout, ADeadlinePassesAfterItsTicksEvenAcrossTheTimeBaseWrapping) {
  tests::SetTimebase(kMax - 5);
  const lib::Deadline deadline = lib::Deadline::After(10);
  EXPECT_EQ(deadline.ticks(), 10u);
  EXPECT_FALSE(deadline.Passed());
  tests::SetTimebase(3);  // 9 ticks later, after the wrap
  EXPECT_FALSE(deadline.Passed());
  tests::SetTimebase(4);
  EXPECT_TRUE(deadline.Passed());
  tests::SetTimebase(kMax - 6);  // "before" it was set reads as 2^64 - 1 ticks later
  EXPECT_TRUE(deadline.Passed());
  tests::SetTimebase(0);
}

TEST(Timeout, ADeadlineOfAHugeFrequencyIsLongNotShort) {
  tests::SetTimebase(1000);
  const lib::Deadline forever = lib::Deadline::AfterSeconds(10, kMax);
  EXPECT_EQ(forever.ticks(), kMax);
  tests::SetTimebase(kMax);  // 2^64 - 1001 ticks later
  EXPECT_FALSE(forever.Passed());
  const lib::Deadline ten = lib::Deadline::AfterSeconds(10, kQemu);
  tests::SetTimebase(kMax + uint64_t{10} * kQemu - 1);  // wraps past zero
  EXPECT_FALSE(ten.Passed());
  tests::SetTimebase(kMax + uint64_t{10} * kQemu);
  EXPECT_TRUE(ten.Passed());
  // A deadline never set has passed.
  EXPECT_TRUE(lib::Deadline().Passed());
  tests::SetTimebase(0);
}

}  // namespace
