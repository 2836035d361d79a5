// lat_spike_ms and ws_lag_ms through the netem path, with real TCP peers between namespaces.
// Where the kernel has no netem (this project's development host), the scenarios must be
// refused, and DoctorAndValidationMatchTheKernel asserts that; the delay tests run where netem
// exists (the qemu lane, Debian's stock kernel).
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>

#include "harness.h"
#include "tc/steering.h"
#include "traffic.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

bool NetemHere() {
  static const bool ok = ProbeNetemSupport().empty();
  return ok;
}

// Skips only where the kernel truly lacks netem. The qemu lanes exist to run these: there a
// missing netem is a failure, never a skip, and so is a missing tcx in the lane that expects it.
#define REQUIRE_NETEM()                                                                    \
  if (TcxExpected() && !TcxHere()) FAIL() << "this lane's kernel must have tcx links";     \
  if (!NetemHere()) {                                                                      \
    if (std::getenv("MMCHAOS_IN_VM"))                                                      \
      FAIL() << "netem must work in the qemu lane: " << ProbeNetemSupport();               \
    GTEST_SKIP()                                                                           \
        << "no netem in this kernel: DoctorAndValidationMatchTheKernel tests the refusal"; \
  }

struct DelayKnobs {
  int lat_ms = 0;
  int ws_ms = 0;
  bool dry_run = false;
  bool enabled = true;
  double on_sec = 3600;
  double off_sec = 0;
  int heartbeat_ms = 250;
};

double Median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct NetemScene {
  Topology topo;
  Cgroup target{"target"};
  Cgroup sibling{"sibling"};
  TempDir dir;
  uint16_t rest_port = TestPort(3), ws_port = TestPort(4), other_port = TestPort(5);
  uint16_t http2_port = TestPort(10), http1_port = TestPort(11);  // LatSpikeCostsEach...
  std::unique_ptr<TcpEchoServer> rest, other;
  std::unique_ptr<TickServer> ws;

  NetemScene() {
    const char* ip = topo.exchange_ip.c_str();
    rest = std::make_unique<TcpEchoServer>(
        ListenOn(SocketIn(topo.exchange, AF_INET, SOCK_STREAM), ip, rest_port));
    other = std::make_unique<TcpEchoServer>(
        ListenOn(SocketIn(topo.exchange, AF_INET, SOCK_STREAM), ip, other_port));
    ws = std::make_unique<TickServer>(
        ListenOn(SocketIn(topo.exchange, AF_INET, SOCK_STREAM), ip, ws_port), 20000);
  }

  std::string Config(const DelayKnobs& k) const {
    std::ostringstream y;
    y << "chaos:\n"
      << "  enabled: " << (k.enabled ? "true" : "false") << "\n"
      << "  dry_run: " << (k.dry_run ? "true" : "false") << "\n"
      << "  lat_spike_ms: " << k.lat_ms << "\n"
      << "  ws_lag_ms: " << k.ws_ms << "\n"
      << "  burst_on_sec: " << k.on_sec << "\n"
      << "  burst_off_sec: " << k.off_sec << "\n"
      << "target:\n"
      << "  cgroup: " << target.path() << "\n"
      << "  netns: " << topo.engine.path() << "\n"
      << "  interfaces: [" << topo.engine_if << "]\n"
      << "  heartbeat_ms: " << k.heartbeat_ms << "\n"
      << "  exchanges:\n"
      << "    testnet:\n"
      << "      rest: [\"http://" << topo.exchange_ip << ":" << rest_port << "\", \"http://"
      << topo.exchange_ip << ":" << http2_port << "\", \"http://" << topo.exchange_ip << ":"
      << http1_port << "\"]\n"
      << "      ws: [\"ws://" << topo.exchange_ip << ":" << ws_port << "\"]\n"
      << "metrics:\n"
      << "  listen: \"127.0.0.1:" << TestPort(1) << "\"\n"
      << "log:\n"
      << "  injections: " << dir.path() << "/inj.jsonl\n";
    return y.str();
  }

  std::unique_ptr<Controller> Start(const DelayKnobs& k) {
    auto c = std::make_unique<Controller>(dir.Write("chaos.yaml", Config(k)));
    EXPECT_TRUE(c->WaitFor("netem path up", 30s)) << c->output();
    return c;
  }

  // REST-like round trips from a process in cg.
  std::vector<TimedSample> Rtts(const Cgroup& cg, uint16_t port, uint32_t n, uint32_t gap_us) {
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    std::string ip = topo.exchange_ip;
    Child c(cg, topo.engine, [&] { return RttClient(ip.c_str(), port, n, gap_us, p[1]); });
    close(p[1]);
    auto s = ReadSamples(p[0]);
    close(p[0]);
    EXPECT_EQ(c.Wait(), 0);
    return s;
  }

  std::vector<TimedSample> Ticks(const Cgroup& cg, uint32_t ms) {
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    std::string ip = topo.exchange_ip;
    uint16_t port = ws_port;
    Child c(cg, topo.engine, [&] { return TickClient(ip.c_str(), port, ms, p[1]); });
    close(p[1]);
    auto s = ReadSamples(p[0]);
    close(p[0]);
    EXPECT_EQ(c.Wait(), 0);
    return s;
  }

  std::string Snapshot() const {
    return Capture("ip netns exec " + topo.engine.name() + " tc -j qdisc show") + "\n" +
           Capture("ip -n " + topo.engine.name() + " -j link show");
  }
};

