// Result<T, E>: a value or an error, never both; errors are returned, not thrown.
//
// [[nodiscard]] makes ignoring a Result a compile warning (an error with -Werror). Reading the
// value of an error result, or the error of a value result, is a firmware bug and panics.
// T must be default-constructible and copyable (firmware values are small plain structs).
#pragma once

#include "lib/panic.h"
#include "lib/types.h"

namespace lib {

template <class E>
struct Failure {
  E error;
};

// Err(e) converts to any Result<T, E>.
template <class E>
constexpr Failure<E> Err(E error) {
  return Failure<E>{error};
}

template <class T, class E>
class [[nodiscard]] Result {
 public:
  constexpr Result(T value) : value_(Move(value)), ok_(true) {}
  constexpr Result(Failure<E> failure) : error_(failure.error), ok_(false) {}

  constexpr bool is_ok() const { return ok_; }
  constexpr bool is_error() const { return !ok_; }
  constexpr explicit operator bool() const { return ok_; }

  constexpr const T& value() const {
    if (!ok_) TERN_PANIC("value() of an error Result");
    return value_;
  }
  constexpr T& value() {
    if (!ok_) TERN_PANIC("value() of an error Result");
    return value_;
  }
  constexpr T value_or(T fallback) const { return ok_ ? value_ : fallback; }
  constexpr E error() const {
    if (ok_) TERN_PANIC("error() of a value Result");
    return error_;
  }

 private:
  T value_{};
  E error_{};
  bool ok_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  constexpr Result() : ok_(true) {}
  constexpr Result(Failure<E> failure) : error_(failure.error), ok_(false) {}

  constexpr bool is_ok() const { return ok_; }
  constexpr bool is_error() const { return !ok_; }
  constexpr explicit operator bool() const { return ok_; }
  constexpr E error() const {
    if (ok_) TERN_PANIC("error() of a value Result");
    return error_;
  }

 private:
  E error_{};
  bool ok_;
};

template <class E>
constexpr Result<void, E> Ok() {
  return Result<void, E>();
}

}  // namespace lib

// Evaluates `expr` (a Result); on error returns that error from the enclosing function.
#define TERN_TRY(expr)                             \
  do {                                             \
    auto tern_try_result_ = (expr);                \
    if (tern_try_result_.is_error()) {             \
      return ::lib::Err(tern_try_result_.error()); \
    }                                              \
  } while (0)
