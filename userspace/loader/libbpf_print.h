// libbpf's print callback is one process-wide setting, set only here: the data plane's loader
// installs the default (warnings to stderr), and a call whose warnings are expected, or wanted
// as data, swaps in its own callback for the length of a scope.
#pragma once

#include <bpf/libbpf.h>

namespace mmchaos {

// libbpf's warnings (verifier logs, missing BTF) go to stderr; its chatter does not.
void UseLibbpfWarnings();

class ScopedLibbpfPrint {
 public:
  // nullptr: libbpf says nothing in this scope.
  explicit ScopedLibbpfPrint(libbpf_print_fn_t fn) : old_(libbpf_set_print(fn)) {}
  ~ScopedLibbpfPrint() { libbpf_set_print(old_); }
  ScopedLibbpfPrint(const ScopedLibbpfPrint&) = delete;
  ScopedLibbpfPrint& operator=(const ScopedLibbpfPrint&) = delete;

 private:
  libbpf_print_fn_t old_;
};

}  // namespace mmchaos