// Splits samples into on- and off-phase values (ms), skipping `edge` around phase changes.
void ByPhase(const std::vector<TimedSample>& s, uint64_t epoch, double on, double off,
             double edge_ms, std::vector<double>* on_ms, std::vector<double>* off_ms) {
  const uint64_t on_ns = static_cast<uint64_t>(on * 1e9),
                 period = on_ns + static_cast<uint64_t>(off * 1e9);
  const uint64_t e = static_cast<uint64_t>(edge_ms * 1e6);
  for (const auto& x : s) {
    if (x.sent_ns < epoch) continue;
    uint64_t in = (x.sent_ns - epoch) % period;
    if (in < e || (in + e > on_ns && in < on_ns + e) || in + e > period) continue;
    (in < on_ns ? on_ms : off_ms)->push_back(static_cast<double>(x.value_ns) / 1e6);
  }
}

uint64_t Epoch(const std::string& cgroup) {
  auto dp = StatusFor(cgroup);
  return dp.is_null() ? 0 : dp["burst"]["epoch_mono_ns"].get<uint64_t>();
}

TEST(Netem, DoctorAndValidationMatchTheKernel) {
  NetemScene s;
  int rc = 0;
  std::string doc = Capture(MmchaosBin() + " doctor --json", &rc);
  ASSERT_EQ(rc, 0) << doc;
  auto j = nlohmann::json::parse(doc);
  EXPECT_EQ(j["tc_attach"], TcxHere() ? "tcx" : "clsact") << doc;
  if (TcxExpected()) {
    EXPECT_EQ(j["tc_attach"], "tcx") << doc;
  }
  for (const auto& sc : j["scenarios"]) {
    if (sc["scenario"] == "lat_spike" || sc["scenario"] == "ws_lag") {
      EXPECT_EQ(sc["supported"].get<bool>(), NetemHere()) << doc;
    }
  }
  auto cfg = s.dir.Write("chaos.yaml", s.Config({.lat_ms = 100}));
  // Plain validate leaves the kernel alone (bad_input_test); --probe-kernel tries it.
  std::string out = Capture(MmchaosBin() + " validate --probe-kernel -c " + cfg + " 2>&1", &rc);
  if (NetemHere()) {
    EXPECT_EQ(rc, 0) << out;
  } else {
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find("lat_spike_ms needs netem"), std::string::npos) << out;
    Controller ctl(cfg);
    EXPECT_EQ(ctl.Wait(20s), 2) << ctl.output();
    EXPECT_NE(ctl.output().find("needs netem"), std::string::npos);
  }
}

