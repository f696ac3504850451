// IEEE 1275 packages as the client interface sees them [IEEE 1275 3.2, 6.3.2.3]: a package is a
// table of operations (open, close, read, write, seek, load) and named methods (call-method);
// an instance is {node, package, device, state}. The client interface (of/client-interface.h)
// dispatches every I/O service through these tables and knows no device.
//
// The firmware's own packages (the console, the root's and /rtas's methods) are the client
// interface's; device packages (a "block" device's disk-label and deblocker, of/block-package.cc)
// register themselves with TERN_PACKAGE by the IEEE 1275 device type they serve, and the boot
// code binds each device node it publishes to the package of its type (Binding). A new package
// is one new file and its sources.mk line.
#pragma once

#include "lib/result.h"
#include "lib/section-table.h"
#include "lib/span.h"
#include "lib/types.h"
#include "of/tree.h"

namespace of {

class ClientInterface;
struct Package;

// What an open instance holds: its node, its package, the device the boot code bound to the
// node (nullptr for the firmware's own packages), and state the package keeps between calls.
struct Instance {
  static constexpr size_t kStateBytes = 64;

  Phandle node = 0;
  const Package* package = nullptr;
  const void* device = nullptr;
  alignas(8) uint8_t state[kStateBytes] = {};

  // The package's state, of its own type (a plain struct that fits kStateBytes).
  template <class T>
  T& State() {
    static_assert(sizeof(T) <= kStateBytes && alignof(T) <= 8);
    return *reinterpret_cast<T*>(state);
  }
};

// Why an operation gave no result: kFailed answers -1; kNothingYet -2 (a console read with no
// input waiting [IEEE 1275 6.3.2.3 read]).
enum class IoStatus { kFailed, kNothingYet };

// call-method's stack [IEEE 1275 6.3.2.3]: its arguments after the ihandle with the top of the
// stack first (args[0]), and room for the results, the top first.
struct MethodCall {
  lib::Span<const uint32_t> args;
  lib::Span<uint32_t> results;
};

struct PackageMethod {
  const char* name;
  // kFailed throws: call-method's catch-result is -1.
  lib::Result<void, IoStatus> (*call)(ClientInterface& client, Instance& instance,
                                      MethodCall& call);
};

struct Package {
  const char* name;  // for messages ("block", "console")
  // The IEEE 1275 device_type of the nodes the boot code binds to it (nullptr: none).
  const char* device_type;
  // Opens `instance` (node, package and device set, state zeroed) with the device arguments of
  // the path it was opened by [IEEE 1275 4.3.1]; false refuses the open. nullptr accepts any.
  bool (*open)(ClientInterface& client, Instance& instance, lib::StringView arguments);
  void (*close)(ClientInterface& client, Instance& instance);
  // Bytes transferred to or from client memory at `address`; nullptr: the package has none.
  lib::Result<uint32_t, IoStatus> (*read)(ClientInterface& client, Instance& instance,
                                          uint64_t address, uint32_t size);
  lib::Result<uint32_t, IoStatus> (*write)(ClientInterface& client, Instance& instance,
                                           uint64_t address, uint32_t size);
  lib::Result<void, IoStatus> (*seek)(ClientInterface& client, Instance& instance,
                                      uint64_t position);
  // load ( addr -- size ) [IEEE 1275 3.7.2]: the instance's default image into client memory.
  lib::Result<uint32_t, IoStatus> (*load)(ClientInterface& client, Instance& instance,
                                          uint64_t address);
  lib::Span<const PackageMethod> methods;
};

#define TERN_PACKAGE(name) TERN_SECTION_TABLE(tern_packages, ::of::Package, name)

// The device packages linked into this program, and the one serving `device_type` (nullptr:
// none).
lib::Span<const Package> Packages();
const Package* PackageForType(lib::StringView device_type);

// A node the boot code bound to a device package, with the device behind it.
struct Binding {
  Phandle node = 0;
  const Package* package = nullptr;
  const void* device = nullptr;
};

}  // namespace of
