// NVRAM images as the other firmware writes them, rebuilt byte for byte from their sources (and
// checked against images QEMU 7.2 with its SLOF and Debian 12's Linux left in a -drive
// if=pflash file: nvram_test's expectations quote those bytes):
//  - SlofBlank: what SLOF writes on a blank NVRAM (lib/libnvram/nvram.c reset_nvram: ibm,CPU0log
//    0x51 of 0x200 blocks with its log header, ibm,CPU1log 0x51 of 0x80, common 0x70 of 0x100,
//    free space 0x7f for the rest; slof/fs/envvar.fs (nvupdate) then writes every default into
//    common, newest definition first);
//  - QemuPromEnv: what QEMU's spapr-nvram holds with -prom-env and no drive
//    (hw/nvram/spapr_nvram.c spapr_nvram_realize, hw/nvram/chrp_nvram.c
//    chrp_nvram_create_system_partition with MIN_NVRAM_SIZE / 4, chrp_nvram_create_free_partition).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tests/unit/nvram/linux-nvram.h"

namespace nvram_fixtures {

enum class Writer { kSlof, kQemu, kLinuxBig };

// Writes a header at `at` with the checksum `writer` computes.
inline void PutHeader(std::vector<uint8_t>& image, size_t at, uint8_t signature, uint16_t blocks,
                      const std::string& name, Writer writer) {
  uint8_t* header = image.data() + at;
  header[0] = signature;
  header[2] = static_cast<uint8_t>(blocks >> 8);
  header[3] = static_cast<uint8_t>(blocks);
  memset(header + 4, 0, 12);
  memcpy(header + 4, name.data(), std::min<size_t>(name.size(), 12));
  header[1] = writer == Writer::kSlof   ? linux_nvram::SlofChecksum(header)
              : writer == Writer::kQemu ? linux_nvram::QemuChecksum(header)
                                        : linux_nvram::Checksum(header, false);
}

// The strings SLOF's (nvupdate) writes into common on a blank NVRAM, in its order (the
// envvars wordlist, newest first), as QEMU 7.2's SLOF 20220719 left them.
inline const std::vector<std::string>& SlofDefaultStrings() {
  static const std::vector<std::string> strings = {
      "load-base=16384",  "real-mode?=true",     "direct-serial?=false", "use-nvramrc?=false",
      "selftest-#megs=0", "security-password=",  "security-mode=0",      "security-#badlogins=0",
      "screen-#rows=512", "screen-#columns=512", "output-device=",       "oem-logo?=false",
      "oem-logo=",        "oem-banner?=false",   "oem-banner=",          "nvramrc=",
      "input-device=",    "fcode-debug?=true",   "diag-switch?=false",   "diag-file=",
      "diag-device=",     "boot-command=boot",   "boot-file=",           "boot-device=",
      "auto-boot?=true"};
  return strings;
}

inline std::vector<uint8_t> SlofBlank(size_t size = 65536) {
  std::vector<uint8_t> image(size, 0);
  const uint8_t log_header[8] = {0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
  PutHeader(image, 0x0000, 0x51, 0x200, "ibm,CPU0log", Writer::kSlof);
  memcpy(image.data() + 0x0010, log_header, sizeof(log_header));
  PutHeader(image, 0x2000, 0x51, 0x80, "ibm,CPU1log", Writer::kSlof);
  memcpy(image.data() + 0x2010, log_header, sizeof(log_header));
  PutHeader(image, 0x2800, 0x70, 0x100, "common", Writer::kSlof);
  // create_free_partition: NVRAM_LENGTH - used - header, aligned up with the header.
  PutHeader(image, 0x3800, 0x7f, static_cast<uint16_t>((size - 0x3800) / 16), "free space",
            Writer::kSlof);
  size_t at = 0x2810;
  for (const std::string& s : SlofDefaultStrings()) {
    memcpy(image.data() + at, s.c_str(), s.size() + 1);
    at += s.size() + 1;
  }
  return image;
}

inline std::vector<uint8_t> QemuPromEnv(const std::vector<std::string>& prom_envs,
                                        size_t size = 65536) {
  std::vector<uint8_t> image(size, 0);
  size_t end = 16;
  for (const std::string& s : prom_envs) {
    memcpy(image.data() + end, s.c_str(), s.size() + 1);
    end += s.size() + 1;
  }
  image[end++] = 0;  // "End marker"
  end = (end + 15) & ~size_t{15};
  if (end < 8192 / 4) end = 8192 / 4;  // min_len: MIN_NVRAM_SIZE / 4
  PutHeader(image, 0, 0x70, static_cast<uint16_t>(end / 16), "system", Writer::kQemu);
  PutHeader(image, 8192 / 4, 0x7f, static_cast<uint16_t>((size - 8192 / 4) / 16), "free",
            Writer::kQemu);
  return image;
}

// The image after Debian 12's kernel booted on it (little-endian words, as ppc64el).
inline std::vector<uint8_t> AfterLinux(std::vector<uint8_t> image) {
  linux_nvram::Kernel kernel(image, true);
  kernel.InitOsPartitions();
  return image;
}

}  // namespace nvram_fixtures
