// Every tc fault stops by itself after a crash: on kernels without tcx links (6.1) the tc hook is
// a clsact filter that outlives a SIGKILLed controller, and only the heartbeat dead-man stops it.
// Per scenario, at probability 1: a fault on the engine's flow before the SIGKILL, and none on
// flows tagged before it once two heartbeats have passed. With tcx (6.6+) the hook's link dies
// with the process; the test holds there too.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "harness.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kHeartbeatMs = 100;

struct Case {
  const char* scenario;
  nlohmann::json before;  // what the engine's flow gets while the controller runs
};

// Test names and ctest's listing show the scenario, not the struct's bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.scenario; }

class DeadMan : public ::testing::TestWithParam<Case> {};

TEST_P(DeadMan, InjectionStopsWithinTwoHeartbeatsOfSigkill) {
  const Case& c = GetParam();
  Topology topo;
  Cgroup target("target");
  TempDir dir;
  const uint16_t http_port = TestPort(7), stream_port = TestPort(8);
  const std::string peer = std::string("/usr/bin/python3 ") + DEADMAN_PEER_PY;
  const std::string ports = " --ip " + topo.exchange_ip + " --http " + std::to_string(http_port) +
                            " --stream " + std::to_string(stream_port) + " --flag " + dir.path() +
                            "/flag";
  Process server(peer + " server" + ports, topo.exchange);

  std::ostringstream y;
  y << "chaos:\n  enabled: true\n  dry_run: false\n  " << c.scenario << ": 1.0\n"
    << "  burst_on_sec: 3600\n  burst_off_sec: 0\n"
    << "target:\n  cgroup: " << target.path() << "\n  netns: " << topo.engine.path() << "\n"
    << "  interfaces: [" << topo.engine_if << "]\n  heartbeat_ms: " << kHeartbeatMs << "\n"
    << "  exchanges:\n    testnet:\n"
    << "      rest: [\"http://" << topo.exchange_ip << ":" << http_port << "\"]\n"
    << "      ws: [\"ws://" << topo.exchange_ip << ":" << stream_port << "\"]\n"
    << "      order_requests: [\"POST /api/v3/order\"]\n"
    << "  dns_ports: [53]\n"
    << "metrics:\n  listen: \"127.0.0.1:" << TestPort(1) << "\"\n"
    << "log:\n  injections: " << dir.path() << "/inj.jsonl\n";
  auto ctl = std::make_unique<Controller>(dir.Write("chaos.yaml", y.str()));
  ASSERT_TRUE(ctl->WaitFor("tc hook up", 30s)) << ctl->output();
  WaitListening(topo.exchange, {http_port, stream_port});

  const std::string ready = dir.path() + "/ready", result = dir.path() + "/result.json";
  Process client("sh -c '" + peer + " client --scenario " + c.scenario + ports + " --ready " +
                     ready + " > " + result + "'",
                 topo.engine, &target);
  for (int i = 0; i < 3000 && !std::filesystem::exists(ready); ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(std::filesystem::exists(ready)) << "the client never got through its first part";

  ctl->Signal(SIGKILL);
  EXPECT_EQ(ctl->Wait(10s), 128 + SIGKILL);
  const std::string filters =
      "ip netns exec " + topo.engine.name() + " tc filter show dev " + topo.engine_if + " ingress";
  if (!TcxHere()) {
    EXPECT_NE(Capture(filters), "") << "clsact: the filter outlives the controller (the case "
                                       "the dead-man is for)";
  }
  // Two heartbeat periods, the coarse clock's lag and a margin; then the same flows again.
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * kHeartbeatMs + 50));
  std::ofstream(dir.path() + "/flag").close();
  EXPECT_EQ(client.Wait(), 0);

  std::ifstream in(result);
  auto got = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(got.is_discarded()) << "client output unreadable";
  EXPECT_EQ(got["before"], c.before) << got.dump();
  EXPECT_NE(got["after"], c.before) << got.dump();
  const nlohmann::json clean = std::string(c.scenario) == "ws_disconnect" ? nlohmann::json("data")
                               : std::string(c.scenario) == "dns_flap"    ? nlohmann::json(0)
                                                                          : nlohmann::json(200);
  EXPECT_EQ(got["after"], clean) << got.dump();
  if (got.contains("same_connection")) {
    EXPECT_TRUE(got["same_connection"].get<bool>()) << "a connection opened before the kill";
  }

  // What the crash left (the clsact filter) goes with rollback.
  int rc = 0;
  std::string out = Capture(MmchaosBin() + " rollback 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(Capture(filters), "");
}

INSTANTIATE_TEST_SUITE_P(EveryTcScenario, DeadMan,
                         ::testing::Values(Case{"exch_429", 429}, Case{"exch_5xx", 503},
                                           Case{"rate_limit_storm", 429},
                                           Case{"reconcile_mismatch", "reset"},
                                           Case{"ws_disconnect", "reset"}, Case{"dns_flap", 2}),
                         [](const ::testing::TestParamInfo<Case>& p) {
                           std::string n = p.param.scenario;
                           n.erase(std::remove(n.begin(), n.end(), '_'), n.end());
                           return n;
                         });

}  // namespace
}  // namespace mmchaos::testing
