// What Linux does with the NVRAM at boot, mirrored on a byte image for nvram_test and the nvram
// fuzz target, written from the kernel's sources and independent of tern's code:
//  - ScanPartitions: arch/powerpc/kernel/nvram_64.c nvram_scan_partitions and nvram_checksum (the
//    name's six 16-bit words in the host's order: both orders are kernels tern boots), with the
//    warnings it prints;
//  - InitOsPartitions: arch/powerpc/platforms/pseries/nvram.c pseries_nvram_init_log_partitions,
//    which finds or creates ibm,rtas-log (2079 bytes wanted, 1055 at least) and, through
//    nvram_init_oops_partition, lnx,oops-log (4000, at least 2000), with nvram_64.c's
//    nvram_init_os_partition, nvram_create_partition (first free partition of the requested size,
//    else the largest of the minimum size) and nvram_remove_partition, writing the headers into
//    the image as the kernel would through nvram-store.
// And the two other writers of NVRAM headers, for fixtures: QEMU's
// (hw/nvram/chrp_nvram.h chrp_nvram_finish_partition) and SLOF's (lib/libnvram/nvram.c
// calc_partition_header_checksum).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace linux_nvram {

inline constexpr uint8_t kSigFree = 0x7f;
inline constexpr uint8_t kSigOs = 0xa0;

inline uint8_t Checksum(const uint8_t* header, bool little_endian) {
  unsigned int sum = header[0] + (header[2] << 8 | header[3]);
  for (int i = 0; i < 6; ++i) {
    const unsigned int a = header[4 + 2 * i];
    const unsigned int b = header[5 + 2 * i];
    sum += little_endian ? (a | b << 8) : (a << 8 | b);
  }
  sum = ((sum & 0xffff) + (sum >> 16)) & 0xffff;
  const unsigned int sum2 = (sum >> 8) + (sum << 8);
  return static_cast<uint8_t>(((sum + sum2) >> 8) & 0xff);
}

inline uint8_t QemuChecksum(const uint8_t* header) {
  unsigned int sum = header[0];
  for (int i = 0; i < 14; ++i) {
    sum += header[2 + i];
    sum = (sum + ((sum & 0xff00) >> 8)) & 0xff;
  }
  return static_cast<uint8_t>(sum);
}

inline uint8_t SlofChecksum(const uint8_t* header) {
  uint16_t sum = header[0];
  for (int i = 2; i < 16; ++i) sum = static_cast<uint16_t>(sum + header[i]);
  return static_cast<uint8_t>((sum >> 8) + (sum & 0xff));
}

struct Part {
  uint32_t index = 0;  // of the header
  uint8_t signature = 0;
  uint16_t length = 0;  // blocks
  std::string name;     // up to 12 characters
};

struct Scan {
  std::vector<Part> partitions;
  std::vector<std::string> messages;  // what the kernel prints (KERN_WARNING, KERN_ERR)
  bool past_end = false;  // the last partition runs past the end (the kernel says nothing)
};

inline Scan ScanPartitions(const std::vector<uint8_t>& image, bool little_endian) {
  Scan scan;
  size_t cur = 0;
  while (cur < image.size()) {
    if (image.size() - cur < 16) {
      scan.messages.push_back("nvram_scan_partitions: Error parsing nvram partitions");
      return scan;
    }
    const uint8_t* header = image.data() + cur;
    const uint8_t sum = Checksum(header, little_endian);
    if (sum != header[1]) {
      char line[96];
      snprintf(line, sizeof(line), "WARNING: nvram partition checksum was %02x, should be %02x!",
               header[1], sum);
      scan.messages.push_back(line);
      scan.messages.push_back("Terminating nvram partition scan");
      return scan;
    }
    Part part;
    part.index = static_cast<uint32_t>(cur);
    part.signature = header[0];
    part.length = static_cast<uint16_t>(header[2] << 8 | header[3]);
    part.name.assign(reinterpret_cast<const char*>(header + 4),
                     strnlen((const char*)header + 4, 12));
    if (part.length == 0) {
      scan.messages.push_back("WARNING: nvram corruption detected: 0-length partition");
      return scan;
    }
    scan.partitions.push_back(part);
    cur += part.length * 16;
  }
  scan.past_end = cur > image.size();
  return scan;
}

// The kernel's view after the scan, and the writes it makes.
class Kernel {
 public:
  Kernel(std::vector<uint8_t>& image, bool little_endian)
      : image_(image), little_endian_(little_endian) {
    Scan scan = ScanPartitions(image, little_endian);
    parts_ = scan.partitions;
    messages_ = scan.messages;
  }

