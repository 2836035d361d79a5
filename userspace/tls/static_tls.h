// Engines whose TLS neither mechanism reaches. The uprobes and the preload both act on the
// functions of a dynamically linked OpenSSL (libssl.so.3): a TLS stack built into the executable
// (Go's crypto/tls, rustls, OpenSSL or BoringSSL linked statically) or another TLS library
// (GnuTLS, NSS, wolfSSL) never calls them, and its responses would pass unrewritten while the
// run looked healthy. `validate` and `run` refuse such an engine with the reason (CheckTls).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace mmchaos {

// The TLS stack the ELF executable at path carries in itself, by its symbols (or, stripped, by
// Go's function table and rustls's source paths): "OpenSSL or BoringSSL linked statically",
// "Go's crypto/tls", "rustls"; "" when none or unreadable.
std::string BuiltInTls(const std::string& path);

struct TlsReach {
  std::vector<pid_t> libssl;     // processes that map a libssl.so: reached
  std::vector<std::string> out;  // one line per process whose TLS is out of reach, and why
};

// The processes of a cgroup (and its descendants) by whether their TLS can be reached: a process
// that maps libssl.so is; one that maps none is out of reach when its executable carries its own
// TLS stack or it maps another TLS library. Processes with no TLS at all (a shell) are neither.
TlsReach TlsReachIn(const std::string& cgroup);

}  // namespace mmchaos
