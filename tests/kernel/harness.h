// What the kernel tests share beyond fixtures: a config for a test target, the controller's view
// (status --json) and the skip rule (a kernel test may only skip where the kernel lacks support).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "experiment/http_get.h"
#include "fixture.h"
#include "tc/tcx.h"

namespace mmchaos::testing {

struct ChaosKnobs {
  double net_loss = 0;
  bool dry_run = false;
  bool enabled = true;
  double on_sec = 3600;
  double off_sec = 0;
  int max_events_per_sec = 100;
};

// Whether tc programs attach as tcx links here (6.6+) rather than through clsact. A lane that
// exists to test tcx (MMCHAOS_EXPECT_TCX=1: the 6.12 qemu lane) must fail where it is missing.
inline bool TcxHere() { return DetectTcAttach() == TcAttach::kTcx; }
inline bool TcxExpected() { return std::getenv("MMCHAOS_EXPECT_TCX") != nullptr; }

inline uint16_t TestPort(int salt = 0) {
  return static_cast<uint16_t>(20000 + (getpid() * 7 + salt) % 20000);
}

inline std::string ConfigYaml(const std::string& cgroup, const ChaosKnobs& k, uint16_t metrics_port,
                              const std::string& log_path) {
  std::ostringstream y;
  y << "chaos:\n"
    << "  enabled: " << (k.enabled ? "true" : "false") << "\n"
    << "  dry_run: " << (k.dry_run ? "true" : "false") << "\n"
    << "  net_loss: " << k.net_loss << "\n"
    << "  burst_on_sec: " << k.on_sec << "\n"
    << "  burst_off_sec: " << k.off_sec << "\n"
    << "target:\n"
    << "  cgroup: " << cgroup << "\n"
    << "metrics:\n"
    << "  listen: \"127.0.0.1:" << metrics_port << "\"\n"
    << "log:\n"
    << "  injections: " << log_path << "\n"
    << "  max_events_per_sec: " << k.max_events_per_sec << "\n";
  return y.str();
}

// The value of one sample in a Prometheus text body, or -1 when absent. labels is the exact
// label text as the exposer prints it (e.g. `mode="live",scenario="net_loss"`), or empty.
inline double Scraped(const std::string& body, const std::string& name, const std::string& labels) {
  const std::string prefix = labels.empty() ? name + " " : name + "{" + labels + "} ";
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(prefix.size()));
  return -1;
}

// In-process: a curl process costs ~0.4 s under qemu's emulation, and tests scrape often.
inline std::string Scrape(uint16_t port) {
  auto body = HttpGet("http://127.0.0.1:" + std::to_string(port) + "/metrics", "", 5000);
  return body ? *body : std::string();
}

