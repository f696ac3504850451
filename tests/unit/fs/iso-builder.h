// ISO 9660 images built byte by byte for fs/'s tests and fuzz seeds [ECMA-119]: system area,
// a Primary Volume Descriptor at sector 16, the terminator at 17, then the directories (each
// starting on a 2048-byte sector unless Options::pack, records packed so that none crosses a
// sector, as mkisofs and xorriso lay them out), Rock Ridge continuation areas, then the files, one
// extent each. With Rock Ridge, the root's "." record carries SUSP's "SP" entry and every named
// record an "NM" entry [SUSP 1.12 5.3; RRIP 1.12 4.1.4], as xorriso writes them (grub-mkrescue's
// ISO).
//
// Built::at gives, for every node by its path ("/ppc/bootinfo.txt": the Rock Ridge names when the
// image has them, else the ISO names: "/PPC/BOOTINFO.TXT;1"), where its record and its data lie, so
// that tests can damage them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace isotest {

struct Node {
  std::string name;       // the ISO 9660 identifier as recorded: "BOOTINFO.TXT;1"
  std::string rock_name;  // the Rock Ridge name; empty: no NM entry
  bool directory = false;
  std::vector<uint8_t> data;          // a file's bytes
  std::vector<Node> children;         // a directory's entries, in order
  size_t nm_split = 0;                // split the NM content into entries of this many bytes
  bool name_in_continuation = false;  // put the NM entries in a continuation area (CE)
};

inline Node File(std::string name, std::string rock_name, std::string data) {
  Node node;
  node.name = std::move(name);
  node.rock_name = std::move(rock_name);
  node.data.assign(data.begin(), data.end());
  return node;
}

inline Node Dir(std::string name, std::string rock_name, std::vector<Node> children) {
  Node node;
  node.name = std::move(name);
  node.rock_name = std::move(rock_name);
  node.directory = true;
  node.children = std::move(children);
  return node;
}

struct Options {
  uint32_t block_size = 2048;  // the logical block size (512, 1024, 2048)
  bool rock_ridge = false;
  uint8_t susp_skip = 0;      // SP's LEN_SKP; that many 0xEE bytes start every system use field
  uint32_t extra_blocks = 0;  // volume space after the last file
  std::string volume_id = "CDROM";
  // Directories start at the next logical block, not at the next sector, and take whole
  // logical blocks (records still never cross a sector): what a volume of 512- or 1024-byte
  // blocks may do [ECMA-119 6.8.1.1]; mkisofs and xorriso align them.
  bool pack = false;
};

struct Placed {
  size_t record = 0;  // byte offset of the node's directory record in the image
  uint64_t data = 0;  // byte offset of its extent
  uint32_t size = 0;  // its data length
  bool directory = false;
};

struct Built {
  std::vector<uint8_t> image;  // the whole volume
  std::map<std::string, Placed> at;
};

inline constexpr uint32_t kSector = 2048;

inline void PutBoth16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

inline void PutBoth32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<uint8_t>(v >> (8 * i));
    p[7 - i] = static_cast<uint8_t>(v >> (8 * i));
  }
}

// A directory record without a system use field [ECMA-119 9.1] of `length` bytes (0: the least
// that holds `name`) at `at`.
inline void PutRecord(uint8_t* at, uint32_t lbn, uint32_t size, bool directory,
                      const std::string& name, uint8_t length = 0) {
  at[0] = length != 0 ? length : static_cast<uint8_t>(33 + name.size() + (name.size() + 1) % 2);
  PutBoth32(at + 2, lbn);
  PutBoth32(at + 10, size);
  at[25] = directory ? 2 : 0;
  PutBoth16(at + 28, 1);
  at[32] = static_cast<uint8_t>(name.size());
  std::memcpy(at + 33, name.data(), name.size());
}

// The root directory's extent, from the PVD's root record [ECMA-119 8.4.18], in bytes.
inline uint64_t RootOffset(const std::vector<uint8_t>& image, uint32_t block_size = 2048) {
  const uint8_t* lbn = image.data() + 16 * 2048 + 156 + 2;
  return (uint64_t{lbn[0]} | uint64_t{lbn[1]} << 8 | uint64_t{lbn[2]} << 16 |
          uint64_t{lbn[3]} << 24) *
         block_size;
}

class Builder {
 public:
  explicit Builder(Options options) : options_(std::move(options)) {}

