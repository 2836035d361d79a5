// clock_skew's pure parts (bpf/clock.h): clock classes, the shift of a (sec, nsec) time and the
// per-read decision the preload and the controller share.
#include "clock.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <tuple>

#include "clock/clock_skew.h"
#include "clock/clock_state.h"
#include "clock/clock_uprobe.h"
#include "config/config.h"
#include "uprobe/elf_symbol.h"

namespace {

constexpr __s64 kSec = 1000000000LL;

TEST(ClockMath, ClassesFollowLinuxClockIds) {
  EXPECT_EQ(mmc_clockid_class(0), MMC_CLOCK_REALTIME);   // CLOCK_REALTIME
  EXPECT_EQ(mmc_clockid_class(5), MMC_CLOCK_REALTIME);   // _COARSE
  EXPECT_EQ(mmc_clockid_class(11), MMC_CLOCK_REALTIME);  // CLOCK_TAI
  EXPECT_EQ(mmc_clockid_class(1), MMC_CLOCK_MONOTONIC);
  EXPECT_EQ(mmc_clockid_class(4), MMC_CLOCK_MONOTONIC);  // _RAW
  EXPECT_EQ(mmc_clockid_class(7), MMC_CLOCK_MONOTONIC);  // CLOCK_BOOTTIME
  EXPECT_EQ(mmc_clockid_class(2), 0u);                   // process CPU time: never
  EXPECT_EQ(mmc_clockid_class(3), 0u);                   // thread CPU time: never
  EXPECT_EQ(mmc_clockid_class(-6), 0u);                  // a dynamic (fd) clock
}

TEST(ClockMath, ShiftCarriesAndBorrowsNanoseconds) {
  __s64 s = 100, ns = 900000000;
  mmc_clock_shift(&s, &ns, 250000000);  // +250 ms
  EXPECT_EQ(s, 101);
  EXPECT_EQ(ns, 150000000);
  mmc_clock_shift(&s, &ns, -250000000);
  EXPECT_EQ(s, 100);
  EXPECT_EQ(ns, 900000000);
  s = 100, ns = 100;
  mmc_clock_shift(&s, &ns, -1500 * 1000000LL);  // -1.5 s
  EXPECT_EQ(s, 98);
  EXPECT_EQ(ns, 500000100);
  s = 1795760000, ns = 0;
  mmc_clock_shift(&s, &ns, -3600 * kSec);  // the config's bound
  EXPECT_EQ(s, 1795760000 - 3600);
  EXPECT_EQ(ns, 0);
}

TEST(ClockMath, ShiftNeverGoesBeforeTheClocksOrigin) {
  __s64 s = 2, ns = 0;
  mmc_clock_shift(&s, &ns, -5 * kSec);
  EXPECT_EQ(s, 0);
  EXPECT_EQ(ns, 0);
}

mmc_clock_view Armed() {
  mmc_clock_view v{};
  v.armed = 1;
  v.clocks = MMC_CLOCK_REALTIME;
  v.skew_ns = 5 * kSec;
  v.epoch_ns = 100 * kSec;
  v.on_ns = 1 * kSec;
  v.off_ns = 1 * kSec;
  v.heartbeat_timeout_ns = 200000000;  // 2 x 100 ms
  v.rollout_threshold = MMC_P_ONE;
  return v;
}

TEST(ClockDecide, FollowsTheBurstSchedule) {
  mmc_clock_view v = Armed();
  for (__u64 i = 0; i < 5; ++i) {
    __u64 on = v.epoch_ns + i * 2 * kSec + kSec / 2, off = on + kSec;
    v.heartbeat_ns = on;
    EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, on), MMC_CLOCK_LIVE) << i;
    v.heartbeat_ns = off;
    EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, off), MMC_CLOCK_KEEP) << i;
  }
  v.heartbeat_ns = v.epoch_ns - kSec;
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, v.epoch_ns - kSec), MMC_CLOCK_KEEP);
}

TEST(ClockDecide, OnlyConfiguredClocksWhileArmed) {
  mmc_clock_view v = Armed();
  const __u64 now = v.epoch_ns + 1;
  v.heartbeat_ns = now;
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_MONOTONIC, 1, now), MMC_CLOCK_KEEP);
  EXPECT_EQ(mmc_clock_decide(&v, 0, 1, now), MMC_CLOCK_KEEP);
  v.clocks |= MMC_CLOCK_MONOTONIC;
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_MONOTONIC, 1, now), MMC_CLOCK_LIVE);
  v.armed = 0;
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, now), MMC_CLOCK_KEEP);
  v.armed = 1;
  v.skew_ns = 0;
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, now), MMC_CLOCK_KEEP);
}

TEST(ClockDecide, ShadowDecidesTheSameAndNeverSkews) {
  mmc_clock_view v = Armed();
  v.dry_run = 1;
  const __u64 on = v.epoch_ns + 1, off = v.epoch_ns + 3 * kSec / 2;
  v.heartbeat_ns = on;
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, on), MMC_CLOCK_SHADOW);
  v.heartbeat_ns = off;
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, off), MMC_CLOCK_KEEP);
}

