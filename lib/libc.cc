// The C library symbols the firmware image exports: for libfdt (compiled unmodified against
// lib/include/) and for calls the compiler itself emits. Firmware build only; host tests link the
// host C library and test the lib:: functions directly.
#include "lib/string.h"

extern "C" {

void* memcpy(void* dest, const void* src, size_t n) {
  return lib::MemCopy(dest, src, n);
}
void* memmove(void* dest, const void* src, size_t n) {
  return lib::MemMove(dest, src, n);
}
void* memset(void* dest, int value, size_t n) {
  return lib::MemSet(dest, value, n);
}
int memcmp(const void* a, const void* b, size_t n) {
  return lib::MemCompare(a, b, n);
}
void* memchr(const void* s, int c, size_t n) {
  return const_cast<void*>(lib::MemFind(s, c, n));
}
size_t strlen(const char* s) {
  return lib::StrLength(s);
}
size_t strnlen(const char* s, size_t max) {
  return lib::StrLengthMax(s, max);
}
int strcmp(const char* a, const char* b) {
  return lib::StrCompare(a, b);
}
int strncmp(const char* a, const char* b, size_t n) {
  return lib::StrCompareMax(a, b, n);
}
char* strchr(const char* s, int c) {
  return const_cast<char*>(lib::StrFind(s, c));
}
char* strrchr(const char* s, int c) {
  return const_cast<char*>(lib::StrFindLast(s, c));
}
unsigned long strtoul(const char* s, char** end, int base) {
  return lib::StrToUnsigned(s, end, base);
}

}  // extern "C"
