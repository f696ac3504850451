// The reading half of tern-rtas-dump, apart from its command line (tools/tern-rtas-dump.cc) so
// that a fuzz target (tests/fuzz/rtas_dump_fuzz.cc) can run it on arbitrary dump files.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

namespace rtas_dump {

struct Options {
  std::optional<uint64_t> base;  // --base: the RTAS area's base; else the dump is searched
  uint64_t start = 0;            // --start: guest address of a raw dump's first byte
};

// Reads the dump `bytes` (a raw pmemsave dump or a big-endian ELF64 dump-guest-memory core) and
// prints the RTAS image's configuration and every state region to `out`; errors go to `err`.
// Returns tern-rtas-dump's exit status: 0 when a state region was found and passed its checks,
// 1 when none was found or one failed, 2 for an ELF core tern-rtas-dump cannot read.
int PrintRtasArea(const std::vector<uint8_t>& bytes, const Options& options, std::FILE* out,
                  std::FILE* err);

}  // namespace rtas_dump
