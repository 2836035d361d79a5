// Unit tests for chaos.yaml parsing, validation, clamping and DumpConfig.
#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mmchaos {
namespace {

::testing::AssertionResult HasPrefix(const std::string& s, const std::string& prefix) {
  if (s.starts_with(prefix)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\n  actual: " << s << "\n  wanted prefix: " << prefix;
}

::testing::AssertionResult Contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\n  actual: " << s << "\n  wanted substring: " << part;
}

constexpr const char* kSrc = "t.yaml";

Config MustParse(const std::string& yaml) {
  Result<Config> r = ParseConfig(yaml, kSrc);
  EXPECT_TRUE(r.has_value()) << "unexpected error: " << (r ? "" : r.error().message())
                             << "\n--- yaml ---\n"
                             << yaml;
  return r ? *r : Config{};
}

// The error text for a config that must be rejected.
std::string MustFail(const std::string& yaml) {
  Result<Config> r = ParseConfig(yaml, kSrc);
  EXPECT_FALSE(r.has_value()) << "accepted:\n" << yaml;
  return r ? std::string() : r.error().message();
}

void ExpectEndpointEq(const Endpoint& a, const Endpoint& b) {
  EXPECT_EQ(a.url, b.url);
  EXPECT_EQ(a.scheme, b.scheme);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.port, b.port);
  EXPECT_EQ(a.tls, b.tls);
}

void ExpectChaosEq(const ChaosSection& a, const ChaosSection& b) {
  EXPECT_EQ(a.enabled, b.enabled);
  EXPECT_EQ(a.dry_run, b.dry_run);
  EXPECT_EQ(a.net_loss, b.net_loss);
  EXPECT_EQ(a.exch_429, b.exch_429);
  EXPECT_EQ(a.exch_5xx, b.exch_5xx);
  EXPECT_EQ(a.lat_spike_ms, b.lat_spike_ms);
  EXPECT_EQ(a.ws_lag_ms, b.ws_lag_ms);
  EXPECT_EQ(a.ws_disconnect, b.ws_disconnect);
  EXPECT_EQ(a.dns_flap, b.dns_flap);
  EXPECT_EQ(a.clock_skew_ms, b.clock_skew_ms);
  EXPECT_EQ(a.mem_pressure, b.mem_pressure);
  EXPECT_EQ(a.rate_limit_storm, b.rate_limit_storm);
  EXPECT_EQ(a.reconcile_mismatch, b.reconcile_mismatch);
  EXPECT_EQ(a.burst_on_sec, b.burst_on_sec);
  EXPECT_EQ(a.burst_off_sec, b.burst_off_sec);
}

void ExpectNetemEq(const NetemSection& a, const NetemSection& b) {
  EXPECT_EQ(a.jitter_ms, b.jitter_ms);
  EXPECT_EQ(a.correlation_pct, b.correlation_pct);
  EXPECT_EQ(a.distribution, b.distribution);
  EXPECT_EQ(a.reorder_pct, b.reorder_pct);
  EXPECT_EQ(a.reorder_correlation_pct, b.reorder_correlation_pct);
  EXPECT_EQ(a.expected_pps, b.expected_pps);
  EXPECT_EQ(a.limit, b.limit);
}

// Everything but source and warnings.
void ExpectConfigEq(const Config& a, const Config& b) {
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

std::string JoinLines(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& line : v) s += line + "\n";
  return s;
}