TEST(Netem, LatSpikeDelaysRestRoundTripsOnlyInBursts) {
  REQUIRE_NETEM();
  NetemScene s;
  s.Rtts(s.target, s.rest_port, 10, 20000);  // warm up (first connections are slow under TCG)
  auto base = s.Rtts(s.target, s.rest_port, 50, 20000);
  std::vector<double> b;
  for (auto& x : base) b.push_back(static_cast<double>(x.value_ns) / 1e6);
  const double baseline = Median(b);

  auto ctl = s.Start({.lat_ms = 100, .on_sec = 2, .off_sec = 2});
  uint64_t epoch = Epoch(s.target.path());
  ASSERT_NE(epoch, 0u);
  // ~5 s: the rest of the first burst, a whole off-phase, the start of the second burst.
  auto during = s.Rtts(s.target, s.rest_port, 200, 20000);
  std::vector<double> on, off;
  ByPhase(during, epoch, 2, 2, 150, &on, &off);
  ASSERT_GT(on.size(), 10u);  // a request waits for its answer: ~9 per second when delayed
  ASSERT_GT(off.size(), 50u);
  EXPECT_NEAR(Median(on) - baseline, 100.0, 10.0) << "baseline " << baseline;
  EXPECT_LT(Median(off), baseline + 2.0) << "off-phases add no delay";

  // The sibling cgroup's flow to the same endpoint, and the target's flow to a non-REST port,
  // whatever the phase: unchanged.
  auto sib = s.Rtts(s.sibling, s.rest_port, 30, 20000);
  auto other = s.Rtts(s.target, s.other_port, 30, 20000);
  std::vector<double> sv, ov;
  for (auto& x : sib) sv.push_back(static_cast<double>(x.value_ns) / 1e6);
  for (auto& x : other) ov.push_back(static_cast<double>(x.value_ns) / 1e6);
  // Measured after the burst's own samples, against a baseline from before: under qemu's TCG the
  // emulator's own jitter between the two is a few ms, against a 100 ms spike.
  const double unchanged_ms = std::getenv("MMCHAOS_IN_VM") ? 5.0 : 2.0;
  EXPECT_LT(Median(sv), baseline + unchanged_ms);
  EXPECT_LT(Median(ov), baseline + unchanged_ms);
  auto dp = StatusFor(s.target.path());
  EXPECT_GT(StatusInjections(dp, "lat_spike", "live"), 0u);
  // The netem qdiscs' own counters are exported (deploy/prometheus alerts on the drops): a queue
  // sized from netem.expected_pps drops nothing at this rate.
  const std::string body = Scrape(TestPort(1));
  EXPECT_EQ(Scraped(body, "mm_chaos_netem_drops_total", R"(scenario="lat_spike")"), 0) << body;
  EXPECT_GE(Scraped(body, "mm_chaos_netem_backlog_packets", R"(scenario="ws_lag")"), 0) << body;
}

TEST(Netem, WsLagDelaysInboundMessagesOnlyInBursts) {
  REQUIRE_NETEM();
  NetemScene s;
  auto ctl = s.Start({.ws_ms = 200, .on_sec = 2, .off_sec = 2});
  uint64_t epoch = Epoch(s.target.path());
  ASSERT_NE(epoch, 0u);
  // 5 s of 50 ticks a second: the rest of the first burst, an off-phase, part of the second.
  auto ticks = s.Ticks(s.target, 5000);
  std::vector<double> on, off;
  ByPhase(ticks, epoch, 2, 2, 250, &on, &off);
  ASSERT_GT(on.size(), 30u);
  ASSERT_GT(off.size(), 30u);
  EXPECT_NEAR(Median(on), 200.0, 20.0);
  EXPECT_LT(Median(off), 5.0);
  auto sib = s.Ticks(s.sibling, 1000);  // in a burst or not: undelayed
  std::vector<double> sv;
  for (auto& x : sib) sv.push_back(static_cast<double>(x.value_ns) / 1e6);
  EXPECT_LT(Median(sv), 5.0) << "a sibling cgroup's stream from the same endpoint";
  EXPECT_GT(StatusInjections(StatusFor(s.target.path()), "ws_lag", "live"), 0u);
}

