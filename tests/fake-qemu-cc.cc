#include "tests/fake-qemu-cc.h"

#include <libfdt.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "lib/be.h"

namespace tests {

namespace {

bool IsLogical(DrcState state) {
  return static_cast<uint32_t>(state) <= static_cast<uint32_t>(DrcState::kLogicalConfigured);
}

}  // namespace

void FakeQemuCc::AddDrc(uint32_t index, const std::vector<uint8_t>& dtb, DrcState state,
                        bool name_property) {
  if (dtb.empty() || fdt_check_header(dtb.data()) != 0) {
    throw std::invalid_argument("FakeQemuCc::AddDrc: not a device-tree blob");
  }
  Drc drc;
  drc.fragment.resize(dtb.size() + 4096);
  if (fdt_open_into(dtb.data(), drc.fragment.data(), static_cast<int>(drc.fragment.size())) != 0) {
    throw std::invalid_argument("FakeQemuCc::AddDrc: fdt_open_into failed");
  }
  void* fdt = drc.fragment.data();
  int node = fdt_first_subnode(fdt, 0);
  if (node < 0) throw std::invalid_argument("FakeQemuCc::AddDrc: the blob has no node under /");
  if (name_property) {
    const std::string name = fdt_get_name(fdt, node, nullptr);
    if (fdt_setprop_string(fdt, node, "name", name.c_str()) != 0) {
      throw std::invalid_argument("FakeQemuCc::AddDrc: cannot add the name property");
    }
  }
  fdt_pack(fdt);
  drc.fragment.resize(fdt_totalsize(fdt));
  drc.node = fdt_first_subnode(drc.fragment.data(), 0);
  drc.state = state;
  drcs_[index] = std::move(drc);
}

void FakeQemuCc::SetState(uint32_t index, DrcState state) {
  drcs_.at(index).state = state;
}

DrcState FakeQemuCc::State(uint32_t index) const {
  return drcs_.at(index).state;
}

const std::vector<uint8_t>& FakeQemuCc::Fragment(uint32_t index) const {
  return drcs_.at(index).fragment;
}

int FakeQemuCc::FragmentNode(uint32_t index) const {
  return drcs_.at(index).node;
}

bool FakeQemuCc::HasWalk(uint32_t index) const {
  return drcs_.at(index).populated;
}

int FakeQemuCc::Depth(uint32_t index) const {
  return drcs_.at(index).depth;
}

// rtas_st(): a 32-bit big-endian store into guest memory, dropped outside RAM.
void FakeQemuCc::Store32(uint64_t work_area, uint32_t cell, uint32_t value) {
  uint8_t bytes[4];
  lib::StoreBe32(bytes, value);
  (void)memory_->Write(work_area + 4 * cell, bytes, 4);
}

// configure_connector_st(): MIN(len, CC_WA_LEN - offset) bytes at work_area + offset.
void FakeQemuCc::StoreClipped(uint64_t work_area, uint32_t offset, const void* data, size_t size) {
  const size_t room = offset < kWorkAreaLength ? kWorkAreaLength - offset : 0;
  const size_t length = std::min(size, room);
  if (length > 0) (void)memory_->Write(work_area + offset, data, length);
}

int32_t FakeQemuCc::ConfigureConnector(uint64_t work_area) {
  if (before_call) before_call(*this, calls);
  ++calls;
  uint8_t word[4] = {};
  if (memory_->Read(work_area, word, 4).is_error()) std::memset(word, 0, sizeof(word));
  const uint32_t index = lib::LoadBe32(word);
  auto it = drcs_.find(index);
  if (it == drcs_.end()) return kParameterError;
  Drc& drc = it->second;
  if (drc.state != DrcState::kLogicalUnisolate && drc.state != DrcState::kPhysicalUnisolate &&
      drc.state != DrcState::kLogicalConfigured && drc.state != DrcState::kPhysicalConfigured) {
    return kNotConfigurable;
  }
  if (!drc.populated) {
    drc.populated = true;
    drc.offset = drc.node;
    drc.depth = 0;
  }
  const void* fdt = drc.fragment.data();
  int32_t response = 1;  // SPAPR_DR_CC_RESPONSE_CONTINUE, internal only
  const int32_t kContinue = 1;
  do {
    int next = 0;
    const uint32_t tag = fdt_next_tag(fdt, drc.offset, &next);
    switch (tag) {
      case FDT_BEGIN_NODE: {
        ++drc.depth;
        const char* name = fdt_get_name(fdt, drc.offset, nullptr);
        Store32(work_area, 2, kValueOffset);
        StoreClipped(work_area, kValueOffset, name, std::strlen(name) + 1);
        response = kNextChild;
        break;
      }
      case FDT_END_NODE:
        --drc.depth;
        if (drc.depth == 0) {
          // Done: the DRC is configured and the cursor goes back to the start, so that the
          // fragment can be sent again.
          drc.state =
              IsLogical(drc.state) ? DrcState::kLogicalConfigured : DrcState::kPhysicalConfigured;
          drc.offset = drc.node;
          drc.depth = 0;
          next = drc.node;
          response = kSuccess;
        } else {
          response = kPrevParent;
        }
        break;
      case FDT_PROP: {
        int length = 0;
        const struct fdt_property* prop = fdt_get_property_by_offset(fdt, drc.offset, &length);
        const char* name = fdt_string(fdt, fdt32_to_cpu(prop->nameoff));
        const uint32_t name_size = static_cast<uint32_t>(std::strlen(name) + 1);
        Store32(work_area, 2, kValueOffset);
        StoreClipped(work_area, kValueOffset, name, name_size);
        Store32(work_area, 3, static_cast<uint32_t>(length));
        Store32(work_area, 4, kValueOffset + name_size);
        StoreClipped(work_area, kValueOffset + name_size, prop->data, static_cast<size_t>(length));
        response = kNextProperty;
        break;
      }
      case FDT_END: response = kError; break;
      default: break;  // FDT_NOP: keep seeking an actionable tag
    }
    if (drc.offset >= 0) drc.offset = next;
  } while (response == kContinue);
  return response;
}

int32_t FakeQemuCc::SetIndicator(uint32_t type, uint32_t index, uint32_t value) {
  auto it = drcs_.find(index);
  if (it == drcs_.end()) return kParameterError;
  Drc& drc = it->second;
  const bool logical = IsLogical(drc.state);
  if (type == 9001 && value == 1) {  // unisolate: resets the cursor
    if (drc.state == DrcState::kLogicalUnusable) return kParameterError;
    if (drc.state == DrcState::kLogicalAvailable) drc.state = DrcState::kLogicalUnisolate;
    if (drc.state == DrcState::kPhysicalPowerOn) drc.state = DrcState::kPhysicalUnisolate;
    drc.offset = drc.node;
    drc.depth = 0;
    return kSuccess;
  }
  if (type == 9001 && value == 0) {  // isolate: only from CONFIGURED
    if (drc.state == DrcState::kLogicalUnisolate || drc.state == DrcState::kPhysicalUnisolate) {
      return kParameterError;
    }
    if (drc.state == DrcState::kLogicalConfigured) drc.state = DrcState::kLogicalAvailable;
    if (drc.state == DrcState::kPhysicalConfigured) drc.state = DrcState::kPhysicalPowerOn;
    return kSuccess;
  }
  if (type == 9003 && logical && value == 1) {  // drc_set_usable
    if (drc.state == DrcState::kLogicalUnusable) drc.state = DrcState::kLogicalAvailable;
    return kSuccess;
  }
  if (type == 9003 && logical && value == 0) {  // drc_set_unusable
    if (drc.state == DrcState::kLogicalUnisolate || drc.state == DrcState::kLogicalConfigured) {
      return kParameterError;
    }
    drc.state = DrcState::kLogicalUnusable;
    return kSuccess;
  }
  return kParameterError;
}

void FakeQemuCc::Migrate() {
  for (auto& [index, drc] : drcs_) {
    drc.populated = false;
    drc.offset = 0;
    drc.depth = 0;
  }
}

std::unique_ptr<FakeQemuCc> FakeQemuCc::Destination(lib::GuestMemory& memory) const {
  auto destination = std::make_unique<FakeQemuCc>(memory);
  destination->drcs_ = drcs_;
  destination->Migrate();
  return destination;
}

rtas::RtasStatus FakeQemuCc::Step(void* context, uint32_t drc_index, bool, uint64_t work_area) {
  auto& qemu = *static_cast<FakeQemuCc*>(context);
  uint8_t word[4] = {};
  if (qemu.memory_->Read(work_area, word, 4).is_ok() && lib::LoadBe32(word) != drc_index) {
    ++qemu.index_mismatches;
  }
  return static_cast<rtas::RtasStatus>(qemu.ConfigureConnector(work_area));
}

void FakeQemuCc::Install(FakeHypervisor& hv, uint32_t configure_connector_token,
                         uint32_t set_indicator_token) {
  hv.rtas_services[configure_connector_token] = [this](const std::vector<uint32_t>& args,
                                                       std::vector<uint32_t>& rets) {
    if (args.size() != 2 || !rets.empty()) return kParameterError;
    return ConfigureConnector((uint64_t{args[1]} << 32) | args[0]);
  };
  hv.rtas_services[set_indicator_token] = [this](const std::vector<uint32_t>& args,
                                                 std::vector<uint32_t>& rets) {
    if (args.size() != 3 || !rets.empty()) return kParameterError;
    return SetIndicator(args[0], args[1], args[2]);
  };
}

}  // namespace tests
