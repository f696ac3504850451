// The argument block of both interfaces the OS calls: the IEEE 1275 client interface (Linux
// arch/powerpc/kernel/prom_init.c: struct prom_args) and RTAS ([LoPAPR 7.2.8]; Linux struct
// rtas_args). Three big-endian 32-bit header cells (service, nargs, nret), then nargs argument
// cells, then nret return cells. One codec reads the blocks the OS passes (both dispatchers) and
// builds the ones tern passes to the host (forwarded RTAS calls).
#pragma once

#include "lib/guest-memory.h"
#include "lib/result.h"
#include "lib/span.h"
#include "lib/types.h"

namespace lib {

// Most cells (arguments plus returns) a block may carry: Linux's struct rtas_args has 16.
inline constexpr uint32_t kMaxBlockCells = 16;
inline constexpr uint32_t kBlockHeaderSize = 12;

struct CellBlock {
  uint32_t service = 0;  // RTAS: the token; client interface: the address of the service's name
  uint32_t nargs = 0;
  uint32_t nret = 0;
  uint32_t cells[kMaxBlockCells] = {};  // arguments, then returns

  bool CountsFit() const {
    return nargs <= kMaxBlockCells && nret <= kMaxBlockCells && nargs + nret <= kMaxBlockCells;
  }
  Span<const uint32_t> Args() const { return Span<const uint32_t>(cells, nargs); }
  Span<uint32_t> Rets() { return Span<uint32_t>(cells + nargs, nret); }
  // Offset of the first return cell (RTAS: the status) from the block's start.
  uint64_t RetsOffset() const { return kBlockHeaderSize + 4 * uint64_t{nargs}; }
  // Bytes of the whole block.
  uint64_t Size() const { return kBlockHeaderSize + 4 * (uint64_t{nargs} + nret); }
};

enum class BlockError {
  kUnreachable,   // the header or the cells are not in guest memory
  kTooManyCells,  // nargs + nret over kMaxBlockCells
};

// Reads the header of the block at `address`; the cells stay 0.
Result<CellBlock, BlockError> ReadBlockHeader(const GuestMemory& memory, uint64_t address);
// Reads every cell (arguments and returns) of `block`, whose header was read from `address`.
Result<void, BlockError> ReadBlockCells(const GuestMemory& memory, uint64_t address,
                                        CellBlock& block);
// Writes the return cells of `block` back to the block at `address`.
Result<void, BlockError> WriteBlockRets(GuestMemory& memory, uint64_t address,
                                        const CellBlock& block);

// Encodes `block` into `out`, which holds at least block.Size() bytes (the counts must fit).
void EncodeBlock(const CellBlock& block, uint8_t* out);
// Decodes the return cells of an encoded block back into `block`.
void DecodeBlockRets(const uint8_t* in, CellBlock& block);

}  // namespace lib
