// The configure-connector test client (issue 6's migration tests): booted by tern with -kernel,
// it takes one-letter commands on the console (client-interface read) and makes one RTAS call per
// command, printing each result as a "CC:" line, so that a harness can stop, migrate and resume
// the VM between any two steps of a walk.
//
//   s  get-sensor-state(9003, DRC)         a  set-indicator(9003, DRC, 1)   (allocate)
//   i  set-indicator(9001, DRC, 1)          (unisolate)
//   c  one ibm,configure-connector step through tern's RTAS
//   q  one configure-connector step through QEMU's own (KVMPPC_H_RTAS from the client)
//   d  the digest of the walk so far (CRC-32 of every answer but -2)   o  power off
//   p  start the second CPU (-smp 2): it makes 3000 get-time-of-day calls through tern's RTAS
//      while the first keeps walking;  r  its result: calls made, failures, done
// Upper-case S, A, I, C do the same on a second connector, with a work area of its own. The DRCs
// are 0x10000001 and 0x10000002 (the CPU cores with core-id 1 and 2), unless the kernel command
// line (/chosen bootargs) names another first one: "drc=0x40000018" (a PCI slot, a PHB, ...).
#include "lib/be.h"
#include "lib/string.h"
#include "tests/client/client-lib.h"

using client::Address;
using client::Ci;
using client::GetU32;
using client::Print;

namespace {

struct Connector {
  uint32_t drc;
  alignas(4096) uint8_t work_area[4096];
  uint32_t crc = 0xffffffff;  // running CRC-32 of every answer (code, name, value)
  uint32_t steps = 0;
};
Connector connectors[2] = {{0x10000001, {}}, {0x10000002, {}}};
uint32_t in_ihandle;

// The value of "drc=0x..." in `text`, or 0.
uint32_t DrcArgument(const char* text) {
  for (const char* at = text; *at != '\0'; ++at) {
    if (lib::MemCompare(at, "drc=0x", 6) != 0) continue;
    uint32_t value = 0;
    for (const char* digit = at + 6;; ++digit) {
      const char c = *digit;
      const int nibble = c >= '0' && c <= '9'   ? c - '0'
                         : c >= 'a' && c <= 'f' ? c - 'a' + 10
                         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                : -1;
      if (nibble < 0) return value;
      value = value << 4 | static_cast<uint32_t>(nibble);
    }
  }
  return 0;
}

void Crc(uint32_t& crc, const uint8_t* bytes, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    crc ^= bytes[i];
    for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
}

uint64_t rtas_entry, rtas_base;
uint32_t time_token;
uint32_t stop_self_token;

// The second CPU's tally, written by it and read by the first.
volatile uint32_t secondary_calls = 0;
volatile uint32_t secondary_failures = 0;
volatile uint32_t secondary_done = 0;

int32_t Rtas(uint32_t token, uint32_t nargs, uint32_t nret, const uint32_t* args, uint32_t* rets,
             bool host) {
  if (!host) return client::CallRtas(rtas_entry, rtas_base, token, nargs, nret, args, rets);
  // QEMU's own RTAS, as SLOF's and VOF's stubs forward it.
  client::RtasBlock block{};
  block.token = lib::Be32(token);
  block.nargs = lib::Be32(nargs);
  block.nret = lib::Be32(nret);
  for (uint32_t i = 0; i < nargs; ++i) block.cells[i] = lib::Be32(args[i]);
  register uint64_t r3 asm("r3") = 0xf000;
  register uint64_t r4 asm("r4") = reinterpret_cast<uintptr_t>(&block);
  asm volatile("sc 1"
               : "+r"(r3), "+r"(r4)
               :
               : "r0", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "ctr", "xer", "cr0",
                 "cr1", "cr5", "cr6", "cr7", "memory");
  for (uint32_t i = 1; rets != nullptr && i < nret; ++i)
    rets[i - 1] = block.cells[nargs + i].value();
  return static_cast<int32_t>(block.cells[nargs].value());
}

void Step(Connector& c, uint32_t token, bool host) {
  uint8_t* work_area = c.work_area;
  const uint32_t args[] = {Address(work_area), 0};
  const int32_t code = Rtas(token, 2, 1, args, nullptr, host);
  const uint32_t steps = ++c.steps;
  uint8_t code_bytes[4];
  lib::StoreBe32(code_bytes, static_cast<uint32_t>(code));
  // "Call again" carries no data: the digest covers the answers with data and the end.
  if (code != -2) Crc(c.crc, code_bytes, 4);
  const char* name = "";
  uint32_t length = 0;
  if (code == 1 || code == 2 || code == 3) {
    const uint32_t offset = lib::LoadBe32(work_area + 8);
    if (offset < 4096) name = reinterpret_cast<const char*>(work_area + offset);
    Crc(c.crc, reinterpret_cast<const uint8_t*>(name),
        static_cast<uint32_t>(lib::StrLength(name)) + 1);
    if (code == 3) {
      length = lib::LoadBe32(work_area + 12);
      const uint32_t value = lib::LoadBe32(work_area + 16);
      if (value < 4096 && length <= 4096 - value) Crc(c.crc, work_area + value, length);
    }
  }
  Print("CC: %s %u code %d name %s len %u\r\n", &c == &connectors[0] ? "step" : "STEP", steps,
        static_cast<int>(code), name, length);
}

}  // namespace