TEST(Netem, ShadowModeDelaysNothingAndCounts) {
  REQUIRE_NETEM();
  NetemScene s;
  auto ctl = s.Start({.lat_ms = 100, .ws_ms = 200, .dry_run = true});
  auto rtts = s.Rtts(s.target, s.rest_port, 50, 20000);
  auto ticks = s.Ticks(s.target, 1000);
  std::vector<double> r, t;
  for (auto& x : rtts) r.push_back(static_cast<double>(x.value_ns) / 1e6);
  for (auto& x : ticks) t.push_back(static_cast<double>(x.value_ns) / 1e6);
  EXPECT_LT(Median(r), 10.0);
  EXPECT_LT(Median(t), 10.0);
  auto dp = StatusFor(s.target.path());
  EXPECT_GT(StatusInjections(dp, "lat_spike", "shadow"), 0u);
  EXPECT_GT(StatusInjections(dp, "ws_lag", "shadow"), 0u);
  EXPECT_EQ(StatusInjections(dp, "lat_spike", "live"), 0u);
  EXPECT_EQ(StatusInjections(dp, "ws_lag", "live"), 0u);
}

// lat_spike_ms means "each REST request takes that much longer", as the client measures it from
// send (or connect) to the response's last byte: python's http.client and curl, on kept-alive
// and on new connections, against a server that writes headers and body in two writes (Nagle
// holds the body until the client's ACK of the headers: delaying that ACK too cost +200 ms) and
// one that writes once. Always on, against a baseline taken before.
TEST(Netem, LatSpikeCostsEachHttpRequestItsDelayOnce) {
  REQUIRE_NETEM();
  NetemScene s;
  const std::string py = std::string("/usr/bin/python3 ") + HTTP_TIMING_PY;
  const std::string ip = s.topo.exchange_ip;
  Process two(py + " server --writes 2 --ip " + ip + " --port " + std::to_string(s.http2_port),
              s.topo.exchange);
  Process one(py + " server --writes 1 --ip " + ip + " --port " + std::to_string(s.http1_port),
              s.topo.exchange);
  WaitListening(s.topo.exchange, {s.http2_port, s.http1_port});
  auto measure = [&](uint16_t port) {
    const std::string out = s.dir.path() + "/timing-" + std::to_string(port) + ".json";
    Process c("sh -c '" + py + " client --n 15 --ip " + ip + " --port " + std::to_string(port) +
                  " > " + out + "'",
              s.topo.engine, &s.target);
    EXPECT_EQ(c.Wait(), 0);
    std::ifstream in(out);
    return nlohmann::json::parse(in, nullptr, false);
  };
  const nlohmann::json base2 = measure(s.http2_port), base1 = measure(s.http1_port);
  auto ctl = s.Start({.lat_ms = 100});
  const nlohmann::json with2 = measure(s.http2_port), with1 = measure(s.http1_port);
  for (auto [name, base, with] :
       {std::tuple{"two writes", &base2, &with2}, std::tuple{"one write", &base1, &with1}}) {
    ASSERT_FALSE(base->is_discarded() || with->is_discarded()) << name;
    for (const char* key : {"keep", "new", "curl_keep", "curl_new"}) {
      const double b = Median((*base)[key].get<std::vector<double>>()),
                   w = Median((*with)[key].get<std::vector<double>>());
      std::printf("lat_spike 100 ms, %s, %s: median %.1f -> %.1f ms (+%.1f)\n", name, key, b, w,
                  w - b);
      // Never more than the spike +10% (per packet it was +200..+280 ms). At least 70%: on a
      // new connection to the two-write server the baseline itself stalls ~20 ms for the ACK
      // of the headers (Nagle), which the delayed request overlaps (measured +77 ms on 6.1,
      // the same 115 ms total as against the one-write server).
      EXPECT_LE(w - b, 110.0) << name << ", " << key;
      EXPECT_GE(w - b, 70.0) << name << ", " << key;
    }
  }
}

