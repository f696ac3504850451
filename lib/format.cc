#include "lib/format.h"

#include "lib/string.h"

namespace lib {
namespace {

struct Spec {
  bool left = false;
  bool zero = false;
  bool plus = false;
  bool space = false;
  bool alternate = false;
  int width = 0;
  int precision = -1;  // -1: none given
};

class Writer {
 public:
  explicit Writer(Sink sink) : sink_(sink) {}
  void Put(const char* data, size_t size) {
    if (size == 0) return;
    sink_.write(sink_.context, data, size);
    count_ += size;
  }
  void Repeat(char c, int times) {
    char block[16];
    MemSet(block, c, sizeof(block));
    while (times > 0) {
      const int n = Min(times, static_cast<int>(sizeof(block)));
      Put(block, static_cast<size_t>(n));
      times -= n;
    }
  }
  size_t count() const { return count_; }

 private:
  Sink sink_;
  size_t count_ = 0;
};

void PutPadded(Writer& out, const Spec& spec, const char* prefix, const char* body, int length) {
  const int prefix_length = static_cast<int>(StrLength(prefix));
  const int padding = Max(0, spec.width - prefix_length - length);
  if (!spec.left && !spec.zero) out.Repeat(' ', padding);
  out.Put(prefix, static_cast<size_t>(prefix_length));
  if (!spec.left && spec.zero) out.Repeat('0', padding);
  out.Put(body, static_cast<size_t>(length));
  if (spec.left) out.Repeat(' ', padding);
}

void PutInteger(Writer& out, Spec spec, uint64_t magnitude, bool negative, unsigned base,
                bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char buffer[24 + 64];  // digits plus precision zeros (clamped below)
  int length = 0;
  char* end = buffer + sizeof(buffer);
  char* p = end;
  for (uint64_t v = magnitude; v != 0; v /= base) {
    *--p = digits[v % base];
    ++length;
  }
  const int precision = Min(spec.precision, 64);
  int min_digits = precision >= 0 ? precision : 1;
  if (spec.alternate && base == 8 && magnitude != 0) min_digits = Max(min_digits, length + 1);
  while (length < min_digits) {
    *--p = '0';
    ++length;
  }
  if (spec.precision >= 0) spec.zero = false;  // C: a precision disables the 0 flag
  const char* prefix = "";
  if (negative) {
    prefix = "-";
  } else if (spec.plus) {
    prefix = "+";
  } else if (spec.space) {
    prefix = " ";
  } else if (spec.alternate && base == 16 && magnitude != 0) {
    prefix = upper ? "0X" : "0x";
  }
  PutPadded(out, spec, prefix, p, length);
}

}  // namespace

size_t FormatV(Sink sink, const char* format, va_list args) {
  Writer out(sink);
  const char* p = format;
  while (*p != '\0') {
    const char* literal = p;
    while (*p != '\0' && *p != '%') ++p;
    out.Put(literal, static_cast<size_t>(p - literal));
    if (*p == '\0') break;
    ++p;  // '%'

    Spec spec;
    for (;; ++p) {
      if (*p == '-') {
        spec.left = true;
      } else if (*p == '0') {
        spec.zero = true;
      } else if (*p == '+') {
        spec.plus = true;
      } else if (*p == ' ') {
        spec.space = true;
      } else if (*p == '#') {
        spec.alternate = true;
      } else {
        break;
      }
    }
    if (*p == '*') {
      spec.width = va_arg(args, int);
      if (spec.width < 0) {
        spec.left = true;
        spec.width = -spec.width;
      }
      ++p;
    } else {
      while (*p >= '0' && *p <= '9') spec.width = spec.width * 10 + (*p++ - '0');
    }
    if (*p == '.') {
      ++p;
      spec.precision = 0;
      if (*p == '*') {
        spec.precision = va_arg(args, int);
        if (spec.precision < 0) spec.precision = -1;
        ++p;
      } else {
        while (*p >= '0' && *p <= '9') spec.precision = spec.precision * 10 + (*p++ - '0');
      }
    }
    if (spec.left) spec.zero = false;

    enum class Length { kInt, kChar, kShort, kLong, kLongLong, kSize } length = Length::kInt;
    if (p[0] == 'h' && p[1] == 'h') {
      length = Length::kChar;
      p += 2;
    } else if (p[0] == 'h') {
      length = Length::kShort;
      ++p;
    } else if (p[0] == 'l' && p[1] == 'l') {
      length = Length::kLongLong;
      p += 2;
    } else if (p[0] == 'l' || p[0] == 'j') {
      length = Length::kLong;
      ++p;
    } else if (p[0] == 'z' || p[0] == 't') {
      length = Length::kSize;
      ++p;
    }

    const char conversion = *p;
    if (conversion == '\0') break;
    ++p;
    switch (conversion) {
      case 'd':
      case 'i': {
        int64_t v;
        switch (length) {
          case Length::kChar: v = static_cast<signed char>(va_arg(args, int)); break;
          case Length::kShort: v = static_cast<short>(va_arg(args, int)); break;
          case Length::kLong: v = va_arg(args, long); break;
          case Length::kLongLong: v = va_arg(args, long long); break;
          case Length::kSize: v = static_cast<int64_t>(va_arg(args, size_t)); break;
          default: v = va_arg(args, int); break;
        }
        const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        PutInteger(out, spec, magnitude, v < 0, 10, false);
        break;
      }
      case 'u':
      case 'x':
      case 'X':
      case 'o': {
        uint64_t v;
        switch (length) {
          case Length::kChar: v = static_cast<unsigned char>(va_arg(args, unsigned)); break;
          case Length::kShort: v = static_cast<unsigned short>(va_arg(args, unsigned)); break;
          case Length::kLong: v = va_arg(args, unsigned long); break;
          case Length::kLongLong: v = va_arg(args, unsigned long long); break;
          case Length::kSize: v = va_arg(args, size_t); break;
          default: v = va_arg(args, unsigned); break;
        }
        spec.plus = spec.space = false;
        const unsigned base = conversion == 'u' ? 10 : conversion == 'o' ? 8 : 16;
        PutInteger(out, spec, v, false, base, conversion == 'X');
        break;
      }
      case 'p': {
        spec.alternate = true;
        spec.plus = spec.space = false;
        PutInteger(out, spec, reinterpret_cast<uintptr_t>(va_arg(args, void*)), false, 16, false);
        break;
      }
      case 'c': {
        const char c = static_cast<char>(va_arg(args, int));
        PutPadded(out, spec, "", &c, 1);
        break;
      }
      case 's': {
        const char* s = va_arg(args, const char*);
        if (s == nullptr) s = "(null)";
        const size_t max = spec.precision >= 0 ? static_cast<size_t>(spec.precision) : SIZE_MAX;
        spec.zero = false;
        PutPadded(out, spec, "", s, static_cast<int>(StrLengthMax(s, max)));
        break;
      }
      case '%': out.Put("%", 1); break;
      default:  // unknown conversion: print it as written, so the mistake is visible
        out.Put("%", 1);
        out.Put(&conversion, 1);
        break;
    }
  }
  return out.count();
}

size_t Format(Sink sink, const char* format, ...) {
  va_list args;
  va_start(args, format);
  const size_t n = FormatV(sink, format, args);
  va_end(args);
  return n;
}

namespace {
struct BufferSink {
  char* buffer;
  size_t capacity;  // bytes available for text, excluding the NUL
  size_t used;
};
void WriteToBuffer(void* context, const char* data, size_t size) {
  auto* b = static_cast<BufferSink*>(context);
  const size_t n = Min(size, b->capacity - b->used);
  MemCopy(b->buffer + b->used, data, n);
  b->used += n;
}
}  // namespace

size_t FormatToBufferV(char* buffer, size_t size, const char* format, va_list args) {
  BufferSink state{buffer, size == 0 ? 0 : size - 1, 0};
  const size_t n = FormatV(Sink{WriteToBuffer, &state}, format, args);
  if (size > 0) buffer[state.used] = '\0';
  return n;
}

size_t FormatToBuffer(char* buffer, size_t size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  const size_t n = FormatToBufferV(buffer, size, format, args);
  va_end(args);
  return n;
}

}  // namespace lib