extern "C" void secondary_start();

extern "C" void secondary_main(uint64_t calls) {
  for (uint64_t i = 0; i < calls; ++i) {
    uint32_t time[7] = {};
    const int32_t status = Rtas(time_token, 0, 8, nullptr, time, false);
    if (status != 0 || time[0] < 2020 || time[1] < 1 || time[1] > 12) {
      secondary_failures = secondary_failures + 1;
    }
    secondary_calls = secondary_calls + 1;
  }
  secondary_done = 1;
  // Stop this CPU through tern's RTAS (stop-self never returns; it takes no lock).
  (void)Rtas(stop_self_token, 0, 1, nullptr, nullptr, false);
  for (;;) asm volatile("or 1,1,1" ::: "memory");  // an empty loop would be undefined behaviour
}

extern "C" void client_main(uint64_t ci_entry) {
  client::SetClientInterface(ci_entry);
  const uint32_t chosen_path[] = {Address("/chosen")};
  const uint32_t chosen = Ci("finddevice", 1, 1, chosen_path);
  client::SetConsole(GetU32(chosen, "stdout"));
  in_ihandle = GetU32(chosen, "stdin");
  char bootargs[256] = {};
  const uint32_t getprop[] = {chosen, Address("bootargs"), Address(bootargs), sizeof(bootargs) - 1};
  (void)Ci("getprop", 4, 1, getprop);
  if (const uint32_t drc = DrcArgument(bootargs); drc != 0) connectors[0].drc = drc;
  const uint32_t rtas_path[] = {Address("/rtas")};
  const uint32_t rtas_node = Ci("finddevice", 1, 1, rtas_path);
  const uint32_t size = GetU32(rtas_node, "rtas-size");
  const uint32_t sensor = GetU32(rtas_node, "get-sensor-state");
  const uint32_t indicator = GetU32(rtas_node, "set-indicator");
  const uint32_t cc = GetU32(rtas_node, "ibm,configure-connector");
  const uint32_t off = GetU32(rtas_node, "power-off");
  const uint32_t start_cpu = GetU32(rtas_node, "start-cpu");
  time_token = GetU32(rtas_node, "get-time-of-day");
  stop_self_token = GetU32(rtas_node, "stop-self");
  const uint32_t rtas_ihandle = Ci("open", 1, 1, rtas_path);
  rtas_base = 0x1000000;
  const uint32_t claim[] = {static_cast<uint32_t>(rtas_base), size, 0};
  (void)Ci("claim", 3, 1, claim);
  const uint32_t method[] = {Address("instantiate-rtas"), rtas_ihandle,
                             static_cast<uint32_t>(rtas_base)};
  uint32_t entry = 0;
  (void)Ci("call-method", 3, 2, method, &entry);
  rtas_entry = entry;
  for (Connector& c : connectors) lib::StoreBe32(c.work_area, c.drc);
  // Like an OS taking over: the firmware gives QEMU its final tree (H_UPDATE_DT); the client keeps
  // using the console through the interface afterwards, as Linux does.
  (void)Ci("quiesce", 0, 0, nullptr);
  Print("CC: ready entry 0x%x drc 0x%08x\r\n", entry, connectors[0].drc);
  for (;;) {
    char command = 0;
    const uint32_t read[] = {in_ihandle, Address(&command), 1};
    if (Ci("read", 3, 1, read) != 1) continue;
    const bool second = command >= 'A' && command <= 'Z';
    Connector& c = connectors[second ? 1 : 0];
    const char lower = second ? static_cast<char>(command - 'A' + 'a') : command;
    if (lower == 's') {
      const uint32_t args[] = {9003, c.drc};
      uint32_t state = 0;
      const int32_t status = Rtas(sensor, 2, 2, args, &state, false);
      Print("CC: sensor %c status %d state %u\r\n", command, static_cast<int>(status), state);
    } else if (lower == 'a' || lower == 'i') {
      const uint32_t args[] = {lower == 'a' ? 9003u : 9001u, c.drc, 1};
      Print("CC: indicator %c status %d\r\n", command,
            static_cast<int>(Rtas(indicator, 3, 1, args, nullptr, false)));
    } else if (lower == 'c' || (command == 'q')) {
      Step(c, cc, command == 'q');
    } else if (command == 'p') {
      const uint32_t args[] = {1, Address(reinterpret_cast<const void*>(&secondary_start)), 3000};
      Print("CC: start-cpu status %d\r\n",
            static_cast<int>(Rtas(start_cpu, 3, 1, args, nullptr, false)));
    } else if (command == 'r') {
      Print("CC: secondary calls %u failures %u done %u\r\n", secondary_calls, secondary_failures,
            secondary_done);
    } else if (command == 'd') {
      Print("CC: digest %08x steps %u second %08x steps %u\r\n", ~connectors[0].crc,
            connectors[0].steps, ~connectors[1].crc, connectors[1].steps);
    } else if (command == 'o') {
      const uint32_t args[] = {0, 0};
      (void)Rtas(off, 2, 1, args, nullptr, false);
    }
  }
}
