// fleet.burst_align end to end: two controllers on two cgroups, started apart, report their
// bursts on the same UTC boundaries (what two canary hosts with synchronised clocks do).
#include <signal.h>
#include <time.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "harness.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

double RealSec() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

TEST(BurstAlign, ControllersStartedApartBurstOnTheSameUtcBoundaries) {
  TempDir dir;
  Cgroup a{"fleet-a"}, b{"fleet-b"};
  const ChaosKnobs k{.net_loss = 0.1, .dry_run = true, .on_sec = 2, .off_sec = 2};
  const std::string align = "fleet:\n  burst_align: true\n";
  Controller ca(
      dir.Write("a.yaml", ConfigYaml(a.path(), k, TestPort(1), dir.path() + "/a.jsonl") + align));
  ASSERT_TRUE(ca.WaitFor("attached to", 10s)) << ca.output();
  std::this_thread::sleep_for(1300ms);  // the second host starts mid-cycle
  Controller cb(
      dir.Write("b.yaml", ConfigYaml(b.path(), k, TestPort(2), dir.path() + "/b.jsonl") + align));
  ASSERT_TRUE(cb.WaitFor("attached to", 10s)) << cb.output();
  int judged = 0, on = 0;
  for (auto end = std::chrono::steady_clock::now() + 8s; std::chrono::steady_clock::now() < end;
       std::this_thread::sleep_for(130ms)) {
    const double t0 = RealSec();
    const double pa = Scraped(Scrape(TestPort(1)), "mm_chaos_burst_phase", "");
    const double pb = Scraped(Scrape(TestPort(2)), "mm_chaos_burst_phase", "");
    const double t1 = RealSec();
    // On while UTC seconds mod 4 < 2; samples within 50 ms of an edge are not judged.
    const double ph0 = std::fmod(t0, 4.0), ph1 = std::fmod(t1, 4.0);
    const bool near_edge = t1 - t0 > 0.05 || ph0 < 0.05 || std::abs(ph0 - 2) < 0.05 || ph1 < ph0 ||
                           (ph0 < 2 && ph1 >= 2);
    if (near_edge) continue;
    ++judged;
    const double want = ph0 < 2 ? 1 : 0;
    on += want == 1;
    EXPECT_EQ(pa, want) << "controller a at UTC phase " << ph0;
    EXPECT_EQ(pb, want) << "controller b at UTC phase " << ph0;
  }
  EXPECT_GE(judged, 30);
  EXPECT_GT(on, 5);
  EXPECT_LT(on, judged - 5);
}

// fleet.seed salts the rollout hash and the storm's draw: it is what the kernel decides by from
// the start, a reload with a new seed applies it, and a reload that leaves it (set or drawn) keeps
// the run's decisions as they were.
TEST(FleetSeed, AppliesAtStartAndOnReloadWhenChanged) {
  TempDir dir;
  Cgroup cg{"fleet-seed"};
  const ChaosKnobs k{.net_loss = 0.1, .dry_run = true};
  auto yaml = [&](const std::string& fleet) {
    return dir.Write("c.yaml",
                     ConfigYaml(cg.path(), k, TestPort(1), dir.path() + "/i.jsonl") + fleet);
  };
  auto seed_now = [&] { return StatusFor(cg.path()).value("seed", uint64_t{0}); };
  Controller ctl(yaml("fleet:\n  seed: 7\n"));
  ASSERT_TRUE(ctl.WaitFor("attached to", 10s)) << ctl.output();
  EXPECT_EQ(seed_now(), 7u) << Status().dump();
  yaml("fleet:\n  seed: 4242\n");
  ctl.Signal(SIGHUP);
  ASSERT_TRUE(ctl.WaitFor("SIGHUP: config re-read", 10s)) << ctl.output();
  EXPECT_EQ(seed_now(), 4242u) << ctl.output();
  EXPECT_NE(ctl.output().find("new fleet.seed"), std::string::npos) << ctl.output();
  yaml("fleet:\n  seed: 4242\n");  // unchanged: the same salt
  ctl.Signal(SIGHUP);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(seed_now(), 4242u) << ctl.output();
}

TEST(FleetSeed, ADrawnSeedSurvivesAReloadThatLeavesItUnset) {
  TempDir dir;
  Cgroup cg{"fleet-drawn"};
  const ChaosKnobs k{.net_loss = 0.1, .dry_run = true};
  const std::string path =
      dir.Write("c.yaml", ConfigYaml(cg.path(), k, TestPort(1), dir.path() + "/i.jsonl"));
  Controller ctl(path);
  ASSERT_TRUE(ctl.WaitFor("attached to", 10s)) << ctl.output();
  const uint64_t drawn = StatusFor(cg.path()).value("seed", uint64_t{0});
  ctl.Signal(SIGHUP);
  ASSERT_TRUE(ctl.WaitFor("SIGHUP: config re-read", 10s)) << ctl.output();
  EXPECT_EQ(StatusFor(cg.path()).value("seed", uint64_t{0}), drawn)
      << "a reload does not re-draw the run's seed";
  EXPECT_EQ(ctl.output().find("new fleet.seed"), std::string::npos) << ctl.output();
}

}  // namespace
}  // namespace mmchaos::testing
