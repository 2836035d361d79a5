// The controller's contracts beyond loss itself: metrics match the maps, one controller per
// target, SIGHUP applies changes without re-attaching, doctor probes for real.
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <regex>

#include "cgroup/mounts.h"
#include "discovery/discovery.h"
#include "harness.h"
#include "traffic.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

TEST(Controller, MetricsScrapeMatchesTheBpfMaps) {
  Topology topo;
  Cgroup target("target");
  TempDir dir;
  uint16_t mport = TestPort(1), port = TestPort();
  auto cfg = dir.Write(
      "chaos.yaml", ConfigYaml(target.path(), {.net_loss = 0.3}, mport, dir.path() + "/inj.jsonl"));
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("attached to", 10s)) << ctl.output();
  ProbeSink sink(SocketIn(topo.exchange, AF_INET, SOCK_DGRAM), topo.exchange_ip, port, 5000);
  std::string ip = topo.exchange_ip;
  Child sender(target, topo.engine, [&] { return SendProbes(ip.c_str(), port, 5000, 100); });
  ASSERT_EQ(sender.Wait(), 0);
  sink.Drain();

  int rc = 0;
  std::string body =
      Capture("curl -sf http://127.0.0.1:" + std::to_string(mport) + "/metrics", &rc);
  ASSERT_EQ(rc, 0) << "scrape failed";
  Counters maps{};
  {  // the maps as `status` and `rollback` read them, by kernel ids
    auto found = FindAttached();
    ASSERT_TRUE(found.has_value());
    ASSERT_EQ(found->size(), 1u);
    maps = *found->front().counters;
  }

  double live = Scraped(body, "mm_chaos_injections_total", R"(mode="live",scenario="net_loss")");
  double shadow =
      Scraped(body, "mm_chaos_injections_total", R"(mode="shadow",scenario="net_loss")");
  double egress = Scraped(body, "mm_chaos_packets_total", R"(direction="egress")");
  EXPECT_EQ(live, static_cast<double>(Injections(maps, MMC_SCN_NET_LOSS, MMC_MODE_LIVE)));
  EXPECT_EQ(live, 5000.0 - sink.received());
  EXPECT_EQ(shadow, 0.0);
  EXPECT_EQ(egress, static_cast<double>(maps[MMC_STAT_PKTS_EGRESS]));
  EXPECT_GE(egress, 5000.0);
  EXPECT_EQ(Scraped(body, "mm_chaos_burst_phase", ""), 1) << body;
  // every scenario is exported, even at zero
  EXPECT_GE(Scraped(body, "mm_chaos_injections_total", R"(mode="live",scenario="dns_flap")"), 0);

  // The injection log has one JSON line per logged decision.
  ctl.Signal(SIGTERM);
  EXPECT_EQ(ctl.Wait(5s), 0);
  std::string logtext = Capture("cat " + dir.path() + "/inj.jsonl");
  EXPECT_NE(logtext.find(R"("scenario":"net_loss","reason_code":"probability","mode":"live")"),
            std::string::npos)
      << logtext.substr(0, 400);
}

TEST(Controller, SecondRunOnTheSameTargetIsRefused) {
  Cgroup target("target");
  TempDir dir;
  auto cfg = dir.Write("chaos.yaml", ConfigYaml(target.path(), {.net_loss = 0.1}, TestPort(1),
                                                dir.path() + "/inj.jsonl"));
  Controller first(cfg);
  ASSERT_TRUE(first.WaitFor("attached to", 10s)) << first.output();
  auto cfg2 = dir.Write("chaos2.yaml", ConfigYaml(target.path(), {.net_loss = 0.1}, TestPort(2),
                                                  dir.path() + "/inj2.jsonl"));
  Controller second(cfg2);
  EXPECT_EQ(second.Wait(10s), 1);
  EXPECT_NE(second.output().find("already targets it"), std::string::npos) << second.output();
  EXPECT_NE(second.output().find(std::to_string(first.pid())), std::string::npos);
  auto dp = StatusFor(target.path());
  ASSERT_FALSE(dp.is_null());
  EXPECT_EQ(dp["pid"].get<int>(), first.pid());
}

