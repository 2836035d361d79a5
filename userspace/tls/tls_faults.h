// exch_429 / exch_5xx / rate_limit_storm on the engine's TLS (https://) REST endpoints: which
// mechanism reaches the engine's TLS library here, what `validate`, `run` and `doctor` say about
// it, and the controller's side of the preload mechanism (the TLS part of the shared record,
// bpf/tls.h; the library is userspace/preload/tls_preload.c).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "clock/shared_record.h"
#include "config/config.h"
#include "loader/counters.h"
#include "mmchaos.h"

namespace mmchaos {

// A status rewrite is configured (exch_429, exch_5xx or rate_limit_storm) and target.exchanges
// names a https:// REST endpoint.
bool TlsRewritesWanted(const Config& cfg);

enum class TlsMechanism { kNone, kPreload };

struct TlsChoice {
  TlsMechanism mechanism = TlsMechanism::kNone;
  std::string why;  // why this one (kNone: why none can run)
};

// faults.tls_mechanism resolved here: the preload, when its library is installed next to mmchaos.
TlsChoice ChooseTlsMechanism(const Config& cfg);

// The TLS libraries the processes of a cgroup map ("libssl.so.3 (OpenSSL)", "libgnutls.so.30
// (GnuTLS: not covered)"), once each; empty when none (or no process yet).
std::vector<std::string> TlsLibrariesIn(const std::string& cgroup);

// Refusals for `validate`/`run` (rewrites on TLS endpoints with no mechanism), and the note on
// the mechanism in use (empty when no TLS rewrite is configured).
std::vector<std::string> CheckTls(const Config& cfg);
std::string TlsNote(const Config& cfg);

class TlsFaults {
 public:
  explicit TlsFaults(SharedRecord& record);
  ~TlsFaults();  // Clear()
  TlsFaults(const TlsFaults&) = delete;
  TlsFaults& operator=(const TlsFaults&) = delete;

  // Makes the TLS part of the shared record match the config (k: the kernel record with the
  // schedule, seed and probabilities). Nothing is armed while chaos.enabled is false or no TLS
  // rewrite is configured.
  Result<void> Apply(const Config& c, const mmc_config& k);
  // Adds the preloads' decisions to the data plane's counters.
  void AddCounts(Counters& c);
  // Disarms the TLS part of the shared record (idempotent).
  void Clear();

 private:
  SharedRecord& record_;
  std::mutex mu_;
  bool armed_ = false;
};

}  // namespace mmchaos