inline nlohmann::json Status() {
  int rc = 0;
  std::string out = Capture(MmchaosBin() + " status --json", &rc);
  EXPECT_EQ(rc, 0) << out;
  auto j = nlohmann::json::parse(out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << out;
  return j;
}

// A config with exch_429 on one https:// REST endpoint of target by faults.tls_mechanism
// mechanism, for `validate` and `run` (not run against a real exchange).
inline std::string TlsRewriteYaml(const TempDir& dir, const Cgroup& target,
                                  const std::string& mechanism) {
  return dir.Write("chaos-" + mechanism + ".yaml",
                   "chaos:\n  exch_429: 0.2\n  burst_on_sec: 3600\n  burst_off_sec: 0\n"
                   "target:\n  cgroup: " +
                       target.path() +
                       "\n  interfaces: [veth0]\n  exchanges:\n    x:\n"
                       "      rest: [\"https://10.0.0.2:8443\"]\n"
                       "faults:\n  tls_mechanism: " +
                       mechanism +
                       "\nmetrics:\n  listen: \"127.0.0.1:" + std::to_string(TestPort(1)) + "\"\n");
}

// The attached data plane of one cgroup in `status --json`, or null.
inline nlohmann::json StatusFor(const std::string& cgroup) {
  const nlohmann::json all = Status();
  for (const auto& dp : all["attached"])
    if (dp.value("cgroup", "") == cgroup) return dp;
  return nullptr;
}

inline uint64_t StatusInjections(const nlohmann::json& dp, const char* scn, const char* mode) {
  return dp["injections"][scn][mode].get<uint64_t>();
}

// The ways out of a run that every rollback test walks (parameterised tests).
enum class Path { kSigterm, kSighupDisabled, kRollbackCommand, kSigkill };

inline std::string PathName(const ::testing::TestParamInfo<Path>& p) {
  switch (p.param) {
    case Path::kSigterm:
      return "Sigterm";
    case Path::kSighupDisabled:
      return "SighupEnabledFalse";
    case Path::kRollbackCommand:
      return "RollbackCommand";
    case Path::kSigkill:
      return "Sigkill";
  }
  return "?";
}

// Every path, for INSTANTIATE_TEST_SUITE_P(AllPaths, Suite, AllPaths(), PathName).
inline auto AllPaths() {
  return ::testing::Values(Path::kSigterm, Path::kSighupDisabled, Path::kRollbackCommand,
                           Path::kSigkill);
}

// Pulls rollback path p on a running controller: disable() rewrites its config with enabled:
// false (SIGHUP). With wait_exit the test waits for the controller to exit where that path ends
// it (links that go with the process); `mmchaos rollback` must say rollback_says when given.
inline void PullRollback(Path p, Controller& ctl, const std::function<void()>& disable,
                         bool wait_exit, const std::string& rollback_says = {}) {
  using namespace std::chrono_literals;
  switch (p) {
    case Path::kSigterm:
      ctl.Signal(SIGTERM);
      ASSERT_EQ(ctl.Wait(10s), 0) << ctl.output();
      break;
    case Path::kSighupDisabled:
      disable();
      ctl.Signal(SIGHUP);
      ASSERT_TRUE(ctl.WaitFor("SIGHUP: config re-read", 5s)) << ctl.output();
      break;
    case Path::kRollbackCommand: {
      int rc = 0;
      std::string out = Capture(MmchaosBin() + " rollback", &rc);
      EXPECT_EQ(rc, 0) << out;
      if (!rollback_says.empty()) {
        EXPECT_NE(out.find(rollback_says), std::string::npos) << out;
      }
      if (wait_exit) {
        EXPECT_GE(ctl.Wait(10s), 0) << "the controller exits once its links are gone";
      }
      break;
    }
    case Path::kSigkill:
      ctl.Signal(SIGKILL);
      if (wait_exit) {
        EXPECT_GE(ctl.Wait(10s), 0);
      }
      break;
  }
}

// What an operator does after a controller was SIGKILLed: `mmchaos rollback` disarms and removes
// what the dead controller left (its state record, and the shared page at `shared_page` when not
// empty), and a second rollback finds nothing. Call after the controller was reaped.
inline void ExpectRollbackAfterCrash(const std::string& shared_page) {
  int rc = 0;
  const std::string out = Capture(MmchaosBin() + " rollback 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("rolled back: "), std::string::npos) << out;
  EXPECT_NE(out.find("stale record(s) removed (pid"), std::string::npos) << out;
  if (!shared_page.empty()) {
    EXPECT_NE(out.find("clock_skew record(s) disarmed and removed"), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(shared_page)) << shared_page << "\n" << out;
  }
  const nlohmann::json st = Status();
  EXPECT_TRUE(st["attached"].empty()) << st.dump();
  EXPECT_TRUE(st["netem"].empty()) << st.dump();
  EXPECT_TRUE(st["damaged_records"].empty()) << st.dump();
  const std::string again = Capture(MmchaosBin() + " rollback 2>&1", &rc);
  EXPECT_EQ(rc, 0) << again;
  EXPECT_NE(again.find("nothing to roll back"), std::string::npos) << again;
}

}  // namespace mmchaos::testing
