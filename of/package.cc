#include "of/package.h"

// The bounds of the linker section TERN_PACKAGE fills: linker/tern.ld defines them in the image;
// on the host the linker does for any section named like a C identifier. Weak: a program that
// links no device package has none.
extern "C" {
[[gnu::weak]] extern const of::Package __start_tern_packages[];
[[gnu::weak]] extern const of::Package __stop_tern_packages[];
}

namespace of {

lib::Span<const Package> Packages() {
  return lib::SectionEntries(__start_tern_packages, __stop_tern_packages);
}

const Package* PackageForType(lib::StringView device_type) {
  for (const Package& package : Packages()) {
    if (package.device_type != nullptr && device_type == lib::StringView(package.device_type)) {
      return &package;
    }
  }
  return nullptr;
}

}  // namespace of
