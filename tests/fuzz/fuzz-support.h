// What every fuzz target (tests/fuzz/*_fuzz.cc) shares: a reader that takes typed values from the
// fuzzer's bytes, the firmware console silenced (or on stderr with TERN_FUZZ_VERBOSE=1), the
// dtc-compiled fixtures, and seed generation.
//
// Each target defines LLVMFuzzerTestOneInput and fuzz::MakeSeeds. fuzz-support.cc defines
// LLVMFuzzerInitialize: with TERN_FUZZ_SEEDS=DIR in the environment it calls MakeSeeds, which
// writes the target's seed inputs into DIR, and exits (tools/fuzz.sh --seeds); otherwise it
// attaches the console.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lib/span.h"

namespace fuzz {

// Big-endian values and byte runs taken from the front of the input; past its end every value
// is 0 and every run empty, so any input is a complete description.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t U8() { return at_ < size_ ? data_[at_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(uint16_t{U8()} << 8 | U8()); }
  uint32_t U32() { return uint32_t{U16()} << 16 | U16(); }
  uint64_t U64() { return uint64_t{U32()} << 32 | U32(); }
  bool Bool() { return (U8() & 1) != 0; }
  // Up to `count` bytes (fewer at the end of the input).
  std::vector<uint8_t> Bytes(size_t count);
  // Everything not taken yet.
  std::vector<uint8_t> Rest();
  size_t remaining() const { return size_ - at_; }
  bool empty() const { return at_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

// Writes seed inputs for `make fuzz`'s checked-in corpus (tests/fuzz/corpus/<target>/).
class Seeds {
 public:
  explicit Seeds(std::string directory) : directory_(std::move(directory)) {}
  void Add(const std::string& name, const std::vector<uint8_t>& bytes);

 private:
  std::string directory_;
};

// The target's seeds.
void MakeSeeds(Seeds& seeds);

// A fixture compiled by dtc from tests/data/<name>.dts (the build's data directory); aborts when
// it is missing, which is a build error, not an input the target should see.
std::vector<uint8_t> Fixture(const std::string& name);

// Appends big-endian values to a seed under construction.
void PutU8(std::vector<uint8_t>& out, uint8_t value);
void PutU16(std::vector<uint8_t>& out, uint16_t value);
void PutU32(std::vector<uint8_t>& out, uint32_t value);
void PutU64(std::vector<uint8_t>& out, uint64_t value);
void PutBytes(std::vector<uint8_t>& out, const std::vector<uint8_t>& bytes);

// Aborts with `what` on stderr: a target's own invariant (beyond the sanitizers') was broken.
[[noreturn]] void Violation(const char* what);

}  // namespace fuzz
