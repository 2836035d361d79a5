#include "common/log.h"

#include <cstdarg>
#include <cstdio>
#include <string>

namespace mmchaos {
namespace {

// %.*s wants a pointer even for no characters (an empty string_view may hold none).
const char* Chars(std::string_view s) { return s.empty() ? "" : s.data(); }

void Line(std::string_view command, std::string_view kind, std::string_view msg) {
  // One fprintf, no allocation (the out-of-memory error goes through here): stderr is
  // unbuffered, and glibc writes one call's output in one write(2).
  std::fprintf(stderr, "mmchaos%s%.*s: %.*s%.*s\n", command.empty() ? "" : " ",
               static_cast<int>(command.size()), Chars(command), static_cast<int>(kind.size()),
               Chars(kind), static_cast<int>(msg.size()), Chars(msg));
}

}  // namespace

void Log(std::string_view msg) { Line({}, {}, msg); }
void LogWarning(std::string_view msg) { Line({}, "warning: ", msg); }
void LogError(std::string_view msg) { Line({}, "error: ", msg); }
void LogNote(std::string_view msg) { Line({}, "note: ", msg); }
void LogFrom(std::string_view command, std::string_view msg) { Line(command, {}, msg); }

void Logf(const char* fmt, ...) {
  va_list args, copy;
  va_start(args, fmt);
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string text(n > 0 ? static_cast<size_t>(n) + 1 : 1, '\0');
  if (n > 0) std::vsnprintf(text.data(), text.size(), fmt, args);
  va_end(args);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  Log(text);
}

}  // namespace mmchaos
