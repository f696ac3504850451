// Time-base arithmetic for timeouts that cannot wrap. Every wait on a device or the host is a
// Deadline: ticks counted from when it was set, compared by subtraction, so the time base
// wrapping (after centuries) or a huge frequency cannot turn a 10-second bound into years or
// into a few ticks.
//
// The frequency comes from the device tree (a CPU's `timebase-frequency`); of/machine-info.h
// refuses values outside [kMinTimebaseFrequency, kMaxTimebaseFrequency], so every bound stays
// between a microsecond-ish tick and a nanosecond tick.
#pragma once

#include "lib/cpu.h"
#include "lib/types.h"

namespace lib {

// POWER's time base runs at 512 MHz (Power ISA 3.0B Book II 5.2; QEMU's pseries machines all
// say 512000000). The accepted range leaves room for other hosts without letting a bound overflow.
inline constexpr uint64_t kMinTimebaseFrequency = 1'000'000;       // 1 MHz
inline constexpr uint64_t kMaxTimebaseFrequency = 16'000'000'000;  // 16 GHz

// `count` units of 1/`per_second` seconds in time-base ticks, rounded down, saturating at
// 2^64 - 1. Exact for per_second up to 2^32 (the products below stay under per_second^2); every
// caller passes 1 or 1000.
constexpr uint64_t TicksFor(uint64_t count, uint64_t per_second, uint64_t frequency) {
  if (per_second == 0) return ~uint64_t{0};
  const uint64_t whole = frequency / per_second;
  const uint64_t rest = frequency % per_second;
  if (whole != 0 && count > ~uint64_t{0} / whole) return ~uint64_t{0};
  const uint64_t ticks = count * whole;
  // count * rest / per_second without overflow: rest < per_second, so split count too.
  const uint64_t extra = (count / per_second) * rest + ((count % per_second) * rest) / per_second;
  return ticks > ~uint64_t{0} - extra ? ~uint64_t{0} : ticks + extra;
}
constexpr uint64_t SecondsToTicks(uint64_t seconds, uint64_t frequency) {
  return TicksFor(seconds, 1, frequency);
}
constexpr uint64_t MillisecondsToTicks(uint64_t milliseconds, uint64_t frequency) {
  return TicksFor(milliseconds, 1000, frequency);
}

// `ticks` of a time base running at `frequency` in milliseconds, rounded down: what IEEE 1275
// `milliseconds` counts [6.3.2.7]. 0 for a frequency outside [kMinTimebaseFrequency,
// kMaxTimebaseFrequency] (0: the tree gave none), which of/machine-info.h never hands on.
// Whole seconds, then the rest: no product can overflow (the rest is below 2^34, times 1000).
constexpr uint64_t TicksToMilliseconds(uint64_t ticks, uint64_t frequency) {
  if (frequency < kMinTimebaseFrequency || frequency > kMaxTimebaseFrequency) return 0;
  return (ticks / frequency) * 1000 + (ticks % frequency) * 1000 / frequency;
}

// A bound on a wait: set with the number of ticks it allows, checked as often as wanted.
class Deadline {
 public:
  constexpr Deadline() = default;
  static Deadline After(uint64_t ticks) { return Deadline(ReadTimebase(), ticks); }
  static Deadline AfterSeconds(uint64_t seconds, uint64_t frequency) {
    return After(SecondsToTicks(seconds, frequency));
  }

  bool Passed() const { return ReadTimebase() - start_ >= ticks_; }
  uint64_t ticks() const { return ticks_; }

 private:
  constexpr Deadline(uint64_t start, uint64_t ticks) : start_(start), ticks_(ticks) {}
  uint64_t start_ = 0;
  uint64_t ticks_ = 0;
};

}  // namespace lib
