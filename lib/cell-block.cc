#include "lib/cell-block.h"

#include "lib/be.h"

namespace lib {

Result<CellBlock, BlockError> ReadBlockHeader(const GuestMemory& memory, uint64_t address) {
  uint8_t header[kBlockHeaderSize];
  if (memory.Read(address, header, sizeof(header)).is_error()) return Err(BlockError::kUnreachable);
  CellBlock block;
  block.service = LoadBe32(header);
  block.nargs = LoadBe32(header + 4);
  block.nret = LoadBe32(header + 8);
  return block;
}

Result<void, BlockError> ReadBlockCells(const GuestMemory& memory, uint64_t address,
                                        CellBlock& block) {
  if (!block.CountsFit()) return Err(BlockError::kTooManyCells);
  uint8_t cells[kMaxBlockCells * 4];
  const uint32_t count = block.nargs + block.nret;
  if (memory.Read(address + kBlockHeaderSize, cells, 4 * count).is_error()) {
    return Err(BlockError::kUnreachable);
  }
  for (uint32_t i = 0; i < count; ++i) block.cells[i] = LoadBe32(cells + 4 * i);
  return Ok<BlockError>();
}

Result<void, BlockError> WriteBlockRets(GuestMemory& memory, uint64_t address,
                                        const CellBlock& block) {
  if (!block.CountsFit()) return Err(BlockError::kTooManyCells);
  uint8_t cells[kMaxBlockCells * 4];
  for (uint32_t i = 0; i < block.nret; ++i) StoreBe32(cells + 4 * i, block.cells[block.nargs + i]);
  if (memory.Write(address + block.RetsOffset(), cells, 4 * block.nret).is_error()) {
    return Err(BlockError::kUnreachable);
  }
  return Ok<BlockError>();
}

void EncodeBlock(const CellBlock& block, uint8_t* out) {
  StoreBe32(out, block.service);
  StoreBe32(out + 4, block.nargs);
  StoreBe32(out + 8, block.nret);
  for (uint32_t i = 0; i < block.nargs + block.nret; ++i) {
    StoreBe32(out + kBlockHeaderSize + 4 * i, block.cells[i]);
  }
}

void DecodeBlockRets(const uint8_t* in, CellBlock& block) {
  for (uint32_t i = 0; i < block.nret; ++i) {
    block.cells[block.nargs + i] = LoadBe32(in + block.RetsOffset() + 4 * i);
  }
}

}  // namespace lib
