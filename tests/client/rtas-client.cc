// A small OS stand-in booted by tern with -kernel: through the client interface it instantiates
// tern's RTAS at two bases and makes RTAS calls at both, printing each result on the console as
// "RTAS-CLIENT: ..." lines for tests/qemu/boot_test.py (scenario rtas-two-bases). It ends the VM
// with RTAS power-off.
#include "lib/be.h"
#include "lib/format.h"
#include "lib/string.h"

namespace {

struct CiBlock {
  lib::Be32 service;
  lib::Be32 nargs;
  lib::Be32 nret;
  lib::Be32 cells[10];
};

struct RtasBlock {
  lib::Be32 token;
  lib::Be32 nargs;
  lib::Be32 nret;
  lib::Be32 cells[16];
};

using CiEntry = int64_t (*)(CiBlock*);
using RtasEntry = void (*)(RtasBlock*, uint64_t);

CiEntry ci = nullptr;
uint32_t stdout_ihandle = 0;

uint32_t Address(const void* pointer) {
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(pointer));
}

// Calls `service` with `nargs` arguments; returns rets[0] (and the others in `more`).
uint32_t Ci(const char* service, uint32_t nargs, uint32_t nret, const uint32_t* args,
            uint32_t* more = nullptr) {
  CiBlock block{};
  block.service = lib::Be32(Address(service));
  block.nargs = lib::Be32(nargs);
  block.nret = lib::Be32(nret);
  for (uint32_t i = 0; i < nargs; ++i) block.cells[i] = lib::Be32(args[i]);
  if (ci(&block) != 0) return 0xffffffff;
  for (uint32_t i = 1; more != nullptr && i < nret; ++i)
    more[i - 1] = block.cells[nargs + i].value();
  return nret > 0 ? block.cells[nargs].value() : 0;
}

void Print(const char* format, ...) __attribute__((format(printf, 1, 2)));
void Print(const char* format, ...) {
  char line[256];
  va_list args;
  va_start(args, format);
  const size_t n =
      lib::Min(lib::FormatToBufferV(line, sizeof(line), format, args), sizeof(line) - 1);
  va_end(args);
  const uint32_t write[] = {stdout_ihandle, Address(line), static_cast<uint32_t>(n)};
  (void)Ci("write", 3, 1, write);
}

uint32_t GetU32(uint32_t node, const char* name) {
  uint32_t value = 0;
  const uint32_t args[] = {node, Address(name), Address(&value), 4};
  return Ci("getprop", 4, 1, args) == 4 ? lib::LoadBe32(&value) : 0;
}

int32_t Rtas(uint64_t entry, uint64_t base, uint32_t token, uint32_t nargs, uint32_t nret,
             const uint32_t* args, uint32_t* rets) {
  RtasBlock block{};
  block.token = lib::Be32(token);
  block.nargs = lib::Be32(nargs);
  block.nret = lib::Be32(nret);
  for (uint32_t i = 0; i < nargs && i < 16; ++i) block.cells[i] = lib::Be32(args[i]);
  for (uint32_t i = 0; i < nret && nargs + i < 16; ++i) block.cells[nargs + i] = lib::Be32(0xdead);
  reinterpret_cast<RtasEntry>(static_cast<uintptr_t>(entry))(&block, base);
  for (uint32_t i = 1; rets != nullptr && i < nret; ++i)
    rets[i - 1] = block.cells[nargs + i].value();
  return static_cast<int32_t>(block.cells[nargs < 16 ? nargs : 15].value());
}

}  // namespace

extern "C" void client_main(uint64_t ci_entry) {
  ci = reinterpret_cast<CiEntry>(static_cast<uintptr_t>(ci_entry));
  const uint32_t chosen_path[] = {Address("/chosen")};
  stdout_ihandle = GetU32(Ci("finddevice", 1, 1, chosen_path), "stdout");
  Print("RTAS-CLIENT: started\r\n");

  const uint32_t rtas_path[] = {Address("/rtas")};
  const uint32_t rtas_node = Ci("finddevice", 1, 1, rtas_path);
  const uint32_t size = GetU32(rtas_node, "rtas-size");
  const uint32_t time_token = GetU32(rtas_node, "get-time-of-day");
  const uint32_t off_token = GetU32(rtas_node, "power-off");
  const uint32_t rtas_ihandle = Ci("open", 1, 1, rtas_path);
  Print("RTAS-CLIENT: rtas-size 0x%x get-time-of-day 0x%x\r\n", size, time_token);

  const uint64_t bases[2] = {0x1000000, 0x2350000};
  uint64_t entries[2] = {};
  for (int i = 0; i < 2; ++i) {
    const uint32_t claim[] = {static_cast<uint32_t>(bases[i]), size, 0};
    const uint32_t claimed = Ci("claim", 3, 1, claim);
    const uint32_t method[] = {Address("instantiate-rtas"), rtas_ihandle,
                               static_cast<uint32_t>(bases[i])};
    uint32_t entry = 0;
    const uint32_t caught = Ci("call-method", 3, 2, method, &entry);
    entries[i] = entry;
    Print("RTAS-CLIENT: instantiate base 0x%llx claimed 0x%x catch %d entry 0x%x\r\n",
          static_cast<unsigned long long>(bases[i]), claimed, static_cast<int>(caught), entry);
    uint32_t time[7] = {};
    const int32_t status = Rtas(entries[i], bases[i], time_token, 0, 8, nullptr, time);
    Print("RTAS-CLIENT: call base 0x%llx get-time-of-day status %d year %u\r\n",
          static_cast<unsigned long long>(bases[i]), static_cast<int>(status), time[0]);
  }
  // The first area still works after the second was built; a malformed block gets -3.
  uint32_t time[7] = {};
  const int32_t again = Rtas(entries[0], bases[0], time_token, 0, 8, nullptr, time);
  Print("RTAS-CLIENT: call base 0x%llx again status %d year %u\r\n",
        static_cast<unsigned long long>(bases[0]), static_cast<int>(again), time[0]);
  const uint32_t many[15] = {};
  const int32_t malformed = Rtas(entries[1], bases[1], time_token, 15, 8, many, nullptr);
  Print("RTAS-CLIENT: malformed status %d\r\n", static_cast<int>(malformed));
  Print("RTAS-CLIENT: power-off\r\n");
  const uint32_t off_args[] = {0, 0};
  (void)Rtas(entries[1], bases[1], off_token, 2, 1, off_args, nullptr);
  Print("RTAS-CLIENT: power-off returned\r\n");
  for (;;) asm volatile("or 1,1,1" ::: "memory");  // an empty loop would be undefined behaviour
}
