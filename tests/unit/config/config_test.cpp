// config/config.cpp: the document as a whole: defaults, the repo's chaos.yaml, every key, the
// sections' known keys, checks across sections, DumpConfig and LoadConfig.

#include <yaml-cpp/yaml.h>

#include <set>

#include "config_test_util.h"

namespace mmchaos {
namespace {

using namespace config_test;

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

TEST(ConfigParse, EveryKey) {
  Config c = MustParse(kFull);
  EXPECT_TRUE(c.warnings.empty()) << JoinLines(c.warnings);
  ExpectChaosEq(c.chaos, {.enabled = true,
                          .dry_run = false,
                          .net_loss = 0.3,
                          .exch_429 = 0.1,
                          .exch_5xx = 0.05,
                          .lat_spike_ms = 250,
                          .ws_lag_ms = 120,
                          .ws_disconnect = 0.01,
                          .dns_flap = 0.2,
                          .clock_skew_ms = -1500,
                          .mem_pressure = MemPressure::kMedium,
                          .rate_limit_storm = 0.4,
                          .reconcile_mismatch = 0.02,
                          .burst_on_sec = 1.5,
                          .burst_off_sec = 0.0});
  ExpectNetemEq(c.netem, {.jitter_ms = 15,
                          .correlation_pct = 25.0,
                          .distribution = NetemDistribution::kParetoNormal,
                          .reorder_pct = 2.5,
                          .reorder_correlation_pct = 50.0,
                          .expected_pps = 5000,
                          .limit = 40000});

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
       "t.yaml:4:7: unknown key 'rests' in target.exchanges.b (known: rest, ws, order_requests, "
       "resolve)"},
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

// The keys an "unknown key" error lists as known, in order.
std::vector<std::string> KnownKeys(const std::string& yaml) {
  std::string e = MustFail(yaml);
  size_t open = e.find("(known: ");
  size_t close = e.find(')', open);
  EXPECT_NE(open, std::string::npos) << e;
  std::vector<std::string> keys;
  std::stringstream list(e.substr(open + 8, close - open - 8));
  for (std::string key; std::getline(list, key, ',');)
    keys.push_back(key.substr(key.find_first_not_of(' ')));
  return keys;
}

std::vector<std::string> MapKeys(const YAML::Node& map) {
  std::vector<std::string> keys;
  for (const auto& kv : map) keys.push_back(kv.first.as<std::string>());
  return keys;
}

// Parse, the known-key check and the dump come from one description of each section: every key
// the parser accepts is in the dump, in the same order, and nothing else is.
TEST(ConfigDump, DumpsExactlyTheKeysTheParserAccepts) {
  const YAML::Node dump = YAML::Load(
      DumpConfig(MustParse(std::string(kFull) + "rollback_triggers:\n"
                                                "  - {metric: p95_ms, op: \">\", value: 1}\n")));
  std::vector<std::string> top = MapKeys(dump);
  std::vector<std::string> known = KnownKeys("zz_unknown: 1\n");
  EXPECT_EQ(std::multiset<std::string>(top.begin(), top.end()),
            std::multiset<std::string>(known.begin(), known.end()));
  for (const std::string& section : top) {
    SCOPED_TRACE(section);
    if (section == "rollback_triggers") {
      EXPECT_EQ(MapKeys(dump[section][0]), KnownKeys("rollback_triggers: [{zz_unknown: 1}]\n"));
      continue;
    }
    EXPECT_EQ(MapKeys(dump[section]), KnownKeys(section + ": {zz_unknown: 1}\n"));
  }
  EXPECT_EQ(MapKeys(dump["target"]["exchanges"]["binance"]),
            KnownKeys("target: {exchanges: {x: {zz_unknown: 1}}}\n"));
}

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
