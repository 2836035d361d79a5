// What the config tests share: parse-or-fail helpers, field-by-field comparisons, and a config
// that sets every key (tests/unit/config/ mirrors userspace/config/ file by file).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"

namespace mmchaos::config_test {

inline ::testing::AssertionResult HasPrefix(const std::string& s, const std::string& prefix) {
  if (s.starts_with(prefix)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\n  actual: " << s << "\n  wanted prefix: " << prefix;
}

inline ::testing::AssertionResult Contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\n  actual: " << s << "\n  wanted substring: " << part;
}

inline constexpr const char* kSrc = "t.yaml";

inline Config MustParse(const std::string& yaml) {
  Result<Config> r = ParseConfig(yaml, kSrc);
  EXPECT_TRUE(r.has_value()) << "unexpected error: " << (r ? "" : r.error().message())
                             << "\n--- yaml ---\n"
                             << yaml;
  return r ? *r : Config{};
}

// The error text for a config that must be rejected.
inline std::string MustFail(const std::string& yaml) {
  Result<Config> r = ParseConfig(yaml, kSrc);
  EXPECT_FALSE(r.has_value()) << "accepted:\n" << yaml;
  return r ? std::string() : r.error().message();
}

// One field of S for ExpectFieldsEq: its name, for the failure message, and where it is.
template <typename S, typename T>
struct FieldOf {
  const char* name;
  T S::*member;
};
#define MMC_FIELD(S, f) \
  FieldOf<S, decltype(S::f)> { #f, &S::f }

template <typename S, typename T>
void ExpectFieldEq(const S& a, const S& b, const FieldOf<S, T>& field) {
  EXPECT_EQ(a.*field.member, b.*field.member) << "field " << field.name;
}

// EXPECT_EQ on each of the fields, one by one.
template <typename S, typename... T>
void ExpectFieldsEq(const S& a, const S& b, const FieldOf<S, T>&... fields) {
  (ExpectFieldEq(a, b, fields), ...);
}

inline void ExpectEndpointEq(const Endpoint& a, const Endpoint& b) {
  using S = Endpoint;
  ExpectFieldsEq(a, b, MMC_FIELD(S, url), MMC_FIELD(S, scheme), MMC_FIELD(S, host),
                 MMC_FIELD(S, port), MMC_FIELD(S, tls));
}

inline void ExpectChaosEq(const ChaosSection& a, const ChaosSection& b) {
  using S = ChaosSection;
  ExpectFieldsEq(a, b, MMC_FIELD(S, enabled), MMC_FIELD(S, dry_run), MMC_FIELD(S, net_loss),
                 MMC_FIELD(S, exch_429), MMC_FIELD(S, exch_5xx), MMC_FIELD(S, lat_spike_ms),
                 MMC_FIELD(S, ws_lag_ms), MMC_FIELD(S, ws_disconnect), MMC_FIELD(S, dns_flap),
                 MMC_FIELD(S, clock_skew_ms), MMC_FIELD(S, mem_pressure),
                 MMC_FIELD(S, rate_limit_storm), MMC_FIELD(S, reconcile_mismatch),
                 MMC_FIELD(S, burst_on_sec), MMC_FIELD(S, burst_off_sec));
}

inline void ExpectNetemEq(const NetemSection& a, const NetemSection& b) {
  using S = NetemSection;
  ExpectFieldsEq(a, b, MMC_FIELD(S, jitter_ms), MMC_FIELD(S, correlation_pct),
                 MMC_FIELD(S, distribution), MMC_FIELD(S, reorder_pct),
                 MMC_FIELD(S, reorder_correlation_pct), MMC_FIELD(S, expected_pps),
                 MMC_FIELD(S, limit));
}

// Everything but source and warnings.
inline void ExpectConfigEq(const Config& a, const Config& b) {
  ExpectChaosEq(a.chaos, b.chaos);
  ExpectNetemEq(a.netem, b.netem);
  EXPECT_EQ(a.target.cgroup, b.target.cgroup);
  EXPECT_EQ(a.target.netns, b.target.netns);
  EXPECT_EQ(a.target.interfaces, b.target.interfaces);
  EXPECT_EQ(a.target.dns_ports, b.target.dns_ports);
  EXPECT_EQ(a.target.rollout_percent, b.target.rollout_percent);
  EXPECT_EQ(a.target.heartbeat_ms, b.target.heartbeat_ms);
  EXPECT_EQ(a.metrics.listen, b.metrics.listen);
  EXPECT_EQ(a.log.injections, b.log.injections);
  EXPECT_EQ(a.log.max_events_per_sec, b.log.max_events_per_sec);
  ASSERT_EQ(a.target.exchanges.size(), b.target.exchanges.size());
  for (size_t i = 0; i < a.target.exchanges.size(); ++i) {
    const Exchange& x = a.target.exchanges[i];
    const Exchange& y = b.target.exchanges[i];
    SCOPED_TRACE("exchange " + x.name);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.order_requests, y.order_requests);
    EXPECT_EQ(x.resolve, y.resolve);
    ASSERT_EQ(x.rest.size(), y.rest.size());
    for (size_t j = 0; j < x.rest.size(); ++j) ExpectEndpointEq(x.rest[j], y.rest[j]);
    ASSERT_EQ(x.ws.size(), y.ws.size());
    for (size_t j = 0; j < x.ws.size(); ++j) ExpectEndpointEq(x.ws[j], y.ws[j]);
  }
}

inline std::string JoinLines(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& line : v) s += line + "\n";
  return s;
}

