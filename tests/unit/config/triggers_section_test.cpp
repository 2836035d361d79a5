// config/triggers_section.cpp: rollback_triggers: each condition's keys, generated names,
// duplicates.

#include "config_test_util.h"

namespace mmchaos {
namespace {

using namespace config_test;

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

}  // namespace
}  // namespace mmchaos
