// tern-rtas-dump: reads tern's RTAS area out of a guest memory dump and prints it.
//
// It finds the RTAS image ("TERNRTAS") and the state region ("TERNSTAT", rtas/state-region.h) by
// searching the dump, or at --base, and prints the image's configuration, the state header with
// its checks, the walk slots and the per-service call statistics (tools/rtas-dump.cc does the
// reading). Host tool; see --help.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "tools/rtas-dump.h"

// The version string of the firmware built beside it (BUILD/version.h, -include'd by the Makefile).
#ifndef TERN_VERSION_STRING
#error "build tern-rtas-dump through the Makefile, which passes -include BUILD/version.h"
#endif

namespace {

constexpr const char* kUsage = R"(usage: tern-rtas-dump [--base ADDR] [--start ADDR] DUMP

Prints tern's RTAS area from a guest memory dump: the RTAS image's configuration, the state
region's header and checks, the configure-connector walk slots and per-service call statistics.

DUMP is either
  - a raw dump, as QEMU's monitor writes with `pmemsave ADDR SIZE FILE`; --start ADDR tells which
    guest address its first byte is (default 0), or
  - an ELF core, as `dump-guest-memory FILE` writes (guest addresses from its program headers).

  --base ADDR   the RTAS area's base (/rtas/linux,rtas-base); without it the dump is searched for
                the image and state-region magics
  --start ADDR  guest address of a raw dump's first byte
  --version     print the tern version this tool was built with (the firmware banner's) and exit
  --help        this text

Exit status: 0 when a state region was found and passed its checks, 1 when none was found or one
failed its checks, 2 on usage or I/O errors.
)";

std::optional<uint64_t> ParseNumber(const char* text) {
  errno = 0;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0') return std::nullopt;
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  rtas_dump::Options options;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("tern-rtas-dump %s\n", TERN_VERSION_STRING);
      return 0;
    }
    if ((arg == "--base" || arg == "--start") && i + 1 < argc) {
      auto value = ParseNumber(argv[++i]);
      if (!value) {
        std::fprintf(stderr, "tern-rtas-dump: bad address '%s'\n", argv[i]);
        return 2;
      }
      if (arg == "--base") {
        options.base = value;
      } else {
        options.start = *value;
      }
      continue;
    }
    if (arg[0] == '-' || path != nullptr) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    path = argv[i];
  }
  if (path == nullptr) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "tern-rtas-dump: cannot read %s: %s\n", path, std::strerror(errno));
    return 2;
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  return rtas_dump::PrintRtasArea(bytes, options, stdout, stderr);
}