// The cgroup2 mount points of this host, read independently of the parser.
inline std::vector<std::string> Cgroup2Mounts() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream f(line);
    std::string skip, mount_point;
    f >> skip >> skip >> skip >> skip >> mount_point;
    if (mount_point.find('\\') == std::string::npos) out.push_back(mount_point);
  }
  return out;
}

// --- every key ---------------------------------------------------------------------------------

inline constexpr const char* kFull = R"(chaos:
  enabled: true
  dry_run: false
  net_loss: 0.3
  exch_429: 0.1
  exch_5xx: 0.05
  lat_spike_ms: 250
  ws_lag_ms: 120
  ws_disconnect: 0.01
  dns_flap: 0.2
  clock_skew_ms: -1500
  mem_pressure: medium
  rate_limit_storm: 0.4
  reconcile_mismatch: 0.02
  burst_on_sec: 1.5
  burst_off_sec: 0
netem:
  jitter_ms: 15
  correlation_pct: 25
  distribution: paretonormal
  reorder_pct: 2.5
  reorder_correlation_pct: 50
  expected_pps: 5000
  limit: 40000
target:
  cgroup: /sys/fs/cgroup/mm.slice/engine.scope
  netns: /run/netns/engine
  interfaces: [veth-eng0, eth1]
  exchanges:
    binance:
      rest: ["https://api.binance.com", "http://api2.binance.com:8080/api"]
      ws: ["wss://stream.binance.com:9443/ws"]
      resolve: {api.binance.com: [203.0.113.7, "2001:db8::7"]}
    testnet:
      rest: ["http://10.20.0.2:8080"]
      ws: ["ws://[fd00::2]:8081"]
      order_requests: ["POST /api/v3/order", "DELETE /api/v3/order"]
  dns_ports: [53, 5353]
  rollout_percent: 12.5
  heartbeat_ms: 100
metrics:
  listen: "[::1]:9100"
log:
  injections: "-"
  max_events_per_sec: 5000
)";

inline void ExpectRoundTrip(const Config& original) {
  std::string dumped = DumpConfig(original);
  SCOPED_TRACE("dumped:\n" + dumped);
  Result<Config> again = ParseConfig(dumped, "dump.yaml");
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_TRUE(again->warnings.empty()) << JoinLines(again->warnings);
  ExpectConfigEq(*again, original);
  EXPECT_EQ(DumpConfig(*again), dumped);  // stable
}

}  // namespace mmchaos::config_test
