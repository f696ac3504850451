#include "rtas/instantiate.h"

#include "lib/cpu.h"
#include "lib/string.h"
#include "lib/timeout.h"
#include "rtas/services.h"
#include "rtas/state-region.h"

namespace rtas {

using lib::Err;
using lib::Result;

const char* InstantiateErrorName(InstantiateError error) {
  switch (error) {
    case InstantiateError::kBadImage: return "the RTAS image is malformed";
    case InstantiateError::kOutOfMemory: return "the RTAS area is not writable guest RAM";
    case InstantiateError::kBadBase: return "the RTAS base is not 4 KiB aligned";
    case InstantiateError::kAreaTooLarge:
      return "the hypervisor's rtas-size leaves no room for tern's RTAS below 4 GiB";
  }
  return "RTAS instantiation error";
}

namespace {

constexpr uint32_t kPage = 4096;

Result<const ImageHeader*, InstantiateError> CheckedHeader(lib::Span<const uint8_t> image) {
  if (image.size() < sizeof(ImageHeader) + sizeof(ImageConfig)) {
    return Err(InstantiateError::kBadImage);
  }
  const auto* header = reinterpret_cast<const ImageHeader*>(image.data());
  if (lib::MemCompare(header->magic, "TERNRTAS", 8) != 0 ||
      header->version.value() != kImageHeaderVersion || header->file_size.value() != image.size() ||
      header->memory_size.value() < image.size() || header->memory_size.value() % kPage != 0 ||
      header->entry.value() >= image.size() || header->rela_end.value() < header->rela.value() ||
      (header->rela_end.value() - header->rela.value()) % sizeof(Relocation) != 0 ||
      header->rela_end.value() > image.size() ||
      !lib::RangeInside(header->config.value(), sizeof(ImageConfig), 0, image.size())) {
    return Err(InstantiateError::kBadImage);
  }
  return header;
}

}  // namespace

Result<AreaPlan, InstantiateError> PlanArea(lib::Span<const uint8_t> image,
                                            uint32_t host_rtas_size) {
  auto header = CheckedHeader(image);
  if (header.is_error()) return Err(header.error());
  // Computed in 64 bits: an rtas-size near 4 GiB must not wrap the offsets (rtas-size is one
  // cell, and so is every offset the OS and the image see).
  const uint64_t image_offset = lib::AlignUp(host_rtas_size, kPage);
  const uint64_t image_size = header.value()->memory_size.value();
  const uint64_t state_size = StateRegionSize(kStateDataSize);
  if (image_offset + image_size + state_size > 0xffffffffu) {
    return Err(InstantiateError::kAreaTooLarge);
  }
  AreaPlan plan{};
  plan.host_size = host_rtas_size;
  plan.image_offset = static_cast<uint32_t>(image_offset);
  plan.image_size = static_cast<uint32_t>(image_size);
  plan.state_offset = static_cast<uint32_t>(image_offset + image_size);
  plan.state_size = static_cast<uint32_t>(state_size);
  plan.area_size = static_cast<uint32_t>(image_offset + image_size + state_size);
  return plan;
}

Result<uint64_t, InstantiateError> Instantiate(lib::GuestMemory& memory, uint64_t base,
                                               const InstantiateInputs& inputs,
                                               uint32_t instantiations) {
  auto checked = CheckedHeader(inputs.image);
  if (checked.is_error()) return Err(checked.error());
  const ImageHeader& header = *checked.value();
  const AreaPlan& plan = inputs.plan;
  if (base % kPage != 0) return Err(InstantiateError::kBadBase);
  auto area = memory.Map(base, plan.area_size, true);
  if (area.is_error()) return Err(InstantiateError::kOutOfMemory);

  // QEMU's part [0, host_size) is left alone: QEMU may already use it.
  uint8_t* image = area.value() + plan.image_offset;
  const uint64_t image_address = base + plan.image_offset;
  lib::MemCopy(image, inputs.image.data(), inputs.image.size());
  lib::MemSet(image + inputs.image.size(), 0, plan.image_size - inputs.image.size());

  // Position independence: every absolute pointer the image holds is a RELATIVE relocation.
  const uint32_t count = (header.rela_end.value() - header.rela.value()) / sizeof(Relocation);
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* entry = inputs.image.data() + header.rela.value() + i * sizeof(Relocation);
    const uint64_t offset = lib::LoadBe64(entry);
    const uint64_t info = lib::LoadBe64(entry + 8);
    const uint64_t addend = lib::LoadBe64(entry + 16);
    if ((info & 0xffffffff) != kRelocationRelative ||
        !lib::RangeInside(offset, 8, 0, plan.image_size) || addend >= plan.image_size) {
      return Err(InstantiateError::kBadImage);
    }
    const uint64_t value = image_address + addend;
    for (int b = 0; b < 8; ++b) image[offset + b] = static_cast<uint8_t>(value >> (56 - 8 * b));
  }

  auto& config = *reinterpret_cast<ImageConfig*>(image + header.config.value());
  config.area_base = lib::Be64(base);
  config.ram_top = lib::Be64(inputs.ram_top);
  config.console_unit = lib::Be64(inputs.console_unit);
  config.state_offset = lib::Be32(plan.state_offset);
  config.state_size = lib::Be32(plan.state_size);
  const uint32_t services = lib::Min<uint32_t>(inputs.token_count, kMaxServices);
  config.service_count = lib::Be32(services);
  for (uint32_t i = 0; i < kMaxServices; ++i) {
    config.tokens[i] = lib::Be32(i < services ? inputs.tokens[i] : 0);
  }
  const int stop_self = FindService("stop-self");
  config.stop_self_token =
      lib::Be32(stop_self >= 0 && uint32_t(stop_self) < services ? inputs.tokens[stop_self] : 0);
  config.host_features = lib::Be64(inputs.host_features);
  // A CPU waits at most 2 s for another's call to end (no RTAS call may take that long), in
  // ticks that saturate rather than wrap (lib/timeout.h). Without a frequency, 2 s at the fastest
  // time base of the accepted range: at least 2 s on any.
  config.lock_timeout = lib::Be64(lib::SecondsToTicks(
      2, inputs.timebase_frequency != 0 ? inputs.timebase_frequency : lib::kMaxTimebaseFrequency));

  lib::Span<uint8_t> state(area.value() + plan.state_offset, plan.state_size);
  if (InitStateRegion(state, instantiations).is_error()) return Err(InstantiateError::kBadImage);
  lib::SyncInstructions(reinterpret_cast<uintptr_t>(image), plan.image_size);
  return image_address + header.entry.value();
}

}  // namespace rtas
