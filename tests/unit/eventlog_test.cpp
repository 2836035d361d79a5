// Injection-log records as JSON lines (golden).
#include "eventlog/eventlog.h"

#include <gtest/gtest.h>

namespace mmchaos {
namespace {

TEST(EventLog, RecordIsOneGoldenJsonLine) {
  mmc_event e{};
  e.ts_ns = 1000;
  e.flow = 77;
  e.duration_ns = 250000000;
  e.intensity = MMC_P_ONE / 4;
  e.scenario = MMC_SCN_NET_LOSS;
  e.reason = MMC_REASON_PROBABILITY;
  e.mode = MMC_MODE_SHADOW;
  e.direction = MMC_DIR_INGRESS;
  EXPECT_EQ(
      EventJson(e, 1700000000000000000LL),
      R"({"ts_unix_ns":1700000000000001000,"scenario":"net_loss","reason_code":"probability",)"
      R"("mode":"shadow","direction":"ingress","intensity":0.25,"duration_ms":250.0,"flow":77})");
}

TEST(EventLog, AlwaysOnScheduleHasNoDuration) {
  mmc_event e{};
  e.duration_ns = ~0ULL;
  e.reason = MMC_REASON_PROBABILITY;
  EXPECT_NE(EventJson(e, 0).find(R"("duration_ms":null)"), std::string::npos);
}

}  // namespace
}  // namespace mmchaos

namespace mmchaos {
namespace {

// Every reason the data plane writes has its own code: a storm's responses, and a live decision
// whose action did not take effect.
TEST(EventLog, EveryKernelReasonHasItsCode) {
  mmc_event e{};
  e.scenario = MMC_SCN_RATE_LIMIT_STORM;
  e.reason = MMC_REASON_STORM;
  EXPECT_NE(EventJson(e, 0).find(R"("scenario":"rate_limit_storm","reason_code":"storm_burst")"),
            std::string::npos)
      << EventJson(e, 0);
  e.reason = MMC_REASON_ACTION_FAILED;
  EXPECT_NE(EventJson(e, 0).find(R"("reason_code":"action_failed")"), std::string::npos);
  for (uint32_t r : {MMC_REASON_PROBABILITY, MMC_REASON_STORM, MMC_REASON_ACTION_FAILED}) {
    e.reason = r;
    EXPECT_EQ(EventJson(e, 0).find("unknown"), std::string::npos) << r;
  }
}

}  // namespace
}  // namespace mmchaos
