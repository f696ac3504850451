// The instantiated RTAS area: what lies where, for the boot firmware that builds it, the RTAS
// image that runs in it, the host tool that reads it out of a memory dump, and the docs
// (docs/rtas.md). Everything here is an offset from the area's base: the area means the same at
// any address.
//
//   base + 0                  QEMU's own range, rtas-size as QEMU publishes it: QEMU writes the
//                             machine-check log at +0x30 and per-CPU system-reset save areas at
//                             +0x800 + 16 * cpu once FWNMI is registered; tern never touches it
//   base + image_offset       the RTAS image (rtas.bin): header, code, data, then .bss and the
//                             RTAS stack; entry = base + image_offset + header.entry_offset
//   base + state_offset       the state region (rtas/state-region.h)
//   base + area_size          end: the rtas-size tern publishes
#pragma once

#include "lib/be.h"
#include "lib/types.h"

namespace rtas {

// At offset 0 of rtas.bin (boot side: the bytes it copies; image side: its own first bytes).
struct ImageHeader {
  char magic[8];          // "TERNRTAS"
  lib::Be32 version;      // of this header: kImageHeaderVersion
  lib::Be32 entry;        // offset of the entry point
  lib::Be32 toc;          // offset the TOC pointer (r2) must hold, relative to the image start
  lib::Be32 file_size;    // bytes of rtas.bin
  lib::Be32 memory_size;  // bytes the image needs: file, .bss and stack, 4 KiB aligned
  lib::Be32 rela;         // offset of the R_PPC64_RELATIVE relocations (Elf64_Rela) to apply
  lib::Be32 rela_end;     // offset of their end
  lib::Be32 config;       // offset of the ImageConfig the boot firmware fills in
};
static_assert(sizeof(ImageHeader) == 40);

inline constexpr uint32_t kImageHeaderVersion = 1;
inline constexpr int kMaxServices = 64;

// Written into the image by the boot firmware at instantiation, read by the image on every call.
struct ImageConfig {
  lib::Be64 area_base;     // where the area was instantiated
  lib::Be64 ram_top;       // RTAS argument blocks and buffers must lie below this
  lib::Be64 console_unit;  // vty for RTAS messages
  lib::Be32 state_offset;  // of the state region, from area_base
  lib::Be32 state_size;
  lib::Be32 service_count;         // rows of the service table the tokens below belong to
  lib::Be32 stop_self_token;       // served without the entry lock: stop-self never returns
  lib::Be32 tokens[kMaxServices];  // QEMU's token for service row i, 0 when QEMU has none
  lib::Be64 lock_timeout;          // time-base ticks a CPU waits for the entry lock before -1
  lib::Be64 host_features;         // kHostDrcFdt: the host offers KVMPPC_H_DRC_FDT
};

inline constexpr uint64_t kHostDrcFdt = 1;  // docs/host-abi.md

// The scratch buffer the image gives its handlers (RtasContext::scratch): in the RTAS area, so at
// a real address the host can read and write, and migrated with the rest of the area.
inline constexpr uint32_t kScratchSize = 4096 + 64;

static_assert(sizeof(ImageConfig) == 312, "rtas/entry.S reserves 312 bytes for it");

// Elf64_Rela as ld.lld writes it for a position-independent image: only R_PPC64_RELATIVE.
struct Relocation {
  uint64_t offset;
  uint64_t info;
  int64_t addend;
};
inline constexpr uint64_t kRelocationRelative = 22;  // R_PPC64_RELATIVE

}  // namespace rtas
