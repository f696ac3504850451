// A fake SCSI bus for dev_test: logical units that answer the commands tern sends (INQUIRY, TEST
// UNIT READY, READ CAPACITY(10)/(16), READ(10)/(16), REPORT LUNS) the way QEMU's scsi-disk and
// scsi-bus do (hw/scsi/scsi-bus.c: a target without LUN 0 still answers INQUIRY with qualifier 3;
// hw/scsi/spapr_vscsi.c: a target with no device refuses REPORT LUNS with ILLEGAL REQUEST),
// plus knobs for the failures the SCSI layer must survive. A disk's contents are generated: every
// 512-byte sector starts with its number (8 bytes, big-endian) followed by a pattern, so huge
// disks cost nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tests {

struct FakeLun {
  uint8_t device_type = 0x00;  // INQUIRY byte 0 (qualifier 0)
  uint32_t block_size = 512;
  uint64_t blocks = 2048;
  std::string vendor = "QEMU";
  std::string product = "QEMU HARDDISK";
  int unit_attentions = 0;  // the next N commands other than INQUIRY / REPORT LUNS get 06/29/00
  int becoming_ready = 0;   // the next N TEST UNIT READYs get 02/04/01
  bool no_medium = false;   // TEST UNIT READY and reads get 02/3A/00
  bool descriptor_sense = false;
  // Reads of LBAs in [bad_lba, bad_lba + 1) get MEDIUM ERROR 03/11/00.
  uint64_t bad_lba = ~uint64_t{0};
  int busy = 0;  // the next N reads answer BUSY
};

// Byte `offset` of a generated disk with sectors of 512 bytes.
uint8_t DiskByte(uint64_t offset);

class FakeScsiBus {
 public:
  struct Answer {
    uint8_t status = 0;
    std::vector<uint8_t> data;   // data-in, before any truncation to the buffer
    std::vector<uint8_t> sense;  // for CHECK CONDITION
  };
  struct Command {
    uint32_t target;
    uint32_t lun;
    std::vector<uint8_t> cdb;
  };

  FakeLun& Add(uint32_t target, uint32_t lun, FakeLun lun_config = FakeLun{});
  // Runs one CDB. `allocation` is the data-in buffer's size (READ's data is generated in full).
  Answer Execute(uint32_t target, uint32_t lun, const uint8_t* cdb, size_t cdb_length);

  std::map<std::pair<uint32_t, uint32_t>, FakeLun> luns;
  std::vector<Command> log;
  bool refuse_report_luns = false;
  uint32_t extra_report_entries = 0;  // REPORT LUNS lists this many LUNs more (256 + i)
  // REPORT LUNS also lists other targets' LUNs in logical unit addressing, as QEMU's vscsi does
  // for the all-zero LUN.
  bool report_all_targets = false;

 private:
  Answer Sense(const FakeLun& lun, uint8_t key, uint8_t asc, uint8_t ascq);
};

}  // namespace tests
