// config/schema.cpp: strict YAML reading: number spellings, clamping with warnings, unknown and
// duplicate keys, wrong types, empty lists and maps.

#include "config_test_util.h"

namespace mmchaos {
namespace {

using namespace config_test;

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

TEST(ConfigErrors, UnknownKeyNamesKeySectionAndLine) {
  std::string e = MustFail("chaos:\n  enabled: false\n  net_los: 0.1\n");
  EXPECT_TRUE(HasPrefix(e,
                        "t.yaml:3:3: unknown key 'net_los' in chaos (known: enabled, dry_run, "
                        "net_loss,"));
  EXPECT_TRUE(Contains(e, "burst_off_sec)"));
}

TEST(ConfigErrors, DuplicateKey) {
  std::string e = MustFail("chaos:\n  net_loss: 0.1\n  net_loss: 0.9\n");
  EXPECT_TRUE(HasPrefix(e, "t.yaml:3:3: duplicate key 'net_loss' in chaos (first at line 2)"));
}

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

}  // namespace
}  // namespace mmchaos
