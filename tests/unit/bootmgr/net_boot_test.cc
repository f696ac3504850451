// bootmgr/net-boot.h through LoadFromDevices, as the firmware calls it, against the fake LAN of
// net/'s tests (tests/unit/net/fake-network.h: QEMU's user network, scripted DHCP and TFTP
// servers, a fake time base) and lazily-paged guest RAM: what is loaded where, what the client is
// told (bootpath's arguments, bootp-response), how long a silent network holds the boot up, and
// that a card that cannot be booted leaves nothing claimed and lets the next device boot.
#include "bootmgr/net-boot.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <string>
#include <vector>

#include "lib/be.h"
#include "tests/console-capture.h"
#include "tests/host-cpu.h"
#include "tests/host-fixtures.h"
#include "tests/test-data.h"
#include "tests/tree-check.h"
#include "tests/unit/net/fake-network.h"

namespace {

constexpr uint64_t kRamBytes = 256u << 20;
constexpr uint64_t kFirmwareEnd = 0x100000;
constexpr const char* kNic = "/pci@800000020000000/scsi@2";  // a node of the fixture's tree
constexpr const char* kCoreElf = "boot/grub/powerpc-ieee1275/core.elf";

// A big-endian ELF32 shaped like GRUB's core.elf (entry 0x200000, code then modules), or an ELF64
// little-endian ELFv2 image linked at real address 0 like a vmlinux, `size` bytes long.
std::vector<uint8_t> Image(bool vmlinux, size_t size) {
  std::vector<uint8_t> image(size);
  for (size_t i = 0; i < size; ++i) image[i] = static_cast<uint8_t>(i * 29 + i / 4093);
  const uint8_t ident[] = {0x7f,
                           'E',
                           'L',
                           'F',
                           static_cast<uint8_t>(vmlinux ? 2 : 1),
                           static_cast<uint8_t>(vmlinux ? 1 : 2),
                           1};
  std::memset(image.data(), 0, 0x100);
  std::memcpy(image.data(), ident, sizeof(ident));
  uint8_t* e = image.data();
  if (vmlinux) {  // little-endian fields
    const uint64_t filesz = size - 0x10000;
    auto le16 = [&](size_t at, uint16_t v) { e[at] = v & 0xff, e[at + 1] = v >> 8; };
    auto le32 = [&](size_t at, uint32_t v) {
      for (int i = 0; i < 4; ++i) e[at + i] = v >> (8 * i);
    };
    auto le64 = [&](size_t at, uint64_t v) {
      for (int i = 0; i < 8; ++i) e[at + i] = v >> (8 * i);
    };
    le16(16, 2), le16(18, 21), le32(20, 1), le64(24, 0xc000000000000000), le64(32, 64);
    le32(48, 2), le16(54, 56), le16(56, 1);
    uint8_t* p = e + 64;
    le32(64, 1), le32(68, 7), le64(72, 0x10000), le64(80, 0xc000000000000000), le64(88, 0);
    le64(96, filesz), le64(104, filesz + 0x100000);
    (void)p;
  } else {
    lib::StoreBe16(e + 16, 2), lib::StoreBe16(e + 18, 20), lib::StoreBe32(e + 20, 1);
    lib::StoreBe32(e + 24, 0x200000), lib::StoreBe32(e + 28, 52), lib::StoreBe16(e + 42, 32);
    lib::StoreBe16(e + 44, 1);
    uint8_t* p = e + 52;
    lib::StoreBe32(p, 1), lib::StoreBe32(p + 4, 0x100), lib::StoreBe32(p + 8, 0x200000);
    lib::StoreBe32(p + 12, 0x200000), lib::StoreBe32(p + 16, static_cast<uint32_t>(size - 0x100));
    lib::StoreBe32(p + 20, static_cast<uint32_t>(size - 0x100 + 0x3000));
  }
  return image;
}

class NetBootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tests::ResetClock();
    ram_ = tests::MapGuestRam(kRamBytes);
    ASSERT_NE(ram_, nullptr);
    memory_ = lib::GuestMemory(reinterpret_cast<uintptr_t>(ram_), kRamBytes);
    ASSERT_TRUE(memory_.Protect(0, kFirmwareEnd));
    ASSERT_TRUE(claims_.Claim(0, kFirmwareEnd, 0).is_ok());
    ASSERT_TRUE(
        holder_.Init(tests::ReadFile(std::string(TERN_TEST_DATA_DIR) + "/boot-disks.dtb"), 4096));
    lan_.dhcp.boot_file = kCoreElf;
  }
  void TearDown() override {
    munmap(ram_, kRamBytes);
    tests::SetTimebaseStep(0);
  }

  bool Boot() {
    const bootmgr::BootDevice nic{holder_.tree.FindDevice(kNic), nullptr,
                                  bootmgr::BootKind::kNetwork, &lan_.device};
    bootmgr::LoaderEnv env{holder_.tree, claims_,      memory_,
                           kRamBytes,    kFirmwareEnd, tests::kFrequency};
    return bootmgr::LoadFromDevices(env, {&nic, 1}, loaded_);
  }
  std::vector<of::MemoryRange> Claimed() const {
    return {claims_.claimed().begin(), claims_.claimed().end()};
  }
  bool SameClaims(const std::vector<of::MemoryRange>& before) const {
    const auto now = Claimed();
    if (now.size() != before.size()) return false;
    for (size_t i = 0; i < now.size(); ++i) {
      if (now[i].start != before[i].start || now[i].size != before[i].size) return false;
    }
    return true;
  }

  uint8_t* ram_ = nullptr;
  lib::GuestMemory memory_;
  of::ClaimMap claims_{kRamBytes};
  tests::TreeHolder holder_;
  tests::FakeNetwork lan_;
  bootmgr::LoadedClient loaded_;
  tests::ConsoleCapture console_;
};

