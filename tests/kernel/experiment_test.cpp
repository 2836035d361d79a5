// `mmchaos experiment` end to end: the reference engine against the mock exchange, one scenario
// per run with short ticks. The run JSON is checked against what others counted independently:
// the injection log (the kernel's ring buffer, not its counters), the engine's own metrics and
// --stats-json, and the exchange's order log.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "doctor/tc_probes.h"
#include "reference_scene.h"
#include "tc/steering.h"
#include "tls/tls_uprobe.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

struct ExperimentScene : ReferenceScene {
  uint16_t engine_metrics = TestPort(13);
  std::unique_ptr<Process> engine;
  std::string stats = dir.path() + "/engine-stats.json";

  // exec: the engine is started through `mmchaos exec -c` the config of chaos and extra (the TLS
  // preload in it, as a user of the preload mechanism starts it), else plainly in the target
  // cgroup.
  explicit ExperimentScene(bool tls = false, bool exec = false, const std::string& chaos = "",
                           const std::string& extra = "")
      : ReferenceScene(tls) {
    const std::string cmd = EngineCmd(
        "--tick-ms 50 --deadline-ms 200 --backoff-base-ms 50 --backoff-max-ms 200 "
        "--retry-after-max-ms 100 --reconcile-every-ticks 5 --metrics-listen " +
        topo.engine_ip + ":" + std::to_string(engine_metrics) + " --stats-json " + stats);
    engine = !exec ? std::make_unique<Process>(cmd, topo.engine, &target)
                   : std::make_unique<Process>("exec " + MmchaosBin() + " exec -c " +
                                               dir.Write("chaos.yaml", Config(chaos, extra)) +
                                               " -- " + cmd);
    WaitListening(topo.engine, {engine_metrics});  // the engine is up
  }

  ~ExperimentScene() {
    if (engine) {
      engine->Signal(SIGTERM);
      engine->Wait();
    }
  }

  std::string Config(const std::string& chaos, const std::string& extra = "",
                     bool engine_metrics = true) const {
    std::ostringstream y;
    y << "chaos:\n  enabled: false\n  dry_run: false\n"
      << chaos << "  burst_on_sec: 1\n  burst_off_sec: 1\n"
      << TargetYaml() << "  tick_ms: 50\n  deadline_ms: 200\n"
      << "  metrics_url: \""
      << (engine_metrics
              ? "http://" + topo.engine_ip + ":" + std::to_string(this->engine_metrics) + "/metrics"
              : "")
      << "\"\n"
      << "experiment:\n  baseline_ticks: 20\n  bursts: 2\n  recovery_ticks: 20\n"
      << "metrics:\n  listen: \"127.0.0.1:" << TestPort(1) << "\"\n"
      << "log:\n  injections: " << dir.path() << "/inj.jsonl\n  max_events_per_sec: 100000\n"
      << extra;
    return y.str();
  }

  // Runs one experiment; returns its exit code and (when written) the run JSON.
  std::pair<int, nlohmann::json> Experiment(const std::string& config, const std::string& scn) {
    std::string out = dir.path() + "/out";
    std::filesystem::remove_all(out);
    Controller c(Controller::Args{
        {"experiment", "-c", dir.Write("chaos.yaml", config), "--scenario", scn, "--out", out}});
    int rc = c.Wait(90s);
    last_output = c.output();
    nlohmann::json j;
    if (std::filesystem::exists(out + "/runs")) {
      for (const auto& f : std::filesystem::directory_iterator(out + "/runs")) {
        std::ifstream in(f.path());
        j = nlohmann::json::parse(in, nullptr, false);
      }
    }
    return {rc, j};
  }

  // Lines of the injection log for a scenario and mode.
  int64_t Logged(const std::string& scn, const std::string& mode) const {
    std::ifstream in(dir.path() + "/inj.jsonl");
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line))
      n += line.find("\"scenario\":\"" + scn + "\"") != std::string::npos &&
           line.find("\"mode\":\"" + mode + "\"") != std::string::npos;
    return n;
  }

  nlohmann::json EngineStats() {
    engine->Signal(SIGTERM);
    engine->Wait();
    engine.reset();
    std::ifstream in(stats);
    return nlohmann::json::parse(in, nullptr, false);
  }

  std::string last_output;
};

int64_t SumTicks(const nlohmann::json& run, const char* key, const char* phase = nullptr) {
  int64_t n = 0;
  for (const auto& t : run["ticks"])
    if (!phase || t["phase"] == phase) n += t[key].get<int64_t>();
  return n;
}

