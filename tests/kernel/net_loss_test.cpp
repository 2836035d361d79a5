// net_loss for real: UDP probes between two namespaces from processes in the target cgroup and
// in a sibling cgroup, with mmchaos run attached to the target.
#include <signal.h>
#include <sys/socket.h>

#include <chrono>

#include "harness.h"
#include "traffic.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;
// 5000 probes at p = 0.3: the 99.9% interval is +-107 losses (+-2.1%), tight enough, and short
// under qemu's emulation, where the sender cannot keep a faster pace anyway.
constexpr uint32_t kProbes = 5000;
constexpr uint32_t kGapUs = 200;  // 5k probes/s: one second of traffic per direction

struct Scene {
  Topology topo;
  Cgroup target{"target"};
  Cgroup sibling{"sibling"};
  TempDir dir;
  uint16_t port = TestPort();

  std::unique_ptr<Controller> Start(const ChaosKnobs& k, std::vector<std::string> extra = {}) {
    auto cfg = dir.Write(
        "chaos.yaml", ConfigYaml(target.path(), k, TestPort(1), dir.path() + "/injections.jsonl"));
    auto c = std::make_unique<Controller>(cfg, extra);
    EXPECT_TRUE(c->WaitFor("attached to", 10s)) << c->output();
    return c;
  }

  // Probes from a process in cg to the exchange side; returns the sink.
  std::unique_ptr<ProbeSink> SendFrom(const Cgroup& cg, uint32_t n, uint32_t gap_us,
                                      uint16_t p = 0) {
    uint16_t dport = p ? p : port;
    auto sink = std::make_unique<ProbeSink>(SocketIn(topo.exchange, AF_INET, SOCK_DGRAM),
                                            topo.exchange_ip, dport, n);
    std::string ip = topo.exchange_ip;
    Child sender(cg, topo.engine, [&] { return SendProbes(ip.c_str(), dport, n, gap_us); });
    EXPECT_EQ(sender.Wait(), 0);
    sink->Drain();
    return sink;
  }
};

TEST(NetLoss, EgressLossInBinomialIntervalAndSiblingLosesNothing) {
  Scene s;
  auto ctl = s.Start({.net_loss = 0.3});
  auto target = s.SendFrom(s.target, kProbes, kGapUs);
  auto sibling = s.SendFrom(s.sibling, kProbes, kGapUs, s.port + 1);

  uint32_t lost = kProbes - target->received();
  EXPECT_TRUE(InBinomial999(lost, kProbes, 0.3)) << "lost " << lost << " of " << kProbes;
  EXPECT_EQ(sibling->received(), kProbes) << "a sibling cgroup's traffic must be untouched";

  auto dp = StatusFor(s.target.path());
  ASSERT_FALSE(dp.is_null());
  EXPECT_EQ(StatusInjections(dp, "net_loss", "live"), lost) << "every drop is counted";
  EXPECT_EQ(StatusInjections(dp, "net_loss", "shadow"), 0u);
}

TEST(NetLoss, IngressLossInBinomialInterval) {
  Scene s;
  auto ctl = s.Start({.net_loss = 0.3});
  Pipe p = MakePipe();
  ASSERT_TRUE(p.read);
  std::string ip = s.topo.engine_ip;
  uint16_t port = s.port;
  Child receiver(s.target, s.topo.engine,
                 [&] { return CountProbes(ip.c_str(), port, kProbes, 60, p.write.get()); });
  p.write.reset();
  uint32_t ready = 0, got = 0;
  ASSERT_EQ(read(p.read.get(), &ready, sizeof(ready)), 4);
  UniqueFd fd = SocketIn(s.topo.exchange, AF_INET, SOCK_DGRAM);
  ASSERT_EQ(SendProbes(ip.c_str(), port, kProbes, kGapUs, fd.get()), 0);
  SendEnd(ip.c_str(), port, fd.get());
  fd.reset();
  ASSERT_EQ(read(p.read.get(), &got, sizeof(got)), 4);
  EXPECT_EQ(receiver.Wait(), 0);
  uint32_t lost = kProbes - got;
  EXPECT_TRUE(InBinomial999(lost, kProbes, 0.3)) << "lost " << lost << " of " << kProbes;
}