// With tcx links (6.6+) mmchaos adds nothing to the interface but links, so start/stop cycles
// cannot disturb it: asserted here with the interface as it comes, no clsact provisioned, and
// its qdiscs unchanged while the path is up.
// Without tcx (6.1), adding or deleting a clsact qdisc makes the kernel deactivate the device for
// a moment (qdisc_graft -> dev_deactivate: in-flight packets hit the noop qdisc), measured on 6.1
// at ~3 packets per add/delete at 2 kpps. mmchaos never adds one that exists and never deletes
// one it did not add, and filter changes are lossless; so on an interface provisioned with a
// clsact (as on Cilium hosts, or by `tc qdisc add dev IF clsact` once), start/stop cycles lose
// nothing: that is what is asserted on such kernels.
TEST(Netem, NonTargetFlowLosesNothingOver20AttachDetachCycles) {
  REQUIRE_NETEM();
  NetemScene s;
  const bool tcx = TcxHere();
  if (!tcx) {
    ASSERT_EQ(Sh("ip netns exec " + s.topo.engine.name() + " tc qdisc add dev " + s.topo.engine_if +
                 " clsact"),
              0);
  }
  const std::string before = s.Snapshot();
  const std::string qdiscs_cmd =
      "ip netns exec " + s.topo.engine.name() + " tc -j qdisc show dev " + s.topo.engine_if;
  const std::string qdiscs_before = Capture(qdiscs_cmd);
  // Under qemu's TCG, switching a cgroup-BPF static key on or off (first attach, last detach on
  // the host) while another CPU runs the packet path can livelock the guest in int3 text
  // patching (seen: sk_filter_trim_cap + asm_exc_int3). A second controller on another cgroup
  // keeps the keys on, so the 20 cycles below never flip them; on real CPUs it changes nothing.
  Cgroup holder_cg("holder");
  Controller holder(s.dir.Write(
      "holder.yaml",
      ConfigYaml(holder_cg.path(), {.dry_run = true}, TestPort(14), s.dir.path() + "/h.jsonl")));
  ASSERT_TRUE(holder.WaitFor("attached to", 30s)) << holder.output();
  // With tcx the same goes for the tc static keys (ingress/egress queue, tcx): the first tcx
  // link switches them on, the last one off (seen on 6.12 under TCG: an int3 oops in
  // __netif_receive_skb_core). A clsact on the exchange's end of the veth, which mmchaos does
  // not manage and which has no filters, holds them on.
  if (tcx) {
    ASSERT_EQ(Sh("ip netns exec " + s.topo.exchange.name() + " tc qdisc add dev " +
                 s.topo.exchange_if + " clsact"),
              0);
  }
  auto cfg = s.dir.Write("chaos.yaml", s.Config({.lat_ms = 50, .ws_ms = 50}));
  constexpr uint32_t n = 30000, gap_us = 1000;  // up to 30 s of probes, one per ms
  ProbeSink sink(SocketIn(s.topo.exchange, AF_INET, SOCK_DGRAM), s.topo.exchange_ip, TestPort(6),
                 n);
  std::string ip = s.topo.exchange_ip;
  uint16_t port = TestPort(6);
  Child sender(s.sibling, s.topo.engine, [&] { return SendProbes(ip.c_str(), port, n, gap_us); });
  for (int i = 0; i < 20; ++i) {
    Controller ctl(cfg);
    ASSERT_TRUE(ctl.WaitFor("netem path up", 30s)) << ctl.output();
    if (tcx && i == 0) {
      EXPECT_EQ(Capture(qdiscs_cmd), qdiscs_before) << "tcx: the interface's qdiscs are untouched";
    }
    ctl.Signal(SIGTERM);
    ASSERT_EQ(ctl.Wait(30s), 0) << ctl.output();
  }
  ::kill(sender.pid(), SIGTERM);
  sender.Wait();
  sink.Drain();
  // The sender was stopped mid-stream: count only up to the last probe that arrived.
  const auto& rec = sink.records();
  uint32_t last = 0, got = 0;
  for (uint32_t i = 0; i < n; ++i)
    if (rec[i].received) last = i, ++got;
  EXPECT_GT(last, 1000u);
  std::string runs;
  for (uint32_t i = 0; i <= last && runs.size() < 300; ++i)
    if (!rec[i].received) runs += std::to_string(i) + " ";
  std::printf("non-target flow over 20 attach/detach cycles (%s%s): %u of %u probes lost\n",
              tcx ? "tcx" : "clsact", tcx ? "" : ", provisioned", last + 1 - got, last + 1);
  EXPECT_EQ(got, last + 1) << (last + 1 - got) << " probes of a non-target flow lost: " << runs;
  EXPECT_EQ(s.Snapshot(), before);
}

