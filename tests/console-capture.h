// Captures what the code under test prints on the firmware console (lib/console.h), for as long
// as the object lives; the console is detached again when it goes, so no later output lands in
// a string that no longer exists.
#pragma once

#include <string>

#include "lib/console.h"

namespace tests {

class ConsoleCapture {
 public:
  ConsoleCapture() {
    lib::ConsoleAttachSink(lib::Sink{[](void* out, const char* data, size_t size) {
                                       static_cast<std::string*>(out)->append(data, size);
                                     },
                                     &text});
  }
  ~ConsoleCapture() { lib::ConsoleAttachSink(lib::Sink{nullptr, nullptr}); }
  ConsoleCapture(const ConsoleCapture&) = delete;
  ConsoleCapture& operator=(const ConsoleCapture&) = delete;

  bool Has(const std::string& needle) const { return text.find(needle) != std::string::npos; }
  std::string text;
};

}  // namespace tests
