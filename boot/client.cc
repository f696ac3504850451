// The firmware's one client-interface instance and its entry from boot/entry.S.
#include "boot/client.h"

#include "lib/panic.h"

namespace boot {
namespace {
constinit of::ClientInterface* client = nullptr;
}  // namespace

void SetClient(of::ClientInterface* instance) {
  client = instance;
}

}  // namespace boot

extern "C" int64_t tern_client_call(uint64_t block) {
  if (boot::client == nullptr) return -1;
  return static_cast<int64_t>(boot::client->Dispatch(block));
}
