// A small printf-style formatter for console output and messages.
//
// Conversions: %d %i %u %x %X %o %c %s %p %%, flags - 0 + space #, width and precision (numbers or
// *), length modifiers hh h l ll z t j. No floating point: the firmware has none. The compiler
// checks every call's arguments through the format attribute.
#pragma once

#include <stdarg.h>

#include "lib/types.h"

namespace lib {

// Where formatted text goes: write(context, bytes, size).
struct Sink {
  void (*write)(void* context, const char* data, size_t size);
  void* context;
};

// Formats into `sink`; returns the number of bytes written.
size_t FormatV(Sink sink, const char* format, va_list args);
size_t Format(Sink sink, const char* format, ...) __attribute__((format(printf, 2, 3)));

// snprintf semantics: writes at most size-1 bytes plus a NUL when size > 0, and returns the length
// the whole output would have.
size_t FormatToBuffer(char* buffer, size_t size, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
size_t FormatToBufferV(char* buffer, size_t size, const char* format, va_list args);

}  // namespace lib
