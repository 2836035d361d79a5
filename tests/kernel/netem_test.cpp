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
#include <string_view>
#include <tuple>
#include <vector>

#include "doctor/tc_probes.h"
#include "harness.h"
#include "tc/steering.h"
#include "traffic.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

// Why the netem path does not work here, or "" when it does.
const std::string& NetemProblem() {
  static const std::string why = [] {
    Result<void> probe = ProbeNetemSupport();
    return probe ? std::string() : probe.error().message();
  }();
  return why;
}

bool NetemHere() { return NetemProblem().empty(); }

// Skips only where the kernel truly lacks netem. The qemu lanes exist to run these: there a
// missing netem is a failure, never a skip, and so is a missing tcx in the lane that expects it.
#define REQUIRE_NETEM()                                                                    \
  if (TcxExpected() && !TcxHere()) FAIL() << "this lane's kernel must have tcx links";     \
  if (!NetemHere()) {                                                                      \
    if (std::getenv("MMCHAOS_IN_VM"))                                                      \
      FAIL() << "netem must work in the qemu lane: " << NetemProblem();                    \
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
  uint16_t http2_port = TestPort(10), http1_port = TestPort(11);    // LatSpikeCostsEach...
  uint16_t https2_port = TestPort(13), https1_port = TestPort(15);  // ...OverTls
  uint16_t ws2_port = TestPort(12);  // WsLagDelaysEveryMessage...: a python3-websockets server
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
      << http1_port << "\", \"https://" << topo.exchange_ip << ":" << https2_port
      << "\", \"https://" << topo.exchange_ip << ":" << https1_port << "\"]\n"
      << "      ws: [\"ws://" << topo.exchange_ip << ":" << ws_port << "\", \"ws://"
      << topo.exchange_ip << ":" << ws2_port << "\"]\n"
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
    Pipe p = MakePipe();
    EXPECT_TRUE(p.read);
    std::string ip = topo.exchange_ip;
    Child c(cg, topo.engine, [&] { return RttClient(ip.c_str(), port, n, gap_us, p.write.get()); });
    p.write.reset();
    auto s = ReadSamples(p.read.get());
    EXPECT_EQ(c.Wait(), 0);
    return s;
  }

  std::vector<TimedSample> Ticks(const Cgroup& cg, uint32_t ms) {
    Pipe p = MakePipe();
    EXPECT_TRUE(p.read);
    std::string ip = topo.exchange_ip;
    uint16_t port = ws_port;
    Child c(cg, topo.engine, [&] { return TickClient(ip.c_str(), port, ms, p.write.get()); });
    p.write.reset();
    auto s = ReadSamples(p.read.get());
    EXPECT_EQ(c.Wait(), 0);
    return s;
  }

  // A stream of requests on one connection (StreamClient) from a process in cg.
  std::vector<TimedSample> Stream(const Cgroup& cg, uint16_t port, uint32_t ms,
                                  uint32_t interval_us) {
    Pipe p = MakePipe();
    EXPECT_TRUE(p.read);
    std::string ip = topo.exchange_ip;
    Child c(cg, topo.engine,
            [&] { return StreamClient(ip.c_str(), port, ms, interval_us, p.write.get()); });
    p.write.reset();
    auto s = ReadSamples(p.read.get());
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

// A counter of `nstat -az` output (absolute values: the namespace is this test's own), or -1.
long long NstatCounter(const std::string& nstat, const std::string& name) {
  std::istringstream in(nstat);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string key;
    long long v = 0;
    if (f >> key >> v && key == name) return v;
  }
  return -1;
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

// A stream sampled for 5 s across a burst's end (2 s on, 2 s off from epoch), printed sample by
// sample (sent at, ms into the period : ms) with the receiver's TCP counters. Its on-phase median
// is the delay (+-10%), its off-phase one under 5 ms; every sample from 500 ms into a burst
// (its first ones wait for the sender's window to grow to the delay) through the off-phase is
// at most bound_ms: one sent just after the burst waits for those still in the netem, at most
// the delay; the receiver's TCP dropped nothing as old (PAWS: what overtaking caused); and the
// exporter counted packets held in order and no drop.
void ExpectInOrderAcrossABurstEnd(const std::vector<TimedSample>& samples, uint64_t epoch,
                                  const std::string& scenario, double delay_ms, double bound_ms,
                                  const NetNs& receiver) {
  std::vector<double> on, off;
  ByPhase(samples, epoch, 2, 2, 250, &on, &off);
  ASSERT_GT(on.size(), 30u);
  ASSERT_GT(off.size(), 30u);
  const uint64_t period = 4'000'000'000ull;
  std::printf("%s %.0f ms, samples as sent-at-ms-into-period:ms:", scenario.c_str(), delay_ms);
  for (const auto& x : samples)
    if (x.sent_ns >= epoch)
      std::printf(" %llu:%.0f",
                  static_cast<unsigned long long>((x.sent_ns - epoch) % period / 1000000),
                  static_cast<double>(x.value_ns) / 1e6);
  std::printf("\non-phase median %.1f ms (%zu), off-phase median %.1f ms (%zu)\n", Median(on),
              on.size(), Median(off), off.size());
  const std::string nstat = Capture("ip netns exec " + receiver.name() + " nstat -az");
  std::printf("receiver's TCP counters:");
  for (const char* c : {"TcpExtPAWSEstab", "TcpExtTCPOFOQueue", "TcpRetransSegs"})
    std::printf(" %s %lld", c, NstatCounter(nstat, c));
  std::printf("\n");
  EXPECT_NEAR(Median(on), delay_ms, delay_ms / 10);
  EXPECT_LT(Median(off), 5.0);
  for (const auto& x : samples) {
    if (x.sent_ns < epoch) continue;
    const uint64_t in = (x.sent_ns - epoch) % period;
    if (in < 500'000'000ull) continue;
    EXPECT_LE(static_cast<double>(x.value_ns) / 1e6, bound_ms)
        << "sent " << in / 1000000 << " ms into the period (burst 0-2000 ms): a stall";
  }
  EXPECT_EQ(NstatCounter(nstat, "TcpExtPAWSEstab"), 0) << "retransmissions overtook originals";
  const std::string body = Scrape(TestPort(1));
  const std::string label = "scenario=\"" + scenario + "\"";
  EXPECT_GT(Scraped(body, "mm_chaos_netem_held_packets_total", label), 0) << body;
  EXPECT_EQ(Scraped(body, "mm_chaos_netem_drops_total", label), 0) << body;
}

TEST(Netem, WsLagDelaysInboundMessagesOnlyInBursts) {
  REQUIRE_NETEM();
  NetemScene s;
  auto ctl = s.Start({.ws_ms = 200, .on_sec = 2, .off_sec = 2});
  uint64_t epoch = Epoch(s.target.path());
  ASSERT_NE(epoch, 0u);
  // 5 s of 50 ticks a second: the rest of the first burst, an off-phase, part of the second.
  auto ticks = s.Ticks(s.target, 5000);
  // Before the drain classes, ticks sent in a burst's last ~180 ms came 450-650 ms late in 3 of
  // 12 runs of the 6.1 lane: ticks sent after the burst overtook those still in the netem, the
  // exchange retransmitted, and the engine's TCP dropped the late originals as old
  // (TcpExtPAWSEstab 3-10 every run), stalling the stream until a retransmission timeout.
  ExpectInOrderAcrossABurstEnd(ticks, epoch, "ws_lag", 200.0, 260.0, s.topo.engine);
  auto sib = s.Ticks(s.sibling, 1000);  // in a burst or not: undelayed
  std::vector<double> sv;
  for (auto& x : sib) sv.push_back(static_cast<double>(x.value_ns) / 1e6);
  EXPECT_LT(Median(sv), 5.0) << "a sibling cgroup's stream from the same endpoint";
  EXPECT_GT(StatusInjections(StatusFor(s.target.path()), "ws_lag", "live"), 0u);
}

// lat_spike on a stream of requests that does not wait for answers (HTTP/2-like), across a
// burst's end: the requests sent just after it wait for those still in the netem instead of
// overtaking them (the exchange's TCP would SACK them, the engine retransmit the held ones, and
// the exchange drop the late originals as old: a stall until a retransmission timeout, as
// ws_lag's stream had). Every request from 500 ms into a burst through the off-phase is at most
// the spike late, and the exchange's TCP drops nothing as old.
TEST(Netem, LatSpikeKeepsAStreamOfRequestsInOrderAtABurstsEnd) {
  REQUIRE_NETEM();
  NetemScene s;
  auto ctl = s.Start({.lat_ms = 100, .on_sec = 2, .off_sec = 2});
  uint64_t epoch = Epoch(s.target.path());
  ASSERT_NE(epoch, 0u);
  auto stream = s.Stream(s.target, s.rest_port, 5000, 20000);
  ExpectInOrderAcrossABurstEnd(stream, epoch, "lat_spike", 100.0, 150.0, s.topo.exchange);
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

// How much longer than its baseline a request may take under lat_spike_ms: 100.
double SpikeBound() { return std::getenv("MMCHAOS_IN_VM") ? 115.0 : 110.0; }

// Whether a run's requests took more than the spike (SpikeBound) but less than a second one:
// a whole run of the qemu guests' emulated CPU sometimes is that much slower (python's kept-alive
// requests over TLS, +125 ms in CI on 2026-12-04, +99..+107 in the 9 runs after), which a second
// spike on some packet of the exchange (+200) is not.
// What a kind of request (key) took more with the spike than without, median against median.
double Added(const nlohmann::json& base, const nlohmann::json& with, const char* key) {
  return Median(with[key].get<std::vector<double>>()) -
         Median(base[key].get<std::vector<double>>());
}

// The fastest of a kind's runs (handshakes: TCG's emulated CPU adds to some, a delay to all).
double Fastest(const nlohmann::json& j, const char* key) {
  const auto v = j[key].get<std::vector<double>>();
  return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
}

// Also a run whose fastest handshake took more than the 50 ms ExpectEachRequestTakesTheSpikeOnce
// allows but less than the spike a delayed SYN or ClientHello adds to every handshake: curl's
// over TLS, +65.5 ms in the 6.1 lane on 2026-12-05, in a run whose requests were all slower.
bool SlowerThanOneSpikeShortOfTwo(const nlohmann::json& base, const nlohmann::json& with) {
  if (base.is_discarded() || with.is_discarded()) return false;
  for (const char* key : {"keep", "curl_keep", "new_req", "curl_new_req"}) {
    const double d = Added(base, with, key);
    if (d > SpikeBound() && d < 150.0) return true;
  }
  for (const char* key : {"new_hs", "curl_new_hs"}) {
    const double d = Fastest(with, key) - Fastest(base, key);
    if (d > 50.0 && d < 90.0) return true;
  }
  return false;
}

// The run with the spike (measure()), taken once more when it was SlowerThanOneSpikeShortOfTwo.
template <typename Measure>
nlohmann::json MeasureWithSpike(Measure measure, const nlohmann::json& base,
                                const std::string& what) {
  nlohmann::json with = measure();
  if (SlowerThanOneSpikeShortOfTwo(base, with)) {
    std::printf("lat_spike 100 ms, %s: slower than one spike, short of two: %s; measuring again\n",
                what.c_str(), with.dump().c_str());
    with = measure();
  }
  return with;
}

// The figures of one http_timing.py client run without and with lat_spike_ms: 100, printed and
// checked against "each request takes the spike once" (+-10%).
void ExpectEachRequestTakesTheSpikeOnce(const nlohmann::json& base, const nlohmann::json& with,
                                        const std::string& what) {
  ASSERT_FALSE(base.is_discarded() || with.is_discarded()) << what;
  auto median = [](const nlohmann::json& j, const char* key) {
    return Median(j[key].get<std::vector<double>>());
  };
  for (const char* key : {"keep", "curl_keep", "new", "new_hs", "new_req", "curl_new",
                          "curl_new_hs", "curl_new_req"}) {
    std::printf("lat_spike 100 ms, %s, %s: median %.1f -> %.1f ms (+%.1f)\n", what.c_str(), key,
                median(base, key), median(with, key), Added(base, with, key));
  }
  // Kept-alive requests (spaced, so the baseline's ends idle as a delayed request's do: back to
  // back, TCG's wake-up from idle added ~8 ms to the delayed ones only), and python's first
  // request on a new connection, sent as long after its handshake: the spike, -10%/+15% in the
  // qemu guests (their medians ran +99..+112.6; the sleeps between requests ended 0.5 ms late,
  // so the rest is the emulated CPU, not netem's timer), +10% elsewhere. A run slower than that
  // but short of a second spike is measured once more (MeasureWithSpike).
  const double over = SpikeBound();
  for (const char* key : {"keep", "curl_keep", "new_req"}) {
    const double d = Added(base, with, key);
    EXPECT_LE(d, over) << what << ", " << key << ": more than the spike: " << base[key].dump()
                       << " -> " << with[key].dump();
    EXPECT_GE(d, 90.0) << what << ", " << key << ": less than the spike: " << base[key].dump()
                       << " -> " << with[key].dump();
  }
  // A new connection's handshake (TCP's, and TLS's on https) takes no spike: it is not a
  // request (delaying the SYN or the ClientHello cost a new connection a second spike). Judged
  // by the fastest of the runs: a delayed SYN or ClientHello adds the spike to every handshake,
  // while TCG's emulated CPU (~30 ms python, ~140 ms of curl's TLS) only adds to some. The
  // medians spread by -45..+31 ms, and once by +66 ms (curl over TLS, 6.1 lane, 2026-12-04).
  for (const char* key : {"new_hs", "curl_new_hs"}) {
    std::printf("lat_spike 100 ms, %s, %s: fastest %.1f -> %.1f ms\n", what.c_str(), key,
                Fastest(base, key), Fastest(with, key));
    EXPECT_LE(Fastest(with, key) - Fastest(base, key), 50.0)
        << what << ", " << key << ": the handshake was delayed";
  }
  // curl's first request follows its handshake at once (no pause possible): no answer before the
  // spike has passed, and one spike over its baseline, +15%: TCG's wake-up from idle, which the
  // baseline (on CPUs still busy from the handshake) does not pay, measured +101..+110.
  const double b = median(base, "curl_new_req"), w = median(with, "curl_new_req");
  EXPECT_GE(w, 90.0) << what << ": curl's first request was answered before the spike passed";
  EXPECT_LE(w - b, 115.0) << what << ": curl's first request took more than one spike";
}

// http_timing.py's client (py: its command line, with --tls where it applies) in the engine's
// namespace and cgroup: 10 requests of each kind to the exchange's port; its JSON (tag names the
// file it is kept in).
nlohmann::json HttpTimings(NetemScene& s, const std::string& py, uint16_t port,
                           const std::string& tag) {
  const std::string out = s.dir.path() + "/timing-" + tag + ".json";
  Process c("sh -c '" + py + " client --n 10 --ip " + s.topo.exchange_ip + " --port " +
                std::to_string(port) + " > " + out + "'",
            s.topo.engine, &s.target);
  EXPECT_EQ(c.Wait(), 0);
  std::ifstream in(out);
  return nlohmann::json::parse(in, nullptr, false);
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
  auto measure = [&](uint16_t port) { return HttpTimings(s, py, port, std::to_string(port)); };
  const nlohmann::json base2 = measure(s.http2_port), base1 = measure(s.http1_port);
  auto ctl = s.Start({.lat_ms = 100});
  const nlohmann::json with2 =
      MeasureWithSpike([&] { return measure(s.http2_port); }, base2, "two writes");
  const nlohmann::json with1 =
      MeasureWithSpike([&] { return measure(s.http1_port); }, base1, "one write");
  ExpectEachRequestTakesTheSpikeOnce(base2, with2, "two writes");
  ExpectEachRequestTakesTheSpikeOnce(base1, with1, "one write");
}

// The same over TLS (python's http.client on CPython's ssl, and curl, both OpenSSL), against a
// server that writes headers and body as two records and one that writes one: a new connection's
// TLS handshake is a handshake, not a request, so connect + handshake + first request take the
// spike once, as a kept-alive request does (delaying the ClientHello cost a new connection two
// spikes).
// One server per test (TLS under TCG is slow: a handshake costs ~100 ms of emulated CPU), 10
// requests per kind.
void HttpsRequestsCostTheSpikeOnce(int writes) {
  NetemScene s;
  const std::string ip = s.topo.exchange_ip, pki = s.dir.path() + "/pki";
  ASSERT_EQ(Sh(std::string(MAKE_PKI_SH) + " " + pki + " " + ip), 0);
  const std::string py = std::string("/usr/bin/python3 ") + HTTP_TIMING_PY + " --tls " + pki;
  const uint16_t port = writes == 2 ? s.https2_port : s.https1_port;
  Process server(py + " server --writes " + std::to_string(writes) + " --ip " + ip + " --port " +
                     std::to_string(port),
                 s.topo.exchange);
  WaitListening(s.topo.exchange, {port});
  auto measure = [&](const char* phase) { return HttpTimings(s, py, port, phase); };
  const nlohmann::json base = measure("base");
  auto ctl = s.Start({.lat_ms = 100});
  const std::string what = "TLS, " + std::to_string(writes) + " record(s)";
  const nlohmann::json with = MeasureWithSpike([&] { return measure("with"); }, base, what);
  ExpectEachRequestTakesTheSpikeOnce(base, with, what);
  EXPECT_GT(StatusInjections(StatusFor(s.target.path()), "lat_spike", "live"), 0u);
  // No TLS fault, so nothing in the engine's TLS library: uprobes there (for the accounting
  // alone) stalled each new curl while they attached, +58 ms on its handshake in the 6.1 lane.
  EXPECT_EQ(ctl->output().find("tls: uprobes"), std::string::npos) << ctl->output();
}

TEST(Netem, LatSpikeCostsEachHttpsRequestItsDelayOnceTwoRecords) {
  REQUIRE_NETEM();
  HttpsRequestsCostTheSpikeOnce(2);
}

TEST(Netem, LatSpikeCostsEachHttpsRequestItsDelayOnceOneRecord) {
  REQUIRE_NETEM();
  HttpsRequestsCostTheSpikeOnce(1);
}

// ws_lag means "every inbound message arrives ws_lag_ms late", also a message of several TCP
// segments (16 KiB; the exchange's veth sends one MSS per packet, as a wire does, so each
// segment is decided and delayed on its own), measured by a python3-websockets client against a
// python3-websockets server, one-way with the shared CLOCK_MONOTONIC. The engine's own sends on
// that connection (subscriptions, pings) are not delayed, and with lat_spike on as well a REST
// round trip costs lat_spike_ms, not lat_spike_ms + ws_lag_ms.
TEST(Netem, WsLagDelaysEveryMessageAndNotTheEnginesOwnSends) {
  REQUIRE_NETEM();
  NetemScene s;
  const std::string ip = s.topo.exchange_ip;
  // One segment per packet from the exchange: no GSO super-packet that the hook would see once.
  ASSERT_EQ(Sh("ip -n " + s.topo.exchange.name() + " link set dev " + s.topo.exchange_if +
               " gso_max_segs 1"),
            0);
  s.Rtts(s.target, s.rest_port, 10, 20000);  // warm up
  std::vector<double> b;
  for (auto& x : s.Rtts(s.target, s.rest_port, 30, 20000))
    b.push_back(static_cast<double>(x.value_ns) / 1e6);
  const double rest_base = Median(b);
  const std::string py = std::string("/usr/bin/python3 ") + WS_TIMING_PY;
  auto ms = [](const nlohmann::json& j, const char* k) { return j[k].get<std::vector<double>>(); };
  // One connection of `seconds`, with a server of its own: {client's JSON, server's JSON}.
  auto phase = [&](const std::string& tag, int seconds) {
    const std::string server_out = s.dir.path() + "/ws-server-" + tag + ".json",
                      client_out = s.dir.path() + "/ws-client-" + tag + ".json";
    Process server(py + " server --size 16384 --interval-ms 100 --ip " + ip + " --port " +
                       std::to_string(s.ws2_port) + " --out " + server_out,
                   s.topo.exchange);
    WaitListening(s.topo.exchange, {s.ws2_port});
    Process client(py + " client --seconds " + std::to_string(seconds) + " --url ws://" + ip + ":" +
                       std::to_string(s.ws2_port) + " --out " + client_out,
                   s.topo.engine, &s.target);
    EXPECT_EQ(client.Wait(), 0);
    server.Signal(SIGTERM);
    EXPECT_EQ(server.Wait(), 0);
    std::ifstream client_in(client_out), server_in(server_out);
    return std::pair{nlohmann::json::parse(client_in, nullptr, false),
                     nlohmann::json::parse(server_in, nullptr, false)};
  };
  // "Late" is against the same messages without the lag, measured first: under TCG the one-way
  // delay of a 16 KiB message is itself a few ms, and more on a loaded host.
  const auto [base_down, base_up] = phase("base", 2);
  ASSERT_FALSE(base_down.is_discarded() || base_up.is_discarded());
  const double one_way = Median(ms(base_down, "down_ms"));
  auto ctl = s.Start({.lat_ms = 100, .ws_ms = 200});
  const uint64_t live_before = StatusInjections(StatusFor(s.target.path()), "ws_lag", "live");
  const auto [down, up] = phase("lag", 4);
  ASSERT_FALSE(down.is_discarded() || up.is_discarded());
  const uint64_t live =
      StatusInjections(StatusFor(s.target.path()), "ws_lag", "live") - live_before;
  // How the exchange's TCP took the lag.
  const std::string tcp =
      Capture("ip netns exec " + s.topo.exchange.name() +
              " nstat -asz TcpRetransSegs TcpExtTCPTimeouts "
              "TcpExtTCPSpuriousRTOs TcpExtTCPLossProbes TcpExtTCPLossUndo | tail -n +2");
  std::printf("the exchange's TCP (both phases):\n%s", tcp.c_str());
  // The first message went out with the connection; all others were sent into a running lag.
  std::vector<double> msgs = ms(down, "down_ms");
  ASSERT_GT(msgs.size(), 15u);
  msgs.erase(msgs.begin());
  for (double& v : msgs) v -= one_way;
  const std::vector<double> subs = ms(up, "up_ms"), pings = ms(up, "ping_ms");
  ASSERT_GT(subs.size(), 20u);
  ASSERT_GT(pings.size(), 20u);
  std::printf("one-way delay of a 16 KiB message without the lag: median %.1f ms\n", one_way);
  std::printf(
      "ws_lag 200 ms, 16 KiB messages: %zu messages, median %.1f ms late (min %.1f, max "
      "%.1f); %lu segments delayed (%.1f per message)\n",
      msgs.size(), Median(msgs), *std::min_element(msgs.begin(), msgs.end()),
      *std::max_element(msgs.begin(), msgs.end()), static_cast<unsigned long>(live),
      static_cast<double>(live) / static_cast<double>(msgs.size() + 1));
  std::printf(
      "the engine's own sends under ws_lag 200 ms: subscriptions median %.2f ms (%zu), "
      "pings median %.2f ms (%zu)\n",
      Median(subs), subs.size(), Median(pings), pings.size());
  EXPECT_NEAR(Median(msgs), 200.0, 20.0);
  // Every message late: none early. The exchange's TCP timed the connection's handshake at ~1 ms
  // (handshakes are not delayed), so its window suits a 1 ms path: a 16 KiB message is 12
  // segments against an initial window of 10, and the first messages into the lag are overdue to
  // it (a loss probe, sometimes a retransmitted message: TcpRetransSegs 0..13, never an RTO).
  // So the first two or three messages wait up to one more round trip (measured 284..404 ms on
  // 6.1, every run), as they would over any path whose latency jumps by 200 ms: TCP's, not the
  // lag's. Once its window has grown (after half a second), at least 90% within +-10% of it.
  std::printf("late by (ms):");
  for (double v : msgs) std::printf(" %.0f", v);
  std::printf("\n");
  EXPECT_GT(*std::min_element(msgs.begin(), msgs.end()), 180.0);
  EXPECT_LE(*std::max_element(msgs.begin(), msgs.end()), 460.0)
      << "a message waited more than one extra round trip (+15%)";
  const std::vector<double> settled(msgs.begin() + 5, msgs.end());
  const auto within = std::count_if(settled.begin(), settled.end(),
                                    [](double v) { return v >= 180.0 && v <= 220.0; });
  EXPECT_GE(static_cast<double>(within), 0.9 * static_cast<double>(settled.size()))
      << within << " of " << settled.size() << " messages after the first half second within 200 "
      << "+-10% ms";
  // Each message spanned several segments, each decided and delayed (12 MSS of 1448 bytes).
  EXPECT_GE(live, 8 * msgs.size()) << "messages did not span several segments";
  EXPECT_LT(Median(subs), 10.0) << "the engine's subscriptions were slowed";
  EXPECT_LT(Median(pings), 10.0) << "the engine's pings were slowed";

  std::vector<double> r;
  for (auto& x : s.Rtts(s.target, s.rest_port, 30, 20000))
    r.push_back(static_cast<double>(x.value_ns) / 1e6);
  std::printf("REST round trip under lat_spike 100 + ws_lag 200: median %.1f -> %.1f ms (+%.1f)\n",
              rest_base, Median(r), Median(r) - rest_base);
  EXPECT_NEAR(Median(r) - rest_base, 100.0, 10.0);
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

INSTANTIATE_TEST_SUITE_P(AllPaths, NetemRollback, AllPaths(), PathName);

}  // namespace
}  // namespace mmchaos::testing