// The cgroup2 mount points of this host, read independently of the parser.
std::vector<std::string> Cgroup2Mounts() {
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

// --- defaults --------------------------------------------------------------------------------

TEST(ConfigDefaults, StructDefaultsAreTheSeedsSafeValues) {
  Config c;
  EXPECT_FALSE(c.chaos.enabled);
  EXPECT_TRUE(c.chaos.dry_run);
  EXPECT_EQ(c.chaos.net_loss, 0.0);
  EXPECT_EQ(c.chaos.lat_spike_ms, 0);
  EXPECT_EQ(c.chaos.mem_pressure, MemPressure::kNone);
  EXPECT_EQ(c.chaos.burst_on_sec, 30.0);
  EXPECT_EQ(c.chaos.burst_off_sec, 90.0);
  EXPECT_EQ(c.target.dns_ports, std::vector<uint16_t>{53});
  EXPECT_EQ(c.target.rollout_percent, 100.0);
  EXPECT_EQ(c.target.heartbeat_ms, 250);
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9464");
  EXPECT_EQ(c.log.injections, "/var/log/mmchaos/injections.jsonl");
  EXPECT_EQ(c.log.max_events_per_sec, 100);
}

TEST(ConfigDefaults, NetemDefaultsAreAFixedDelay) {
  NetemSection n;
  EXPECT_EQ(n.jitter_ms, 0);
  EXPECT_EQ(n.correlation_pct, 0.0);
  EXPECT_EQ(n.distribution, NetemDistribution::kUniform);
  EXPECT_EQ(n.reorder_pct, 0.0);
  EXPECT_EQ(n.reorder_correlation_pct, 0.0);
  EXPECT_EQ(n.expected_pps, 20000);
  EXPECT_EQ(n.limit, 0);
  ExpectNetemEq(Config{}.netem, n);
}

TEST(ConfigDefaults, EmptyDocumentGivesDefaults) {
  for (const char* yaml :
       {"", "# nothing but a comment\n", "chaos:\nnetem:\ntarget:\nmetrics:\nlog:\n",
        "chaos: {}\nnetem: {}\ntarget: {}\nmetrics: {}\nlog: {}\n"}) {
    SCOPED_TRACE(yaml);
    Config c = MustParse(yaml);
    ExpectConfigEq(c, Config{});
    EXPECT_EQ(c.source, kSrc);
    EXPECT_TRUE(c.warnings.empty()) << JoinLines(c.warnings);
  }
}

TEST(ConfigDefaults, PartialSectionKeepsOtherDefaults) {
  Config c = MustParse("chaos:\n  net_loss: 0.25\n");
  EXPECT_EQ(c.chaos.net_loss, 0.25);
  ChaosSection expected;
  expected.net_loss = 0.25;
  ExpectChaosEq(c.chaos, expected);
  EXPECT_EQ(c.target.dns_ports, std::vector<uint16_t>{53});
}

// --- the repo's chaos.yaml ---------------------------------------------------------------------

TEST(ConfigRepoFile, ChaosYamlParsesWithSafeDefaults) {
  const std::string path = std::string(MMCHAOS_SOURCE_DIR) + "/chaos.yaml";
  Result<Config> r = LoadConfig(path);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Config& c = *r;
  EXPECT_EQ(c.source, path);
  EXPECT_TRUE(c.warnings.empty()) << JoinLines(c.warnings);
  ExpectChaosEq(c.chaos, ChaosSection{});
  ExpectNetemEq(c.netem, NetemSection{});
  EXPECT_EQ(c.target.heartbeat_ms, 250);
  EXPECT_EQ(c.target.cgroup, "/sys/fs/cgroup/system.slice/engine.service");
  EXPECT_TRUE(c.target.interfaces.empty());
  ASSERT_EQ(c.target.exchanges.size(), 1u);
  const Exchange& t = c.target.exchanges[0];
  EXPECT_EQ(t.name, "testnet");
  ASSERT_EQ(t.rest.size(), 1u);
  EXPECT_EQ(t.rest[0].host, "10.20.0.2");
  EXPECT_EQ(t.rest[0].port, 8080);
  EXPECT_FALSE(t.rest[0].tls);
  ASSERT_EQ(t.ws.size(), 1u);
  EXPECT_EQ(t.ws[0].port, 8081);
  EXPECT_EQ(t.order_requests,
            (std::vector<std::string>{"POST /api/v3/order", "DELETE /api/v3/order"}));
  EXPECT_EQ(c.target.dns_ports, std::vector<uint16_t>{53});
  EXPECT_EQ(c.target.rollout_percent, 100.0);
  EXPECT_EQ(c.metrics.listen, MetricsSection{}.listen);
  EXPECT_EQ(c.log.injections, LogSection{}.injections);
  EXPECT_EQ(c.log.max_events_per_sec, LogSection{}.max_events_per_sec);
}

// --- every key ---------------------------------------------------------------------------------

constexpr const char* kFull = R"(chaos:
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

TEST(ConfigParse, EveryKey) {
  Config c = MustParse(kFull);
  EXPECT_TRUE(c.warnings.empty()) << JoinLines(c.warnings);
  EXPECT_TRUE(c.chaos.enabled);
  EXPECT_FALSE(c.chaos.dry_run);
  EXPECT_EQ(c.chaos.net_loss, 0.3);
  EXPECT_EQ(c.chaos.exch_429, 0.1);
  EXPECT_EQ(c.chaos.exch_5xx, 0.05);
  EXPECT_EQ(c.chaos.lat_spike_ms, 250);
  EXPECT_EQ(c.chaos.ws_lag_ms, 120);
  EXPECT_EQ(c.chaos.ws_disconnect, 0.01);
  EXPECT_EQ(c.chaos.dns_flap, 0.2);
  EXPECT_EQ(c.chaos.clock_skew_ms, -1500);
  EXPECT_EQ(c.chaos.mem_pressure, MemPressure::kMedium);
  EXPECT_EQ(c.chaos.rate_limit_storm, 0.4);
  EXPECT_EQ(c.chaos.reconcile_mismatch, 0.02);
  EXPECT_EQ(c.chaos.burst_on_sec, 1.5);
  EXPECT_EQ(c.chaos.burst_off_sec, 0.0);

  EXPECT_EQ(c.netem.jitter_ms, 15);
  EXPECT_EQ(c.netem.correlation_pct, 25.0);
  EXPECT_EQ(c.netem.distribution, NetemDistribution::kParetoNormal);
  EXPECT_EQ(c.netem.reorder_pct, 2.5);
  EXPECT_EQ(c.netem.reorder_correlation_pct, 50.0);
  EXPECT_EQ(c.netem.expected_pps, 5000);
  EXPECT_EQ(c.netem.limit, 40000);

  EXPECT_EQ(c.target.heartbeat_ms, 100);
  EXPECT_EQ(c.target.cgroup, "/sys/fs/cgroup/mm.slice/engine.scope");
  EXPECT_EQ(c.target.netns, "/run/netns/engine");
  EXPECT_EQ(c.target.interfaces, (std::vector<std::string>{"veth-eng0", "eth1"}));
  EXPECT_EQ(c.target.dns_ports, (std::vector<uint16_t>{53, 5353}));
  EXPECT_EQ(c.target.rollout_percent, 12.5);
  ASSERT_EQ(c.target.exchanges.size(), 2u);  // in file order
  const Exchange& b = c.target.exchanges[0];
  EXPECT_EQ(b.name, "binance");
  ASSERT_EQ(b.rest.size(), 2u);
  ExpectEndpointEq(b.rest[0], {"https://api.binance.com", "https", "api.binance.com", 443, true});
  ExpectEndpointEq(b.rest[1],
                   {"http://api2.binance.com:8080/api", "http", "api2.binance.com", 8080, false});
  ASSERT_EQ(b.ws.size(), 1u);
  ExpectEndpointEq(b.ws[0],
                   {"wss://stream.binance.com:9443/ws", "wss", "stream.binance.com", 9443, true});
  EXPECT_TRUE(b.order_requests.empty());
  const Exchange& t = c.target.exchanges[1];
  EXPECT_EQ(t.name, "testnet");
  ASSERT_EQ(t.ws.size(), 1u);
  ExpectEndpointEq(t.ws[0], {"ws://[fd00::2]:8081", "ws", "fd00::2", 8081, false});
  EXPECT_EQ(t.order_requests,
            (std::vector<std::string>{"POST /api/v3/order", "DELETE /api/v3/order"}));

  EXPECT_EQ(c.metrics.listen, "[::1]:9100");
  EXPECT_EQ(c.log.injections, "-");
  EXPECT_EQ(c.log.max_events_per_sec, 5000);
}

TEST(ConfigParse, MemPressureLevels) {
  EXPECT_EQ(MustParse("chaos: {mem_pressure: none}").chaos.mem_pressure, MemPressure::kNone);
  EXPECT_EQ(MustParse("chaos: {mem_pressure: low}").chaos.mem_pressure, MemPressure::kLow);
  EXPECT_EQ(MustParse("chaos: {mem_pressure: medium}").chaos.mem_pressure, MemPressure::kMedium);
  EXPECT_EQ(MustParse("chaos: {mem_pressure: high}").chaos.mem_pressure, MemPressure::kHigh);
  EXPECT_STREQ(MemPressureName(MemPressure::kNone), "none");
  EXPECT_STREQ(MemPressureName(MemPressure::kLow), "low");
  EXPECT_STREQ(MemPressureName(MemPressure::kMedium), "medium");
  EXPECT_STREQ(MemPressureName(MemPressure::kHigh), "high");
}

TEST(ConfigParse, NetemDistributions) {
  const std::string j = "netem: {jitter_ms: 5, distribution: ";
  EXPECT_EQ(MustParse(j + "uniform}").netem.distribution, NetemDistribution::kUniform);
  EXPECT_EQ(MustParse(j + "normal}").netem.distribution, NetemDistribution::kNormal);
  EXPECT_EQ(MustParse(j + "pareto}").netem.distribution, NetemDistribution::kPareto);
  EXPECT_EQ(MustParse(j + "paretonormal}").netem.distribution, NetemDistribution::kParetoNormal);
  EXPECT_STREQ(NetemDistributionName(NetemDistribution::kUniform), "uniform");
  EXPECT_STREQ(NetemDistributionName(NetemDistribution::kNormal), "normal");
  EXPECT_STREQ(NetemDistributionName(NetemDistribution::kPareto), "pareto");
  EXPECT_STREQ(NetemDistributionName(NetemDistribution::kParetoNormal), "paretonormal");
}

TEST(ConfigParse, NetemOptionsThatDoNothingWarn) {
  Config c = MustParse(
      "netem:\n  distribution: normal\n  correlation_pct: 30\n  reorder_correlation_pct: 10\n");
  ASSERT_EQ(c.warnings.size(), 3u) << JoinLines(c.warnings);
  EXPECT_TRUE(HasPrefix(c.warnings[0],
                        "t.yaml:2: netem.distribution has no effect while netem.jitter_ms is 0"));
  EXPECT_TRUE(HasPrefix(
      c.warnings[1], "t.yaml:3: netem.correlation_pct has no effect while netem.jitter_ms is 0"));
  EXPECT_TRUE(HasPrefix(c.warnings[2],
                        "t.yaml:4: netem.reorder_correlation_pct has no effect "
                        "while netem.reorder_pct is 0"));
  // With jitter (set after them) and reordering they are meaningful.
  c = MustParse(
      "netem:\n  distribution: normal\n  correlation_pct: 30\n  reorder_correlation_pct: 10\n"
      "  jitter_ms: 5\n  reorder_pct: 1\n");
  EXPECT_TRUE(c.warnings.empty()) << JoinLines(c.warnings);
}

TEST(ConfigParse, NetemLimitTooSmallForTheDelayWarns) {
  // 20000 pps * (100 + 10) ms = 2200 packets held.
  Config c = MustParse("chaos:\n  lat_spike_ms: 100\nnetem:\n  jitter_ms: 10\n  limit: 2000\n");
  ASSERT_EQ(c.warnings.size(), 1u) << JoinLines(c.warnings);
  EXPECT_TRUE(HasPrefix(c.warnings[0],
                        "t.yaml:5: netem.limit 2000 is below the 2200 packets netem holds at "
                        "netem.expected_pps 20000 with a 110 ms delay"));
  EXPECT_TRUE(Contains(c.warnings[0], "dropped silently"));
  // The larger of the two delays counts, wherever it is in the file.
  c = MustParse("netem: {limit: 3000}\nchaos: {lat_spike_ms: 100, ws_lag_ms: 200}\n");
  ASSERT_EQ(c.warnings.size(), 1u) << JoinLines(c.warnings);
  EXPECT_TRUE(HasPrefix(c.warnings[0], "t.yaml:1: netem.limit 3000 is below the 4000 packets"));
  // Enough, computed (0), or no delay configured: no warning.
  EXPECT_TRUE(MustParse("chaos: {lat_spike_ms: 100}\nnetem: {limit: 2000}\n").warnings.empty());
  EXPECT_TRUE(MustParse("chaos: {lat_spike_ms: 9000}\nnetem: {limit: 0}\n").warnings.empty());
  EXPECT_TRUE(MustParse("netem: {limit: 1}\n").warnings.empty());
}

TEST(ConfigNetemLimit, ComputedFromExpectedRateWithHeadroom) {
  NetemSection n;                        // 20000 pps
  EXPECT_EQ(NetemLimit(n, 100), 4000u);  // 20000 * 0.1 s * 2
  EXPECT_EQ(NetemLimit(n, 0), 1000u);    // never below netem's default
  EXPECT_EQ(NetemLimit(n, 10), 1000u);   // 400 -> 1000
  EXPECT_EQ(NetemLimit(n, -5), 1000u);   // nonsense delay: the floor
  n.jitter_ms = 20;                      // 2 * jitter for the distribution's tail
  EXPECT_EQ(NetemLimit(n, 100), 5600u);  // 20000 * 0.14 * 2
  n.expected_pps = 333;
  n.jitter_ms = 0;
  EXPECT_EQ(NetemLimit(n, 10000), 6660u);  // 333 * 10 * 2
  n.expected_pps = 7;
  EXPECT_EQ(NetemLimit(n, 10000), 1000u);
  n.expected_pps = 1001;
  EXPECT_EQ(NetemLimit(n, 1501), 3006u);  // ceil(1001 * 1.501 * 2 = 3005.002)
  n.expected_pps = 10000000;              // the largest inputs fit in uint32_t
  n.jitter_ms = 10000;
  EXPECT_EQ(NetemLimit(n, 10000), 600000000u);
  n.limit = 1234;  // an explicit limit wins
  EXPECT_EQ(NetemLimit(n, 10000), 1234u);
  n.limit = 1;
  EXPECT_EQ(NetemLimit(n, 0), 1u);
}

TEST(ConfigParse, NumberSpellings) {
  EXPECT_EQ(MustParse("chaos: {net_loss: 1}").chaos.net_loss, 1.0);
  EXPECT_EQ(MustParse("chaos: {net_loss: .5}").chaos.net_loss, 0.5);
  EXPECT_EQ(MustParse("chaos: {net_loss: +0.5}").chaos.net_loss, 0.5);
  EXPECT_EQ(MustParse("chaos: {net_loss: 5e-1}").chaos.net_loss, 0.5);
  EXPECT_EQ(MustParse("chaos: {clock_skew_ms: +20}").chaos.clock_skew_ms, 20);
  EXPECT_EQ(MustParse("chaos: {burst_off_sec: 0.25}").chaos.burst_off_sec, 0.25);
  EXPECT_TRUE(MustParse("chaos: {enabled: True}").chaos.enabled);
  EXPECT_FALSE(MustParse("chaos: {dry_run: FALSE}").chaos.dry_run);
}

TEST(ConfigParse, NullListsAndMapsAreEmpty) {
  Config c = MustParse("target:\n  interfaces:\n  exchanges:\n  dns_ports: []\n");
  EXPECT_TRUE(c.target.interfaces.empty());
  EXPECT_TRUE(c.target.exchanges.empty());
  EXPECT_TRUE(c.target.dns_ports.empty());
  c = MustParse("target:\n  exchanges:\n    quiet:\n");
  ASSERT_EQ(c.target.exchanges.size(), 1u);
  EXPECT_EQ(c.target.exchanges[0].name, "quiet");
  EXPECT_TRUE(c.target.exchanges[0].rest.empty());
}

TEST(ConfigParse, MetricsListenForms) {
  for (const char* ok : {"127.0.0.1:9464", "0.0.0.0:1", "localhost:65535", "[::1]:9464",
                         "[::]:9464", "metrics.internal:9100"}) {
    SCOPED_TRACE(ok);
    EXPECT_EQ(MustParse(std::string("metrics: {listen: \"") + ok + "\"}").metrics.listen, ok);
  }
}

TEST(ConfigParse, OrderRequestWithoutPlaintextRestWarns) {
  Config c = MustParse(
      "target:\n  exchanges:\n    x:\n      rest: [\"https://a.example\"]\n"
      "      order_requests: [\"POST /order\"]\n");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_TRUE(HasPrefix(c.warnings[0], "t.yaml:3: "));
  EXPECT_TRUE(Contains(c.warnings[0], "plaintext"));
}

// --- clamping ----------------------------------------------------------------------------------

struct ClampCase {
  const char* yaml;  // the key is on line 2
  double want;       // the effective value
  const char* key;   // dotted key name in the warning
  const char* from;  // the value as written
  const char* to;    // the clamped value as printed
};

double Get(const Config& c, const std::string& key) {
  if (key == "chaos.net_loss") return c.chaos.net_loss;
  if (key == "chaos.exch_429") return c.chaos.exch_429;
  if (key == "chaos.exch_5xx") return c.chaos.exch_5xx;
  if (key == "chaos.ws_disconnect") return c.chaos.ws_disconnect;
  if (key == "chaos.dns_flap") return c.chaos.dns_flap;
  if (key == "chaos.rate_limit_storm") return c.chaos.rate_limit_storm;
  if (key == "chaos.reconcile_mismatch") return c.chaos.reconcile_mismatch;
  if (key == "chaos.lat_spike_ms") return c.chaos.lat_spike_ms;
  if (key == "chaos.ws_lag_ms") return c.chaos.ws_lag_ms;
  if (key == "chaos.clock_skew_ms") return c.chaos.clock_skew_ms;
  if (key == "chaos.burst_on_sec") return c.chaos.burst_on_sec;
  if (key == "chaos.burst_off_sec") return c.chaos.burst_off_sec;
  if (key == "target.rollout_percent") return c.target.rollout_percent;
  if (key == "target.heartbeat_ms") return c.target.heartbeat_ms;
  if (key == "netem.jitter_ms") return c.netem.jitter_ms;
  if (key == "netem.correlation_pct") return c.netem.correlation_pct;
  if (key == "netem.reorder_pct") return c.netem.reorder_pct;
  if (key == "netem.reorder_correlation_pct") return c.netem.reorder_correlation_pct;
  if (key == "netem.expected_pps") return c.netem.expected_pps;
  if (key == "netem.limit") return c.netem.limit;
  if (key == "log.max_events_per_sec") return c.log.max_events_per_sec;
  ADD_FAILURE() << "unknown key " << key;
  return -1;
}

TEST(ConfigClamp, OutOfRangeValuesAreClampedWithAWarning) {
  const ClampCase cases[] = {
      {"chaos:\n  net_loss: 1.5\n", 1, "chaos.net_loss", "1.5", "1"},
      {"chaos:\n  net_loss: -0.2\n", 0, "chaos.net_loss", "-0.2", "0"},
      {"chaos:\n  net_loss: 1e400\n", 1, "chaos.net_loss", "1e400", "1"},
      {"chaos:\n  exch_429: 2\n", 1, "chaos.exch_429", "2", "1"},
      {"chaos:\n  exch_5xx: 7\n", 1, "chaos.exch_5xx", "7", "1"},
      {"chaos:\n  ws_disconnect: -1\n", 0, "chaos.ws_disconnect", "-1", "0"},
      {"chaos:\n  dns_flap: 1.01\n", 1, "chaos.dns_flap", "1.01", "1"},
      {"chaos:\n  rate_limit_storm: 3\n", 1, "chaos.rate_limit_storm", "3", "1"},
      {"chaos:\n  reconcile_mismatch: -5\n", 0, "chaos.reconcile_mismatch", "-5", "0"},
      {"chaos:\n  lat_spike_ms: 20000\n", 10000, "chaos.lat_spike_ms", "20000", "10000"},
      {"chaos:\n  lat_spike_ms: 99999999999999999999999\n", 10000, "chaos.lat_spike_ms",
       "99999999999999999999999", "10000"},
      {"chaos:\n  ws_lag_ms: -5\n", 0, "chaos.ws_lag_ms", "-5", "0"},
      {"chaos:\n  clock_skew_ms: -5000000\n", -3600000, "chaos.clock_skew_ms", "-5000000",
       "-3600000"},
      {"chaos:\n  clock_skew_ms: 3600001\n", 3600000, "chaos.clock_skew_ms", "3600001", "3600000"},
      {"chaos:\n  burst_on_sec: 0\n", 0.1, "chaos.burst_on_sec", "0", "0.1"},
      {"chaos:\n  burst_on_sec: 0.05\n", 0.1, "chaos.burst_on_sec", "0.05", "0.1"},
      {"chaos:\n  burst_on_sec: 7200\n", 3600, "chaos.burst_on_sec", "7200", "3600"},
      {"chaos:\n  burst_off_sec: -1\n", 0, "chaos.burst_off_sec", "-1", "0"},
      {"chaos:\n  burst_off_sec: 100000\n", 86400, "chaos.burst_off_sec", "100000", "86400"},
      {"target:\n  rollout_percent: 150\n", 100, "target.rollout_percent", "150", "100"},
      {"target:\n  rollout_percent: -3\n", 0, "target.rollout_percent", "-3", "0"},
      {"target:\n  heartbeat_ms: 10\n", 50, "target.heartbeat_ms", "10", "50"},
      {"target:\n  heartbeat_ms: 60000\n", 10000, "target.heartbeat_ms", "60000", "10000"},
      {"netem:\n  jitter_ms: -1\n", 0, "netem.jitter_ms", "-1", "0"},
      {"netem:\n  jitter_ms: 10001\n", 10000, "netem.jitter_ms", "10001", "10000"},
      {"netem:\n  correlation_pct: -0.5\n", 0, "netem.correlation_pct", "-0.5", "0"},
      {"netem:\n  correlation_pct: 100.5\n  jitter_ms: 1\n", 100, "netem.correlation_pct", "100.5",
       "100"},
      {"netem:\n  reorder_pct: 101\n", 100, "netem.reorder_pct", "101", "100"},
      {"netem:\n  reorder_pct: -2\n", 0, "netem.reorder_pct", "-2", "0"},
      {"netem:\n  reorder_correlation_pct: -1\n", 0, "netem.reorder_correlation_pct", "-1", "0"},
      {"netem:\n  reorder_correlation_pct: 200\n  reorder_pct: 1\n", 100,
       "netem.reorder_correlation_pct", "200", "100"},
      {"netem:\n  expected_pps: 0\n", 1, "netem.expected_pps", "0", "1"},
      {"netem:\n  expected_pps: 20000000\n", 10000000, "netem.expected_pps", "20000000",
       "10000000"},
      {"netem:\n  limit: -1\n", 0, "netem.limit", "-1", "0"},
      {"netem:\n  limit: 99999999999\n", 10000000, "netem.limit", "99999999999", "10000000"},
      {"log:\n  max_events_per_sec: 0\n", 1, "log.max_events_per_sec", "0", "1"},
      {"log:\n  max_events_per_sec: 1000000\n", 100000, "log.max_events_per_sec", "1000000",
       "100000"},
  };
  for (const ClampCase& tc : cases) {
    SCOPED_TRACE(tc.yaml);
    Config c = MustParse(tc.yaml);
    EXPECT_EQ(Get(c, tc.key), tc.want);
    ASSERT_EQ(c.warnings.size(), 1u) << JoinLines(c.warnings);
    EXPECT_TRUE(HasPrefix(c.warnings[0], std::string("t.yaml:2: ") + tc.key + " clamped from " +
                                             tc.from + " to " + tc.to));
  }
}

TEST(ConfigClamp, BoundsThemselvesAreNotClamped) {
  Config c = MustParse(R"(chaos:
  net_loss: 1
  exch_429: 0
  lat_spike_ms: 10000
  ws_lag_ms: 0
  clock_skew_ms: -3600000
  burst_on_sec: 0.1
  burst_off_sec: 86400
netem:
  jitter_ms: 10000
  correlation_pct: 100
  reorder_pct: 100
  reorder_correlation_pct: 0
  expected_pps: 1
  limit: 10000000
target:
  rollout_percent: 0
  heartbeat_ms: 50
log:
  max_events_per_sec: 100000
)");
  EXPECT_TRUE(c.warnings.empty()) << JoinLines(c.warnings);
  EXPECT_EQ(c.chaos.burst_on_sec, 0.1);
  EXPECT_EQ(c.chaos.clock_skew_ms, -3600000);
  EXPECT_EQ(c.netem.expected_pps, 1);
  EXPECT_EQ(c.netem.limit, 10000000);
  EXPECT_EQ(c.target.heartbeat_ms, 50);
  c = MustParse("netem: {jitter_ms: 0, expected_pps: 10000000}\ntarget: {heartbeat_ms: 10000}\n");
  EXPECT_TRUE(c.warnings.empty()) << JoinLines(c.warnings);
  EXPECT_EQ(c.netem.expected_pps, 10000000);
  EXPECT_EQ(c.target.heartbeat_ms, 10000);
}

TEST(ConfigClamp, WarningCarriesTheValuesLineInALongerFile) {
  Config c = MustParse("# header\n\nchaos:\n  enabled: false\n\n  ws_lag_ms: 123456\n");
  EXPECT_EQ(c.chaos.ws_lag_ms, 10000);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_TRUE(HasPrefix(c.warnings[0], "t.yaml:6: chaos.ws_lag_ms clamped from 123456 to 10000"));
}

TEST(ConfigClamp, SeveralClampsGiveSeveralWarnings) {
  Config c = MustParse("chaos: {net_loss: 2, dns_flap: 3}\nlog: {max_events_per_sec: -4}\n");
  ASSERT_EQ(c.warnings.size(), 3u) << JoinLines(c.warnings);
  EXPECT_TRUE(Contains(c.warnings[0], "chaos.net_loss"));
  EXPECT_TRUE(Contains(c.warnings[1], "chaos.dns_flap"));
  EXPECT_TRUE(HasPrefix(c.warnings[2], "t.yaml:2: log.max_events_per_sec"));
}

// --- unknown and duplicate keys ----------------------------------------------------------------

TEST(ConfigErrors, UnknownKeyNamesKeySectionAndLine) {
  std::string e = MustFail("chaos:\n  enabled: false\n  net_los: 0.1\n");
  EXPECT_TRUE(HasPrefix(e,
                        "t.yaml:3:3: unknown key 'net_los' in chaos (known: enabled, dry_run, "
                        "net_loss,"));
  EXPECT_TRUE(Contains(e, "burst_off_sec)"));
}

TEST(ConfigErrors, UnknownKeysInEverySection) {
  struct {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"chaos: {}\nacceptnce:\n  p95: 1\n", "t.yaml:2:1: unknown key 'acceptnce' at top level"},
      {"chaos: {}\nacceptance:\n  p95: 1\n",
       "t.yaml:3:3: unknown key 'p95' in acceptance (known: p95_regression_max_pct,"},
      {"experiment:\n  ticks: 5\n",
       "t.yaml:2:3: unknown key 'ticks' in experiment (known: baseline_ticks, bursts, "
       "recovery_ticks)"},
      {"rollback_triggers:\n  - {metric: p95_ms, op: \">\", value: 1, every: 2}\n",
       "t.yaml:2:41: unknown key 'every' in rollback_triggers[0]"},
      {"target:\n  cgroups: /x\n", "t.yaml:2:3: unknown key 'cgroups' in target"},
      {"target:\n  exchanges:\n    b:\n      rests: []\n",
       "t.yaml:4:7: unknown key 'rests' in target.exchanges.b (known: rest, ws, order_requests, resolve)"},
      {"metrics:\n  port: 9464\n", "t.yaml:2:3: unknown key 'port' in metrics (known: listen)"},
      {"log:\n  path: x\n", "t.yaml:2:3: unknown key 'path' in log"},
      {"netem:\n  delay_ms: 5\n",
       "t.yaml:2:3: unknown key 'delay_ms' in netem (known: jitter_ms, correlation_pct, "
       "distribution, reorder_pct, reorder_correlation_pct, expected_pps, limit)"},
      {"target:\n  heartbeat: 5\n", "t.yaml:2:3: unknown key 'heartbeat' in target"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.yaml);
    EXPECT_TRUE(HasPrefix(MustFail(tc.yaml), tc.want));
  }
}