// The run's shape: every tick, phases in order, bursts where the schedule put them.
void ExpectShape(const nlohmann::json& run, const std::string& scenario) {
  EXPECT_EQ(run["scenario"], scenario);
  EXPECT_EQ(run["tick_ms"], 50);
  // 20 baseline + 2 bursts of 1 s on / 1 s off without the last off (3 s = 60 ticks) + 20.
  ASSERT_EQ(run["ticks"].size(), 100u) << run.dump();
  EXPECT_EQ(run["ticks"][0]["phase"], "baseline");
  EXPECT_EQ(run["ticks"][19]["phase"], "baseline");
  EXPECT_EQ(run["ticks"][20]["phase"], "chaos");
  EXPECT_EQ(run["ticks"][79]["phase"], "chaos");
  EXPECT_EQ(run["ticks"][80]["phase"], "recovery");
  ASSERT_EQ(run["bursts"].size(), 2u) << run["bursts"].dump();
  EXPECT_EQ(run["bursts"][0]["start_tick"], 20);
  EXPECT_NEAR(run["bursts"][0]["end_tick"].get<double>(), 39, 1);
  EXPECT_NEAR(run["bursts"][1]["start_tick"].get<double>(), 60, 1);
  EXPECT_EQ(run["bursts"][1]["end_tick"], 79);
  // The engine sends about one request per 50 ms tick (fewer under emulation); the kernel saw
  // them.
  EXPECT_GE(SumTicks(run, "requests", "baseline"), 5) << run.dump();
  EXPECT_GT(run["engine"]["total"]["requests"].get<double>(), 30) << run.dump();
}

TEST(Experiment, NetLossRunAgreesWithTheInjectionLogAndTheEngine) {
  ExperimentScene s;
  auto [rc, run] = s.Experiment(s.Config("  net_loss: 0.3\n"), "net_loss");
  ASSERT_EQ(rc, 0) << s.last_output;
  ExpectShape(run, "net_loss");
  int64_t live = run["injections"]["live"];
  EXPECT_GT(live, 0);
  // Counters (per-CPU map) and the log (ring buffer) are independent paths in the kernel.
  EXPECT_EQ(live, s.Logged("net_loss", "live")) << s.last_output;
  EXPECT_EQ(run["injections"]["shadow"].get<int64_t>(), s.Logged("net_loss", "shadow"));
  EXPECT_EQ(run["kernel"]["injections_by_phase"]["baseline"]["live"], 0);
  EXPECT_GT(run["kernel"]["injections_by_phase"]["baseline"]["shadow"], 0)
      << "baseline: shadow bursts";
  EXPECT_EQ(run["kernel"]["injections_by_phase"]["recovery"]["live"], 0);
  // Lost packets cost the engine deadlines, which both it and the kernel see; the kernel only
  // sees requests that were sent (a lost SYN delays a connect the kernel never times).
  double engine_misses = run["engine"]["chaos"]["deadline_misses"];
  EXPECT_GT(SumTicks(run, "deadline_misses", "chaos"), 0) << run.dump();
  EXPECT_GT(engine_misses, 0) << run.dump();
  EXPECT_EQ(SumTicks(run, "deadline_misses", "baseline"), 0) << run.dump();
  EXPECT_LE(SumTicks(run, "deadline_misses", "chaos"),
            run["engine"]["total"]["deadline_misses"].get<double>() + 2)
      << run.dump();
  EXPECT_TRUE(run["rollbacks"].empty());
  EXPECT_EQ(StatusFor(s.target.path()), nullptr) << "the experiment detached";
  // The summary is the report's math over the same ticks.
  EXPECT_EQ(run["summary"]["chaos"]["requests"], SumTicks(run, "requests", "chaos"));
  EXPECT_EQ(run["summary"]["recovery_ticks_per_burst"].size(), 2u);
}

// lat_spike needs netem: where the kernel has it (the qemu lane), the chaos phase's latency rises
// by the spike in bursts and the p99 criterion is judged; where it does not, the experiment is
// refused up front with the reason, and no run is written.
TEST(Experiment, LatSpikeIsMeasuredOrRefusedWithTheReason) {
  ExperimentScene s;
  auto [rc, run] = s.Experiment(s.Config("  lat_spike_ms: 100\n"), "lat_spike");
  if (!ProbeNetemSupport().has_value()) {
    ASSERT_FALSE(std::getenv("MMCHAOS_IN_VM")) << "netem must work in the qemu lane";
    EXPECT_EQ(rc, 2) << s.last_output;
    EXPECT_NE(s.last_output.find("netem"), std::string::npos) << s.last_output;
    EXPECT_TRUE(run.is_null());
    return;
  }
  ASSERT_EQ(rc, 0) << s.last_output;
  ExpectShape(run, "lat_spike");
  std::vector<double> base, burst;
  for (const auto& t : run["ticks"]) {
    if (t["phase"] == "recovery") continue;
    auto& into = t["burst_on"].get<bool>() ? burst : base;
    for (double v : t["latency_ms"]) into.push_back(v);
  }
  ASSERT_GT(burst.size(), 10u);
  std::sort(base.begin(), base.end());
  std::sort(burst.begin(), burst.end());
  double added = burst[burst.size() / 2] - base[base.size() / 2];
  EXPECT_NEAR(added, 100, 15) << run["summary"].dump();
  EXPECT_EQ(run["summary"]["verdicts"]["p99_lat_spike"]["verdict"], "PASS")
      << run["summary"].dump();
}

