#include "tests/fuzz/fuzz-support.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "lib/console.h"

namespace fuzz {

std::vector<uint8_t> Input::Bytes(size_t count) {
  const size_t n = count < remaining() ? count : remaining();
  std::vector<uint8_t> out(data_ + at_, data_ + at_ + n);
  at_ += n;
  return out;
}

std::vector<uint8_t> Input::Rest() {
  return Bytes(remaining());
}

void Seeds::Add(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = directory_ + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::exit(2);
  }
}

std::vector<uint8_t> Fixture(const std::string& name) {
  const std::string path = std::string(TERN_TEST_DATA_DIR) + "/" + name + ".dtb";
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (bytes.empty()) {
    std::fprintf(stderr, "fuzz: no fixture %s (built with the fuzz targets)\n", path.c_str());
    std::abort();
  }
  return bytes;
}

void PutU8(std::vector<uint8_t>& out, uint8_t value) {
  out.push_back(value);
}
void PutU16(std::vector<uint8_t>& out, uint16_t value) {
  PutU8(out, static_cast<uint8_t>(value >> 8));
  PutU8(out, static_cast<uint8_t>(value));
}
void PutU32(std::vector<uint8_t>& out, uint32_t value) {
  PutU16(out, static_cast<uint16_t>(value >> 16));
  PutU16(out, static_cast<uint16_t>(value));
}
void PutU64(std::vector<uint8_t>& out, uint64_t value) {
  PutU32(out, static_cast<uint32_t>(value >> 32));
  PutU32(out, static_cast<uint32_t>(value));
}
void PutBytes(std::vector<uint8_t>& out, const std::vector<uint8_t>& bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void Violation(const char* what) {
  std::fprintf(stderr, "fuzz: invariant broken: %s\n", what);
  std::abort();
}

}  // namespace fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* directory = std::getenv("TERN_FUZZ_SEEDS"); directory != nullptr) {
    fuzz::Seeds seeds(directory);
    fuzz::MakeSeeds(seeds);
    std::exit(0);
  }
  // The firmware's console: silent (fuzzing prints millions of error lines), or on stderr to see
  // what tern answered to a reproducer.
  const char* verbose = std::getenv("TERN_FUZZ_VERBOSE");
  if (verbose != nullptr && verbose[0] == '1') {
    lib::ConsoleAttachSink(lib::Sink{
        [](void*, const char* data, size_t size) { std::fwrite(data, 1, size, stderr); }, nullptr});
  } else {
    lib::ConsoleAttachSink(lib::Sink{[](void*, const char*, size_t) {}, nullptr});
  }
  return 0;
}