// --- acceptance, rollback_triggers, experiment ------------------------------------------------

TEST(ConfigExperiment, DefaultsAreTheSeeds) {
  Config c = MustParse("chaos: {}\n");
  EXPECT_EQ(c.acceptance.p95_regression_max_pct, 15);
  EXPECT_EQ(c.acceptance.deadline_miss_max_pct, 2);
  EXPECT_EQ(c.acceptance.recovery_ticks_max, 3);
  EXPECT_EQ(c.acceptance.lat_spike_p99_max_ms, 250);
  EXPECT_TRUE(c.acceptance.discrepancies_all_detected);
  EXPECT_TRUE(c.rollback_triggers.empty());
  EXPECT_EQ(c.target.tick_ms, 100);
  EXPECT_EQ(c.target.deadline_ms, 200);
  EXPECT_EQ(c.experiment.bursts, 2);
}

TEST(ConfigExperiment, TriggersParseWithGeneratedNames) {
  Config c = MustParse(
      "rollback_triggers:\n"
      "  - {metric: deadline_miss_pct, op: \">\", value: 5, for_ticks: 3}\n"
      "  - {name: engine-misses, metric: \"engine:mm_deadline_miss_total\", op: \">=\", "
      "value: 10, window_ticks: 20}\n"
      "target: {tick_ms: 50, deadline_ms: 150, metrics_url: \"http://10.0.0.2:9470/metrics\"}\n");
  ASSERT_EQ(c.rollback_triggers.size(), 2u);
  EXPECT_EQ(c.rollback_triggers[0].name, "deadline_miss_pct > 5 for 3 ticks");
  EXPECT_EQ(c.rollback_triggers[0].window_ticks, 10);
  EXPECT_EQ(c.rollback_triggers[1].name, "engine-misses");
  EXPECT_EQ(c.rollback_triggers[1].metric, "engine:mm_deadline_miss_total");
  EXPECT_EQ(c.rollback_triggers[1].window_ticks, 20);
  EXPECT_EQ(c.target.tick_ms, 50);
  EXPECT_EQ(c.target.metrics_url, "http://10.0.0.2:9470/metrics");
  // Round trip through DumpConfig.
  Config again = MustParse(DumpConfig(c));
  ASSERT_EQ(again.rollback_triggers.size(), 2u);
  EXPECT_EQ(again.rollback_triggers[0].name, c.rollback_triggers[0].name);
  EXPECT_EQ(again.rollback_triggers[1].value, 10);
  EXPECT_EQ(again.target.metrics_url, c.target.metrics_url);
}