// The rollback paths of harness.h; on kSigkill, `mmchaos rollback` cleans up after the crash.
class NetemRollback : public ::testing::TestWithParam<Path> {};

TEST_P(NetemRollback, RestoresQdiscsAndLinksExactly) {
  REQUIRE_NETEM();
  NetemScene s;
  const std::string before = s.Snapshot();
  DelayKnobs k{.lat_ms = 100, .ws_ms = 200, .heartbeat_ms = 100};
  auto ctl = s.Start(k);
  EXPECT_NE(s.Snapshot(), before) << "the netem path was not built";

  switch (GetParam()) {
    case Path::kSigterm:
      ctl->Signal(SIGTERM);
      EXPECT_EQ(ctl->Wait(20s), 0) << ctl->output();
      break;
    case Path::kSighupDisabled:
      k.enabled = false;
      s.dir.Write("chaos.yaml", s.Config(k));
      ctl->Signal(SIGHUP);
      EXPECT_TRUE(ctl->WaitFor("config re-read", 20s)) << ctl->output();
      break;
    case Path::kRollbackCommand: {
      int rc = 0;
      std::string out = Capture(MmchaosBin() + " rollback", &rc);
      EXPECT_EQ(rc, 0) << out;
      EXPECT_EQ(ctl->Wait(20s), 0) << ctl->output();
      break;
    }
    case Path::kSigkill: {
      // A stream that starts after the crash must run undelayed once two heartbeats passed,
      // although the tc filters are still there.
      ctl->Signal(SIGKILL);
      ctl->Wait(5s);
      const uint64_t killed = MonoNs();
      auto ticks = s.Ticks(s.target, 1500);
      std::vector<double> late;
      for (auto& x : ticks)
        if (x.sent_ns > killed + 2 * 100000000ULL + 200000000ULL)  // 2 beats + one netem delay
          late.push_back(static_cast<double>(x.value_ns) / 1e6);
      ASSERT_GT(late.size(), 20u);
      EXPECT_LT(Median(late), 5.0) << "steering went on after the controller died";
      auto st = Status();
      ASSERT_EQ(st["netem"].size(), 1u) << st.dump();
      EXPECT_FALSE(st["netem"][0]["controller_alive"].get<bool>());
      // The next run cleans the leftovers before building its own path.
      {
        Controller next(s.dir.Write("chaos.yaml", s.Config(k)));
        EXPECT_TRUE(next.WaitFor("netem path up", 30s)) << next.output();
        EXPECT_NE(next.output().find("stale leftovers"), std::string::npos) << next.output();
        next.Signal(SIGKILL);
        next.Wait(5s);
      }
      int rc = 0;
      std::string out = Capture(MmchaosBin() + " rollback", &rc);
      EXPECT_EQ(rc, 0) << out;
      break;
    }
  }
  EXPECT_EQ(s.Snapshot(), before);
  auto st = Status();
  EXPECT_TRUE(st["attached"].empty()) << st.dump();
  EXPECT_TRUE(st["netem"].empty()) << st.dump();
  if (GetParam() == Path::kSighupDisabled) {
    ctl->Signal(SIGTERM);
    EXPECT_EQ(ctl->Wait(20s), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, NetemRollback,
                         ::testing::Values(Path::kSigterm, Path::kSighupDisabled,
                                           Path::kRollbackCommand, Path::kSigkill),
                         PathName);

}  // namespace
}  // namespace mmchaos::testing