  Built Build(const Node& root) {
    const uint32_t block = options_.block_size;
    next_ = 18 * kSector / block;  // after the system area, the PVD and the terminator
    LayoutDirectory(root);
    LayoutFiles(root);
    Built built;
    built.image.assign(uint64_t{next_ + options_.extra_blocks} * block, 0);
    image_ = &built.image;
    at_ = &built.at;
    WriteDescriptors(root);
    WriteDirectory(root, root, "");
    return built;
  }

 private:
  struct Layout {
    uint32_t lbn = 0;
    uint32_t size = 0;
    uint32_t ce_lbn = 0;  // its continuation area, when it has one
  };

  // The system use bytes of `node`'s record in its parent (or of "." in the root: SP).
  std::vector<uint8_t> SystemUse(const Node& node) const {
    std::vector<uint8_t> su;
    if (!options_.rock_ridge || node.rock_name.empty()) return su;
    su.assign(options_.susp_skip, 0xEE);
    if (node.name_in_continuation) {
      su.resize(su.size() + 28);
      uint8_t* ce = su.data() + su.size() - 28;
      ce[0] = 'C';
      ce[1] = 'E';
      ce[2] = 28;
      ce[3] = 1;
      const std::vector<uint8_t> area = NameEntries(node, true);
      PutBoth32(ce + 4, layout_.count(&node) ? layout_.at(&node).ce_lbn : 0);
      PutBoth32(ce + 12, 0);
      PutBoth32(ce + 20, static_cast<uint32_t>(area.size()));
      return su;
    }
    const std::vector<uint8_t> names = NameEntries(node, false);
    su.insert(su.end(), names.begin(), names.end());
    return su;
  }

  // NM entries for the node's Rock Ridge name (and ST when they fill a continuation area).
  static std::vector<uint8_t> NameEntries(const Node& node, bool terminate) {
    std::vector<uint8_t> out;
    const std::string& name = node.rock_name;
    const size_t piece = node.nm_split != 0 ? node.nm_split : 250;
    for (size_t at = 0; at < name.size(); at += piece) {
      const size_t n = std::min(piece, name.size() - at);
      out.insert(out.end(), {'N', 'M', static_cast<uint8_t>(5 + n), 1,
                             static_cast<uint8_t>(at + n < name.size() ? 1 : 0)});
      out.insert(out.end(), name.begin() + at, name.begin() + at + n);
    }
    if (terminate) out.insert(out.end(), {'S', 'T', 4, 1});
    return out;
  }

  std::vector<uint8_t> RootDotSystemUse() const {
    if (!options_.rock_ridge) return {};
    return {'S', 'P', 7, 1, 0xBE, 0xEF, options_.susp_skip};
  }

  static uint32_t RecordLength(size_t name_length, size_t su_length) {
    const size_t length = 33 + name_length + (name_length % 2 == 0 ? 1 : 0) + su_length;
    return static_cast<uint32_t>((length + 1) & ~size_t{1});
  }

  // The sizes of a directory's records, in order: ".", "..", then its children.
  std::vector<uint32_t> RecordLengths(const Node& dir, bool is_root) const {
    std::vector<uint32_t> lengths;
    lengths.push_back(RecordLength(1, is_root ? RootDotSystemUse().size() : 0));
    lengths.push_back(RecordLength(1, 0));
    for (const Node& child : dir.children) {
      lengths.push_back(RecordLength(child.name.size(), SystemUse(child).size()));
    }
    return lengths;
  }

  uint32_t Blocks(uint64_t bytes) const {
    return static_cast<uint32_t>((bytes + options_.block_size - 1) / options_.block_size);
  }

  // Where a record of `length` bytes goes at or after byte `at`: not across a sector's end.
  static uint64_t Place(uint64_t at, uint32_t length) {
    if (at % kSector + length > kSector) at = (at / kSector + 1) * kSector;
    return at;
  }

  // Places `dir` at the next sector (or block), its continuation areas after it, then its
  // subdirectories.
  void LayoutDirectory(const Node& dir) {
    const uint32_t block = options_.block_size;
    const uint32_t per_sector = kSector / block;
    if (!options_.pack) next_ = (next_ + per_sector - 1) / per_sector * per_sector;
    const uint64_t start = uint64_t{next_} * block;
    uint64_t end = start;
    for (uint32_t length : RecordLengths(dir, layout_.empty())) end = Place(end, length) + length;
    const uint64_t unit = options_.pack ? block : kSector;
    const auto size = static_cast<uint32_t>((end - start + unit - 1) / unit * unit);
    layout_[&dir].lbn = next_;  // keeps a continuation area placed with its parent
    layout_[&dir].size = size;
    next_ += size / block;
    for (const Node& child : dir.children) {
      if (options_.rock_ridge && child.name_in_continuation) {
        layout_[&child].ce_lbn = next_++;
      }
    }
    for (const Node& child : dir.children) {
      if (child.directory) LayoutDirectory(child);
    }
  }

