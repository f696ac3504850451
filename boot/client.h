// Binds the client-interface entry (tern_client_entry in boot/entry.S) to the instance tern_main
// builds before entering the OS.
#pragma once

#include "of/client-interface.h"

namespace boot {

void SetClient(of::ClientInterface* instance);

}  // namespace boot

extern "C" int64_t tern_client_call(uint64_t block);
extern "C" void tern_client_entry();