TEST(ConfigExperiment, BadTriggersSayWhatIsWrong) {
  EXPECT_TRUE(Contains(MustFail("rollback_triggers:\n  - {metric: p42, op: \">\", value: 1}\n"),
                       "rollback_triggers[0].metric: unknown metric 'p42' (known: "
                       "deadline_miss_pct, fail_pct"));
  EXPECT_TRUE(Contains(MustFail("rollback_triggers:\n  - {metric: p99_ms, op: \"=\", value: 1}\n"),
                       "expected >, >=, < or <=, got '='"));
  EXPECT_TRUE(Contains(MustFail("rollback_triggers:\n  - {metric: p99_ms, op: \">\"}\n"),
                       "rollback_triggers[0]: needs metric, op and value"));
  EXPECT_TRUE(Contains(MustFail("rollback_triggers:\n  - {metric: p99_ms, op: \">\", value: 1}\n"
                                "  - {metric: p99_ms, op: \">\", value: 1}\n"),
                       "duplicate trigger name 'p99_ms > 1'"));
  EXPECT_TRUE(Contains(MustFail("target: {metrics_url: \"10.0.0.1:9/metrics\"}\n"),
                       "target.metrics_url: expected an http:// URL"));
}

TEST(ConfigErrors, DuplicateKey) {
  std::string e = MustFail("chaos:\n  net_loss: 0.1\n  net_loss: 0.9\n");
  EXPECT_TRUE(HasPrefix(e, "t.yaml:3:3: duplicate key 'net_loss' in chaos (first at line 2)"));
}