TEST(Controller, SighupAppliesANewProbabilityWithoutReattaching) {
  Topology topo;
  Cgroup target("target");
  TempDir dir;
  uint16_t mport = TestPort(1), port = TestPort();
  const std::string log = dir.path() + "/inj.jsonl";
  auto cfg = dir.Write("chaos.yaml", ConfigYaml(target.path(), {.net_loss = 1.0}, mport, log));
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("attached to", 10s)) << ctl.output();
  auto before = StatusFor(target.path());
  ASSERT_FALSE(before.is_null());

  dir.Write("chaos.yaml", ConfigYaml(target.path(), {.net_loss = 0.0}, mport, log));
  ctl.Signal(SIGHUP);
  ASSERT_TRUE(ctl.WaitFor("config re-read", 5s)) << ctl.output();
  ProbeSink sink(SocketIn(topo.exchange, AF_INET, SOCK_DGRAM), topo.exchange_ip, port, 1000);
  std::string ip = topo.exchange_ip;
  Child sender(target, topo.engine, [&] { return SendProbes(ip.c_str(), port, 1000, 100); });
  ASSERT_EQ(sender.Wait(), 0);
  sink.Drain();
  EXPECT_EQ(sink.received(), 1000u);
  auto after = StatusFor(target.path());
  ASSERT_FALSE(after.is_null());
  EXPECT_EQ(after["links"], before["links"]) << "SIGHUP must not re-attach";
}

TEST(Controller, PidTargetsThatProcessCgroupOverTheConfig) {
  Cgroup target("target"), other("other");
  Topology topo;
  TempDir dir;
  Child engine(target, topo.engine, [] {
    pause();
    return 0;
  });
  auto cfg = dir.Write("chaos.yaml", ConfigYaml(other.path(), {.net_loss = 0.1}, TestPort(1),
                                                dir.path() + "/inj.jsonl"));
  Controller ctl(cfg, {"--pid", std::to_string(engine.pid())});
  ASSERT_TRUE(ctl.WaitFor("attached to", 10s)) << ctl.output();
  EXPECT_FALSE(StatusFor(target.path()).is_null());
  EXPECT_TRUE(StatusFor(other.path()).is_null());
}

TEST(Controller, DurationEndsTheRunAndDetaches) {
  Cgroup target("target");
  TempDir dir;
  auto cfg = dir.Write("chaos.yaml", ConfigYaml(target.path(), {.net_loss = 0.1}, TestPort(1),
                                                dir.path() + "/inj.jsonl"));
  auto start = std::chrono::steady_clock::now();
  Controller ctl(cfg, {"--duration", "1"});
  EXPECT_EQ(ctl.Wait(5s), 0) << ctl.output();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(StatusFor(target.path()).is_null());
}

TEST(Controller, InjectionLogIsRateLimitedInTheKernel) {
  Topology topo;
  Cgroup target("target");
  TempDir dir;
  uint16_t mport = TestPort(1), port = TestPort();
  const std::string log = dir.path() + "/inj.jsonl";
  auto cfg =
      dir.Write("chaos.yaml",
                ConfigYaml(target.path(), {.net_loss = 1.0, .max_events_per_sec = 5}, mport, log));
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("attached to", 10s)) << ctl.output();
  std::string ip = topo.exchange_ip;
  auto t0 = MonoNs();
  Child sender(target, topo.engine, [&] { return SendProbes(ip.c_str(), port, 5000, 100); });
  ASSERT_EQ(sender.Wait(), 0);
  double seconds = static_cast<double>(MonoNs() - t0) / 1e9;
  std::string body = Scrape(mport);
  ctl.Signal(SIGTERM);
  ASSERT_EQ(ctl.Wait(5s), 0);
  int lines = std::stoi(Capture("wc -l < " + log));
  // 5 events per CPU per one-second window; the send spans at most ceil(seconds) + 1 windows.
  int cpus = static_cast<int>(std::thread::hardware_concurrency());
  int bound = 5 * cpus * (static_cast<int>(seconds) + 2);
  EXPECT_GT(lines, 0);
  EXPECT_LE(lines, bound) << "over " << seconds << " s on " << cpus << " CPUs";
  double suppressed = Scraped(body, "mm_chaos_log_events_dropped_total", R"(reason="rate_limit")");
  EXPECT_GE(suppressed, 5000.0 - bound) << body;
}

TEST(Controller, DoctorProbesCgroupBpfForReal) {
  int rc = 0;
  std::string out = Capture(MmchaosBin() + " doctor --json", &rc);
  ASSERT_EQ(rc, 0) << out;
  auto j = nlohmann::json::parse(out);
  bool net_loss = false;
  for (const auto& s : j["scenarios"])
    if (s["scenario"] == "net_loss") net_loss = s["supported"].get<bool>();
  EXPECT_TRUE(net_loss) << out;
  // The cgroup v2 mount, for scripts (demo.sh places its engine there): the one mmchaos uses.
  auto mount = Cgroup2Mount();
  ASSERT_TRUE(mount.has_value());
  EXPECT_EQ(j["cgroup2"], *mount) << out;
  for (const auto& p : j["probes"])
    if (p["name"] == "cgroup_skb_attach") {
      EXPECT_TRUE(p["ok"].get<bool>()) << out;
    }
}

}  // namespace
}  // namespace mmchaos::testing
