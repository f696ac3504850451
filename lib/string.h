// Memory and string functions with the C library's semantics, in namespace lib.
//
// The firmware exports them under their C names (lib/libc.cc) for libfdt and for the compiler's
// own calls; host tests call them here by these names, next to the host's C library.
#pragma once

#include "lib/types.h"

namespace lib {

void* MemCopy(void* dest, const void* src, size_t n);
void* MemMove(void* dest, const void* src, size_t n);
void* MemSet(void* dest, int value, size_t n);
int MemCompare(const void* a, const void* b, size_t n);
const void* MemFind(const void* haystack, int c, size_t n);
size_t StrLength(const char* s);
size_t StrLengthMax(const char* s, size_t max);
int StrCompare(const char* a, const char* b);
int StrCompareMax(const char* a, const char* b, size_t n);
const char* StrFind(const char* s, int c);
const char* StrFindLast(const char* s, int c);
// strtoul: base 0 (auto: 0x.., 0.., decimal), 2..36; saturates at ULONG_MAX like C.
unsigned long StrToUnsigned(const char* s, char** end, int base);

}  // namespace lib