TEST(ClockDecide, StopsTwoHeartbeatsAfterTheControllerDies) {
  mmc_clock_view v = Armed();
  v.off_ns = 0;  // always on
  v.heartbeat_ns = v.epoch_ns + 10 * kSec;
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, v.heartbeat_ns + 200000000),
            MMC_CLOCK_LIVE);
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, v.heartbeat_ns + 200000001),
            MMC_CLOCK_KEEP);
  // A beat written after the reader took its time is fresh, not 2^64 ns old.
  EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, 1, v.heartbeat_ns - 1000), MMC_CLOCK_LIVE);
}

TEST(ClockDecide, RolloutPicksWholeProcesses) {
  mmc_clock_view v = Armed();
  v.off_ns = 0;
  v.heartbeat_ns = v.epoch_ns + kSec;
  v.rollout_threshold = MMC_P_ONE / 10;  // 10%
  v.seed = 42;
  int in = 0;
  for (__u64 pid = 1; pid <= 10000; ++pid) {
    auto first = mmc_clock_decide(&v, MMC_CLOCK_REALTIME, pid, v.heartbeat_ns);
    // The same process gets the same answer on every read.
    EXPECT_EQ(mmc_clock_decide(&v, MMC_CLOCK_REALTIME, pid, v.heartbeat_ns + 1000), first);
    in += first == MMC_CLOCK_LIVE;
  }
  // 99.9% binomial interval of 10% of 10000: 1000 +- 3.29 * 30.
  EXPECT_NEAR(in, 1000, 99);
}

TEST(ClockConfig, ClocksAndMechanismParseAndMapToTheMask) {
  auto c = mmchaos::ParseConfig(
      "faults:\n  clock_skew_clocks: [realtime, monotonic]\n  clock_skew_mechanism: preload\n",
      "t.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(mmchaos::ClockMask(*c), MMC_CLOCK_REALTIME | MMC_CLOCK_MONOTONIC);
  EXPECT_EQ(c->faults.clock_skew_mechanism, "preload");
  mmchaos::Config d;
  EXPECT_EQ(mmchaos::ClockMask(d), MMC_CLOCK_REALTIME);  // the default: wall clock only
  EXPECT_EQ(d.faults.clock_skew_mechanism, "auto");
  auto bad = mmchaos::ParseConfig("faults:\n  clock_skew_clocks: [cpu]\n", "t.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("t.yaml:2"), std::string::npos) << bad.error().message();
  bad = mmchaos::ParseConfig("faults:\n  clock_skew_mechanism: ptrace\n", "t.yaml");
  ASSERT_FALSE(bad.has_value());
}

}  // namespace

namespace {

// The uprobe's attach point: the offset found in libc's file holds the very bytes the C library's
// clock_gettime runs (compared with the mapped code this process calls).
TEST(ClockUprobeTarget, OffsetOfClockGettimeIsTheMappedFunction) {
  const std::string libc = mmchaos::HostLibrary("libc.so.6");
  ASSERT_FALSE(libc.empty());
  auto off = mmchaos::FuncOffset(libc, "clock_gettime");
  ASSERT_TRUE(off.has_value()) << off.error().message();
  std::ifstream in(libc, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(*off));
  unsigned char file[16] = {};
  in.read(reinterpret_cast<char*>(file), sizeof(file));
  ASSERT_TRUE(in.good());
  void* fn = dlsym(RTLD_DEFAULT, "clock_gettime");
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(std::memcmp(fn, file, sizeof(file)), 0);
  EXPECT_FALSE(mmchaos::FuncOffset(libc, "no_such_function_here").has_value());
}

}  // namespace

// The clock and TLS pages take the same schedule fields from the kernel config.
TEST(SharedRecordFields, BothPagesTakeTheScheduleTheSameWay) {
  mmc_config k{};
  k.armed = 1;
  k.dry_run = 1;
  k.seed = 77;
  k.epoch_ns = 5;
  k.on_ns = 2000000000ULL;
  k.off_ns = 8000000000ULL;
  k.rollout_threshold = 1ULL << 31;
  mmc_clock_view v{};
  mmc_tls_state t{};
  mmchaos::FillCommonFields(v, k, 250);
  mmchaos::FillCommonFields(t, k, 250);
  for (auto [armed, dry, seed, epoch, on, off, roll, hb] :
       {std::tuple{v.armed, v.dry_run, v.seed, v.epoch_ns, v.on_ns, v.off_ns, v.rollout_threshold,
                   v.heartbeat_timeout_ns},
        std::tuple{t.armed, t.dry_run, t.seed, t.epoch_ns, t.on_ns, t.off_ns, t.rollout_threshold,
                   t.heartbeat_timeout_ns}}) {
    EXPECT_EQ(armed, 1u);
    EXPECT_EQ(dry, 1u);
    EXPECT_EQ(seed, 77u);
    EXPECT_EQ(epoch, 5u);
    EXPECT_EQ(on, 2000000000ULL);
    EXPECT_EQ(off, 8000000000ULL);
    EXPECT_EQ(roll, 1ULL << 31);
    EXPECT_EQ(hb, 500000000ULL) << "two heartbeat periods";
  }
}
