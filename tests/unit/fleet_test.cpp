// fleet.burst_align and fleet.seed: hosts started at different times, booted at different
// times, burst together on UTC boundaries; a seeded run salts the rollout hash the same way
// everywhere.
#include "controller/fleet.h"

#include <gtest/gtest.h>

#include "controller/kernel_config.h"
#include "schedule.h"

namespace mmchaos {
namespace {

constexpr uint64_t kSec = 1000000000ULL;

// A host: its monotonic clock is the real-time clock minus its boot time.
struct Host {
  uint64_t boot_real;
  uint64_t Mono(uint64_t real) const { return real - boot_real; }
};

Config Aligned(double on, double off) {
  Config c;
  c.chaos.burst_on_sec = on;
  c.chaos.burst_off_sec = off;
  c.fleet.burst_align = true;
  return c;
}

TEST(Fleet, HostsStartedApartBurstTogetherOnUtcBoundaries) {
  const Config cfg = Aligned(30, 90);        // a 2-minute cycle
  const uint64_t t0 = 1796000000ULL * kSec;  // a real time, 2026-12
  const Host a{t0 - 86400 * kSec}, b{t0 - 3 * 3600 * kSec + 123456789};
  const uint64_t start_a = t0 + 17 * kSec + 250000000, start_b = t0 + 501 * kSec + 999;
  const uint64_t ea = ScheduleEpoch(cfg, a.Mono(start_a), start_a);
  const uint64_t eb = ScheduleEpoch(cfg, b.Mono(start_b), start_b);
  const uint64_t on = 30 * kSec, off = 90 * kSec;
  for (uint64_t real = start_b; real < start_b + 600 * kSec; real += 700000000) {
    mmc_phase pa = mmc_schedule_phase(ea, on, off, a.Mono(real));
    mmc_phase pb = mmc_schedule_phase(eb, on, off, b.Mono(real));
    EXPECT_EQ(pa.on, pb.on) << "at real " << real;
    EXPECT_EQ(pa.remaining_ns, pb.remaining_ns);
    // A burst is on exactly in the first 30 s of every UTC 2-minute boundary.
    EXPECT_EQ(pa.on, (real / kSec) % 120 < 30 ? 1u : 0u);
  }
}

TEST(Fleet, YoungMonotonicClockStartsAtTheNextBoundary) {
  // Booted 10 s ago, 50 s into a 60 s cycle: the first burst starts 10 s from now.
  const uint64_t real = 1796000030ULL * kSec;
  const uint64_t mono = 10 * kSec;
  const uint64_t epoch = AlignedEpoch(mono, real, 60 * kSec);
  EXPECT_EQ(epoch, 20 * kSec);
  mmc_phase p = mmc_schedule_phase(epoch, 5 * kSec, 55 * kSec, mono);
  EXPECT_EQ(p.on, 0u);
  EXPECT_EQ(p.remaining_ns, 10 * kSec);
}

TEST(Fleet, WithoutAlignOrWithoutOffPhaseTheEpochIsNow) {
  Config c = Aligned(30, 0);  // always on: nothing to align
  EXPECT_EQ(ScheduleEpoch(c, 777, 1796000000ULL * kSec + 5), 777u);
  c = Aligned(30, 90);
  c.fleet.burst_align = false;
  EXPECT_EQ(ScheduleEpoch(c, 777, 1796000000ULL * kSec + 5), 777u);
}

TEST(Fleet, SeedIsTheConfiguredOneOrFreshPerRun) {
  Config c;
  c.fleet.seed = 424242;
  EXPECT_EQ(RunSeed(c), 424242u);
  EXPECT_EQ(ToKernelConfig(c, 0, RunSeed(c)).seed, 424242u);
  c.fleet.seed = 0;
  // Random: three draws are not all equal (chance 2^-64).
  const uint32_t a = RunSeed(c), b = RunSeed(c), d = RunSeed(c);
  EXPECT_FALSE(a == b && b == d);
}

TEST(Fleet, ConfigSectionParsesChecksAndRoundTrips) {
  auto c = ParseConfig("fleet:\n  burst_align: true\n  seed: 7\ntarget:\n  unit: engine.service\n",
                       "t.yaml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->fleet.burst_align);
  EXPECT_EQ(c->fleet.seed, 7);
  EXPECT_EQ(c->target.unit, "engine.service");
  auto again = ParseConfig(DumpConfig(*c), "dump");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_TRUE(again->fleet.burst_align);
  EXPECT_EQ(again->fleet.seed, 7);
  EXPECT_EQ(again->target.unit, "engine.service");
  EXPECT_FALSE(ParseConfig("fleet:\n  burst_align: maybe\n", "t.yaml"));
  EXPECT_FALSE(ParseConfig("fleet:\n  seeds: 1\n", "t.yaml"));
  auto clamped = ParseConfig("fleet:\n  seed: -5\n", "t.yaml");
  ASSERT_TRUE(clamped);
  EXPECT_EQ(clamped->fleet.seed, 0);
  EXPECT_FALSE(clamped->warnings.empty());
}

}  // namespace
}  // namespace mmchaos
