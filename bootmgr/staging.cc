#include "bootmgr/staging.h"

#include "lib/console.h"
#include "lib/cpu.h"

namespace bootmgr {

bool OpenStaging(LoaderEnv& env, uint64_t bytes, const char* path, Staging& staging) {
  const of::AddressRange area = LoaderStaging(env.rma_bytes, bytes);
  if (area.size == 0) {
    lib::Printf("tern: %s: cannot boot: %llu MiB of real-mode memory is too little\n", path,
                static_cast<unsigned long long>(env.rma_bytes >> 20));
    return false;
  }
  staging.address = area.start;
  staging.bytes = lib::Min<uint64_t>(area.size, bytes);
  staging.host = nullptr;
  if (staging.bytes == 0 || env.claims.Claim(staging.address, staging.bytes, 0).is_error()) {
    lib::Printf("tern: %s: cannot boot: the staging area at 0x%llx is in use\n", path,
                static_cast<unsigned long long>(staging.address));
    return false;
  }
  // Through the accessor every client address goes through.
  auto mapped = env.memory.Map(staging.address, staging.bytes, false);
  if (mapped.is_error()) {
    lib::Printf("tern: %s: cannot boot: the staging area at 0x%llx is outside guest memory\n", path,
                static_cast<unsigned long long>(staging.address));
    (void)env.claims.Release(staging.address, staging.bytes);
    return false;
  }
  staging.host = mapped.value();
  return true;
}

void CloseStaging(LoaderEnv& env, const Staging& staging) {
  (void)env.claims.Release(staging.address, staging.bytes);
}

lib::Result<LoadPlan, ElfError> PlanStaged(const LoaderEnv& env, const Staging& staging,
                                           lib::Span<const uint8_t> image) {
  const uint64_t limit = lib::Min<uint64_t>(env.rma_bytes, lib::GiB(2));
  const AddressRange forbidden[] = {{0, env.firmware_end}, {staging.address, staging.bytes}};
  auto plan = PlanElfLoad(image, limit, forbidden);
  if (plan.is_ok() || plan.error() != ElfError::kForbiddenRange) return plan;
  const AddressRange firmware[] = {{0, env.firmware_end}};
  // Only the firmware's range, for deciding: over the staging area, moving would not help.
  auto at_zero = PlanElfLoad(image, limit, firmware);
  if (at_zero.is_ok() || at_zero.error() != ElfError::kForbiddenRange) return plan;
  auto moved = PlanElfLoad(image, limit, forbidden, kKernelLoadOffset);
  if (moved.is_ok() && !moved.value().is_64bit) return plan;
  return moved;
}

bool CommitLoad(LoaderEnv& env, const LoadPlan& plan, lib::Span<const uint8_t> image,
                const char* path, const char* what, LoadedClient& loaded) {
  uint32_t claimed = 0;
  for (; claimed < plan.segment_count; ++claimed) {
    const LoadSegment& s = plan.segments[claimed];
    if (env.claims.Claim(s.paddr, s.memsz, 0).is_error()) break;
  }
  bool ok = claimed == plan.segment_count;
  if (!ok) {
    lib::Printf("tern: %s: cannot boot: segment %u at 0x%llx overlaps memory in use\n", path,
                claimed, static_cast<unsigned long long>(plan.segments[claimed].paddr));
  } else if (auto copied = LoadElfSegments(plan, image, env.memory); copied.is_error()) {
    lib::Printf("tern: %s: cannot boot: %s\n", path, ElfErrorName(copied.error()));
    ok = false;
  }
  if (!ok) {
    for (uint32_t i = 0; i < claimed; ++i) {
      (void)env.claims.Release(plan.segments[i].paddr, plan.segments[i].memsz);
    }
    return false;
  }
  for (uint32_t i = 0; i < plan.segment_count; ++i) {
    lib::SyncInstructions(plan.segments[i].paddr, plan.segments[i].memsz);
  }
  loaded.entry = plan.enter_at;
  loaded.mode32 = plan.enter_32bit;
  lib::Printf("tern: booting %s %s: ELF%d %s-endian, %u segments, entry 0x%llx\n", path, what,
              plan.is_64bit ? 64 : 32, plan.is_little_endian ? "little" : "big", plan.segment_count,
              static_cast<unsigned long long>(loaded.entry));
  if (plan.load_offset != 0) {
    lib::Printf("tern: %s is linked where the firmware is: loaded 0x%llx bytes up\n", what,
                static_cast<unsigned long long>(plan.load_offset));
  }
  return true;
}

}  // namespace bootmgr
