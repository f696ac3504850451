#include "lib/panic.h"

#include "lib/console.h"

namespace lib {

void Panic(const char* file, int line, const char* format, ...) {
  ConsoleTakeOver();
  Printf("\ntern: PANIC at %s:%d: ", file, line);
  va_list args;
  va_start(args, format);
  PrintfV(format, args);
  va_end(args);
  Printf("\n");
  Halt();
}

}  // namespace lib
