/* Freestanding <stdlib.h> subset for libfdt; implemented in lib/libc.cc. Firmware build only.
 * There is deliberately no malloc: memory comes from lib/arena.h. */
#ifndef TERN_LIB_INCLUDE_STDLIB_H
#define TERN_LIB_INCLUDE_STDLIB_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
unsigned long strtoul(const char* s, char** end, int base);
#ifdef __cplusplus
}
#endif
#endif
