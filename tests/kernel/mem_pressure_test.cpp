// mem_pressure against a real cgroup v2 memory controller: a workload that keeps a working set
// in the target cgroup stalls on memory (PSI) during bursts, memory.high is back to its exact
// original value after each burst and after every rollback path, a sibling cgroup is untouched,
// shadow mode writes nothing and counts. Where cgroup v2 has no memory controller (this
// project's hybrid-cgroup development host) the scenario must be refused, which
// DoctorAndValidationMatchTheKernel asserts; the rest runs in the qemu lane, where a missing
// memory controller is a failure.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "cgroup/memory.h"
#include "harness.h"
#include "schedule.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

bool MemoryHere() {
  static const bool ok = MemoryControllerProblem("").empty();
  return ok;
}

#define REQUIRE_MEMORY_CONTROLLER()                                                        \
  if (!MemoryHere()) {                                                                     \
    if (std::getenv("MMCHAOS_IN_VM"))                                                      \
      FAIL() << "the cgroup v2 memory controller must work in the qemu lane: "             \
             << MemoryControllerProblem("");                                               \
    GTEST_SKIP() << "no cgroup v2 memory controller here (" << MemoryControllerProblem("") \
                 << "): DoctorAndValidationMatchTheKernel tests the refusal";              \
  }

uint64_t MonoNowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string t = s.str();
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t;
}

void WriteFile(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value << std::flush;
  ASSERT_TRUE(out.good()) << "write " << value << " to " << path;
}

uint64_t SomeTotalUs(const Cgroup& cg) {
  auto p = ParseMemoryPsi(ReadFile(cg.path() + "/memory.pressure"));
  EXPECT_TRUE(p) << cg.path();
  return p ? p->some_total_us : 0;
}