TEST(Experiment, Exch429MatchesTheEnginesOwn429s) {
  ExperimentScene s;
  auto [rc, run] = s.Experiment(s.Config("  exch_429: 0.5\n"), "exch_429");
  ASSERT_EQ(rc, 0) << s.last_output;
  ExpectShape(run, "exch_429");
  auto stats = s.EngineStats();
  // The exchange has no rate limit (--rate 0): every 429 the engine saw was injected.
  int64_t engine_429 = 0;
  for (const auto& [op, codes] : stats["requests"].items())
    if (codes.contains("429")) engine_429 += codes["429"].get<int64_t>();
  int64_t live = run["injections"]["live"];
  EXPECT_GT(live, 5);
  EXPECT_EQ(engine_429, live) << stats.dump();
  EXPECT_EQ(run["kernel"]["failures"].get<int64_t>(), live) << run.dump();
}

// slack: requests the kernel may miss at the start (the preload maps a new record within a
// second of the engine's next write: up to 20 requests of its 50 ms ticks).
void ExpectTlsKernelFiguresAreTheEngines(ExperimentScene& s, const nlohmann::json& run,
                                         double slack = 0);

// Over TLS, as a real exchange speaks it: the reference engine (Boost.Asio on the system's
// libssl) verifies the mock exchange's HTTPS against a throwaway CA. exch_429 rewrites statuses
// in libssl with the uprobes, which also account the requests there (op, the status the engine
// got, latency): the kernel's figures are the engine's own, as on plaintext. The uprobes need
// bpf_probe_write_user: run in the qemu lane (tls_uprobe), refused under this host's lockdown.
TEST(TlsUprobe, ExperimentExch429KernelFiguresEqualTheEnginesOwn) {
  if (Result<void> probe = ProbeTlsUprobe(); !probe) {
    const std::string why = probe.error().message();
    if (std::getenv("MMCHAOS_IN_VM")) FAIL() << "the qemu lane must run the TLS uprobes: " << why;
    GTEST_SKIP() << "this kernel cannot run the TLS uprobe mechanism: " << why;
  }
  ExperimentScene s(/*tls=*/true);
  auto [rc, run] = s.Experiment(s.Config("  exch_429: 0.5\n"), "exch_429");
  ASSERT_EQ(rc, 0) << s.last_output;
  ExpectShape(run, "exch_429");
  EXPECT_NE(s.last_output.find("they account the https:// requests"), std::string::npos)
      << s.last_output;
  ExpectTlsKernelFiguresAreTheEngines(s, run);
}

void ExpectTlsKernelFiguresAreTheEngines(ExperimentScene& s, const nlohmann::json& run,
                                         double slack) {
  auto stats = s.EngineStats();
  int64_t engine_429 = 0;
  for (const auto& [op, codes] : stats["requests"].items())
    if (codes.contains("429")) engine_429 += codes["429"].get<int64_t>();
  const int64_t live = run["injections"]["live"];
  EXPECT_GT(live, 5);
  EXPECT_EQ(engine_429, live) << stats.dump();
  EXPECT_EQ(run["kernel"]["failures"].get<int64_t>(), live) << run.dump();
  // Every request once (the cgroup hooks count none of the TLS flow's): the ticks' requests are
  // the engine's over the run, give or take the requests in flight at its two ends.
  const double kernel = run["kernel"]["requests"].get<double>();
  const double engine = run["engine"]["total"]["requests"].get<double>();
  EXPECT_LE(kernel, engine + 3 + engine * 0.05) << run.dump();
  EXPECT_GE(kernel, engine - 3 - engine * 0.05 - slack) << run.dump();
}

