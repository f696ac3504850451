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

#ifdef TERN_CORPUS_DIR
// A tree of the corpus dumped from real QEMU configurations (tests/corpus/configs.txt).
struct CorpusTree {
  std::string name;  // the dump's file name
  std::string line;  // its line of manifest.txt: the name, then what the config gives
  std::vector<uint8_t> blob;
};

// Every tree of the corpus, in manifest order; empty when the manifest is missing.
inline std::vector<CorpusTree> LoadCorpus() {
  std::vector<CorpusTree> trees;
  std::ifstream manifest(std::string(TERN_CORPUS_DIR) + "/manifest.txt");
  for (std::string line; std::getline(manifest, line);) {
    if (line.empty()) continue;
    std::string name = line.substr(0, line.find(' '));
    std::vector<uint8_t> blob = ReadFile(std::string(TERN_CORPUS_DIR) + "/" + name);
    trees.push_back(CorpusTree{std::move(name), std::move(line), std::move(blob)});
  }
  return trees;
}
#endif

}  // namespace tests