// --- wrong types -------------------------------------------------------------------------------

TEST(ConfigErrors, WrongTypesNameKeyAndExpectedType) {
  struct {
    const char* yaml;
    const char* want;  // prefix of the error
  } cases[] = {
      {"chaos:\n  net_loss: abc\n", "t.yaml:2:13: chaos.net_loss: expected a number, got 'abc'"},
      {"chaos:\n  net_loss: \"0.5\"\n", "t.yaml:2:13: chaos.net_loss: expected a number"},
      {"chaos:\n  net_loss: .inf\n", "t.yaml:2:13: chaos.net_loss: expected a number"},
      {"chaos:\n  net_loss: nan\n", "t.yaml:2:13: chaos.net_loss: expected a number"},
      {"chaos:\n  net_loss: 0x10\n", "t.yaml:2:13: chaos.net_loss: expected a number"},
      {"chaos:\n  net_loss: [0.1]\n", "t.yaml:2:13: chaos.net_loss: expected a number, got a list"},
      {"chaos:\n  net_loss:\n", "t.yaml:2:3: chaos.net_loss: expected a number, got nothing"},
      {"chaos:\n  enabled: 3\n", "t.yaml:2:12: chaos.enabled: expected true or false, got '3'"},
      {"chaos:\n  enabled: \"true\"\n", "t.yaml:2:12: chaos.enabled: expected true or false"},
      {"chaos:\n  dry_run: yes please\n", "t.yaml:2:12: chaos.dry_run: expected true or false"},
      {"chaos:\n  lat_spike_ms: 1.5\n",
       "t.yaml:2:17: chaos.lat_spike_ms: expected an integer, got '1.5'"},
      {"chaos:\n  ws_lag_ms: 1e3\n", "t.yaml:2:14: chaos.ws_lag_ms: expected an integer"},
      {"chaos:\n  clock_skew_ms: ten\n", "t.yaml:2:18: chaos.clock_skew_ms: expected an integer"},
      {"chaos:\n  burst_on_sec: {a: 1}\n",
       "t.yaml:2:17: chaos.burst_on_sec: expected a number, got a map"},
      {"chaos:\n  mem_pressure: extreme\n",
       "t.yaml:2:17: chaos.mem_pressure: expected one of none, low, medium, high, got 'extreme'"},
      {"chaos:\n  mem_pressure: [low]\n", "t.yaml:2:17: chaos.mem_pressure: expected one of"},
      {"chaos: [1, 2]\n", "t.yaml:1:8: chaos: expected a map, got a list"},
      {"chaos: on\n", "t.yaml:1:8: chaos: expected a map, got a scalar"},
      {"- chaos\n", "t.yaml:1:1: the document: expected a map, got a list"},
      {"target:\n  cgroup: [a]\n", "t.yaml:2:11: target.cgroup: expected a string, got a list"},
      {"target:\n  netns: {a: b}\n", "t.yaml:2:10: target.netns: expected a string, got a map"},
      {"target:\n  interfaces: eth0\n",
       "t.yaml:2:15: target.interfaces: expected a list of interface names, got 'eth0'"},
      {"target:\n  interfaces: [[eth0]]\n",
       "t.yaml:2:16: target.interfaces: expected a list of interface names, got an item that is a "
       "list"},
      {"target:\n  interfaces: [\"a/b\"]\n",
       "t.yaml:2:16: target.interfaces: 'a/b' is not a valid interface name"},
      {"target:\n  interfaces: [averyveryverylong0]\n",
       "t.yaml:2:16: target.interfaces: 'averyveryverylong0' is not a valid interface name"},
      {"target:\n  interfaces: [\"eth 0\"]\n", "t.yaml:2:16: target.interfaces: 'eth 0' is not"},
      {"target:\n  interfaces: [\"\"]\n", "t.yaml:2:16: target.interfaces: '' is not"},
      {"target:\n  exchanges: [binance]\n",
       "t.yaml:2:14: target.exchanges: expected a map, got a list"},
      {"target:\n  exchanges:\n    b: [\"https://x\"]\n",
       "t.yaml:3:8: target.exchanges.b: expected a map, got a list"},
      {"target:\n  exchanges:\n    b:\n      rest: https://x\n",
       "t.yaml:4:13: target.exchanges.b.rest: expected a list of URLs"},
      {"target:\n  dns_ports: [0]\n", "t.yaml:2:15: target.dns_ports: expected a list of ports"},
      {"target:\n  dns_ports: [65536]\n", "t.yaml:2:15: target.dns_ports: expected a list of"},
      {"target:\n  dns_ports: [\"53\"]\n", "t.yaml:2:15: target.dns_ports: expected a list of"},
      {"target:\n  dns_ports: 53\n", "t.yaml:2:14: target.dns_ports: expected a list of ports"},
      {"target:\n  rollout_percent: half\n",
       "t.yaml:2:20: target.rollout_percent: expected a number"},
      {"metrics:\n  listen: 9464\n", "t.yaml:2:11: metrics.listen: '9464' is not HOST:PORT"},
      {"metrics:\n  listen: \"127.0.0.1:0\"\n", "t.yaml:2:11: metrics.listen: '127.0.0.1:0' is"},
      {"metrics:\n  listen: \"127.0.0.1:99999\"\n", "t.yaml:2:11: metrics.listen:"},
      {"metrics:\n  listen: \"::1:9464\"\n", "t.yaml:2:11: metrics.listen:"},
      {"metrics:\n  listen: \"[::1]\"\n", "t.yaml:2:11: metrics.listen:"},
      {"metrics:\n  listen: \":9464\"\n", "t.yaml:2:11: metrics.listen:"},
      {"metrics:\n  listen: [a]\n", "t.yaml:2:11: metrics.listen: expected a string, got a list"},
      {"log:\n  injections: \"\"\n", "t.yaml:2:15: log.injections: expected a file path"},
      {"log:\n  max_events_per_sec: 1.5\n",
       "t.yaml:2:23: log.max_events_per_sec: expected an integer"},
      {"netem:\n  distribution: gaussian\n",
       "t.yaml:2:17: netem.distribution: expected one of uniform, normal, pareto, paretonormal, "
       "got "
       "'gaussian'"},
      {"netem:\n  distribution: Normal\n",
       "t.yaml:2:17: netem.distribution: expected one of uniform, normal, pareto, paretonormal, "
       "got "
       "'Normal'"},
      {"netem:\n  distribution: [normal]\n",
       "t.yaml:2:17: netem.distribution: expected one of uniform, normal, pareto, paretonormal, "
       "got "
       "a list"},
      {"netem:\n  distribution:\n",
       "t.yaml:2:3: netem.distribution: expected one of uniform, normal, pareto, paretonormal, got "
       "nothing"},
      {"netem:\n  jitter_ms: 1.5\n",
       "t.yaml:2:14: netem.jitter_ms: expected an integer, got '1.5'"},
      {"netem:\n  correlation_pct: high\n",
       "t.yaml:2:20: netem.correlation_pct: expected a number, got 'high'"},
      {"netem:\n  reorder_pct: \"5\"\n", "t.yaml:2:16: netem.reorder_pct: expected a number"},
      {"netem:\n  reorder_correlation_pct: {}\n",
       "t.yaml:2:28: netem.reorder_correlation_pct: expected a number, got a map"},
      {"netem:\n  expected_pps: 2e4\n", "t.yaml:2:17: netem.expected_pps: expected an integer"},
      {"netem:\n  limit: lots\n", "t.yaml:2:10: netem.limit: expected an integer"},
      {"netem: [1]\n", "t.yaml:1:8: netem: expected a map, got a list"},
      {"target:\n  heartbeat_ms: 0.25\n",
       "t.yaml:2:17: target.heartbeat_ms: expected an integer, got '0.25'"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.yaml);
    EXPECT_TRUE(HasPrefix(MustFail(tc.yaml), tc.want));
  }
}

