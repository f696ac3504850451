// The snapshot records of drc/snapshot-records.h: what the walker writes is what it reads back,
// a record that changed is never read as valid, and a full buffer keeps a prefix.
#include "drc/snapshot-records.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using drc::ReadRecord;
using drc::RecordBuffer;
using drc::RecordError;

const uint8_t* Bytes(const char* text) {
  return reinterpret_cast<const uint8_t*>(text);
}

std::vector<uint8_t> ThreeRecords(uint32_t* size) {
  std::vector<uint8_t> out(256, 0xee);
  RecordBuffer buffer{out.data(), static_cast<uint32_t>(out.size()), 0, 0};
  drc::AppendNode(buffer, Bytes("pci@3"), 6);
  const uint8_t value[5] = {1, 2, 3, 4, 5};
  drc::AppendProperty(buffer, Bytes("reg"), 4, value, 5);
  drc::AppendEnd(buffer);
  EXPECT_EQ(buffer.dropped, 0u);
  *size = buffer.size;
  return out;
}

TEST(SnapshotRecords, ReadBackWhatWasWritten) {
  uint32_t size = 0;
  const auto out = ThreeRecords(&size);
  EXPECT_EQ(size, drc::NodeRecordSize(6) + drc::PropertyRecordSize(4, 5) + drc::kEndRecordSize);
  const lib::Span<const uint8_t> snapshot(out.data(), size);
  auto node = ReadRecord(snapshot, 0);
  ASSERT_TRUE(node.is_ok());
  EXPECT_EQ(node.value().tag, drc::kNode);
  EXPECT_STREQ(reinterpret_cast<const char*>(node.value().name), "pci@3");
  EXPECT_EQ(node.value().size, drc::NodeRecordSize(6));
  auto property = ReadRecord(snapshot, node.value().size);
  ASSERT_TRUE(property.is_ok());
  EXPECT_EQ(property.value().tag, drc::kProperty);
  EXPECT_STREQ(reinterpret_cast<const char*>(property.value().name), "reg");
  ASSERT_EQ(property.value().value_size, 5u);
  EXPECT_EQ(property.value().value[4], 5);
  auto end = ReadRecord(snapshot, node.value().size + property.value().size);
  ASSERT_TRUE(end.is_ok());
  EXPECT_EQ(end.value().tag, drc::kEnd);
  EXPECT_EQ(ReadRecord(snapshot, size).error(), RecordError::kMalformed);  // past the end
}

// The records' bytes are part of the state region's layout version 3 (docs/rtas.md: tag, u16 name
// size, u32 value size, name, value, CRC-32 of the record; big-endian, unaligned): the bytes of
// the three records above, with CRCs computed by zlib.
TEST(SnapshotRecords, BytesAreLayoutVersion3) {
  uint32_t size = 0;
  const auto out = ThreeRecords(&size);
  const std::vector<uint8_t> expected = {
      0x01, 0x00, 0x06, 'p',  'c',  'i',  '@',  '3', 0x00, 0x85, 0xcd, 0x65, 0xf2,  // NODE
      0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x05, 'r', 'e',  'g',  0x00, 0x01, 0x02,  // PROP
      0x03, 0x04, 0x05, 0xb3, 0x90, 0xe2, 0xf6,                                     //
      0x04, 0xd5, 0x6f, 0x2b, 0x94};                                                // END
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + size), expected);
  EXPECT_EQ(out[size], 0xee);  // nothing written past them
}

// Whatever single bit of a record flips, reading it fails: its CRC, or its framing.
TEST(SnapshotRecords, EveryFlippedBitIsCaught) {
  uint32_t size = 0;
  const auto good = ThreeRecords(&size);
  const uint32_t starts[] = {0, drc::NodeRecordSize(6),
                             drc::NodeRecordSize(6) + drc::PropertyRecordSize(4, 5), size};
  for (int r = 0; r < 3; ++r) {
    for (uint32_t byte = starts[r]; byte < starts[r + 1]; ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        auto out = good;
        out[byte] ^= static_cast<uint8_t>(1u << bit);
        auto read = ReadRecord({out.data(), size}, starts[r]);
        EXPECT_TRUE(read.is_error()) << "record " << r << ", byte " << byte << ", bit " << bit;
      }
    }
  }
}

TEST(SnapshotRecords, MalformedFramingIsRefusedBeforeAnyRead) {
  uint32_t size = 0;
  auto out = ThreeRecords(&size);
  out[0] = 0x02;  // no such tag
  EXPECT_EQ(ReadRecord({out.data(), size}, 0).error(), RecordError::kMalformed);
  out = ThreeRecords(&size);
  out[2] = 0;  // a name of 0 bytes
  out[1] = 0;
  EXPECT_EQ(ReadRecord({out.data(), size}, 0).error(), RecordError::kMalformed);
  out = ThreeRecords(&size);
  out[1] = 0xff;  // a name past the snapshot's end
  EXPECT_EQ(ReadRecord({out.data(), size}, 0).error(), RecordError::kMalformed);
  out = ThreeRecords(&size);
  out[3 + 5] = 'x';  // the name's NUL
  EXPECT_EQ(ReadRecord({out.data(), size}, 0).error(), RecordError::kMalformed);
  // A snapshot that ends inside a record.
  EXPECT_EQ(ReadRecord({out.data(), drc::NodeRecordSize(6) - 1}, 0).error(),
            RecordError::kMalformed);
  const uint32_t property = drc::NodeRecordSize(6);
  out = ThreeRecords(&size);
  out[property + 3] = 0x7f;  // a value size past the end
  EXPECT_EQ(ReadRecord({out.data(), size}, property).error(), RecordError::kMalformed);
}

// A buffer that cannot take a record keeps what it has (a prefix of the walk) and counts every
// later record's bytes, even one that would fit.
TEST(SnapshotRecords, AFullBufferKeepsAPrefixAndCountsTheRest) {
  std::vector<uint8_t> out(drc::NodeRecordSize(6) + drc::kEndRecordSize, 0xee);
  RecordBuffer buffer{out.data(), static_cast<uint32_t>(out.size()), 0, 0};
  drc::AppendNode(buffer, Bytes("pci@3"), 6);
  const uint8_t value[5] = {};
  drc::AppendProperty(buffer, Bytes("reg"), 4, value, 5);
  drc::AppendEnd(buffer);  // it would fit, but a record was dropped before it
  EXPECT_EQ(buffer.size, drc::NodeRecordSize(6));
  EXPECT_EQ(buffer.dropped, drc::PropertyRecordSize(4, 5) + drc::kEndRecordSize);
  EXPECT_EQ(out[buffer.size], 0xee);  // nothing written past the kept records
}

}  // namespace
