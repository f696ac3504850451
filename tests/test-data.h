// Helpers to load device-tree blobs the build compiled from tests/data/*.dts or dumped from QEMU.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace tests {

inline std::string DataPath(const std::string& name) {
  return std::string(TERN_TEST_DATA_DIR) + "/" + name;
}

inline std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  // libfdt wants 8-byte alignment; vector storage from operator new has it.
  return bytes;
}

inline std::vector<uint8_t> LoadDtb(const std::string& name) {
  return ReadFile(DataPath(name));
}

}  // namespace tests