TEST_F(NetBootTest, GrubsNetworkImageIsFetchedLoadedAndDescribedToIt) {
  const auto image = Image(false, 180 * 1024);  // core.elf's size from grub-mknetdir
  lan_.tftp.files[kCoreElf] = image;
  ASSERT_TRUE(Boot()) << console_.text;
  EXPECT_EQ(loaded_.entry, 0x200000u);
  EXPECT_TRUE(loaded_.mode32);
  EXPECT_EQ(std::memcmp(ram_ + 0x200000, image.data() + 0x100, image.size() - 0x100), 0);
  EXPECT_EQ(ram_[0x200000 + image.size() - 0x100 + 0x2fff], 0);  // the bss
  // bootpath's arguments as the TFTP booting extension lays them out; GRUB's ofnet reads the
  // server (its root) and the addresses.
  EXPECT_STREQ(loaded_.device_arguments,
               "10.0.2.2,boot\\grub\\powerpc-ieee1275\\core.elf,10.0.2.15,10.0.2.2,4,10,"
               "255.255.255.0,1468");
  // bootp-response: the ACK as the server sent it (a BOOTREPLY for our MAC and address).
  ASSERT_GE(loaded_.bootp_response.size(), 240u);
  EXPECT_EQ(loaded_.bootp_response[0], 2);
  EXPECT_EQ(lib::LoadBe32(loaded_.bootp_response.data() + 16), tests::kClientIp.value);
  EXPECT_EQ(std::memcmp(loaded_.bootp_response.data() + 28, tests::kClientMac.bytes, 6), 0);
  EXPECT_TRUE(console_.Has(std::string("tern: ") + kNic +
                           ": DHCP 10.0.2.15 mask 255.255.255.0 router 10.0.2.2 from 10.0.2.2, "
                           "boot file \"" +
                           kCoreElf + "\" on 10.0.2.2\n"))
      << console_.text;
  EXPECT_TRUE(console_.Has(std::string("tern: ") + kNic + ": " + kCoreElf + ": 180 KiB in "))
      << console_.text;
  EXPECT_TRUE(console_.Has("blksize 1468, 0 retransmissions)\n")) << console_.text;
  EXPECT_TRUE(console_.Has(std::string("tern: booting ") + kNic + " " + kCoreElf +
                           ": ELF32 big-endian, 1 segments, entry 0x200000\n"))
      << console_.text;
  // The segment stays claimed, the staging area does not.
  EXPECT_FALSE(claims_.IsFree(0x200000, image.size()));
  const of::AddressRange staging = bootmgr::LoaderStaging(kRamBytes, bootmgr::kNetworkStagingBytes);
  EXPECT_EQ(staging.size, bootmgr::kNetworkStagingBytes);
  EXPECT_TRUE(claims_.IsFree(staging.start, staging.size));
}

