// The burst duty cycle: the same function the BPF data plane runs per packet.
#include "schedule.h"

#include <gtest/gtest.h>

namespace {

constexpr __u64 kSec = 1000000000ULL;

TEST(Schedule, StartsWithAnOnPhaseAtTheEpoch) {
  auto p = mmc_schedule_phase(100 * kSec, 30 * kSec, 90 * kSec, 100 * kSec);
  EXPECT_EQ(p.on, 1u);
  EXPECT_EQ(p.burst, 0u);
  EXPECT_EQ(p.remaining_ns, 30 * kSec);
}

TEST(Schedule, AlternatesOnAndOffWithThePeriod) {
  const __u64 e = 5 * kSec, on = 1 * kSec, off = 1 * kSec;
  for (__u64 i = 0; i < 10; ++i) {
    auto a = mmc_schedule_phase(e, on, off, e + i * 2 * kSec + kSec / 2);
    auto b = mmc_schedule_phase(e, on, off, e + i * 2 * kSec + 3 * kSec / 2);
    EXPECT_EQ(a.on, 1u) << i;
    EXPECT_EQ(b.on, 0u) << i;
    EXPECT_EQ(a.burst, i);
    EXPECT_EQ(b.burst, i);
    EXPECT_EQ(a.remaining_ns, kSec / 2);
    EXPECT_EQ(b.remaining_ns, kSec / 2);
  }
}

TEST(Schedule, EdgesBelongToTheNextPhase) {
  const __u64 on = 30 * kSec, off = 90 * kSec;
  EXPECT_EQ(mmc_schedule_phase(0, on, off, on - 1).on, 1u);
  EXPECT_EQ(mmc_schedule_phase(0, on, off, on).on, 0u);
  EXPECT_EQ(mmc_schedule_phase(0, on, off, on + off - 1).on, 0u);
  auto next = mmc_schedule_phase(0, on, off, on + off);
  EXPECT_EQ(next.on, 1u);
  EXPECT_EQ(next.burst, 1u);
}

TEST(Schedule, OffZeroIsAlwaysOn) {
  auto p = mmc_schedule_phase(0, 30 * kSec, 0, 1000000 * kSec);
  EXPECT_EQ(p.on, 1u);
  EXPECT_EQ(p.burst, 0u);
  EXPECT_EQ(p.remaining_ns, ~0ULL);
}

TEST(Schedule, NothingBeforeTheEpochOrWithNoOnTime) {
  auto before = mmc_schedule_phase(10 * kSec, kSec, kSec, 9 * kSec);
  EXPECT_EQ(before.on, 0u);
  EXPECT_EQ(before.remaining_ns, kSec);
  EXPECT_EQ(mmc_schedule_phase(0, 0, kSec, 5 * kSec).on, 0u);
}

TEST(Schedule, DutyCycleOverManyPeriodsMatchesOnShare) {
  const __u64 on = 3 * kSec, off = 7 * kSec;
  int on_samples = 0, total = 0;
  for (__u64 t = 0; t < 1000 * kSec; t += kSec / 10, ++total)
    on_samples += mmc_schedule_phase(0, on, off, t).on;
  EXPECT_EQ(on_samples * 10, total * 3);
}

}  // namespace
