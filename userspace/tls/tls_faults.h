// exch_429 / exch_5xx / rate_limit_storm and reconcile_mismatch's choice of order requests on the
// engine's TLS (https://) REST endpoints: which
// mechanism reaches the engine's TLS library here (kernel uprobes on libssl where the kernel
// allows bpf_probe_write_user, else the preload of `mmchaos exec`), what `validate`, `run` and
// `doctor` say about it, and the controller's side of both (the uprobes: tls/tls_uprobe.h; the
// preload: the TLS part of the shared record, bpf/tls.h, read by userspace/preload/tls_preload.c).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "clock/shared_record.h"
#include "config/config.h"
#include "loader/counters.h"
#include "mmchaos.h"
#include "tls/tls_uprobe.h"
#include "uprobe/uprobe_fault.h"

namespace mmchaos {

// A status rewrite is configured (exch_429, exch_5xx or rate_limit_storm) and target.exchanges
// names a https:// REST endpoint.
bool TlsRewritesWanted(const Config& cfg);
// reconcile_mismatch is on and target.exchanges names a https:// REST endpoint: order requests
// there are told by their request line in the engine's TLS library.
bool TlsReconcileWanted(const Config& cfg);
// ... and the preload is installed: it chooses them (a uprobe cannot fail the engine's read, so
// the preload does this whichever mechanism rewrites statuses), and the data plane leaves TLS
// flows' reconcile_mismatch to it.
bool TlsReconcileByPreload(const Config& cfg);

enum class TlsMechanism { kNone, kUprobe, kPreload };

struct TlsChoice {
  TlsMechanism mechanism = TlsMechanism::kNone;
  std::string why;      // why this one (kNone: why none can run)
  bool checked = true;  // false: the kernel was not tried (probe false): `run` may choose otherwise
};

// faults.tls_mechanism resolved on this kernel. auto: the uprobes where the kernel loads them
// (bpf_probe_write_user: refused under lockdown), else the preload when its library is installed
// next to mmchaos. probe: whether the kernel may be tried (a BPF load); without it auto and
// uprobe are reported unchecked.
TlsChoice ChooseTlsMechanism(const Config& cfg, bool probe = true);

// Which mechanism accounts the requests of the engine's TLS REST flows (mm_partial_fail_rate by op
// and status, mm_rest_latency_seconds, the experiment's events; mmc_config.tls_accounting):
// kUprobe where the uprobes run for the status rewrites (never for the accounting alone: they
// would cost the engine's processes in runs without a TLS fault); kNone leaves
// those flows to the cgroup hooks, which see only TLS records there (latency and resets, op
// "request", no status). kPreload where the preload of `mmchaos exec` runs in the engine (the
// status rewrites' mechanism, or reconcile_mismatch's): it counts into the shared record, which
// the controller adds to the data plane's figures (metrics; not the experiment's events).
TlsMechanism TlsAccounting(const Config& cfg);

// The https:// REST endpoints of target.exchanges as the engine names them in its requests' Host
// header (lower case, IPv6 without brackets), at most MMC_TLS_MAX_ENDPOINTS.
std::vector<TlsAuthority> TlsEndpoints(const Config& cfg);
// ... and the index in target.exchanges of each (the accounting's exchange label), in that order.
std::vector<uint8_t> TlsEndpointExchanges(const Config& cfg);

// The TLS libraries the processes of a cgroup map ("libssl.so.3 (OpenSSL)", "libgnutls.so.30
// (GnuTLS: not covered)"), once each; empty when none (or no process yet).
std::vector<std::string> TlsLibrariesIn(const std::string& cgroup);

// Refusals for `validate`/`run` (rewrites on TLS endpoints with no mechanism, or uprobes required
// and refused by this kernel), and the note on the mechanism in use (empty when no TLS rewrite is
// configured). probe as for ChooseTlsMechanism.
std::vector<std::string> CheckTls(const Config& cfg, bool probe = true);
std::string TlsNote(const Config& cfg, bool probe = true);

// Sync(): the uprobes follow the target cgroup's processes (every loop tick).
class TlsFaults : public UprobeFault<TlsUprobes> {
 public:
  TlsFaults(const DataPlane& plane, int cgroup_fd, std::string cgroup, SharedRecord& record);
  ~TlsFaults();  // Clear()

  // Makes the mechanism match the config (k: the kernel record with the schedule, seed and
  // probabilities; the uprobes read it from mmc_cfg, the preloads from the shared record).
  // Nothing runs while chaos.enabled is false or no TLS rewrite is configured.
  Result<void> Apply(const Config& c, const mmc_config& k);
  // Adds the preloads' decisions to the data plane's counters (the uprobes count in its maps).
  void AddCounts(Counters& c);
  // Adds the requests the preloads accounted to the data plane's (mmc_reqstats, mmc_restlat).
  void AddRequests(ReqStats& r);
  void AddLatency(RestLatency& l);
  // The preloads' finished TLS requests since the last call (the data plane's mmc_requests
  // events for the flows they account).
  std::vector<mmc_req_event> TakeRequests();
  // Follows the target's processes (UprobeFault::Sync), and reports the engine's TLS connections
  // that speak HTTP/2 (ALPN h2), which neither mechanism can follow: logged when first seen and
  // at most once a minute while their number grows (every loop tick).
  void Sync();
  // Detaches the uprobes, disarms the TLS part of the shared record (idempotent).
  void Clear();

 private:
  uint64_t h2_reported_ = 0;
  uint64_t h2_logged_ns_ = 0;
};

}  // namespace mmchaos
