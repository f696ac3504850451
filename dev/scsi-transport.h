// A SCSI host adapter as the SCSI layer (dev/scsi.h) sees it, whatever carries the commands
// (spapr-vscsi's SRP over a CRQ, virtio-scsi's request queue). An adapter fills one in; the SCSI
// layer builds CDBs, interprets status and sense data, and turns LUNs into dev::BlockDevices.
#pragma once

#include "block/device.h"
#include "lib/result.h"
#include "lib/types.h"

namespace dev {

// One command for logical unit `lun` of `target` [SAM-5]: the CDB, and a data-in buffer at a real
// (guest-physical) address, or none. tern only reads: there is no data-out phase.
struct ScsiCommand {
  uint32_t target = 0;
  uint32_t lun = 0;
  uint8_t cdb[16] = {};
  uint8_t cdb_length = 0;
  uint64_t data = 0;  // real address of the data-in buffer; 0 with data_length 0
  uint32_t data_length = 0;
};

// What the target answered [SAM-5 status codes; SPC-4 sense data]. A transport that could not
// deliver the command, or got a malformed answer, returns an block::IoError instead.
struct ScsiResponse {
  uint8_t status = 0;      // 0x00 GOOD, 0x02 CHECK CONDITION, 0x08 BUSY, ...
  uint32_t residual = 0;   // data-in bytes not transferred
  uint8_t sense[32] = {};  // valid when sense_length > 0
  uint8_t sense_length = 0;
  bool no_such_target = false;  // the adapter says the target does not exist (no LUN behind it)
};

struct ScsiTransport {
  lib::Result<ScsiResponse, block::IoError> (*execute)(void* adapter,
                                                       const ScsiCommand& command) = nullptr;
  void* adapter = nullptr;
  uint32_t max_target = 0;  // targets 0..max_target are scanned
  uint32_t max_lun = 0;     // LUNs above this are not used
  // Data-in bytes one command may carry (dev::ScsiDisk needs at least one block); longer reads
  // are split. Added for the SCSI layer: an adapter that leaves it 0 carries no reads.
  uint32_t max_transfer_bytes = 0;
  // The unit-address part of a LUN's device-tree node name as QEMU's boot list spells it for this
  // adapter ("disk@<unit>"), written into `out`; false when it does not fit.
  bool (*unit_address)(void* adapter, uint32_t target, uint32_t lun, char* out,
                       size_t size) = nullptr;
};

}  // namespace dev
