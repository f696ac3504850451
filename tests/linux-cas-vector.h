// The ibm,client-architecture-support vector of Linux 6.1's prom_init (struct ibm_arch_vec), for
// tests of the CAS vector check and of call-method("ibm,client-architecture-support").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tests {

inline void PutBe32(std::vector<uint8_t>& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

inline constexpr uint32_t kLinuxPvrs[14][2] = {
    {0xfffe0000, 0x003a0000},  // POWER5/POWER5+
    {0xffff0000, 0x003e0000},  // POWER6
    {0xffff0000, 0x003f0000},  // POWER7
    {0xffff0000, 0x004b0000},  // POWER8E
    {0xffff0000, 0x004c0000},  // POWER8NVL
    {0xffff0000, 0x004d0000},  // POWER8
    {0xffff0000, 0x004e0000},  // POWER9
    {0xffff0000, 0x00800000},  // POWER10
    {0xffffffff, 0x0f000006},  // all 3.1-compliant
    {0xffffffff, 0x0f000005},  // all 3.00-compliant
    {0xffffffff, 0x0f000004},  // all 2.07-compliant
    {0xffffffff, 0x0f000003},  // all 2.06-compliant
    {0xffffffff, 0x0f000002},  // all 2.05-compliant
    {0xfffffffe, 0x0f000001},  // all 2.04 and earlier: (~mask & value) != 0, the terminator
};

// The bytes after the PVR list: the option-vector table of Linux 6.1's struct ibm_arch_vec
// (prom_init.c). Its count byte is NUM_VECTORS(6) = 5, yet seven vectors follow.
inline std::vector<uint8_t> LinuxTable(uint8_t intarch, uint8_t mmu) {
  std::vector<uint8_t> v;
  v.push_back(5);
  // Vector 1: byte1, arch_versions (2.00..2.07), arch_versions3 (3.00, 3.1).
  v.insert(v.end(), {2, 0x00, 0xff, 0xc0});
  // Vector 2: OV2_REAL_MODE, real/virt/load ranges "any", min RMA 512 MB, max_pft_size 48.
  v.insert(v.end(), {32, 0x20, 0x00, 0x00});
  for (int i = 0; i < 5; ++i) PutBe32(v, 0xffffffff);
  PutBe32(v, 512);
  PutBe32(v, 0xffffffff);
  v.insert(v.end(), {0x00, 48});
  // Vector 3: FP, VMX, DFP.
  v.insert(v.end(), {1, 0x00, 0xe0});
  // Vector 4: minimum entitled capacity 10%.
  v.insert(v.end(), {1, 0x80, 10});
  // Vector 5: 26 bytes, length byte 25. Byte n of the vector is at offset n from the length byte.
  std::vector<uint8_t> ov5(27, 0);
  ov5[0] = 25;
  ov5[2] = 0xf6;   // LPAR, SPLPAR, large pages, DRCONF memory, ...
  ov5[5] = 0xc0;   // FORM1/FORM2 affinity
  ov5[6] = 0x10;   // hot-plug events
  ov5[11] = 0x08;  // max_cpus, be32 in bytes 9..12: 2048 CPUs / 1 thread
  ov5[21] = 0x80;  // sub-processor support
  ov5[23] = intarch;
  ov5[24] = mmu;
  ov5[26] = 0x40;  // radix GTSE
  v.insert(v.end(), ov5.begin(), ov5.end());
  // Vector 6: OV6_LINUX.
  v.insert(v.end(), {2, 0x00, 0x00, 0x02});
  // Vector 7: the 256-byte OS id (linux_banner); not walked, since only 6 vectors are declared.
  v.push_back(255);
  std::string banner = "Linux version 6.1.0-28-powerpc64le (debian-kernel@lists.debian.org)";
  banner.resize(256, '\0');
  v.insert(v.end(), banner.begin(), banner.end());
  return v;
}

inline std::vector<uint8_t> LinuxVector(uint8_t intarch = 0x40, uint8_t mmu = 0x40) {
  std::vector<uint8_t> v;
  for (const auto& pvr : kLinuxPvrs) {
    PutBe32(v, pvr[0]);
    PutBe32(v, pvr[1]);
  }
  const std::vector<uint8_t> table = LinuxTable(intarch, mmu);
  v.insert(v.end(), table.begin(), table.end());
  return v;
}

}  // namespace tests
