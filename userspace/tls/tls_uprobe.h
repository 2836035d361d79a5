// exch_429 / exch_5xx / rate_limit_storm on TLS endpoints, kernel mechanism: uprobes on
// SSL_write(_ex) (entry) and SSL_read(_ex) (entry and return) of the libssl each process of the
// target cgroup maps (bpf/tls_uprobe.bpf.c), sharing the data plane's maps, attached per process
// (uprobe/process_uprobes.h): no other process carries the breakpoints. Its links are unpinned
// bpf_links: they go with the controller process however it ends, and with them every rewrite.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "tls.h"
#include "uprobe/process_uprobes.h"

struct mmchaos_tls_bpf;

namespace mmchaos {

class DataPlane;

using TlsAuthority = mmc_tls_state::mmc_tls_authority;

class TlsUprobes {
 public:
  // Loads the uprobe object on the data plane's maps, points its cgroup filter at cgroup_fd and
  // attaches to each process of the cgroup (the programs still skip threads outside it: a process
  // that left is detached on the next Sync).
  static Result<std::unique_ptr<TlsUprobes>> Attach(const DataPlane& plane, int cgroup_fd,
                                                    const std::string& cgroup);
  ~TlsUprobes();
  TlsUprobes(const TlsUprobes&) = delete;
  TlsUprobes& operator=(const TlsUprobes&) = delete;

  // The TLS REST endpoints whose responses are rewritten and requests accounted (as requests name
  // them in Host), and the index of each one's exchange in target.exchanges.
  Result<void> SetEndpoints(const std::vector<TlsAuthority>& endpoints,
                            const std::vector<uint8_t>& exchanges);
  // Follows the cgroup's processes (the controller calls it every loop tick).
  Result<void> Sync();
  size_t processes() const { return probes_ ? probes_->processes() : 0; }
  // The engine's TLS connections that opened with HTTP/2's preface (their responses are frames
  // no rewrite can follow).
  uint64_t H2Connections() const;

 private:
  struct SkelDeleter {
    void operator()(::mmchaos_tls_bpf* s) const;
  };
  TlsUprobes() = default;
  std::string cgroup_;
  std::unique_ptr<::mmchaos_tls_bpf, SkelDeleter> skel_;
  std::unique_ptr<ProcessUprobes> probes_;  // destroyed first
  std::vector<TlsAuthority> endpoints_;
};

// The seven probes on libssl.so.3 (OpenSSL 3; CPython calls the _ex forms, curl and Boost.Asio the
// plain ones; SSL_free ends what is outstanding on a connection), for ProcessUprobes.
std::vector<UprobeSpec> TlsSpecs(::mmchaos_tls_bpf* skel);

// Whether this kernel loads the TLS uprobe programs (bpf_probe_write_user is allowed); the error
// says why not (the verifier's line and the lockdown mode).
Result<void> ProbeTlsUprobe();

}  // namespace mmchaos
