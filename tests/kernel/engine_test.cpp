// The reference engine (reference/) against the mock exchange, with mmchaos injecting into the
// engine's cgroup: what a real WebSocket/HTTP client sees, and what it detects, is what the
// scenarios promise.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "reference_scene.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

struct EngineScene : ReferenceScene {
  using ReferenceScene::ReferenceScene;

  std::unique_ptr<Controller> Start(const std::string& chaos) {
    std::ostringstream y;
    y << "chaos:\n  enabled: true\n  dry_run: false\n"
      << chaos << "  burst_on_sec: 3600\n  burst_off_sec: 0\n"
      << TargetYaml() << "metrics:\n  listen: \"127.0.0.1:" << TestPort(1) << "\"\n"
      << "log:\n  injections: " << dir.path() << "/inj.jsonl\n";
    auto c = std::make_unique<Controller>(dir.Write("chaos.yaml", y.str()));
    EXPECT_TRUE(c->WaitFor("tc hook up", 30s)) << c->output();
    return c;
  }

  // Runs the engine in the target cgroup for `run`, then returns its --stats-json summary. On
  // TLS it is started through `mmchaos exec` (the TLS faults' preload), as a user would.
  nlohmann::json RunEngine(std::chrono::milliseconds run) {
    std::string stats = dir.path() + "/engine-stats.json";
    std::string cmd = EngineCmd(
        "--tick-ms 50 --backoff-max-ms 300 --reconcile-every-ticks 5 "
        "--metrics-listen " +
        topo.engine_ip + ":" + std::to_string(TestPort(13)) + " --stats-json " + stats);
    auto engine = tls ? std::make_unique<Process>("exec " + MmchaosBin() + " exec -c " +
                                                  dir.path() + "/chaos.yaml -- " + cmd)
                      : std::make_unique<Process>(cmd, topo.engine, &target);
    std::this_thread::sleep_for(run);
    return Finish(*engine, stats);
  }

  static nlohmann::json Finish(Process& engine, const std::string& stats) {
    engine.Signal(SIGTERM);
    engine.Wait();
    std::ifstream in(stats);
    std::stringstream text;
    text << in.rdbuf();
    auto j = nlohmann::json::parse(text.str(), nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "engine stats: " << text.str();
    return j;
  }
};

uint64_t At(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->contains(k)) return 0;
    cur = &(*cur)[k];
  }
  return cur->is_number() ? cur->get<uint64_t>() : 0;
}

TEST(Engine, WsDisconnectMakesTheReferenceEngineReconnect) {
  EngineScene s;
  auto ctl = s.Start("  ws_disconnect: 1.0\n");
  auto stats = s.RunEngine(4s);
  EXPECT_GE(At(stats, {"reconnect_attempts", "ws"}), 2u) << stats.dump();
  std::string body = Scrape(TestPort(1));
  EXPECT_GE(Scraped(body, "mm_reconnect_attempts_total", R"(kind="ws")"), 2) << body;
  EXPECT_GE(StatusInjections(StatusFor(s.target.path()), "ws_disconnect", "live"), 2u);
}

class EngineReconcile : public ::testing::TestWithParam<bool> {};

// Plaintext: the data plane chooses order requests by their request line and resets the answer.
// TLS: the preload chooses them where OpenSSL holds the request line, and the engine's read of
// the answer fails as on a reset; on both, the engine's reconciliation finds every lost ack.
TEST_P(EngineReconcile, MismatchIsDetectedByTheEngine) {
  EngineScene s(GetParam());
  auto ctl = s.Start("  reconcile_mismatch: 0.3\n");
  auto stats = s.RunEngine(4s);
  uint64_t created = StatusInjections(StatusFor(s.target.path()), "reconcile_mismatch", "live");
  EXPECT_GT(created, 0u);
  EXPECT_GT(At(stats, {"reconcile", "discrepancies", "missing_on_engine"}), 0u) << stats.dump();
  // The exchange has every order the engine placed, answered or not.
  std::ifstream log(s.dir.path() + "/orders.jsonl");
  std::string line;
  int places = 0;
  while (std::getline(log, line)) places += line.find("\"place\"") != std::string::npos;
  EXPECT_GE(places, static_cast<int>(created));
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, EngineReconcile, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tls" : "Plain"; });

}  // namespace
}  // namespace mmchaos::testing
