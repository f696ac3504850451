#include "bootmgr/chrp-boot.h"

#include "lib/format.h"

namespace bootmgr {

namespace {

ChrpBootFailure IsoFailure(ChrpBootError error, fs::IsoError iso, block::IoError io) {
  ChrpBootFailure failure;
  failure.error = error;
  failure.iso = iso;
  failure.io = io;
  return failure;
}

// ": <why>" of an ISO 9660 error, the device's error included for a failed read.
void IsoReason(const ChrpBootFailure& failure, char* buffer, size_t size) {
  if (failure.iso == fs::IsoError::kReadFailed) {
    (void)lib::FormatToBuffer(buffer, size, "%s: %s", fs::IsoErrorName(failure.iso),
                              block::IoErrorName(failure.io));
  } else {
    (void)lib::FormatToBuffer(buffer, size, "%s", fs::IsoErrorName(failure.iso));
  }
}

}  // namespace

lib::Result<void, ChrpBootFailure> FindChrpBoot(const block::Device& device,
                                                lib::Span<uint8_t> scratch, ChrpBoot& found) {
  if (scratch.size() < ChrpScratchBytes(device.block_size)) {
    ChrpBootFailure failure;
    failure.error = ChrpBootError::kScratchTooSmall;
    return lib::Err(failure);
  }
  // The text first, the reader's windows after it: the reads go to the windows, ReadFile copies.
  const lib::Span<uint8_t> text = scratch.Subspan(0, fs::kMaxBootInfoBytes);
  const lib::Span<uint8_t> windows = scratch.Subspan(fs::kMaxBootInfoBytes);
  block::IoError io = block::IoError::kDevice;

  auto volume = fs::OpenVolume(device, windows, &io);
  if (volume.is_error()) {
    const bool none = volume.error() == fs::IsoError::kNotIso9660;
    return lib::Err(IsoFailure(none ? ChrpBootError::kNoVolume : ChrpBootError::kBadVolume,
                               volume.error(), io));
  }
  found.volume = volume.value();

  auto info = fs::Lookup(found.volume, fs::kBootInfoPath, windows, &io);
  if (info.is_error()) {
    const bool none = info.error() == fs::IsoError::kNotFound;
    return lib::Err(IsoFailure(none ? ChrpBootError::kNoBootInfo : ChrpBootError::kBadBootInfoFile,
                               info.error(), io));
  }
  auto read = fs::ReadFile(found.volume, info.value(), 0, text, windows, &io);
  if (read.is_error()) {
    return lib::Err(IsoFailure(ChrpBootError::kBadBootInfoFile, read.error(), io));
  }

  auto script =
      fs::ParseBootInfo(lib::StringView(reinterpret_cast<const char*>(text.data()), read.value()));
  if (script.is_error()) {
    ChrpBootFailure failure;
    failure.error = ChrpBootError::kBadBootScript;
    failure.bootinfo = script.error();
    return lib::Err(failure);
  }
  found.script = script.value();
  if (found.script.partition != 0) {
    ChrpBootFailure failure;
    failure.error = ChrpBootError::kPartition;
    return lib::Err(failure);
  }

  auto file = fs::Lookup(found.volume, found.script.Path(), windows, &io);
  if (file.is_error()) return lib::Err(IsoFailure(ChrpBootError::kBadBootFile, file.error(), io));
  found.file = file.value();
  return lib::Ok<ChrpBootFailure>();
}

void DescribeChrpFailure(const ChrpBootFailure& failure, const ChrpBoot& found, char* buffer,
                         size_t size) {
  char reason[96];
  IsoReason(failure, reason, sizeof(reason));
  switch (failure.error) {
    case ChrpBootError::kNoVolume:
      (void)lib::FormatToBuffer(buffer, size, "no ISO 9660 volume");
      return;
    case ChrpBootError::kBadVolume:
      (void)lib::FormatToBuffer(buffer, size, "ISO 9660 volume unusable: %s", reason);
      return;
    case ChrpBootError::kNoBootInfo:
      (void)lib::FormatToBuffer(buffer, size, "ISO 9660 volume without %s", fs::kBootInfoPath);
      return;
    case ChrpBootError::kBadBootInfoFile:
      (void)lib::FormatToBuffer(buffer, size, "%s: %s", fs::kBootInfoPath, reason);
      return;
    case ChrpBootError::kBadBootScript:
      (void)lib::FormatToBuffer(buffer, size, "%s: %s", fs::kBootInfoPath,
                                fs::BootInfoErrorName(failure.bootinfo));
      return;
    case ChrpBootError::kPartition:
      (void)lib::FormatToBuffer(buffer, size,
                                "%s boots from partition %u of the medium; tern reads files only "
                                "from the whole medium",
                                fs::kBootInfoPath, found.script.partition);
      return;
    case ChrpBootError::kBadBootFile:
      (void)lib::FormatToBuffer(buffer, size, "%s (named by %s): %s", found.script.path,
                                fs::kBootInfoPath, reason);
      return;
    case ChrpBootError::kScratchTooSmall:
      (void)lib::FormatToBuffer(buffer, size, "scratch buffer too small");
      return;
  }
}

}  // namespace bootmgr
