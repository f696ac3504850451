#include "tests/client/client-lib.h"

#include <stdarg.h>

#include "lib/format.h"

namespace client {
namespace {

struct CiBlock {
  lib::Be32 service;
  lib::Be32 nargs;
  lib::Be32 nret;
  lib::Be32 cells[10];
};

using CiEntry = int64_t (*)(CiBlock*);
using RtasEntry = void (*)(RtasBlock*, uint64_t);

CiEntry ci = nullptr;
uint32_t console = 0;

}  // namespace

void SetClientInterface(uint64_t entry) {
  ci = reinterpret_cast<CiEntry>(static_cast<uintptr_t>(entry));
}

uint32_t Address(const void* pointer) {
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(pointer));
}

uint32_t Ci(const char* service, uint32_t nargs, uint32_t nret, const uint32_t* args,
            uint32_t* more) {
  CiBlock block{};
  block.service = lib::Be32(Address(service));
  block.nargs = lib::Be32(nargs);
  block.nret = lib::Be32(nret);
  for (uint32_t i = 0; i < nargs; ++i) block.cells[i] = lib::Be32(args[i]);
  if (ci(&block) != 0) return 0xffffffff;
  for (uint32_t i = 1; more != nullptr && i < nret; ++i) {
    more[i - 1] = block.cells[nargs + i].value();
  }
  return nret > 0 ? block.cells[nargs].value() : 0;
}

uint32_t GetU32(uint32_t node, const char* name) {
  uint32_t value = 0;
  const uint32_t args[] = {node, Address(name), Address(&value), 4};
  return Ci("getprop", 4, 1, args) == 4 ? lib::LoadBe32(&value) : 0;
}

void SetConsole(uint32_t ihandle) {
  console = ihandle;
}

void Print(const char* format, ...) {
  char line[256];
  va_list args;
  va_start(args, format);
  const size_t n =
      lib::Min(lib::FormatToBufferV(line, sizeof(line), format, args), sizeof(line) - 1);
  va_end(args);
  const uint32_t write[] = {console, Address(line), static_cast<uint32_t>(n)};
  (void)Ci("write", 3, 1, write);
}

int32_t CallRtas(uint64_t entry, uint64_t base, uint32_t token, uint32_t nargs, uint32_t nret,
                 const uint32_t* args, uint32_t* rets) {
  RtasBlock block{};
  block.token = lib::Be32(token);
  block.nargs = lib::Be32(nargs);
  block.nret = lib::Be32(nret);
  for (uint32_t i = 0; i < nargs && i < 16; ++i) block.cells[i] = lib::Be32(args[i]);
  for (uint32_t i = 0; i < nret && nargs + i < 16; ++i) block.cells[nargs + i] = lib::Be32(0xdead);
  reinterpret_cast<RtasEntry>(static_cast<uintptr_t>(entry))(&block, base);
  for (uint32_t i = 1; rets != nullptr && i < nret && nargs + i < 16; ++i) {
    rets[i - 1] = block.cells[nargs + i].value();
  }
  return static_cast<int32_t>(block.cells[nargs < 16 ? nargs : 15].value());
}

}  // namespace client
