#include "loader/libbpf_print.h"

#include <cstdarg>
#include <cstdio>

namespace mmchaos {
namespace {

int LibbpfWarnings(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG || level == LIBBPF_INFO) return 0;
  return std::vfprintf(stderr, fmt, args);
}

}  // namespace

void UseLibbpfWarnings() { libbpf_set_print(LibbpfWarnings); }

}  // namespace mmchaos
