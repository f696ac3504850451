/* Freestanding <string.h> subset for libfdt; implemented in lib/libc.cc. Firmware build only. */
#ifndef TERN_LIB_INCLUDE_STRING_H
#define TERN_LIB_INCLUDE_STRING_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
void* memcpy(void* dest, const void* src, size_t n);
void* memmove(void* dest, const void* src, size_t n);
void* memset(void* dest, int value, size_t n);
int memcmp(const void* a, const void* b, size_t n);
void* memchr(const void* s, int c, size_t n);
size_t strlen(const char* s);
size_t strnlen(const char* s, size_t max);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
char* strchr(const char* s, int c);
char* strrchr(const char* s, int c);
#ifdef __cplusplus
}
#endif
#endif
