#include "tls/tls_faults.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "clock/clock_skew.h"
#include "common/log.h"
#include "tls.h"
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

}  // namespace

bool TlsRewritesWanted(const Config& cfg) {
  if (!AnyRewrite(cfg.chaos)) return false;
  for (const auto& x : cfg.target.exchanges)
    for (const auto& e : x.rest)
      if (e.tls) return true;
  return false;
}

TlsChoice ChooseTlsMechanism(const Config& cfg) {
  // The uprobe mechanism for TLS is not in this version: auto means the preload.
  (void)cfg;
  if (PreloadLibraryPath().empty())
    return {TlsMechanism::kNone,
            "the preload library libmmchaos-clock.so is not installed next to the mmchaos binary "
            "(or in ../lib/mmchaos/): reinstall mmchaos"};
  return {TlsMechanism::kPreload,
          "the preload of `mmchaos exec` (this version has no TLS uprobe "
          "mechanism)"};
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

std::vector<std::string> CheckTls(const Config& cfg) {
  std::vector<std::string> out;
  if (!TlsRewritesWanted(cfg)) return out;
  // With a plaintext REST endpoint too, the rewrites run there and the notes say the TLS ones
  // get none.
  for (const auto& x : cfg.target.exchanges)
    for (const auto& e : x.rest)
      if (!e.tls) return out;
  TlsChoice ch = ChooseTlsMechanism(cfg);
  if (ch.mechanism == TlsMechanism::kNone)
    out.push_back(
        "exch_429, exch_5xx and rate_limit_storm on https:// endpoints need a way into the "
        "engine's TLS library, and none can run here: " +
        ch.why);
  return out;
}

std::string TlsNote(const Config& cfg) {
  if (!TlsRewritesWanted(cfg)) return {};
  TlsChoice ch = ChooseTlsMechanism(cfg);
  if (ch.mechanism == TlsMechanism::kNone) return {};
  std::string note =
      "exch_429/exch_5xx/rate_limit_storm on https:// endpoints: " + ch.why +
      ": start the engine through `mmchaos exec -c " +
      (cfg.source.empty() ? std::string("FILE") : cfg.source) +
      " -- CMD [ARGS...]`; it wraps OpenSSL's SSL_read(_ex)/SSL_write(_ex) of a dynamically "
      "linked libssl (not Go, rustls, static BoringSSL, GnuTLS/NSS; HTTP/1 only, never h2)";
  auto libs = TlsLibrariesIn(cfg.target.cgroup);
  if (!libs.empty()) {
    note += "; the engine's processes map";
    for (const auto& l : libs) note += " " + l;
  } else if (!CgroupPids(cfg.target.cgroup).empty()) {
    note += "; the engine's processes map no TLS library yet (a static TLS stack is not covered)";
  }
  return note;
}

TlsFaults::TlsFaults(SharedRecord& record) : record_(record) {}

TlsFaults::~TlsFaults() { Clear(); }

Result<void> TlsFaults::Apply(const Config& c, const mmc_config& k) {
  if (!c.chaos.enabled || !TlsRewritesWanted(c) ||
      ChooseTlsMechanism(c).mechanism != TlsMechanism::kPreload) {
    Clear();
    return {};
  }
  mmc_tls_state t{};
  FillCommonFields(t, k, c.target.heartbeat_ms);
  for (uint32_t i = 0; i < MMC_TLS_SCENARIOS; ++i) t.prob[i] = k.prob[mmc_tls_scenario(i)];
  std::memcpy(t.status_5xx, k.status_5xx, 3);
  // As the engine names them in its requests' Host header: lower case, IPv6 without brackets.
  for (const auto& x : c.target.exchanges)
    for (const auto& e : x.rest) {
      if (!e.tls || t.n_endpoints >= MMC_TLS_MAX_ENDPOINTS) continue;
      std::string host = e.host;
      if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      for (char& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (host.size() >= MMC_TLS_HOST_LEN) {
        LogWarning("tls: host name too long, left out: " + e.url);
        continue;
      }
      auto& a = t.endpoints[t.n_endpoints++];
      std::memcpy(a.host, host.data(), host.size());
      a.port = e.port;
    }
  std::lock_guard<std::mutex> l(mu_);
  auto u = record_.Use(SharedRecord::kTls, [&](ClockState& s) { s.WriteTls(t); });
  if (!u) return u;
  if (!armed_)
    Logf("tls: preload through %s (%u https endpoint(s)): start the engine with `mmchaos exec`",
         record_.path().c_str(), t.n_endpoints);
  armed_ = true;
  return {};
}

void TlsFaults::AddCounts(Counters& c) {
  for (uint32_t i = 0; i < MMC_TLS_SCENARIOS; ++i) {
    auto scn = static_cast<mmc_scenario>(mmc_tls_scenario(i));
    for (int mode = 0; mode < MMC_MODE_MAX; ++mode)
      c[mmc_injection_slot(scn, static_cast<mmc_mode>(mode))] += record_.TlsInjections(scn, mode);
  }
}

void TlsFaults::Clear() {
  std::lock_guard<std::mutex> l(mu_);
  if (armed_) record_.Drop(SharedRecord::kTls, [](ClockState& s) { s.WriteTls({}); });
  armed_ = false;
}

}  // namespace mmchaos
