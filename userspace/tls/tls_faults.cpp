#include "tls/tls_faults.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "clock/clock_skew.h"
#include "common/log.h"
#include "tls.h"
#include "tls/static_tls.h"
#include "uprobe/process_uprobes.h"

namespace mmchaos {
namespace {

bool AnyRewrite(const ChaosSection& c) {
  return c.exch_429 > 0 || c.exch_5xx > 0 || c.rate_limit_storm > 0;
}

// What a mapped library file is, by its name; empty for anything else.
std::string TlsLibraryKind(const std::string& base) {
  if (base.rfind("libssl.so", 0) == 0) return "OpenSSL";
  if (base.rfind("libgnutls.so", 0) == 0) return "GnuTLS: not covered";
  if (base.rfind("libnss3.so", 0) == 0) return "NSS: not covered";
  if (base.rfind("libwolfssl.so", 0) == 0) return "wolfSSL: not covered";
  return {};
}

bool AnyTlsRest(const Config& cfg) {
  for (const auto& x : cfg.target.exchanges)
    for (const auto& e : x.rest)
      if (e.tls) return true;
  return false;
}

}  // namespace

bool TlsRewritesWanted(const Config& cfg) { return AnyRewrite(cfg.chaos) && AnyTlsRest(cfg); }

bool TlsReconcileWanted(const Config& cfg) {
  return cfg.chaos.reconcile_mismatch > 0 && AnyTlsRest(cfg);
}

bool TlsReconcileByPreload(const Config& cfg) {
  return TlsReconcileWanted(cfg) && !PreloadLibraryPath().empty();
}

namespace {
constexpr char kUnchecked[] =
    "not checked on this kernel: `run` uses the uprobes where the kernel allows "
    "bpf_probe_write_user, else the preload of `mmchaos exec` (`mmchaos doctor` or "
    "`validate --probe-kernel` tell which)";
constexpr char kNoPreload[] =
    "the preload library libmmchaos-clock.so is not installed next to the mmchaos binary "
    "(or in ../lib/mmchaos/): reinstall mmchaos";
}  // namespace

TlsChoice ChooseTlsMechanism(const Config& cfg, bool probe) {
  const std::string& m = cfg.faults.tls_mechanism;
  const bool preload = !PreloadLibraryPath().empty();
  if (m == "preload")
    return preload ? TlsChoice{TlsMechanism::kPreload, "faults.tls_mechanism is preload"}
                   : TlsChoice{TlsMechanism::kNone, kNoPreload};
  if (!probe) {
    if (m == "uprobe")
      return {TlsMechanism::kUprobe,
              "faults.tls_mechanism is uprobe (not checked on this kernel: `run` refuses it "
              "where the kernel does not allow bpf_probe_write_user; `mmchaos doctor` or "
              "`validate --probe-kernel` tell)",
              false};
    return {preload ? TlsMechanism::kPreload : TlsMechanism::kUprobe, kUnchecked, false};
  }
  Result<void> loads = ProbeTlsUprobe();
  const std::string refused = loads ? "" : loads.error().message();
  if (loads)
    return {TlsMechanism::kUprobe,
            "faults.tls_mechanism is " + m + " and this kernel allows bpf_probe_write_user"};
  if (m == "uprobe")
    return {TlsMechanism::kNone, "faults.tls_mechanism is uprobe, and this kernel cannot run it (" +
                                     refused +
                                     "): set it to auto or preload and start the engine through "
                                     "`mmchaos exec`"};
  if (!preload) return {TlsMechanism::kNone, refused + "; and " + kNoPreload};
  return {TlsMechanism::kPreload, "no uprobes here: " + refused};
}

TlsMechanism TlsAccounting(const Config& cfg) {
  if (!cfg.chaos.enabled || !AnyTlsRest(cfg)) return TlsMechanism::kNone;
  // The mechanism of the status rewrites: the engine runs under it (a preload's engine was
  // started through `mmchaos exec`, as the rewrites require).
  // Never uprobes for accounting alone: attaching them to every process of the engine stalls it
  // (a new process pays the attach) and every SSL call pays the probes, which in a run without a
  // TLS fault would distort what is measured (lat_spike's cost of a new connection).
  if (TlsRewritesWanted(cfg)) return ChooseTlsMechanism(cfg).mechanism;
  // reconcile_mismatch's order requests go through the preload: the engine runs under it.
  return TlsReconcileByPreload(cfg) ? TlsMechanism::kPreload : TlsMechanism::kNone;
}

namespace {
// The TLS endpoints with the index of their exchange.
std::vector<std::pair<TlsAuthority, uint8_t>> EndpointsWithExchange(const Config& cfg) {
  std::vector<std::pair<TlsAuthority, uint8_t>> out;
  uint8_t index = 0;
  for (const auto& x : cfg.target.exchanges) {
    for (const auto& e : x.rest) {
      if (!e.tls || out.size() >= MMC_TLS_MAX_ENDPOINTS) continue;
      std::string host = e.host;
      if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      for (char& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (host.size() >= MMC_TLS_HOST_LEN) {
        LogWarning("tls: host name too long, left out: " + e.url);
        continue;
      }
      TlsAuthority a{};
      std::memcpy(a.host, host.data(), host.size());
      a.port = e.port;
      out.emplace_back(a, index);
    }
    ++index;
  }
  return out;
}
}  // namespace

std::vector<TlsAuthority> TlsEndpoints(const Config& cfg) {
  std::vector<TlsAuthority> out;
  for (const auto& [a, x] : EndpointsWithExchange(cfg)) out.push_back(a);
  return out;
}

std::vector<uint8_t> TlsEndpointExchanges(const Config& cfg) {
  std::vector<uint8_t> out;
  for (const auto& [a, x] : EndpointsWithExchange(cfg)) out.push_back(x);
  return out;
}

std::vector<std::string> TlsLibrariesIn(const std::string& cgroup) {
  std::set<std::string> found;
  for (pid_t pid : CgroupPids(cgroup)) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    while (std::getline(maps, line)) {
      auto slash = line.rfind('/');
      if (slash == std::string::npos) continue;
      std::string base = line.substr(slash + 1);
      std::string kind = TlsLibraryKind(base);
      if (!kind.empty()) found.insert(base + " (" + kind + ")");
    }
  }
  return {found.begin(), found.end()};
}

std::vector<std::string> CheckTls(const Config& cfg, bool probe) {
  std::vector<std::string> out;
  if (!TlsRewritesWanted(cfg)) return out;
  // With a plaintext REST endpoint too, the rewrites run there and the notes say the TLS ones
  // get none.
  for (const auto& x : cfg.target.exchanges)
    for (const auto& e : x.rest)
      if (!e.tls) return out;
  TlsChoice ch = ChooseTlsMechanism(cfg, probe);
  if (ch.mechanism == TlsMechanism::kNone)
    out.push_back(
        "exch_429, exch_5xx and rate_limit_storm on https:// endpoints need a way into the "
        "engine's TLS library, and none can run here: " +
        ch.why);
  // An engine running already whose TLS neither mechanism reaches (none of its processes maps
  // libssl.so, and one carries its own TLS stack or another library): nothing would be rewritten.
  TlsReach reach = TlsReachIn(cfg.target.cgroup);
  if (reach.libssl.empty() && !reach.out.empty()) {
    std::string m =
        "exch_429, exch_5xx and rate_limit_storm on https:// endpoints: the engine's TLS is out "
        "of reach of both mechanisms (the uprobes and the preload act on a dynamically linked "
        "OpenSSL libssl.so.3, and none of the target's processes maps one):";
    for (const auto& l : reach.out) m += " " + l + ";";
    m.back() = '.';
    out.push_back(m +
                  " Link the engine to the system's OpenSSL dynamically, or leave these "
                  "scenarios to plaintext endpoints");
  }
  return out;
}

std::string TlsNote(const Config& cfg, bool probe) {
  if (!TlsRewritesWanted(cfg)) {
    if (!TlsReconcileByPreload(cfg)) return {};
    return "reconcile_mismatch on https:// endpoints: order requests chosen by their request line "
           "in the preload of `mmchaos exec` (start the engine through `mmchaos exec -c " +
           (cfg.source.empty() ? std::string("FILE") : cfg.source) +
           " -- CMD [ARGS...]`), their answers lost as on a reset connection";
  }
  TlsChoice ch = ChooseTlsMechanism(cfg, probe);
  if (ch.mechanism == TlsMechanism::kNone) return {};
  std::string note = "exch_429/exch_5xx/rate_limit_storm on https:// endpoints: ";
  if (!ch.checked)
    note += ch.why;
  else if (ch.mechanism == TlsMechanism::kUprobe)
    note += "uprobes (" + ch.why +
            ") on SSL_read(_ex)/SSL_write(_ex) of the libssl.so.3 each process of the target "
            "cgroup maps, attached to those processes only; an engine already running needs no "
            "restart";
  else
    note += "preload (" + ch.why + "): start the engine through `mmchaos exec -c " +
            (cfg.source.empty() ? std::string("FILE") : cfg.source) +
            " -- CMD [ARGS...]`; it wraps OpenSSL's SSL_read(_ex)/SSL_write(_ex)";
  note +=
      " (a dynamically linked OpenSSL libssl: not Go, rustls, static BoringSSL, GnuTLS/NSS; "
      "HTTP/1 only, never h2)";
  if (TlsReconcileByPreload(cfg))
    note +=
        "; reconcile_mismatch's order requests through the preload of `mmchaos exec` (a "
        "uprobe cannot fail the engine's read)";
  TlsReach reach = TlsReachIn(cfg.target.cgroup);
  if (!reach.libssl.empty() && !reach.out.empty()) {
    note += "; out of reach (their responses are not rewritten):";
    for (const auto& l : reach.out) note += " " + l + ";";
    note.pop_back();
  }
  auto libs = TlsLibrariesIn(cfg.target.cgroup);
  if (!libs.empty()) {
    note += "; the engine's processes map";
    for (const auto& l : libs) note += " " + l;
  } else if (!CgroupPids(cfg.target.cgroup).empty()) {
    note += "; the engine's processes map no TLS library yet (a static TLS stack is not covered)";
  }
  return note;
}

TlsFaults::TlsFaults(const DataPlane& plane, int cgroup_fd, std::string cgroup,
                     SharedRecord& record)
    : UprobeFault("tls", plane, cgroup_fd, std::move(cgroup), record) {}

TlsFaults::~TlsFaults() { Clear(); }

Result<void> TlsFaults::Apply(const Config& c, const mmc_config& k) {
  const bool rewrites = TlsRewritesWanted(c), reconcile = TlsReconcileByPreload(c);
  // The kernel config leaves the TLS flows' request accounting to the mechanism in the engine's
  // TLS library (TlsAccounting): the uprobes run, rewrites or not; or the preloads account.
  const TlsMechanism accounting = k.tls_accounting ? TlsAccounting(c) : TlsMechanism::kNone;
  const bool account = accounting == TlsMechanism::kUprobe;
  if (!c.chaos.enabled || (!rewrites && !reconcile && !account)) {
    Clear();
    return {};
  }
  if (c.faults.tls_mechanism != mechanism_key_) Clear();
  std::lock_guard<std::mutex> l(mu_);
  bool preload = preload_;
  if (!uprobes_ && (account || (rewrites && !preload_))) {
    TlsChoice ch = account ? TlsChoice{TlsMechanism::kUprobe, ""} : ChooseTlsMechanism(c);
    if (ch.mechanism == TlsMechanism::kNone)
      return Fail("tls: no mechanism for the status rewrites on https:// endpoints", EOPNOTSUPP,
                  ch.why);
    mechanism_key_ = c.faults.tls_mechanism;
    if (ch.mechanism == TlsMechanism::kUprobe) {
      if (auto u = AttachUprobes(); !u) return u;
      Logf(
          "tls: uprobes on SSL_read(_ex)/SSL_write(_ex) of libssl, per process of %s (%zu now; "
          "a newcomer from its \"covered by the uprobes\" line, within a loop tick)%s",
          cgroup_.c_str(), uprobes_->processes(),
          account ? ": they account the https:// requests (op, status, latency)" : "");
    } else {
      preload = true;
    }
  }
  const auto endpoints = TlsEndpoints(c);
  if (uprobes_) {
    // The decision reads mmc_cfg; the accounting the exchange of each endpoint.
    auto u = uprobes_->SetEndpoints(endpoints, TlsEndpointExchanges(c));
    if (!u) return u;
  }
  // reconcile_mismatch's order requests go through the preload whichever mechanism rewrites.
  if (!preload && !reconcile) return {};
  mmc_tls_state t{};
  FillCommonFields(t, k, c.target.heartbeat_ms);
  if (!uprobes_) {  // the uprobes rewrite: the preload must not as well
    for (uint32_t i = 0; i < MMC_TLS_SCENARIOS; ++i) t.prob[i] = k.prob[mmc_tls_scenario(i)];
  }
  std::memcpy(t.status_5xx, k.status_5xx, 3);
  t.prob_reconcile = reconcile ? k.prob[MMC_SCN_RECONCILE_MISMATCH] : 0;
  static_assert(sizeof(t.order_req) == sizeof(k.order_req), "the data plane's order lines");
  std::memcpy(t.order_req, k.order_req, sizeof(t.order_req));
  const auto exchanges = TlsEndpointExchanges(c);
  for (size_t i = 0; i < endpoints.size() && i < exchanges.size(); ++i) {
    t.endpoint_exchange[t.n_endpoints] = exchanges[i];
    t.endpoints[t.n_endpoints++] = endpoints[i];
  }
  t.accounting = accounting == TlsMechanism::kPreload && !uprobes_ ? 1 : 0;
  t.req_events = t.accounting && k.req_events ? 1 : 0;
  auto u = record_.Use(SharedRecord::kTls, [&](ClockState& s) { s.WriteTls(t); });
  if (!u) return u;
  if (!preload_)
    Logf("tls: preload through %s (%u https endpoint(s)): start the engine with `mmchaos exec`%s",
         record_.path().c_str(), t.n_endpoints,
         t.accounting ? "; it accounts the https:// requests (op, status, latency)" : "");
  preload_ = true;
  return {};
}

void TlsFaults::AddCounts(Counters& c) {
  for (uint32_t i = 0; i <= MMC_TLS_SCENARIOS; ++i) {
    auto scn = static_cast<mmc_scenario>(i < MMC_TLS_SCENARIOS
                                             ? mmc_tls_scenario(i)
                                             : static_cast<uint32_t>(MMC_SCN_RECONCILE_MISMATCH));
    for (int mode = 0; mode < MMC_MODE_MAX; ++mode)
      c[mmc_injection_slot(scn, static_cast<mmc_mode>(mode))] += record_.TlsInjections(scn, mode);
  }
  c[MMC_STAT_REQ_EVENTS_LOST] += record_.TlsRequestsLost();
}

void TlsFaults::AddRequests(ReqStats& r) { record_.AddTlsRequests(r); }

std::vector<mmc_req_event> TlsFaults::TakeRequests() {
  std::vector<mmc_req_event> out;
  record_.TakeTlsRequests(out);
  return out;
}

void TlsFaults::AddLatency(RestLatency& l) { record_.AddTlsLatency(l); }

void TlsFaults::Sync() {
  UprobeFault::Sync();
  uint64_t h2 = record_.TlsH2Connections();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (uprobes_) h2 += uprobes_->H2Connections();
  }
  const uint64_t now = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch() /
                                             std::chrono::nanoseconds(1));
  if (h2 <= h2_reported_ || (h2_reported_ && now - h2_logged_ns_ < 60'000'000'000ULL)) return;
  Logf(
      "tls: %llu TLS connection(s) of the engine speak HTTP/2 (ALPN h2): exch_429, exch_5xx, "
      "rate_limit_storm and the TLS request accounting follow HTTP/1 only, so nothing on them is "
      "rewritten or counted (have the engine offer http/1.1 only, e.g. curl --http1.1)",
      static_cast<unsigned long long>(h2));
  h2_reported_ = h2;
  h2_logged_ns_ = now;
}

void TlsFaults::Clear() {
  Reset(SharedRecord::kTls, [](ClockState& s) { s.WriteTls({}); });
}

}  // namespace mmchaos
