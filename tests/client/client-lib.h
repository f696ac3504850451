// What the test clients (tests/client/*.cc) share: calling tern's client interface like an OS
// and calling an RTAS entry. Built with the firmware's flags; the clients run at 0x400000.
#pragma once

#include "lib/be.h"
#include "lib/types.h"

namespace client {

struct RtasBlock {
  lib::Be32 token;
  lib::Be32 nargs;
  lib::Be32 nret;
  lib::Be32 cells[16];
};

// Set once from the r5 the firmware entered the client with.
void SetClientInterface(uint64_t entry);
uint32_t Address(const void* pointer);

// Calls `service` with `nargs` arguments; returns rets[0] (and the others in `more`), or
// 0xffffffff when the interface refused the call.
uint32_t Ci(const char* service, uint32_t nargs, uint32_t nret, const uint32_t* args,
            uint32_t* more = nullptr);
// A one-cell property, or 0.
uint32_t GetU32(uint32_t node, const char* name);
// Writes to the console instance set with SetConsole (/chosen stdout).
void SetConsole(uint32_t ihandle);
void Print(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Calls the RTAS entry `entry` (instantiated at `base`) with a block built from the arguments;
// returns the status and fills `rets` with rets[1..nret-1].
int32_t CallRtas(uint64_t entry, uint64_t base, uint32_t token, uint32_t nargs, uint32_t nret,
                 const uint32_t* args, uint32_t* rets);

}  // namespace client
