#include "lib/console.h"

#include "lib/hv.h"
#include "lib/spinlock.h"

namespace lib {
namespace {

struct VtyState {
  uint64_t unit;
  char pending[hv::kTermChunk];
  size_t used;
  uint64_t failures;
};

constinit VtyState vty{};
constinit Sink sink{nullptr, nullptr};
constinit Spinlock lock;

void FlushVty(VtyState& state) {
  if (state.used == 0) return;
  if (hv::PutTermChars(state.unit, state.pending, state.used).is_error()) ++state.failures;
  state.used = 0;
}

void PutVtyByte(VtyState& state, char c) {
  state.pending[state.used++] = c;
  if (state.used == sizeof(state.pending)) FlushVty(state);
}

void WriteVty(void* context, const char* data, size_t size) {
  auto& state = *static_cast<VtyState*>(context);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') PutVtyByte(state, '\r');
    PutVtyByte(state, data[i]);
  }
}

void WriteLocked(const char* data, size_t size) {
  if (sink.write == nullptr) return;
  sink.write(sink.context, data, size);
  if (sink.write == WriteVty) FlushVty(vty);
}

}  // namespace

void ConsoleAttachVty(uint64_t unit) {
  SpinlockGuard guard(lock);
  vty = VtyState{unit, {}, 0, 0};
  sink = Sink{WriteVty, &vty};
}

void ConsoleAttachSink(Sink new_sink) {
  SpinlockGuard guard(lock);
  sink = new_sink;
}

void ConsoleTakeOver() {
  lock.Unlock();
  vty.used = 0;  // a half-filled chunk of the interrupted line is dropped
}

bool ConsoleAttached() {
  return sink.write != nullptr;
}

uint64_t ConsoleFailedWrites() {
  return vty.failures;
}

void ConsoleWrite(const char* data, size_t size) {
  SpinlockGuard guard(lock);
  WriteLocked(data, size);
}

size_t PrintfV(const char* format, va_list args) {
  SpinlockGuard guard(lock);
  if (sink.write == nullptr) return 0;
  const size_t n = FormatV(sink, format, args);
  if (sink.write == WriteVty) FlushVty(vty);
  return n;
}

size_t Printf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  const size_t n = PrintfV(format, args);
  va_end(args);
  return n;
}

}  // namespace lib
