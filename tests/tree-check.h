// Helpers for tests of the live device tree (of/tree.h): an arena-backed tree built from a blob,
// and a check that the tree's index agrees with its blob.
#pragma once

#include <gtest/gtest.h>
#include <libfdt.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "lib/arena.h"
#include "lib/fdt.h"
#include "of/tree.h"

namespace tests {

// A Tree with its own arena (large enough for many growths).
struct TreeHolder {
  explicit TreeHolder(size_t arena_bytes = 16u << 20)
      : arena_memory(arena_bytes),
        arena(reinterpret_cast<uintptr_t>(arena_memory.data()),
              reinterpret_cast<uintptr_t>(arena_memory.data()) + arena_memory.size()) {}
  // Builds the tree from `blob`; false (with a test failure) when Init fails.
  bool Init(const std::vector<uint8_t>& blob, size_t slack) {
    auto built = tree.Init(blob.data(), arena, slack);
    EXPECT_TRUE(built.is_ok()) << lib::fdt::FdtErrorName(built.error());
    return built.is_ok();
  }

  std::vector<uint8_t> arena_memory;
  lib::Arena arena;
  of::Tree tree;
};

// The path of `node` through Tree::Path.
inline std::string PathOf(const of::Tree& tree, of::Phandle node) {
  char buffer[1024];
  auto length = tree.Path(node, buffer, sizeof(buffer));
  if (length.is_error() || length.value() >= sizeof(buffer)) return "<no path>";
  return std::string(buffer, length.value());
}

// A property's bytes, or "<absent>".
inline std::string PropertyOf(const of::Tree& tree, of::Phandle node, const char* name) {
  auto value = tree.GetProperty(node, name);
  if (value.is_error()) return "<absent>";
  return std::string(reinterpret_cast<const char*>(value.value().data()), value.value().size());
}

// Every node of the blob is in the index once, with the right offset, parent and siblings (the
// Child/Peer walk visits the nodes in the blob's depth-first order), phandles are unique, and
// FindDevice finds every node by its Path.
inline void ExpectConsistent(const of::Tree& tree) {
  const void* blob = tree.blob();
  ASSERT_TRUE(lib::fdt::CheckBlob(blob, fdt_totalsize(blob)).is_ok());
  std::vector<of::Phandle> in_blob;
  for (int offset = 0; offset >= 0; offset = fdt_next_node(blob, offset, nullptr)) {
    const of::Phandle phandle = fdt_get_phandle(blob, offset);
    in_blob.push_back(phandle);
    EXPECT_EQ(tree.OffsetOf(phandle), offset);
    EXPECT_EQ(tree.PhandleAt(offset), phandle);
  }
  std::vector<of::Phandle> walked;
  std::function<void(of::Phandle)> visit = [&](of::Phandle node) {
    walked.push_back(node);
    for (of::Phandle child = tree.Child(node); child != 0; child = tree.Peer(child)) {
      EXPECT_EQ(tree.Parent(child), node);
      visit(child);
    }
  };
  visit(tree.Peer(0));
  EXPECT_EQ(walked, in_blob);
  EXPECT_EQ(tree.node_count(), in_blob.size());
  const std::set<of::Phandle> unique(in_blob.begin(), in_blob.end());
  EXPECT_EQ(unique.size(), in_blob.size());
  EXPECT_EQ(unique.count(0), 0u);
  if (!unique.empty()) {
    EXPECT_EQ(tree.max_phandle(), *unique.rbegin());
  }
  for (of::Phandle node : in_blob) {
    EXPECT_TRUE(tree.IsValid(node));
    EXPECT_EQ(tree.FindDevice(PathOf(tree, node).c_str()), node) << PathOf(tree, node);
  }
}

}  // namespace tests
