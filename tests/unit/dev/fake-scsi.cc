#include "tests/unit/dev/fake-scsi.h"

#include <algorithm>

namespace tests {

namespace {

void PutBe32(std::vector<uint8_t>& out, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(value >> (24 - 8 * i));
}
void PutBe64(std::vector<uint8_t>& out, size_t at, uint64_t value) {
  PutBe32(out, at, static_cast<uint32_t>(value >> 32));
  PutBe32(out, at + 4, static_cast<uint32_t>(value));
}
uint32_t GetBe32(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         bytes[3];
}
uint64_t GetBe64(const uint8_t* bytes) {
  return (uint64_t{GetBe32(bytes)} << 32) | GetBe32(bytes + 4);
}

}  // namespace

uint8_t DiskByte(uint64_t offset) {
  const uint64_t sector = offset / 512;
  const uint64_t within = offset % 512;
  if (within < 8) return static_cast<uint8_t>(sector >> (56 - 8 * within));
  return static_cast<uint8_t>(offset * 7 + sector);
}

FakeLun& FakeScsiBus::Add(uint32_t target, uint32_t lun, FakeLun lun_config) {
  return luns[{target, lun}] = lun_config;
}

FakeScsiBus::Answer FakeScsiBus::Sense(const FakeLun& lun, uint8_t key, uint8_t asc, uint8_t ascq) {
  Answer answer;
  answer.status = 0x02;
  if (lun.descriptor_sense) {
    answer.sense = {0x72, key, asc, ascq, 0, 0, 0, 0};
  } else {
    answer.sense.assign(18, 0);
    answer.sense[0] = 0xf0;  // valid, current, fixed
    answer.sense[2] = key;
    answer.sense[7] = 10;
    answer.sense[12] = asc;
    answer.sense[13] = ascq;
  }
  return answer;
}

FakeScsiBus::Answer FakeScsiBus::Execute(uint32_t target, uint32_t lun_number, const uint8_t* cdb,
                                         size_t cdb_length) {
  log.push_back(Command{target, lun_number, std::vector<uint8_t>(cdb, cdb + cdb_length)});
  bool target_exists = false;
  for (const auto& [address, unit] : luns) target_exists = target_exists || address.first == target;
  auto found = luns.find({target, lun_number});
  FakeLun no_lun;
  no_lun.descriptor_sense = false;
  Answer answer;
  const uint8_t opcode = cdb[0];

  if (opcode == 0xa0) {  // REPORT LUNS
    if (!target_exists || refuse_report_luns) return Sense(no_lun, 0x5, 0x24, 0x00);
    std::vector<std::vector<uint8_t>> entries;
    for (const auto& [address, unit] : luns) {
      std::vector<uint8_t> entry(8, 0);
      if (address.first == target) {
        entry[1] = static_cast<uint8_t>(address.second);
      } else if (report_all_targets) {
        entry[0] = static_cast<uint8_t>(0x80 | address.first);
        entry[1] = static_cast<uint8_t>(address.second);
      } else {
        continue;
      }
      entries.push_back(entry);
    }
    for (uint32_t i = 0; i < extra_report_entries; ++i) {
      const uint32_t lun = 256 + i;  // flat addressing
      entries.push_back(
          {static_cast<uint8_t>(0x40 | (lun >> 8)), static_cast<uint8_t>(lun), 0, 0, 0, 0, 0, 0});
    }
    answer.data.assign(8, 0);
    PutBe32(answer.data, 0, static_cast<uint32_t>(8 * entries.size()));
    for (const auto& entry : entries)
      answer.data.insert(answer.data.end(), entry.begin(), entry.end());
    const uint32_t allocation = GetBe32(cdb + 6);
    if (answer.data.size() > allocation) answer.data.resize(allocation);
    return answer;
  }

  if (opcode == 0x12) {  // INQUIRY
    answer.data.assign(36, ' ');
    answer.data[0] = found == luns.end() ? 0x7f : found->second.device_type;
    answer.data[1] = found != luns.end() && found->second.device_type == 0x05 ? 0x80 : 0;
    answer.data[2] = 5;
    answer.data[3] = 2;
    answer.data[4] = 31;
    answer.data[5] = answer.data[6] = answer.data[7] = 0;
    if (found != luns.end()) {
      std::copy_n(found->second.vendor.begin(), std::min<size_t>(8, found->second.vendor.size()),
                  answer.data.begin() + 8);
      std::copy_n(found->second.product.begin(), std::min<size_t>(16, found->second.product.size()),
                  answer.data.begin() + 16);
    }
    const uint32_t allocation = (uint32_t{cdb[3]} << 8) | cdb[4];
    if (answer.data.size() > allocation) answer.data.resize(allocation);
    return answer;
  }

  if (found == luns.end()) return Sense(no_lun, 0x5, 0x25, 0x00);  // LOGICAL UNIT NOT SUPPORTED
  FakeLun& lun = found->second;
  if (lun.unit_attentions > 0) {
    --lun.unit_attentions;
    return Sense(lun, 0x6, 0x29, 0x00);
  }
  switch (opcode) {
    case 0x00:  // TEST UNIT READY
      if (lun.no_medium) return Sense(lun, 0x2, 0x3a, 0x00);
      if (lun.becoming_ready > 0) {
        --lun.becoming_ready;
        return Sense(lun, 0x2, 0x04, 0x01);
      }
      return answer;
    case 0x25: {  // READ CAPACITY(10)
      answer.data.assign(8, 0);
      const uint64_t last = lun.blocks - 1;
      PutBe32(answer.data, 0,
              lun.blocks == 0      ? 0
              : last > 0xffffffffu ? 0xffffffffu
                                   : static_cast<uint32_t>(last));
      PutBe32(answer.data, 4, lun.blocks == 0 ? 0 : lun.block_size);
      return answer;
    }
    case 0x9e: {  // SERVICE ACTION IN(16)
      if ((cdb[1] & 0x1f) != 0x10) return Sense(lun, 0x5, 0x24, 0x00);
      answer.data.assign(32, 0);
      PutBe64(answer.data, 0, lun.blocks - 1);
      PutBe32(answer.data, 8, lun.block_size);
      const uint32_t allocation = GetBe32(cdb + 10);
      if (answer.data.size() > allocation) answer.data.resize(allocation);
      return answer;
    }
    case 0x28:
    case 0x88: {  // READ(10), READ(16)
      const uint64_t lba = opcode == 0x28 ? GetBe32(cdb + 2) : GetBe64(cdb + 2);
      const uint32_t count = opcode == 0x28 ? (uint32_t{cdb[7]} << 8) | cdb[8] : GetBe32(cdb + 10);
      if (lun.no_medium) return Sense(lun, 0x2, 0x3a, 0x00);
      if (lun.busy > 0) {
        --lun.busy;
        answer.status = 0x08;
        return answer;
      }
      if (lba > lun.blocks || count > lun.blocks - lba) return Sense(lun, 0x5, 0x21, 0x00);
      if (lun.bad_lba >= lba && lun.bad_lba < lba + count) return Sense(lun, 0x3, 0x11, 0x00);
      answer.data.resize(uint64_t{count} * lun.block_size);
      const uint64_t base = lba * lun.block_size;
      for (size_t i = 0; i < answer.data.size(); ++i) answer.data[i] = DiskByte(base + i);
      return answer;
    }
    default: return Sense(lun, 0x5, 0x20, 0x00);  // INVALID COMMAND OPERATION CODE
  }
}

}  // namespace tests