TEST(ConfigErrors, OrderRequestsMustBeMethodAndPath) {
  for (const char* bad : {"post /api/v3/order", "POST api/v3/order", "POST", "/api/v3/order",
                          "POST  /order", "POST /a b", "P0ST /order"}) {
    SCOPED_TRACE(bad);
    std::string yaml = std::string("target:\n  exchanges:\n    b:\n      rest: [\"http://x\"]\n") +
                       "      order_requests: [\"" + bad + "\"]\n";
    std::string e = MustFail(yaml);
    EXPECT_TRUE(HasPrefix(e, "t.yaml:5:24: target.exchanges.b.order_requests: '"));
    EXPECT_TRUE(Contains(e, "METHOD /path"));
  }
}

// --- malformed YAML ----------------------------------------------------------------------------

TEST(ConfigErrors, MalformedYamlCarriesTheParsersLine) {
  std::string e = MustFail("chaos:\n  enabled: false\n  net_loss: [0.1\n  dry_run: true\n");
  EXPECT_TRUE(HasPrefix(e, "t.yaml:"));
  EXPECT_TRUE(Contains(e, "malformed YAML"));
  // yaml-cpp notices the unclosed flow sequence at or after the line it starts on.
  int line = std::stoi(e.substr(std::string("t.yaml:").size()));
  EXPECT_GE(line, 3);
  EXPECT_LE(line, 5);

  e = MustFail("chaos:\n  enabled: false\n\tdry_run: true\n");  // a tab in the indentation
  EXPECT_TRUE(HasPrefix(e, "t.yaml:3:"));
  EXPECT_TRUE(Contains(e, "malformed YAML"));

  e = MustFail("chaos:\n  enabled: false\n dry_run: true\n");  // bad indentation
  EXPECT_TRUE(HasPrefix(e, "t.yaml:3:"));
  EXPECT_TRUE(Contains(e, "malformed YAML"));
}

