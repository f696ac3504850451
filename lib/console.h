// The firmware console: formatted text to the hypervisor virtual terminal (H_PUT_TERM_CHAR).
//
// Until a vty is attached, output is dropped. "\n" goes out as "\r\n", as a terminal expects.
// Output from several CPUs is serialized by a lock; a line never interleaves with another.
#pragma once

#include "lib/format.h"
#include "lib/types.h"

namespace lib {

// Sends console output to the virtual terminal with unit address `unit` (its `reg`).
void ConsoleAttachVty(uint64_t unit);
// Sends console output to `sink` instead (tests, or a capture buffer).
void ConsoleAttachSink(Sink sink);
bool ConsoleAttached();
// Number of terminal writes the host refused since the console was attached.
uint64_t ConsoleFailedWrites();

// For the paths that end in a halt (exceptions, panics): takes the console over even when the
// interrupted code held its lock, so the report cannot deadlock.
void ConsoleTakeOver();

void ConsoleWrite(const char* data, size_t size);
size_t Printf(const char* format, ...) __attribute__((format(printf, 1, 2)));
size_t PrintfV(const char* format, va_list args);

}  // namespace lib
