#include "of/console-package.h"

#include "lib/hv.h"
#include "of/client-interface.h"

namespace of {
namespace {

lib::Result<uint32_t, IoStatus> WriteVty(ClientInterface& client, Instance&, uint64_t address,
                                         uint32_t size) {
  char chunk[256];
  uint32_t written = 0;
  while (written < size) {
    const uint32_t n = lib::Min<uint32_t>(size - written, sizeof(chunk));
    if (client.memory().Read(address + written, chunk, n).is_error()) break;
    // The client's bytes go out as they are: Linux already sends "\r\n".
    if (lib::hv::PutTermChars(client.config().console_unit, chunk, n).is_error()) break;
    written += n;
  }
  if (written == 0 && size != 0) return lib::Err(IoStatus::kFailed);
  return written;
}

// Characters the hypervisor gave beyond what the last read wanted wait for the next one.
lib::Result<uint32_t, IoStatus> ReadVty(ClientInterface& client, Instance&, uint64_t address,
                                        uint32_t size) {
  ClientInterface::InputBuffer& input = client.input();
  if (input.count == 0) {
    auto count = lib::hv::GetTermChars(client.config().console_unit, input.bytes);
    if (count.is_error()) return lib::Err(IoStatus::kFailed);
    input.count = static_cast<uint32_t>(count.value());
    input.next = 0;
  }
  const uint32_t n = lib::Min<uint32_t>(input.count, size);
  if (n > 0 && client.memory().Write(address, input.bytes + input.next, n).is_error()) {
    return lib::Err(IoStatus::kFailed);
  }
  input.next += n;
  input.count -= n;
  // [IEEE 1275 6.3.2.3] -2: nothing available yet (for a console, not an error).
  if (n == 0) return lib::Err(IoStatus::kNothingYet);
  return n;
}

lib::Result<uint32_t, IoStatus> Discard(ClientInterface& client, Instance&, uint64_t address,
                                        uint32_t size) {
  if (size != 0 && client.memory().Map(address, size, false).is_error()) {
    return lib::Err(IoStatus::kFailed);
  }
  return size;
}

lib::Result<uint32_t, IoStatus> NothingEver(ClientInterface&, Instance&, uint64_t, uint32_t) {
  return lib::Err(IoStatus::kNothingYet);
}

}  // namespace

const Package kConsolePackage = {"console", nullptr, nullptr, nullptr, ReadVty,
                                 WriteVty,  nullptr, nullptr, {}};
const Package kDiscardConsole = {"console", nullptr, nullptr, nullptr, NothingEver,
                                 Discard,   nullptr, nullptr, {}};

}  // namespace of