TEST(ConfigErrors, SeveralDocumentsAreRejected) {
  EXPECT_TRUE(Contains(MustFail("chaos: {}\n---\nchaos: {}\n"), "a config is a single document"));
}

// --- URLs --------------------------------------------------------------------------------------

Endpoint RestUrl(const std::string& url) {
  Config c = MustParse("target:\n  exchanges:\n    x:\n      rest: [\"" + url + "\"]\n");
  if (c.target.exchanges.size() != 1 || c.target.exchanges[0].rest.size() != 1) return {};
  return c.target.exchanges[0].rest[0];
}

Endpoint WsUrl(const std::string& url) {
  Config c = MustParse("target:\n  exchanges:\n    x:\n      ws: [\"" + url + "\"]\n");
  if (c.target.exchanges.size() != 1 || c.target.exchanges[0].ws.size() != 1) return {};
  return c.target.exchanges[0].ws[0];
}

TEST(ConfigUrls, SchemesHostsAndDefaultPorts) {
  ExpectEndpointEq(RestUrl("http://example.com"),
                   {"http://example.com", "http", "example.com", 80, false});
  ExpectEndpointEq(RestUrl("https://example.com"),
                   {"https://example.com", "https", "example.com", 443, true});
  ExpectEndpointEq(RestUrl("https://example.com:8443/api/v3?x=1"),
                   {"https://example.com:8443/api/v3?x=1", "https", "example.com", 8443, true});
  ExpectEndpointEq(RestUrl("HTTP://10.0.0.1:8080/"),
                   {"HTTP://10.0.0.1:8080/", "http", "10.0.0.1", 8080, false});
  ExpectEndpointEq(RestUrl("http://[2001:db8::1]"),
                   {"http://[2001:db8::1]", "http", "2001:db8::1", 80, false});
  ExpectEndpointEq(RestUrl("https://[::1]:9443/x"),
                   {"https://[::1]:9443/x", "https", "::1", 9443, true});
  ExpectEndpointEq(WsUrl("ws://stream.example.com"),
                   {"ws://stream.example.com", "ws", "stream.example.com", 80, false});
  ExpectEndpointEq(WsUrl("wss://stream.example.com"),
                   {"wss://stream.example.com", "wss", "stream.example.com", 443, true});
  ExpectEndpointEq(WsUrl("wss://[fd00::5]:9443/ws"),
                   {"wss://[fd00::5]:9443/ws", "wss", "fd00::5", 9443, true});
  ExpectEndpointEq(WsUrl("ws://127.0.0.1:1"), {"ws://127.0.0.1:1", "ws", "127.0.0.1", 1, false});
}

TEST(ConfigUrls, WrongSchemeIsAnError) {
  std::string e = MustFail("target:\n  exchanges:\n    x:\n      rest: [\"wss://a.example\"]\n");
  EXPECT_TRUE(HasPrefix(e,
                        "t.yaml:4:14: target.exchanges.x.rest: bad URL 'wss://a.example': "
                        "scheme 'wss' is not http or https"));
  e = MustFail("target:\n  exchanges:\n    x:\n      ws: [\"https://a.example\"]\n");
  EXPECT_TRUE(HasPrefix(e,
                        "t.yaml:4:12: target.exchanges.x.ws: bad URL 'https://a.example': "
                        "scheme 'https' is not ws or wss"));
  e = MustFail("target:\n  exchanges:\n    x:\n      rest: [\"ftp://a.example\"]\n");
  EXPECT_TRUE(Contains(e, "scheme 'ftp' is not http or https"));
  e = MustFail("target:\n  exchanges:\n    x:\n      rest: [\"a.example:80\"]\n");
  EXPECT_TRUE(Contains(e, "bad URL 'a.example:80'"));
}

TEST(ConfigUrls, BadHostsAndPorts) {
  for (const char* bad : {"http://", "http://:80", "http://a.example:", "http://a.example:0",
                          "http://a.example:65536", "http://a.example:http", "http://2001:db8::1/",
                          "http://[2001:db8::1", "http://[zz::1]:80", "http://999.1.1.1",
                          "http://user:pw@a.example", "http://a example", "http://a$b.example"}) {
    SCOPED_TRACE(bad);
    std::string e =
        MustFail(std::string("target:\n  exchanges:\n    x:\n      rest: [\"") + bad + "\"]\n");
    EXPECT_TRUE(
        HasPrefix(e, std::string("t.yaml:4:14: target.exchanges.x.rest: bad URL '") + bad + "'"));
  }
}

// --- root cgroup -------------------------------------------------------------------------------

TEST(ConfigCgroup, RootCgroupIsRefused) {
  std::vector<std::string> roots = {"/",
                                    "/sys/fs/cgroup",
                                    "/sys/fs/cgroup/",
                                    "//sys//fs/cgroup//",
                                    "/sys/fs/cgroup/unified",
                                    "/sys/fs/cgroup/unified/",
                                    "/sys/fs/cgroup/system.slice/..",
                                    "/sys/fs/cgroup/./"};
  for (const std::string& m : Cgroup2Mounts()) roots.push_back(m);
  for (const std::string& root : roots) {
    SCOPED_TRACE(root);
    std::string e = MustFail("chaos: {}\ntarget:\n  cgroup: \"" + root + "\"\n");
    EXPECT_TRUE(HasPrefix(e, "t.yaml:3:11: target.cgroup " + root +
                                 " is the root cgroup: it holds the whole host; name the engine's "
                                 "own cgroup (e.g. "));
  }
}

TEST(ConfigCgroup, ChildCgroupsAreAccepted) {
  for (const char* ok :
       {"/sys/fs/cgroup/system.slice/engine.service", "/sys/fs/cgroup/system.slice/engine.service/",
        "/sys/fs/cgroup/unified/engine", "/sys/fs/cgroup/mm/../engine"}) {
    SCOPED_TRACE(ok);
    EXPECT_EQ(MustParse(std::string("target:\n  cgroup: \"") + ok + "\"\n").target.cgroup, ok);
  }
}

// --- DumpConfig round trip ---------------------------------------------------------------------

void ExpectRoundTrip(const Config& original) {
  std::string dumped = DumpConfig(original);
  SCOPED_TRACE("dumped:\n" + dumped);
  Result<Config> again = ParseConfig(dumped, "dump.yaml");
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_TRUE(again->warnings.empty()) << JoinLines(again->warnings);
  ExpectConfigEq(*again, original);
  EXPECT_EQ(DumpConfig(*again), dumped);  // stable
}

TEST(ConfigDump, RoundTripOfEveryKey) { ExpectRoundTrip(MustParse(kFull)); }

TEST(ConfigDump, RoundTripOfEveryDistribution) {
  for (const char* d : {"uniform", "normal", "pareto", "paretonormal"}) {
    SCOPED_TRACE(d);
    Config c = MustParse(std::string("netem: {jitter_ms: 3, distribution: ") + d + "}\n");
    EXPECT_TRUE(Contains(DumpConfig(c), std::string("distribution: ") + d));
    ExpectRoundTrip(c);
  }
}

