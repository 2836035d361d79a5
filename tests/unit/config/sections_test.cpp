// config/sections.cpp: the flat sections (chaos, netem, faults, metrics, log, acceptance,
// experiment, fleet) and their key-specific checks.

#include "config_test_util.h"

namespace mmchaos {
namespace {

using namespace config_test;

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

TEST(ConfigParse, MetricsListenForms) {
  for (const char* ok : {"127.0.0.1:9464", "0.0.0.0:1", "localhost:65535", "[::1]:9464",
                         "[::]:9464", "metrics.internal:9100"}) {
    SCOPED_TRACE(ok);
    EXPECT_EQ(MustParse(std::string("metrics: {listen: \"") + ok + "\"}").metrics.listen, ok);
  }
}

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

}  // namespace
}  // namespace mmchaos
