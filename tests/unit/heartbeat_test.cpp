// The controller's dead-man (bpf/heartbeat.h), as the data plane and the clock preload both run
// it, and which configs arm it.
#include "heartbeat.h"

#include <gtest/gtest.h>

#include "clock.h"
#include "controller/kernel_config.h"

namespace mmchaos {
namespace {

constexpr __u64 kMs = 1000000ULL;
constexpr __u64 kTimeout = 2 * 250 * kMs;  // two periods of the default heartbeat_ms

TEST(Heartbeat, FreshUpToTheTimeoutAndDeadAfter) {
  const __u64 hb = 1000 * 1000 * kMs;
  EXPECT_TRUE(mmc_heartbeat_fresh(hb, kTimeout, hb));
  EXPECT_TRUE(mmc_heartbeat_fresh(hb, kTimeout, hb + kTimeout));
  EXPECT_FALSE(mmc_heartbeat_fresh(hb, kTimeout, hb + kTimeout + 1));
  EXPECT_FALSE(mmc_heartbeat_fresh(0, kTimeout, hb)) << "never written: dead";
}

// The data plane reads the coarse clock (up to a jiffy, 4 ms at HZ=250, behind the precise
// clock the controller beats with): right after a beat, now is behind the heartbeat.
TEST(Heartbeat, AheadOfNowIsFreshNotWrapped) {
  const __u64 hb = 1000 * 1000 * kMs;
  EXPECT_TRUE(mmc_heartbeat_fresh(hb, kTimeout, hb - 1));
  EXPECT_TRUE(mmc_heartbeat_fresh(hb, kTimeout, hb - 4 * kMs));
  EXPECT_TRUE(mmc_heartbeat_fresh(~0ULL, kTimeout, 1));
}

TEST(Heartbeat, ZeroTimeoutNeverExpires) { EXPECT_TRUE(mmc_heartbeat_fresh(0, 0, ~0ULL)); }

// The preload decides through the same check.
TEST(Heartbeat, ClockDecisionFollowsTheSharedCheck) {
  mmc_clock_view v{};
  v.armed = 1;
  v.clocks = MMC_CLOCK_REALTIME;
  v.skew_ns = 5000 * static_cast<__s64>(kMs);
  v.on_ns = 1;  // off_ns 0: always on from epoch 0
  v.rollout_threshold = 1ULL << 32;
  v.heartbeat_timeout_ns = kTimeout;
  v.heartbeat_ns = 1000 * 1000 * kMs;
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, v.heartbeat_ns - 3 * kMs), MMC_CLOCK_LIVE);
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, v.heartbeat_ns + kTimeout + 1),
            MMC_CLOCK_KEEP);
}

// Every scenario that runs in the tc hook arms the dead-man: without tcx links (6.1) the hook is
// a filter that outlives a killed controller. Cgroup-only runs need none (their links die with
// the process).
TEST(Heartbeat, ArmedForEveryTcScenario) {
  auto armed = [](void (*set)(Config&)) {
    Config c;
    c.target.heartbeat_ms = 100;
    c.target.interfaces = {"eth1"};
    set(c);
    return ToKernelConfig(c, 0, 0).heartbeat_timeout_ns;
  };
  const __u64 two_beats = 200 * kMs;
  EXPECT_EQ(armed([](Config& c) { c.chaos.exch_429 = 1; }), two_beats);
  EXPECT_EQ(armed([](Config& c) { c.chaos.exch_5xx = 1; }), two_beats);
  EXPECT_EQ(armed([](Config& c) { c.chaos.rate_limit_storm = 1; }), two_beats);
  EXPECT_EQ(armed([](Config& c) { c.chaos.ws_disconnect = 1; }), two_beats);
  EXPECT_EQ(armed([](Config& c) { c.chaos.dns_flap = 1; }), two_beats);
  EXPECT_EQ(armed([](Config& c) { c.chaos.reconcile_mismatch = 1; }), two_beats);
  EXPECT_EQ(armed([](Config& c) { c.chaos.lat_spike_ms = 10; }), two_beats);
  EXPECT_EQ(armed([](Config& c) { c.chaos.ws_lag_ms = 10; }), two_beats);
  EXPECT_EQ(armed([](Config& c) { c.chaos.net_loss = 1; }), 0u);
}

}  // namespace
}  // namespace mmchaos