TEST(ConfigDump, RoundTripOfDefaultsAndTheRepoFile) {
  ExpectRoundTrip(Config{});
  Result<Config> repo = LoadConfig(std::string(MMCHAOS_SOURCE_DIR) + "/chaos.yaml");
  ASSERT_TRUE(repo.has_value()) << repo.error().message();
  ExpectRoundTrip(*repo);
}

TEST(ConfigDump, RoundTripOfClampedAndAwkwardValues) {
  Config c = MustParse(R"(chaos:
  net_loss: 0.30000000000000004
  exch_429: 1e-7
  lat_spike_ms: 99999
  clock_skew_ms: -42
  burst_on_sec: 0.01
netem:
  jitter_ms: 99999
  correlation_pct: 12.345678901234567
  reorder_pct: 0.1
  expected_pps: 0
target:
  cgroup: "/sys/fs/cgroup/a b/#c: d"
  netns: "/run/netns/true"
  exchanges:
    "true":
      order_requests: ["GET /x"]
      rest: ["http://h"]
    "a: b": {}
  rollout_percent: 33.333333333333336
  heartbeat_ms: 1
log:
  injections: "/tmp/it's \"quoted\".jsonl"
)");
  EXPECT_EQ(c.warnings.size(), 5u) << JoinLines(c.warnings);
  ExpectRoundTrip(c);
}

TEST(ConfigDump, ShowsEverySectionAndKey) {
  std::string d = DumpConfig(MustParse(kFull));
  for (const char* key : {"chaos:",
                          "enabled: true",
                          "dry_run: false",
                          "net_loss: 0.3",
                          "exch_429: 0.1",
                          "exch_5xx: 0.05",
                          "lat_spike_ms: 250",
                          "ws_lag_ms: 120",
                          "ws_disconnect: 0.01",
                          "dns_flap: 0.2",
                          "clock_skew_ms: -1500",
                          "mem_pressure: medium",
                          "rate_limit_storm: 0.4",
                          "reconcile_mismatch: 0.02",
                          "burst_on_sec: 1.5",
                          "burst_off_sec: 0",
                          "netem:",
                          "jitter_ms: 15",
                          "correlation_pct: 25",
                          "distribution: paretonormal",
                          "reorder_pct: 2.5",
                          "reorder_correlation_pct: 50",
                          "expected_pps: 5000",
                          "limit: 40000",
                          "target:",
                          "cgroup:",
                          "netns:",
                          "interfaces:",
                          "exchanges:",
                          "binance",
                          "https://api.binance.com",
                          "wss://stream.binance.com:9443/ws",
                          "ws://[fd00::2]:8081",
                          "POST /api/v3/order",
                          "dns_ports: [53, 5353]",
                          "rollout_percent: 12.5",
                          "heartbeat_ms: 100",
                          "metrics:",
                          "listen:",
                          "[::1]:9100",
                          "log:",
                          "injections:",
                          "max_events_per_sec: 5000"}) {
    EXPECT_TRUE(Contains(d, key)) << d;
  }
}

// --- LoadConfig --------------------------------------------------------------------------------

TEST(ConfigLoad, MissingFileNamesTheCallAndErrno) {
  Result<Config> r = LoadConfig("/nonexistent/mmchaos/chaos.yaml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().err, ENOENT);
  EXPECT_TRUE(Contains(r.error().call, "/nonexistent/mmchaos/chaos.yaml"));
  EXPECT_FALSE(LoadConfig("/").has_value());  // a directory
}

TEST(ConfigLoad, ErrorsCarryThePath) {
  std::string path =
      ::testing::TempDir() + "mmchaos_config_test_" + std::to_string(getpid()) + ".yaml";
  {
    std::ofstream out(path);
    out << "chaos:\n  net_loss: 0.1\n  bogus: 1\n";
  }
  Result<Config> r = LoadConfig(path);
  unlink(path.c_str());
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(HasPrefix(r.error().call, path + ":3:3: unknown key 'bogus' in chaos"));
}

}  // namespace
}  // namespace mmchaos

namespace mmchaos {
namespace {

TEST(ConfigFaults, StatusAndDnsAnswerParseClampAndRefuse) {
  auto c = ParseConfig("faults:\n  status_5xx: 502\n  dns_answer: nxdomain\n", "f.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->faults.status_5xx, 502);
  EXPECT_EQ(c->faults.dns_answer, "nxdomain");
  auto clamped = ParseConfig("faults:\n  status_5xx: 429\n", "f.yaml");
  ASSERT_TRUE(clamped.has_value());
  EXPECT_EQ(clamped->faults.status_5xx, 500);
  ASSERT_EQ(clamped->warnings.size(), 1u);
  EXPECT_NE(clamped->warnings[0].find("f.yaml:2"), std::string::npos);
  auto bad = ParseConfig("faults:\n  dns_answer: refused\n", "f.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().call.find("f.yaml:2"), std::string::npos);
  EXPECT_NE(bad.error().message().find("expected servfail, nxdomain or timeout, got 'refused'"),
            std::string::npos)
      << bad.error().message();
  auto again = ParseConfig(DumpConfig(*c), "dump");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->faults.dns_answer, "nxdomain");
}

TEST(ConfigFaults, DnsAnswerTimeoutParsesAndRoundTrips) {
  auto c = ParseConfig("faults:\n  dns_answer: timeout\n", "f.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->faults.dns_answer, "timeout");
  auto again = ParseConfig(DumpConfig(*c), "dump");
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_EQ(again->faults.dns_answer, "timeout");
}

TEST(ConfigExchanges, ResolvePinsAddressesForTheUrlsHostNames) {
  Config c = MustParse(kFull);
  ASSERT_EQ(c.target.exchanges.size(), 2u);
  using Pins = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(c.target.exchanges[0].resolve,
            (Pins{{"api.binance.com", {"203.0.113.7", "2001:db8::7"}}}));
  EXPECT_TRUE(c.target.exchanges[1].resolve.empty());
  const std::string head =
      "target:\n  exchanges:\n    x:\n      rest: [\"https://api.x.test\"]\n"
      "      ws: [\"wss://ws.x.test/ws\", \"ws://10.0.0.9:81\"]\n      resolve: ";
  // Duplicates collapse; the ws host counts too.
  EXPECT_EQ(MustParse(head + "{ws.x.test: [10.0.0.1, 10.0.0.1]}\n").target.exchanges[0].resolve,
            (Pins{{"ws.x.test", {"10.0.0.1"}}}));
  EXPECT_TRUE(MustParse(head + "\n").target.exchanges[0].resolve.empty());
  EXPECT_TRUE(Contains(MustFail(head + "{other.test: [10.0.0.1]}\n"),
                       "target.exchanges.x.resolve.other.test: 'other.test' is not the host"));
  EXPECT_TRUE(Contains(MustFail(head + "{10.0.0.9: [10.0.0.1]}\n"), "is an address already"));
  EXPECT_TRUE(Contains(MustFail(head + "{api.x.test: [api2.x.test]}\n"),
                       "'api2.x.test' is not an IPv4 or IPv6 address"));
  EXPECT_TRUE(Contains(MustFail(head + "{api.x.test: []}\n"), "list at least one address"));
  EXPECT_TRUE(Contains(MustFail(head + "[api.x.test]\n"), "expected a map of host name"));
  ExpectRoundTrip(MustParse(head + "{api.x.test: [\"fd00::1\", 10.0.0.1]}\n"));
}

}  // namespace
}  // namespace mmchaos