// The workload: keeps `mib` MiB of anonymous memory resident and touched, and keeps allocating
// like a real process does (1 MiB of it is given back and faulted in again every pass), so it is
// charged continuously and stalls when over memory.high. It runs in a forked child of a threaded
// process, so it sticks to system calls and plain memory accesses.
int HoldWorkingSet(size_t mib) {
  const size_t len = mib << 20, page = 4096, slice = 1 << 20;
  auto* p = static_cast<volatile char*>(
      mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (p == MAP_FAILED) return 3;
  for (size_t pass = 0;; ++pass) {
    madvise(const_cast<char*>(p) + (pass % mib) * slice, slice, MADV_DONTNEED);
    for (size_t i = 0; i < len; i += page) p[i] = static_cast<char>(p[i] + 1);
    usleep(50000);  // leave the (emulated) CPUs to the controller
  }
}

struct MemKnobs {
  std::string level = "high";
  bool dry_run = false;
  bool enabled = true;
  double on_sec = 3600;
  double off_sec = 0;
};

// A parent cgroup with the memory controller enabled for its children (the operator's step
// mmchaos refuses to take), the target and a sibling under it, each with a workload.
struct MemScene {
  static constexpr const char* kTargetHigh = "1073741824";  // 1 GiB: an operator's value
  static constexpr const char* kSiblingHigh = "805306368";
  Cgroup parent{"mem"};
  std::unique_ptr<Cgroup> target, sibling;
  NetNs ns{"mmc-m" + std::to_string(getpid())};
  TempDir dir;
  std::unique_ptr<Child> hog, sibling_hog;
  uint16_t mport = TestPort(21);

  explicit MemScene(const std::string& target_high = kTargetHigh) {
    WriteFile(parent.path() + "/cgroup.subtree_control", "+memory");
    target = std::make_unique<Cgroup>(parent, "target");
    sibling = std::make_unique<Cgroup>(parent, "sibling");
    WriteFile(target->path() + "/memory.high", target_high);
    WriteFile(sibling->path() + "/memory.high", kSiblingHigh);
    hog = std::make_unique<Child>(*target, ns, [] { return HoldWorkingSet(96); });
    sibling_hog = std::make_unique<Child>(*sibling, ns, [] { return HoldWorkingSet(64); });
    // Resident before anything is measured (TCG is slow to fault 96 MiB in).
    for (int i = 0; i < 600 && Current(*target) < (90ULL << 20); ++i)
      std::this_thread::sleep_for(50ms);
    EXPECT_GE(Current(*target), 90ULL << 20) << "the workload did not build its working set";
  }
  ~MemScene() {
    hog.reset();
    sibling_hog.reset();
  }

  static uint64_t Current(const Cgroup& cg) {
    return ParseMemoryValue(ReadFile(cg.path() + "/memory.current")).value_or(0);
  }
  std::string High() const { return ReadFile(target->path() + "/memory.high"); }
  std::string SiblingHigh() const { return ReadFile(sibling->path() + "/memory.high"); }

  std::string Config(const MemKnobs& k) const {
    std::ostringstream y;
    y << "chaos:\n"
      << "  enabled: " << (k.enabled ? "true" : "false") << "\n"
      << "  dry_run: " << (k.dry_run ? "true" : "false") << "\n"
      << "  mem_pressure: " << k.level << "\n"
      << "  burst_on_sec: " << k.on_sec << "\n"
      << "  burst_off_sec: " << k.off_sec << "\n"
      << "target:\n"
      << "  cgroup: " << target->path() << "\n"
      << "metrics:\n"
      << "  listen: \"127.0.0.1:" << mport << "\"\n"
      << "log:\n"
      << "  injections: " << dir.path() << "/inj.jsonl\n";
    return y.str();
  }

  std::unique_ptr<Controller> Start(const MemKnobs& k) {
    auto c = std::make_unique<Controller>(dir.Write("chaos.yaml", Config(k)));
    EXPECT_TRUE(c->WaitFor("attached to", 60s)) << c->output();
    return c;
  }

  // Polls memory.high until it differs from / equals v.
  bool WaitHigh(const std::string& v, bool equal, std::chrono::milliseconds timeout) const {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if ((High() == v) == equal) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
};

nlohmann::json MemoryRecords() { return Status()["memory"]; }

TEST(MemPressure, DoctorAndValidationMatchTheKernel) {
  int rc = 0;
  std::string doc = Capture(MmchaosBin() + " doctor --json", &rc);
  ASSERT_EQ(rc, 0) << doc;
  auto j = nlohmann::json::parse(doc);
  bool seen = false;
  for (const auto& sc : j["scenarios"])
    if (sc["scenario"] == "mem_pressure") {
      seen = true;
      EXPECT_EQ(sc["supported"].get<bool>(), MemoryHere()) << doc;
    }
  EXPECT_TRUE(seen) << doc;

  TempDir dir;
  Cgroup parent("memparent");  // memory not enabled for its children: never done by mmchaos
  Cgroup target(parent, "target");
  std::ostringstream y;
  y << "chaos:\n  enabled: true\n  mem_pressure: medium\ntarget:\n  cgroup: " << target.path()
    << "\nmetrics:\n  listen: \"127.0.0.1:" << TestPort(22) << "\"\n";
  auto cfg = dir.Write("chaos.yaml", y.str());
  std::string out = Capture(MmchaosBin() + " validate -c " + cfg + " 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  const std::string why =
      MemoryHere() ? "not enabled for " + target.path() : "no memory controller";
  EXPECT_NE(out.find("chaos.mem_pressure: "), std::string::npos) << out;
  EXPECT_NE(out.find(why), std::string::npos) << out;
  EXPECT_EQ(ReadFile(parent.path() + "/cgroup.subtree_control").find("memory"), std::string::npos)
      << "mmchaos enabled a controller on a cgroup it did not create";
  Controller ctl(cfg);
  EXPECT_EQ(ctl.Wait(30s), 2) << ctl.output();
  EXPECT_NE(ctl.output().find(why), std::string::npos) << ctl.output();
  // --cgroup names another target than the file: `run` checks the one it resolved.
  if (MemoryHere()) {
    MemScene s;
    std::ostringstream y2;
    y2 << "chaos:\n  enabled: true\n  dry_run: true\n  mem_pressure: low\ntarget:\n  cgroup: "
       << s.target->path() << "\nmetrics:\n  listen: \"127.0.0.1:" << TestPort(23) << "\"\n";
    auto cfg2 = dir.Write("ok.yaml", y2.str());
    out = Capture(MmchaosBin() + " validate -c " + cfg2 + " 2>&1", &rc);
    EXPECT_EQ(rc, 0) << out;
    Controller other(cfg2, {"--cgroup", target.path()});
    EXPECT_EQ(other.Wait(30s), 2) << other.output();
    EXPECT_NE(other.output().find(why), std::string::npos) << other.output();
  }
}

TEST(MemPressure, BurstsStallTheTargetOnlyAndRestoreMemoryHighExactly) {
  REQUIRE_MEMORY_CONTROLLER();
  MemScene s("max");
  const uint64_t sib0 = SomeTotalUs(*s.sibling), tgt0 = SomeTotalUs(*s.target);
  std::this_thread::sleep_for(1s);
  const uint64_t quiet = SomeTotalUs(*s.target) - tgt0;
  EXPECT_LT(quiet, 50000u) << "the target stalls on memory before any burst";

  auto ctl = s.Start({.level = "high", .on_sec = 1, .off_sec = 1});
  auto dp = StatusFor(s.target->path());
  ASSERT_FALSE(dp.is_null()) << Status().dump();
  const uint64_t epoch = dp["burst"]["epoch_mono_ns"].get<uint64_t>();
  const uint64_t t0 = SomeTotalUs(*s.target);
  // Sample memory.high across 3 cycles, away from the phase edges (the 50 ms tick, and the
  // reclaim the write itself does, under TCG).
  std::set<std::string> on_values, off_values;
  int on_samples = 0, off_samples = 0;
  const uint64_t until = epoch + 6000000000ULL, edge = 300000000ULL;
  for (uint64_t now = MonoNowNs(); now < until; now = MonoNowNs()) {
    mmc_phase ph = mmc_schedule_phase(epoch, 1000000000ULL, 1000000000ULL, now);
    uint64_t into = (now - epoch) % 1000000000ULL;
    std::string v = s.High();
    if (into > edge && into < 1000000000ULL - edge) {
      (ph.on ? on_values : off_values).insert(v);
      ++(ph.on ? on_samples : off_samples);
    }
    EXPECT_EQ(s.SiblingHigh(), MemScene::kSiblingHigh);
    std::this_thread::sleep_for(20ms);
  }
  const uint64_t stalled = SomeTotalUs(*s.target) - t0;
  ASSERT_GT(on_samples, 15);
  ASSERT_GT(off_samples, 15);
  EXPECT_EQ(off_values, std::set<std::string>{"max"}) << "memory.high after each burst";
  ASSERT_FALSE(on_values.empty());
  EXPECT_LE(on_values.size(), 5u) << "one squeezed value per burst at most";
  for (const auto& v : on_values) {
    // high: 50% of memory.current at the burst's start (the 96 MiB working set, less what the
    // workload had given back and not yet faulted in again), never below the floor.
    auto squeezed = ParseMemoryValue(v);
    ASSERT_TRUE(squeezed) << v;
    EXPECT_GE(*squeezed, kMemoryHighFloor) << v;
    EXPECT_LT(*squeezed, 64ULL << 20) << v;
  }
  std::string squeezed_values;
  for (const auto& v : on_values) squeezed_values += v + " ";
  std::printf(
      "memory.high max -> %s(on) / max (off, %d samples); target PSI some: %.3f s "
      "in 1 s before, %.3f s over 3 bursts; sibling %.3f s\n",
      squeezed_values.c_str(), off_samples, quiet / 1e6, stalled / 1e6,
      (SomeTotalUs(*s.sibling) - sib0) / 1e6);
  EXPECT_GT(stalled, 400000u) << "3 bursts of 1 s over the workload's working set";
  EXPECT_LT(SomeTotalUs(*s.sibling) - sib0, 100000u) << "the sibling stalled on memory";

  // One application per burst begun by the time of the scrape (bursts start every 2 s; the
  // controller applies within a tick or so: 0.5 s of slack for TCG).
  auto begun = [epoch](uint64_t lag) {
    return static_cast<double>((MonoNowNs() - lag - epoch) / 2000000000ULL + 1);
  };
  const double begun_before = begun(500000000ULL);
  std::string body = Scrape(s.mport);
  const double begun_after = begun(0);
  double live =
      Scraped(body, "mm_chaos_injections_total", "mode=\"live\",scenario=\"mem_pressure\"");
  EXPECT_GE(live, begun_before) << body;
  EXPECT_LE(live, begun_after) << body;
  EXPECT_EQ(Scraped(body, "mm_chaos_injections_total", "mode=\"shadow\",scenario=\"mem_pressure\""),
            0);
  double psi = Scraped(body, "mm_chaos_memory_pressure_seconds_total", "kind=\"some\"");
  EXPECT_GE(psi, static_cast<double>(stalled) / 1e6) << body;
  EXPECT_GE(Scraped(body, "mm_chaos_memory_pressure_avg10", "kind=\"some\""), 0) << body;
  EXPECT_GE(Scraped(body, "mm_chaos_memory_pressure_seconds_total", "kind=\"full\""), 0) << body;
  const uint64_t in_status = StatusInjections(StatusFor(s.target->path()), "mem_pressure", "live");
  EXPECT_GE(in_status, static_cast<uint64_t>(live));  // bursts go on while `status` runs
  EXPECT_LE(in_status, static_cast<uint64_t>(begun(0)));

  ctl->Signal(SIGTERM);
  EXPECT_EQ(ctl->Wait(30s), 0) << ctl->output();
  EXPECT_EQ(s.High(), "max");
  EXPECT_EQ(s.SiblingHigh(), MemScene::kSiblingHigh);
  EXPECT_TRUE(MemoryRecords().empty()) << Status().dump();
  // Restored, the stalls end (the kernel's over-high sleeps last at most 2 s each).
  std::this_thread::sleep_for(2200ms);
  const uint64_t after = SomeTotalUs(*s.target);
  std::this_thread::sleep_for(1s);
  EXPECT_LT(SomeTotalUs(*s.target) - after, 50000u) << "the target still stalls once restored";
}

TEST(MemPressure, ShadowModeWritesNothingAndCounts) {
  REQUIRE_MEMORY_CONTROLLER();
  MemScene s;
  auto ctl = s.Start({.level = "high", .dry_run = true, .on_sec = 1, .off_sec = 1});
  const auto until = std::chrono::steady_clock::now() + 3500ms;  // two bursts begin
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(s.High(), MemScene::kTargetHigh);
    ASSERT_TRUE(MemoryRecords().empty());
    std::this_thread::sleep_for(20ms);
  }
  auto dp = StatusFor(s.target->path());
  EXPECT_GE(StatusInjections(dp, "mem_pressure", "shadow"), 2u) << dp.dump();
  EXPECT_EQ(StatusInjections(dp, "mem_pressure", "live"), 0u) << dp.dump();
  EXPECT_NE(ctl->output().find("would lower memory.high"), std::string::npos) << ctl->output();
}

enum class Path {
  kSigterm,
  kSighupDisabled,
  kRollbackCommand,
  kSigkillThenRollback,
  kSigkillThenRun
};

class MemPressureRollback : public ::testing::TestWithParam<Path> {};

TEST_P(MemPressureRollback, RestoresMemoryHighExactly) {
  REQUIRE_MEMORY_CONTROLLER();
  MemScene s;
  MemKnobs k{.level = "medium"};  // one burst that lasts: squeezed until rolled back
  auto ctl = s.Start(k);
  ASSERT_TRUE(s.WaitHigh(MemScene::kTargetHigh, false, 20s)) << ctl->output();
  const std::string squeezed = s.High();
  auto rec = MemoryRecords();
  ASSERT_EQ(rec.size(), 1u) << rec.dump();
  EXPECT_EQ(rec[0]["memory_high_original"], MemScene::kTargetHigh);
  EXPECT_EQ(rec[0]["memory_high_applied"], squeezed);

  switch (GetParam()) {
    case Path::kSigterm:
      ctl->Signal(SIGTERM);
      EXPECT_EQ(ctl->Wait(30s), 0) << ctl->output();
      break;
    case Path::kSighupDisabled:
      k.enabled = false;
      s.dir.Write("chaos.yaml", s.Config(k));
      ctl->Signal(SIGHUP);
      EXPECT_TRUE(ctl->WaitFor("config re-read", 30s)) << ctl->output();
      break;
    case Path::kRollbackCommand: {
      int rc = 0;
      std::string out = Capture(MmchaosBin() + " rollback", &rc);
      EXPECT_EQ(rc, 0) << out;
      EXPECT_NE(out.find("restored to " + std::string(MemScene::kTargetHigh)), std::string::npos)
          << out;
      EXPECT_EQ(ctl->Wait(30s), 0) << ctl->output();
      break;
    }
    case Path::kSigkillThenRollback:
    case Path::kSigkillThenRun: {
      ctl->Signal(SIGKILL);
      ctl->Wait(10s);
      EXPECT_EQ(s.High(), squeezed) << "nothing restores it but the record";
      rec = MemoryRecords();
      ASSERT_EQ(rec.size(), 1u) << rec.dump();
      EXPECT_FALSE(rec[0]["controller_alive"].get<bool>());
      if (GetParam() == Path::kSigkillThenRollback) {
        int rc = 0;
        std::string out = Capture(MmchaosBin() + " rollback", &rc);
        EXPECT_EQ(rc, 0) << out;
        EXPECT_NE(out.find("restored to " + std::string(MemScene::kTargetHigh)), std::string::npos)
            << out;
        EXPECT_NE(
            out.find("1 stale record(s) removed (pid " + std::to_string(ctl->pid()) + " gone)"),
            std::string::npos)
            << out;
      } else {
        Controller next(s.dir.Write("chaos.yaml", s.Config({.level = "none"})));
        EXPECT_TRUE(next.WaitFor("attached to", 60s)) << next.output();
        EXPECT_NE(next.output().find("stale mem_pressure record: memory.high of " +
                                     s.target->path() + " restored to " + MemScene::kTargetHigh),
                  std::string::npos)
            << next.output();
        EXPECT_EQ(s.High(), MemScene::kTargetHigh);
        next.Signal(SIGTERM);
        EXPECT_EQ(next.Wait(30s), 0) << next.output();
      }
      break;
    }
  }
  EXPECT_EQ(s.High(), MemScene::kTargetHigh);
  EXPECT_EQ(s.SiblingHigh(), MemScene::kSiblingHigh);
  EXPECT_TRUE(MemoryRecords().empty()) << Status().dump();
  if (GetParam() == Path::kSighupDisabled) {
    EXPECT_TRUE(StatusFor(s.target->path()).is_null()) << Status().dump();
    ctl->Signal(SIGTERM);
    EXPECT_EQ(ctl->Wait(30s), 0) << ctl->output();
  }
  EXPECT_EQ(s.High(), MemScene::kTargetHigh);
  int rc = 0;
  std::string again = Capture(MmchaosBin() + " rollback", &rc);
  EXPECT_EQ(rc, 0) << again;
  EXPECT_NE(again.find("nothing to roll back"), std::string::npos) << again;
}

std::string PathName(const ::testing::TestParamInfo<Path>& p) {
  static const char* names[] = {"Sigterm", "SighupEnabledFalse", "RollbackCommand",
                                "SigkillThenRollback", "SigkillThenNextRun"};
  return names[static_cast<int>(p.param)];
}

INSTANTIATE_TEST_SUITE_P(AllPaths, MemPressureRollback,
                         ::testing::Values(Path::kSigterm, Path::kSighupDisabled,
                                           Path::kRollbackCommand, Path::kSigkillThenRollback,
                                           Path::kSigkillThenRun),
                         PathName);

}  // namespace
}  // namespace mmchaos::testing