  // pseries_nvram_init_log_partitions.
  void InitOsPartitions() {
    const bool rtas = InitOsPartition("ibm,rtas-log", 2079, 1055);
    if (!InitOsPartition("lnx,oops-log", 4000, 2000) && rtas) {
      messages_.push_back(
          "nvram: Using ibm,rtas-log partition to log both RTAS errors and "
          "oops/panic reports");
    }
  }

  const std::vector<std::string>& messages() const { return messages_; }
  const std::vector<Part>& partitions() const { return parts_; }

 private:
  void WriteHeader(const Part& part) {
    uint8_t* header = image_.data() + part.index;
    header[0] = part.signature;
    header[2] = static_cast<uint8_t>(part.length >> 8);
    header[3] = static_cast<uint8_t>(part.length);
    memset(header + 4, 0, 12);
    memcpy(header + 4, part.name.data(), std::min<size_t>(part.name.size(), 12));
    header[1] = Checksum(header, little_endian_);
  }

  // nvram_find_partition: the data index, 0 when absent; *size its data bytes.
  uint32_t Find(const std::string& name, uint8_t sig, int* size) {
    for (const Part& part : parts_) {
      if (part.signature == sig && part.name == name.substr(0, 12)) {
        *size = (part.length - 1) * 16;
        return part.index + 16;
      }
    }
    return 0;
  }

  // nvram_remove_partition (name empty: every OS partition but the two of pseries).
  void Remove(const std::string& name, uint8_t sig) {
    for (Part& part : parts_) {
      if (part.signature != sig) continue;
      if (!name.empty() && part.name != name) continue;
      if (name.empty() && (part.name == "ibm,rtas-log" || part.name == "lnx,oops-log")) continue;
      part.signature = kSigFree;
      part.name = "wwwwwwwwwwww";
      WriteHeader(part);
    }
    for (size_t i = 0; i + 1 < parts_.size();) {
      if (parts_[i].signature == kSigFree && parts_[i + 1].signature == kSigFree) {
        parts_[i].length = static_cast<uint16_t>(parts_[i].length + parts_[i + 1].length);
        WriteHeader(parts_[i]);
        parts_.erase(parts_.begin() + static_cast<long>(i) + 1);
      } else {
        ++i;
      }
    }
  }

  // nvram_create_partition: the data index, or -28 (-ENOSPC).
  long Create(const std::string& name, int req_size, int min_size) {
    const long req = (req_size + 15) / 16 + 1;
    const long min = (min_size + 15) / 16 + 1;
    long size = 0;
    size_t free = 0;
    for (size_t i = 0; i < parts_.size(); ++i) {
      if (parts_[i].signature != kSigFree) continue;
      if (parts_[i].length >= req) {
        size = req;
        free = i;
        break;
      }
      if (parts_[i].length > size && parts_[i].length >= min) {
        size = parts_[i].length;
        free = i;
      }
    }
    if (size == 0) return -28;
    Part created;
    created.index = parts_[free].index;
    created.signature = kSigOs;
    created.length = static_cast<uint16_t>(size);
    created.name = name;
    WriteHeader(created);
    if (parts_[free].length > size) {
      parts_[free].index += static_cast<uint32_t>(size * 16);
      parts_[free].length = static_cast<uint16_t>(parts_[free].length - size);
      WriteHeader(parts_[free]);
      parts_.insert(parts_.begin() + static_cast<long>(free), created);
    } else {
      parts_[free] = created;
    }
    return created.index + 16;
  }

  // nvram_init_os_partition: true when the partition exists afterwards.
  bool InitOsPartition(const std::string& name, int req_size, int min_size) {
    int size = 0;
    long index = Find(name, kSigOs, &size);
    if (index != 0 && size < min_size) {
      messages_.push_back("nvram: Found too small " + name + " partition, removing it...");
      Remove(name, kSigOs);
      index = 0;
    }
    if (index == 0) {
      index = Create(name, req_size, min_size);
      if (index == -28) {
        messages_.push_back("nvram: No room to create " + name +
                            " partition, deleting any obsolete OS partitions...");
        Remove("", kSigOs);
        index = Create(name, req_size, min_size);
      }
    }
    if (index <= 0) {
      messages_.push_back("nvram: Failed to find or create " + name + " partition, err " +
                          std::to_string(index));
      return false;
    }
    return true;
  }

  std::vector<uint8_t>& image_;
  bool little_endian_;
  std::vector<Part> parts_;
  std::vector<std::string> messages_;
};

}  // namespace linux_nvram
