#include "rtas/host-call.h"

#include "lib/be.h"
#include "lib/spinlock.h"

namespace rtas {

namespace {

// The one block every forwarded boot-time call uses, at a real address the host can read.
alignas(8) constinit uint8_t block[lib::kBlockHeaderSize + 4 * lib::kMaxBlockCells];
constinit lib::Spinlock block_lock;

}  // namespace

lib::Result<uint32_t, lib::fdt::FdtError> LookupToken(const void* blob, const char* service) {
  auto node = lib::fdt::NodeByPath(blob, "/rtas");
  if (node.is_error()) return lib::Err(node.error());
  return lib::fdt::PropertyU32(blob, node.value(), service);
}

lib::Result<HostCallResult, HostCallError> CallHost(uint32_t token, lib::Span<const uint32_t> args,
                                                    lib::Span<uint32_t> rets) {
  lib::CellBlock call;
  call.service = token;
  call.nargs = static_cast<uint32_t>(args.size());
  call.nret = static_cast<uint32_t>(rets.size() + 1);
  if (args.size() + rets.size() + 1 > lib::kMaxBlockCells) {
    return lib::Err(HostCallError::kTooManyCells);
  }
  for (size_t i = 0; i < args.size(); ++i) call.cells[i] = args[i];

  lib::SpinlockGuard guard(block_lock);
  lib::EncodeBlock(call, block);
  // The firmware runs in real mode with the image at its link address, so a pointer to the block
  // is its real address.
  if (lib::hv::ForwardRtas(reinterpret_cast<uintptr_t>(block)).is_error()) {
    return lib::Err(HostCallError::kHcallFailed);
  }
  lib::DecodeBlockRets(block, call);
  for (size_t i = 0; i < rets.size(); ++i) rets[i] = call.Rets()[i + 1];
  return HostCallResult{static_cast<RtasStatus>(call.Rets()[0])};
}

}  // namespace rtas