  void LayoutFiles(const Node& dir) {
    for (const Node& child : dir.children) {
      if (child.directory) {
        LayoutFiles(child);
        continue;
      }
      Layout& layout = layout_[&child];
      layout.lbn = next_;
      layout.size = static_cast<uint32_t>(child.data.size());
      next_ += Blocks(child.data.size());
    }
  }

  void WriteDescriptors(const Node& root) {
    uint8_t* pvd = image_->data() + 16 * kSector;
    pvd[0] = 1;
    std::memcpy(pvd + 1, "CD001", 5);
    pvd[6] = 1;
    std::memset(pvd + 8, ' ', 64);
    std::memcpy(pvd + 40, options_.volume_id.data(),
                std::min<size_t>(32, options_.volume_id.size()));
    PutBoth32(pvd + 80, static_cast<uint32_t>(image_->size() / options_.block_size));
    PutBoth16(pvd + 120, 1);
    PutBoth16(pvd + 124, 1);
    PutBoth16(pvd + 128, static_cast<uint16_t>(options_.block_size));
    pvd[881] = 1;
    WriteRecord(pvd + 156, layout_.at(&root), std::string(1, '\0'), true, {});
    uint8_t* terminator = image_->data() + 17 * kSector;
    terminator[0] = 255;
    std::memcpy(terminator + 1, "CD001", 5);
    terminator[6] = 1;
  }

  static void WriteRecord(uint8_t* at, const Layout& layout, const std::string& name,
                          bool directory, const std::vector<uint8_t>& su) {
    const uint32_t length = RecordLength(name.size(), su.size());
    at[0] = static_cast<uint8_t>(length);
    PutBoth32(at + 2, layout.lbn);
    PutBoth32(at + 10, layout.size);
    at[25] = directory ? 2 : 0;
    PutBoth16(at + 28, 1);
    at[32] = static_cast<uint8_t>(name.size());
    std::memcpy(at + 33, name.data(), name.size());
    const size_t su_at = 33 + name.size() + (name.size() % 2 == 0 ? 1 : 0);
    if (!su.empty()) std::memcpy(at + su_at, su.data(), su.size());
  }

  void WriteDirectory(const Node& dir, const Node& parent, const std::string& path) {
    const Layout& layout = layout_.at(&dir);
    const bool is_root = &dir == &parent;
    uint64_t next = uint64_t{layout.lbn} * options_.block_size;
    auto place = [&](uint32_t length) {
      const uint64_t at = Place(next, length);
      next = at + length;
      return at;
    };
    const std::vector<uint8_t> dot_su = is_root ? RootDotSystemUse() : std::vector<uint8_t>{};
    WriteRecord(image_->data() + place(RecordLength(1, dot_su.size())), layout,
                std::string(1, '\0'), true, dot_su);
    WriteRecord(image_->data() + place(RecordLength(1, 0)), layout_.at(&parent),
                std::string(1, '\1'), true, {});
    for (const Node& child : dir.children) {
      const std::vector<uint8_t> su = SystemUse(child);
      const size_t at = place(RecordLength(child.name.size(), su.size()));
      const Layout& child_layout = layout_.at(&child);
      WriteRecord(image_->data() + at, child_layout, child.name, child.directory, su);
      const bool rock = options_.rock_ridge && !child.rock_name.empty();
      const std::string child_path = path + "/" + (rock ? child.rock_name : child.name);
      (*at_)[child_path] = Placed{at, uint64_t{child_layout.lbn} * options_.block_size,
                                  child_layout.size, child.directory};
      if (options_.rock_ridge && child.name_in_continuation) {
        const std::vector<uint8_t> area = NameEntries(child, true);
        std::memcpy(image_->data() + uint64_t{child_layout.ce_lbn} * options_.block_size,
                    area.data(), area.size());
      }
      if (child.directory) {
        WriteDirectory(child, dir, child_path);
      } else if (!child.data.empty()) {
        std::memcpy(image_->data() + uint64_t{child_layout.lbn} * options_.block_size,
                    child.data.data(), child.data.size());
      }
    }
  }

  Options options_;
  uint32_t next_ = 0;
  std::map<const Node*, Layout> layout_;
  std::vector<uint8_t>* image_ = nullptr;
  std::map<std::string, Placed>* at_ = nullptr;
};

inline Built Build(const Node& root, Options options = {}) {
  return Builder(std::move(options)).Build(root);
}

}  // namespace isotest
