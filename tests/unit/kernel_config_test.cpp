// chaos.yaml -> the record the kernel decides by.
#include "controller/kernel_config.h"

#include <gtest/gtest.h>

namespace mmchaos {
namespace {

TEST(KernelConfig, ProbabilityThresholdsCoverTheEnds) {
  EXPECT_EQ(ProbabilityThreshold(0), 0u);
  EXPECT_EQ(ProbabilityThreshold(-1), 0u);
  EXPECT_EQ(ProbabilityThreshold(1), MMC_P_ONE);
  EXPECT_GT(ProbabilityThreshold(1), 0xffffffffULL) << "1.0 must beat every 32-bit draw";
  EXPECT_EQ(ProbabilityThreshold(0.5), MMC_P_ONE / 2);
  EXPECT_EQ(ProbabilityThreshold(0.3), 1288490189u);
}

TEST(KernelConfig, CarriesScheduleModesAndRollout) {
  Config c;
  c.chaos.enabled = true;
  c.chaos.dry_run = false;
  c.chaos.net_loss = 0.25;
  c.chaos.burst_on_sec = 1.5;
  c.chaos.burst_off_sec = 0;
  c.target.rollout_percent = 10;
  c.log.max_events_per_sec = 7;
  mmc_config k = ToKernelConfig(c, 42, 99);
  EXPECT_EQ(k.epoch_ns, 42u);
  EXPECT_EQ(k.on_ns, 1500000000u);
  EXPECT_EQ(k.off_ns, 0u);
  EXPECT_EQ(k.armed, 1u);
  EXPECT_EQ(k.dry_run, 0u);
  EXPECT_EQ(k.seed, 99u);
  EXPECT_EQ(k.events_per_sec, 7u);
  EXPECT_EQ(k.prob[MMC_SCN_NET_LOSS], MMC_P_ONE / 4);
  EXPECT_EQ(k.rollout_threshold, ProbabilityThreshold(0.1));
}

TEST(KernelConfig, SafeDefaultsAreDisarmedShadow) {
  mmc_config k = ToKernelConfig(Config{}, 0, 0);
  EXPECT_EQ(k.armed, 0u);
  EXPECT_EQ(k.dry_run, 1u);
  for (auto p : k.prob) EXPECT_EQ(p, 0u);
}

TEST(KernelConfig, ScenariosWithoutADataPlaneAreRefusedByName) {
  Config c;
  EXPECT_TRUE(UnsupportedScenarios(c).empty());
  c.chaos.net_loss = 0.5;
  EXPECT_TRUE(UnsupportedScenarios(c).empty());
  c.chaos.exch_429 = 0.1;
  c.chaos.mem_pressure = MemPressure::kHigh;
  auto u = UnsupportedScenarios(c);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_NE(u[0].find("chaos.exch_429"), std::string::npos);
  EXPECT_NE(u[1].find("chaos.mem_pressure"), std::string::npos);
}

}  // namespace
}  // namespace mmchaos
