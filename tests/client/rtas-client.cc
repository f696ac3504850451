// A small OS stand-in booted by tern with -kernel: through the client interface it instantiates
// tern's RTAS at two bases and makes RTAS calls at both, printing each result on the console as
// "RTAS-CLIENT: ..." lines for tests/qemu/boot_test.py (scenario rtas-two-bases). It ends the VM
// with RTAS power-off.
#include "lib/be.h"
#include "tests/client/client-lib.h"

using client::Address;
using client::Ci;
using client::GetU32;
using client::Print;

namespace {

int32_t Rtas(uint64_t entry, uint64_t base, uint32_t token, uint32_t nargs, uint32_t nret,
             const uint32_t* args, uint32_t* rets) {
  return client::CallRtas(entry, base, token, nargs, nret, args, rets);
}

}  // namespace

extern "C" void client_main(uint64_t ci_entry) {
  client::SetClientInterface(ci_entry);
  const uint32_t chosen_path[] = {Address("/chosen")};
  client::SetConsole(GetU32(Ci("finddevice", 1, 1, chosen_path), "stdout"));
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