// The same with the preload mechanism (this host: no uprobes under lockdown), the engine started
// through `mmchaos exec`: the preload rewrites and accounts the requests in libssl, and hands the
// experiment one event per request through the shared record, as the kernel's ring does.
TEST(TlsPreload, ExperimentExch429KernelFiguresEqualTheEnginesOwn) {
  const std::string chaos = "  exch_429: 0.5\n", extra = "faults:\n  tls_mechanism: preload\n";
  ExperimentScene s(/*tls=*/true, /*exec=*/true, chaos, extra);
  auto [rc, run] = s.Experiment(s.Config(chaos, extra), "exch_429");
  ASSERT_EQ(rc, 0) << s.last_output;
  ExpectShape(run, "exch_429");
  EXPECT_NE(s.last_output.find("it accounts the https:// requests"), std::string::npos)
      << s.last_output;
  ExpectTlsKernelFiguresAreTheEngines(s, run, /*slack=*/20);
}

TEST(Experiment, ReconcileMismatchCreatedDiscrepanciesAreDetected) {
  ExperimentScene s;
  auto [rc, run] = s.Experiment(s.Config("  reconcile_mismatch: 0.3\n"), "reconcile_mismatch");
  ASSERT_EQ(rc, 0) << s.last_output;
  ExpectShape(run, "reconcile_mismatch");
  int64_t created = run["discrepancies"]["created"];
  EXPECT_GT(created, 0) << run.dump();
  EXPECT_EQ(created, run["injections"]["live"].get<int64_t>());
  // Every lost ack is an order the exchange has and the engine did not know.
  EXPECT_GE(run["discrepancies"]["detected"].get<int64_t>(), created) << run.dump();
}

// An engine that exports nothing is still judged on what the kernel measured; only the
// discrepancies (which the engine must report) are recorded and not judged.
TEST(Experiment, WithoutEngineMetricsTheKernelFiguresAreJudged) {
  ExperimentScene s;
  auto [rc, run] = s.Experiment(
      s.Config("  reconcile_mismatch: 0.3\n", "", /*engine_metrics=*/false), "reconcile_mismatch");
  ASSERT_EQ(rc, 0) << s.last_output;
  EXPECT_FALSE(run.contains("engine"));
  EXPECT_GT(run["discrepancies"]["created"].get<int64_t>(), 0) << run.dump();
  EXPECT_EQ(run["acceptance"]["discrepancies_all_detected"], false);
  EXPECT_EQ(run["summary"]["verdicts"]["discrepancies"]["verdict"], "n/a");
  EXPECT_NE(run["summary"]["verdicts"]["p95_regression"]["observed"], "no data");
  EXPECT_NE(s.last_output.find("not judged"), std::string::npos);
}

TEST(Experiment, StopConditionDetachesAndIsRecorded) {
  ExperimentScene s;
  auto [rc, run] = s.Experiment(
      s.Config("  exch_5xx: 1.0\n",
               "rollback_triggers:\n"
               "  - {name: fail-storm, metric: fail_pct, op: \">\", value: 50, for_ticks: 3, "
               "window_ticks: 4}\n"),
      "exch_5xx");
  ASSERT_EQ(rc, 0) << s.last_output;
  ASSERT_EQ(run["rollbacks"].size(), 1u) << run.dump();
  EXPECT_EQ(run["rollbacks"][0]["trigger"], "fail-storm");
  int64_t at = run["rollbacks"][0]["tick"];
  EXPECT_GE(at, 20);
  EXPECT_LT(at, 40) << "fires during the first burst";
  EXPECT_EQ(run["ticks"].size(), static_cast<size_t>(at + 1));
  EXPECT_NE(s.last_output.find("rollback trigger fired"), std::string::npos);
  EXPECT_EQ(StatusFor(s.target.path()), nullptr);
}

// `run` evaluates the same triggers every tick: detaches, counts, keeps serving metrics.
TEST(Experiment, RunRollbackTriggerDetachesAndCounts) {
  ExperimentScene s;
  std::string cfg = s.Config("  exch_5xx: 1.0\n",
                             "rollback_triggers:\n"
                             "  - {metric: fail_pct, op: \">=\", value: 100, for_ticks: 2}\n");
  cfg.replace(cfg.find("enabled: false"), 14, "enabled: true");
  Controller c(s.dir.Write("run.yaml", cfg));
  ASSERT_TRUE(c.WaitFor("rollback trigger fired", 20s)) << c.output();
  std::string body = Scrape(TestPort(1));
  EXPECT_EQ(Scraped(body, "mm_chaos_rollbacks_total", R"(trigger="fail_pct >= 100 for 2 ticks")"),
            1)
      << body;
  EXPECT_EQ(Scraped(body, "mm_chaos_attached", ""), 0) << body;
  EXPECT_EQ(StatusFor(s.target.path()), nullptr);
}

}  // namespace
}  // namespace mmchaos::testing