TEST(NetLoss, ShadowModeDropsNothingAndCountsTheSameDecisions) {
  Scene s;
  auto ctl = s.Start({.net_loss = 0.3, .dry_run = true});
  auto target = s.SendFrom(s.target, kProbes, kGapUs);
  EXPECT_EQ(target->received(), kProbes);
  auto dp = StatusFor(s.target.path());
  ASSERT_FALSE(dp.is_null());
  EXPECT_EQ(dp["mode"], "shadow");
  uint64_t shadow = StatusInjections(dp, "net_loss", "shadow");
  EXPECT_TRUE(InBinomial999(shadow, kProbes, 0.3)) << "shadow decisions " << shadow;
  EXPECT_EQ(StatusInjections(dp, "net_loss", "live"), 0u);
}

TEST(NetLoss, DryRunFlagOverridesALiveConfig) {
  Scene s;
  auto ctl = s.Start({.net_loss = 1.0}, {"--dry-run"});
  auto target = s.SendFrom(s.target, 2000, kGapUs);
  EXPECT_EQ(target->received(), 2000u);
}

TEST(NetLoss, BurstsLoseOnlyInsideOnPhases) {
  Scene s;
  auto ctl = s.Start({.net_loss = 0.5, .on_sec = 1, .off_sec = 1});
  auto dp = StatusFor(s.target.path());
  ASSERT_FALSE(dp.is_null());
  uint64_t epoch = dp["burst"]["epoch_mono_ns"].get<uint64_t>();
  // 4 s of probes every 2 ms: two full on/off cycles.
  constexpr uint32_t n = 2000;
  auto sink = s.SendFrom(s.target, n, 2000);
  // The kernel decides at send time by its coarse clock (tick resolution, 4 ms at HZ=250); the
  // sender stamps just before sendto. Probes within 10 ms of a phase edge are not judged.
  constexpr uint64_t kEdge = 10000000, kPeriod = 2000000000, kOn = 1000000000;
  uint32_t on_sent = 0, on_lost = 0, off_sent = 0, off_lost = 0;
  // A probe is judged when its whole send window lies in one phase, away from the edges.
  auto phase_of = [&](uint64_t t) -> int {  // 1 on, 0 off, -1 near an edge or before epoch
    if (t < epoch) return -1;
    uint64_t in = (t - epoch) % kPeriod;
    if (in < kEdge || (in > kOn - kEdge && in < kOn + kEdge) || in > kPeriod - kEdge) return -1;
    return in < kOn ? 1 : 0;
  };
  const auto& rec = sink->records();
  auto windows = SendWindows(rec);
  for (uint32_t i = 0; i < n; ++i) {
    if (windows[i].hi == UINT64_MAX) continue;
    int a = phase_of(windows[i].lo), b = phase_of(windows[i].hi);
    if (a < 0 || a != b) continue;
    (a ? on_sent : off_sent)++;
    if (!rec[i].received) (a ? on_lost : off_lost)++;
  }
  EXPECT_EQ(off_lost, 0u) << "loss outside bursts (" << off_sent << " probes off-phase)";
  EXPECT_GT(off_sent, 600u);
  EXPECT_TRUE(InBinomial999(on_lost, on_sent, 0.5)) << on_lost << " of " << on_sent;
}

TEST(NetLoss, LoopbackIsNeverTouched) {
  Scene s;
  auto ctl = s.Start({.net_loss = 1.0});
  // A sink on the engine side's loopback, fed from inside the target cgroup.
  auto sink = std::make_unique<ProbeSink>(SocketIn(s.topo.engine, AF_INET, SOCK_DGRAM), "127.0.0.1",
                                          s.port, 2000);
  Child sender(s.target, s.topo.engine, [&] { return SendProbes("127.0.0.1", s.port, 2000, 50); });
  EXPECT_EQ(sender.Wait(), 0);
  sink->Drain();
  EXPECT_EQ(sink->received(), 2000u);
}

}  // namespace
}  // namespace mmchaos::testing