// A vmlinux larger than a disk's 32 MiB staging limit, linked at 0: loaded 4 MiB up.
TEST_F(NetBootTest, ALinuxKernelLargerThanAPartitionsLimitIsLoadedFourMebibytesUp) {
  const auto image = Image(true, (33u << 20) + 4096);
  lan_.dhcp.boot_file = "vmlinux";
  lan_.tftp.files["vmlinux"] = image;
  ASSERT_TRUE(Boot()) << console_.text;
  EXPECT_EQ(loaded_.entry, 0x400000u);
  EXPECT_FALSE(loaded_.mode32);
  EXPECT_EQ(std::memcmp(ram_ + 0x400000, image.data() + 0x10000, image.size() - 0x10000), 0);
  EXPECT_TRUE(
      console_.Has("tern: vmlinux is linked where the firmware is: loaded 0x400000 bytes up"))
      << console_.text;
}

// Each way a network boot fails: one line naming the reason, nothing claimed, and a bounded time
// on the fake clock.
TEST_F(NetBootTest, FailuresSayWhyLeaveNothingClaimedAndEndInBoundedTime) {
  struct Case {
    const char* name;
    std::function<void(tests::FakeNetwork&)> setup;
    const char* reason;
    uint64_t max_seconds;
  };
  const Case cases[] = {
      {"no DHCP server",
       [](tests::FakeNetwork& lan) { lan.dhcp.mode = tests::DhcpServer::Mode::kSilent; },
       ": cannot boot: no DHCP or BOOTP server answered\n", 20},
      {"missing file", [](tests::FakeNetwork&) {},
       ": cannot boot boot/grub/powerpc-ieee1275/core.elf: the TFTP server sent an error\n", 2},
      {"silent TFTP server",
       [](tests::FakeNetwork& lan) {
         lan.tftp.files[kCoreElf] = Image(false, 4096);
         lan.tftp.silent = true;
       },
       ": cannot boot boot/grub/powerpc-ieee1275/core.elf: no answer from the TFTP server\n", 15},
      {"not an ELF image",
       [](tests::FakeNetwork& lan) { lan.tftp.files[kCoreElf] = std::vector<uint8_t>(5000, 0x42); },
       ": cannot boot boot/grub/powerpc-ieee1275/core.elf: not an ELF image\n", 2},
      {"no boot file", [](tests::FakeNetwork& lan) { lan.dhcp.boot_file = ""; },
       ": cannot boot: the DHCP server named no boot file\n", 2},
      {"too large",
       [](tests::FakeNetwork& lan) {
         lan.tftp.files[kCoreElf] = std::vector<uint8_t>((64u << 20) + 1);
       },
       ": cannot boot boot/grub/powerpc-ieee1275/core.elf: larger than the 64 MiB tern reads from "
       "the network\n",
       2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    lan_.dhcp = tests::DhcpServer{};
    lan_.dhcp.boot_file = kCoreElf;
    lan_.tftp = tests::TftpServer{};
    c.setup(lan_);
    console_.text.clear();
    const auto before = Claimed();
    const uint64_t start = tests::Now();
    EXPECT_FALSE(Boot());
    EXPECT_TRUE(console_.Has(std::string("tern: ") + kNic + c.reason)) << console_.text;
    EXPECT_TRUE(SameClaims(before));
    EXPECT_LT(tests::Now() - start, c.max_seconds * tests::kFrequency);
  }
}

}  // namespace
