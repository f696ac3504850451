#include "rtas/host-call.h"

#include "lib/be.h"
#include "lib/spinlock.h"

namespace rtas {

namespace {

struct ArgumentBlock {
  lib::Be32 token;
  lib::Be32 nargs;
  lib::Be32 nret;
  lib::Be32 cells[kMaxHostCells];
};

constinit ArgumentBlock block{};
constinit lib::Spinlock block_lock;

}  // namespace

lib::Result<uint32_t, lib::fdt::FdtError> LookupToken(const void* blob, const char* service) {
  auto node = lib::fdt::NodeByPath(blob, "/rtas");
  if (node.is_error()) return lib::Err(node.error());
  return lib::fdt::PropertyU32(blob, node.value(), service);
}

lib::Result<HostCallResult, HostCallError> CallHost(uint32_t token, lib::Span<const uint32_t> args,
                                                    lib::Span<uint32_t> rets) {
  const size_t nret = rets.size() + 1;
  if (args.size() + nret > kMaxHostCells) return lib::Err(HostCallError::kTooManyCells);

  lib::SpinlockGuard guard(block_lock);
  block.token = lib::Be32(token);
  block.nargs = lib::Be32(static_cast<uint32_t>(args.size()));
  block.nret = lib::Be32(static_cast<uint32_t>(nret));
  for (size_t i = 0; i < kMaxHostCells; ++i) {
    block.cells[i] = lib::Be32(i < args.size() ? args[i] : 0);
  }
  // The firmware runs in real mode with the image at its link address, so a pointer to the block
  // is its real address.
  if (lib::hv::ForwardRtas(reinterpret_cast<uintptr_t>(&block)).is_error()) {
    return lib::Err(HostCallError::kHcallFailed);
  }
  for (size_t i = 0; i < rets.size(); ++i) rets[i] = block.cells[args.size() + 1 + i].value();
  return HostCallResult{static_cast<RtasStatus>(block.cells[args.size()].value())};
}

}  // namespace rtas
