// clock_skew_ms: a process in the target cgroup reads a wall clock that is clock_skew_ms off during
// on-phases only; a process outside never does. The preload fallback (`mmchaos exec`) on any
// kernel; the uprobe mechanism where the kernel allows bpf_probe_write_user (the qemu lane; on a
// lockdown host it skips with the reason, in the qemu lane it must run). Every rollback path
// stops the skew: SIGTERM, enabled: false + SIGHUP, `mmchaos rollback`, and SIGKILL (within two
// heartbeats).
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <sstream>

#include "cgroup/cgroup.h"
#include "clock/clock_state.h"
#include "clock/clock_uprobe.h"
#include "controller/registry.h"
#include "harness.h"
#include "joined.h"
#include "schedule.h"
#include "traffic.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMs = 1000000;
// Value tolerance: the raw and the libc read of a sample are adjacent calls; qemu's emulation
// can still put a few ms between them.
constexpr int64_t kTolNs = 100 * kMs;
// Samples this close to a phase edge are not classified (the edge is judged per read).
constexpr int64_t kEdgeNs = 150 * kMs;

struct Sample {
  int64_t mono, raw, real, coarse, gtod, time_s, mono_libc;
};

std::vector<Sample> Parse(const std::string& out) {
  std::vector<Sample> v;
  std::istringstream in(out);
  Sample s{};
  while (in >> s.mono >> s.raw >> s.real >> s.coarse >> s.gtod >> s.time_s >> s.mono_libc)
    v.push_back(s);
  return v;
}

struct ClockKnobs {
  int skew_ms = 5000;
  bool dry_run = false;
  bool enabled = true;
  double on_sec = 3600, off_sec = 0;
  int heartbeat_ms = 100;
  std::string mechanism = "preload";
};

std::string ClockYaml(const std::string& cgroup, const ClockKnobs& k, uint16_t mport,
                      const std::string& log) {
  std::ostringstream y;
  y << "chaos:\n  enabled: " << (k.enabled ? "true" : "false")
    << "\n  dry_run: " << (k.dry_run ? "true" : "false") << "\n  clock_skew_ms: " << k.skew_ms
    << "\n  burst_on_sec: " << k.on_sec << "\n  burst_off_sec: " << k.off_sec
    << "\ntarget:\n  cgroup: " << cgroup << "\n  heartbeat_ms: " << k.heartbeat_ms
    << "\nfaults:\n  clock_skew_mechanism: " << k.mechanism
    << "\nmetrics:\n  listen: \"127.0.0.1:" << mport << "\"\nlog:\n  injections: \"" << log
    << "\"\n";
  return y.str();
}

std::string ProbeCmd(int count, int interval_ms) {
  return std::string(CLOCK_PROBE_BIN) + " " + std::to_string(count) + " " +
         std::to_string(interval_ms);
}

// The probe started through `mmchaos exec` (in the config's cgroup, with the preload if needed).
std::future<std::string> ExecProbe(const std::string& cfg, int count, int interval_ms) {
  std::string cmd = MmchaosBin() + " exec -c " + cfg + " -- " + ProbeCmd(count, interval_ms);
  return std::async(std::launch::async, [cmd] { return Capture(cmd); });
}

// The same, writing into a file the test can watch while it runs.
std::future<void> ExecProbeTo(const std::string& cfg, int count, int interval_ms,
                              const std::string& out) {
  std::string cmd =
      MmchaosBin() + " exec -c " + cfg + " -- " + ProbeCmd(count, interval_ms) + " > " + out;
  return std::async(std::launch::async, [cmd] { Sh(cmd); });
}

size_t LinesIn(const std::string& path) {
  std::ifstream in(path);
  return static_cast<size_t>(
      std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
}

// The probe started directly, here: outside any target.
std::future<std::string> PlainProbe(int count, int interval_ms) {
  const std::string cmd = ProbeCmd(count, interval_ms);
  return std::async(std::launch::async, [cmd] { return Capture(cmd); });
}

// The probe started directly in cg (the uprobe mechanism needs no exec). With a controller it
// execs once its process is covered (the "clock_skew: pid N (comm) covered" line): every read
// it makes is one the uprobes see.
std::unique_ptr<JoinedProcess> ProbeIn(const Cgroup& cg, const TempDir& dir, Controller* ctl,
                                       int count, int interval_ms) {
  return std::make_unique<JoinedProcess>(cg, ProbeCmd(count, interval_ms), dir.path(), ctl,
                                         "clock_skew");
}

struct Judged {
  int on = 0, off = 0, edge = 0;
  std::vector<std::string> wrong;
};

// Judges each sample against the schedule: expected offset skew in on-phases, 0 otherwise.
// gtod_time: also judge gettimeofday and time() (the preload covers them, the uprobes do not).
Judged Judge(const std::vector<Sample>& v, uint64_t epoch, uint64_t on, uint64_t off, int64_t skew,
             bool gtod_time) {
  Judged j;
  for (const auto& s : v) {
    auto ph = mmc_schedule_phase(epoch, on, off, static_cast<uint64_t>(s.mono));
    if (ph.remaining_ns != ~0ULL && static_cast<int64_t>(ph.remaining_ns) < kEdgeNs) {
      ++j.edge;
      continue;
    }
    if (ph.on && off > 0) {
      auto into = mmc_schedule_phase(epoch, on, off, static_cast<uint64_t>(s.mono - kEdgeNs));
      if (!into.on) {
        ++j.edge;
        continue;
      }
    }
    const int64_t want = ph.on ? skew : 0;
    (ph.on ? j.on : j.off)++;
    auto check = [&](const char* what, int64_t got, int64_t tol) {
      if (std::llabs(got - want) > tol)
        j.wrong.push_back(std::string(what) + " off by " + std::to_string(got / kMs) +
                          " ms, want " + std::to_string(want / kMs) + " ms (" +
                          (ph.on ? "on" : "off") + "-phase)");
    };
    check("clock_gettime(CLOCK_REALTIME)", s.real - s.raw, kTolNs);
    // The coarse clock lags by up to a tick, and under qemu's emulation ticks come late
    // (measured: 142 ms): a lag is not a skew, the skews tested are seconds.
    check("clock_gettime(CLOCK_REALTIME_COARSE)", s.coarse - s.raw + 250 * kMs, kTolNs + 250 * kMs);
    if (gtod_time) {
      check("gettimeofday", s.gtod - s.raw, kTolNs);
      int64_t want_s = (s.raw + want) / 1000000000LL;
      if (std::llabs(s.time_s - want_s) > 1)
        j.wrong.push_back("time() = " + std::to_string(s.time_s) + ", want " +
                          std::to_string(want_s) + " +-1");
    }
    if (std::llabs(s.mono_libc - s.mono) > kTolNs)
      j.wrong.push_back("CLOCK_MONOTONIC moved by " + std::to_string((s.mono_libc - s.mono) / kMs) +
                        " ms (not configured)");
  }
  return j;
}

std::string First(const std::vector<std::string>& v) { return v.empty() ? "" : v.front(); }

uint64_t Epoch(const std::string& cgroup) {
  auto dp = StatusFor(cgroup);
  if (dp.is_null()) return 0;
  return dp["burst"]["epoch_mono_ns"].get<uint64_t>();
}

std::string StatePathOf(const Cgroup& cg) {
  auto id = CgroupId(cg.path());
  return id ? ClockStatePath(*id) : std::string();
}

double Injected(uint16_t mport, const char* mode) {
  return Scraped(Scrape(mport), "mm_chaos_injections_total",
                 std::string("mode=\"") + mode + "\",scenario=\"clock_skew\"");
}

// The preload: target skewed only in on-phases, on every wall-clock call; a plain process and a
// process exec'd for a cgroup no controller runs on are never skewed; counts match.
TEST(ClockSkew, PreloadSkewsOnlyTheTargetAndOnlyDuringBursts) {
  Cgroup target("target"), other("other");
  TempDir dir;
  const uint16_t mport = TestPort(3);
  ClockKnobs k{.skew_ms = -7000, .on_sec = 1, .off_sec = 1};
  auto cfg = dir.Write("chaos.yaml", ClockYaml(target.path(), k, mport, dir.path() + "/inj.jsonl"));
  auto other_cfg =
      dir.Write("other.yaml", ClockYaml(other.path(), k, TestPort(4), dir.path() + "/inj2.jsonl"));
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("clock_skew: preload", 10s)) << ctl.output();
  const uint64_t epoch = Epoch(target.path());
  ASSERT_NE(epoch, 0u) << Status().dump();

  constexpr int n = 100, gap_ms = 40;  // ~4.5 s: two cycles and more
  auto engine = ExecProbe(cfg, n, gap_ms);
  auto plain = PlainProbe(n, gap_ms);
  auto stray = ExecProbe(other_cfg, n, gap_ms);
  auto e = Parse(engine.get()), p = Parse(plain.get()), s = Parse(stray.get());
  ASSERT_EQ(e.size(), static_cast<size_t>(n));
  ASSERT_EQ(p.size(), static_cast<size_t>(n));
  ASSERT_EQ(s.size(), static_cast<size_t>(n));

  const uint64_t on = 1000 * kMs, off = 1000 * kMs;
  const int64_t skew = k.skew_ms * kMs;
  Judged je = Judge(e, epoch, on, off, skew, true);
  EXPECT_TRUE(je.wrong.empty()) << je.wrong.size() << " wrong, first: " << First(je.wrong);
  EXPECT_GE(je.on, 25);
  EXPECT_GE(je.off, 25);
  for (auto* v : {&p, &s}) {
    Judged jo = Judge(*v, epoch, on, off, 0, true);
    EXPECT_TRUE(jo.wrong.empty()) << jo.wrong.size() << " wrong, first: " << First(jo.wrong);
  }
  // Four wall-clock calls per sample (time() reads the coarse clock): every one of an on-phase
  // sample is counted, edge samples may or may not be.
  double live = Injected(mport, "live");
  EXPECT_GE(live, 4.0 * je.on);
  EXPECT_LE(live, 4.0 * (je.on + je.edge));
  EXPECT_EQ(Injected(mport, "shadow"), 0);
}

TEST(ClockSkew, ShadowModeCountsEveryReadAndSkewsNone) {
  Cgroup target("target");
  TempDir dir;
  const uint16_t mport = TestPort(3);
  ClockKnobs k{.skew_ms = 5000, .dry_run = true};
  auto cfg = dir.Write("chaos.yaml", ClockYaml(target.path(), k, mport, dir.path() + "/inj.jsonl"));
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("clock_skew: preload", 10s)) << ctl.output();
  constexpr int n = 50;
  auto v = Parse(ExecProbe(cfg, n, 10).get());
  ASSERT_EQ(v.size(), static_cast<size_t>(n));
  Judged j = Judge(v, 0, 3600000 * kMs, 0, 0, true);
  EXPECT_TRUE(j.wrong.empty()) << First(j.wrong);
  EXPECT_EQ(Injected(mport, "shadow"), 4.0 * n);
  EXPECT_EQ(Injected(mport, "live"), 0);
  // `status` reads the same counts from the shared record.
  auto dp = StatusFor(target.path());
  ASSERT_FALSE(dp.is_null()) << Status().dump();
  EXPECT_EQ(StatusInjections(dp, "clock_skew", "shadow"), 4u * n);
  EXPECT_EQ(StatusInjections(dp, "clock_skew", "live"), 0u);
}

// mmchaos exec alone: cgroup, then netns, then the command; the command's exit status; 127/126
// like a shell; the preload only where the uprobes cannot run.
TEST(ClockSkew, ExecPlacesTheCommandAndPassesItsStatusOn) {
  Topology topo;
  Cgroup target("target");
  TempDir dir;
  std::string y = ClockYaml(target.path(), {.mechanism = "auto"}, TestPort(3), "-");
  y.replace(y.find("target:\n"), 8, "target:\n  netns: " + topo.engine.path() + "\n");
  auto cfg = dir.Write("chaos.yaml", y);
  struct stat st {};
  ASSERT_EQ(stat(topo.engine.path().c_str(), &st), 0);
  int rc = 0;
  std::string out =
      Capture(MmchaosBin() + " exec -c " + cfg +
                  " -- sh -c 'readlink /proc/self/ns/net; grep ^0:: /proc/self/cgroup;"
                  " echo \"preload=$LD_PRELOAD\"; exit 7'",
              &rc);
  EXPECT_EQ(rc, 7) << out;
  EXPECT_NE(out.find("net:[" + std::to_string(st.st_ino) + "]"), std::string::npos) << out;
  auto mount = Cgroup2Mount();
  ASSERT_TRUE(mount.has_value());
  EXPECT_NE(out.find("0::" + target.path().substr(mount->size()) + "\n"), std::string::npos) << out;
  const bool uprobes = ProbeClockUprobe(true).has_value();
  EXPECT_EQ(out.find("libmmchaos-clock.so") != std::string::npos, !uprobes) << out;

  Capture(MmchaosBin() + " exec -c " + cfg + " -- /nonexistent/cmd 2>/dev/null", &rc);
  EXPECT_EQ(rc, 127);
  auto noexec = dir.Write("noexec.sh", "#!/bin/sh\n");
  Capture(MmchaosBin() + " exec -c " + cfg + " -- " + noexec + " 2>/dev/null", &rc);
  EXPECT_EQ(rc, 126);
}

class ClockRollback : public ::testing::TestWithParam<Path> {};

// The engine keeps reading; the skew stops at the trigger (SIGKILL: within two heartbeats) and
// the shared record is disarmed and removed (SIGKILL: left armed with a dead heartbeat, which is
// what stops the skew; the next run replaces it, rollback removes it).
TEST_P(ClockRollback, SkewStops) {
  Cgroup target("target");
  TempDir dir;
  const uint16_t mport = TestPort(3);
  ClockKnobs k{.skew_ms = 5000, .heartbeat_ms = 100};
  auto cfg = dir.Write("chaos.yaml", ClockYaml(target.path(), k, mport, dir.path() + "/inj.jsonl"));
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("clock_skew: preload", 10s)) << ctl.output();
  const std::string state = StatePathOf(target);
  ASSERT_TRUE(std::filesystem::exists(state)) << state;

  constexpr int n = 180, gap_ms = 10;  // 1.8 s, the trigger ~0.6 s in
  const std::string out = dir.path() + "/probe.out";
  auto engine = ExecProbeTo(cfg, n, gap_ms, out);
  // The engine has read a skewed clock for a while before the trigger (starting it takes
  // seconds under qemu's emulation).
  auto until = std::chrono::steady_clock::now() + 30s;
  while (LinesIn(out) < 60 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  ASSERT_GE(LinesIn(out), 60u) << "the probe did not start";
  const uint64_t trigger = MonoNs();
  PullRollback(
      GetParam(), ctl,
      [&] {
        k.enabled = false;
        dir.Write("chaos.yaml", ClockYaml(target.path(), k, mport, dir.path() + "/inj.jsonl"));
      },
      false, "clock_skew record(s) disarmed");
  const uint64_t done = MonoNs();
  engine.get();
  std::ifstream in(out);
  auto v = Parse(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  ASSERT_EQ(v.size(), static_cast<size_t>(n));

  // Skewed before the trigger; after it, true time from `stop` on.
  const uint64_t stop = GetParam() == Path::kSigkill
                            ? trigger + 2ULL * k.heartbeat_ms * kMs + 2ULL * gap_ms * kMs
                            : done;
  int before = 0, after = 0;
  uint64_t last_skewed = 0;
  for (const auto& s : v) {
    bool skewed = std::llabs(s.real - s.raw - k.skew_ms * kMs) <= kTolNs;
    if (skewed) last_skewed = std::max(last_skewed, static_cast<uint64_t>(s.mono));
    if (static_cast<uint64_t>(s.mono) < trigger) before += skewed;
    if (static_cast<uint64_t>(s.mono) > stop) {
      ++after;
      EXPECT_LE(std::llabs(s.real - s.raw), kTolNs)
          << "skewed " << (s.mono - trigger) / kMs << " ms after the trigger";
      EXPECT_LE(std::llabs(s.gtod - s.raw), kTolNs);
    }
  }
  EXPECT_GT(before, 30) << "the engine was not skewed before the trigger";
  EXPECT_GT(after, 50) << "too few reads after the trigger to judge";
  std::printf("last skewed read %.1f ms after the trigger\n",
              (static_cast<double>(last_skewed) - static_cast<double>(trigger)) / 1e6);

  if (GetParam() == Path::kSigkill) {
    // Left armed with a dead heartbeat, beside the controller's state record: what the
    // operator's `mmchaos rollback` removes.
    EXPECT_TRUE(std::filesystem::exists(state));
    EXPECT_EQ(ctl.Wait(5s), 128 + SIGKILL);
    ExpectRollbackAfterCrash(state);
  } else {
    EXPECT_FALSE(std::filesystem::exists(state)) << state;
  }
  if (GetParam() == Path::kSighupDisabled) ctl.Signal(SIGTERM);
}

INSTANTIATE_TEST_SUITE_P(AllPaths, ClockRollback, AllPaths(), PathName);

// The uprobe mechanism can run here, or the test skips (a failure in the qemu lanes).
#define REQUIRE_CLOCK_UPROBES()                                               \
  do {                                                                        \
    if (Result<void> probe = ProbeClockUprobe(false); !probe) {               \
      const std::string why = probe.error().message();                        \
      if (std::getenv("MMCHAOS_IN_VM"))                                       \
        FAIL() << "the qemu lane must run the uprobe mechanism: " << why;     \
      GTEST_SKIP() << "this kernel cannot run the uprobe mechanism: " << why; \
    }                                                                         \
  } while (0)

// The kernel mechanism: no exec, no preload. A process in the target cgroup reads a skewed
// clock_gettime during on-phases, one outside never; counted in the data plane's counters.
TEST(ClockSkewUprobe, SkewsTheTargetCgroupOnly) {
  REQUIRE_CLOCK_UPROBES();
  Cgroup target("target");
  TempDir dir;
  const uint16_t mport = TestPort(3);
  ClockKnobs k{.skew_ms = 9000, .on_sec = 1, .off_sec = 1, .mechanism = "uprobe"};
  auto cfg = dir.Write("chaos.yaml", ClockYaml(target.path(), k, mport, dir.path() + "/inj.jsonl"));
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("clock_skew: uprobes", 20s)) << ctl.output();
  const uint64_t epoch = Epoch(target.path());
  ASSERT_NE(epoch, 0u) << Status().dump();

  constexpr int n = 70, gap_ms = 50;  // ~3.5 s at least: one and a half cycles
  auto engine = ProbeIn(target, dir, &ctl, n, gap_ms);
  auto outside = PlainProbe(n, gap_ms);
  auto e = Parse(engine->Output()), o = Parse(outside.get());
  ASSERT_EQ(e.size(), static_cast<size_t>(n));
  ASSERT_EQ(o.size(), static_cast<size_t>(n));
  const uint64_t on = 1000 * kMs, off = 1000 * kMs;
  Judged je = Judge(e, epoch, on, off, k.skew_ms * kMs, false);
  EXPECT_TRUE(je.wrong.empty()) << je.wrong.size() << " wrong, first: " << First(je.wrong);
  EXPECT_GE(je.on, 10);
  EXPECT_GE(je.off, 10);
  Judged jo = Judge(o, epoch, on, off, 0, true);
  EXPECT_TRUE(jo.wrong.empty()) << jo.wrong.size() << " wrong, first: " << First(jo.wrong);
  // Two clock_gettime wall-clock reads per sample are adjusted in on-phases.
  double live = Injected(mport, "live");
  EXPECT_GE(live, 2.0 * je.on);
  EXPECT_LE(live, 2.0 * (je.on + je.edge));

  // SIGTERM: the uprobe links go with the controller; the engine reads true time after.
  ctl.Signal(SIGTERM);
  ASSERT_EQ(ctl.Wait(20s), 0) << ctl.output();
  auto after = Parse(ProbeIn(target, dir, nullptr, 5, 10)->Output());
  ASSERT_EQ(after.size(), 5u);
  for (const auto& s : after) EXPECT_LE(std::llabs(s.real - s.raw), kTolNs);
}

// `mmchaos exec` under a controller running the uprobes starts the command only once its process
// is covered: the command (the same process) finds itself in the coverage record, the
// controller's "covered" line for it is out, and its very first clock read is skewed.
TEST(ClockSkewUprobe, ExecStartsTheCommandCovered) {
  REQUIRE_CLOCK_UPROBES();
  Cgroup target("target");
  TempDir dir;
  const uint16_t mport = TestPort(3);
  ClockKnobs k{.skew_ms = 9000, .mechanism = "uprobe"};  // one burst all along
  auto cfg = dir.Write("chaos.yaml", ClockYaml(target.path(), k, mport, dir.path() + "/inj.jsonl"));
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("clock_skew: uprobes", 20s)) << ctl.output();
  auto id = CgroupId(target.path());
  ASSERT_TRUE(id.has_value());
  const std::string record = RunDir() + "/cgroup-" + std::to_string(*id) + ".covered-clock_skew";
  const std::string seen = dir.path() + "/seen", pidfile = dir.path() + "/pid";
  // The controller stopped, no Sync can cover the newcomer: exec holds the command until it is
  // let go (a command started uncovered would write its pid file at once).
  ctl.Signal(SIGSTOP);
  auto run = std::async(std::launch::async, [&] {
    int rc = 0;
    std::string out =
        Capture(MmchaosBin() + " exec -c " + cfg + " -- sh -c 'echo $$ > " + pidfile + "; cat " +
                    record + " > " + seen + "; exec " + ProbeCmd(3, 0) + "'",
                &rc);
    return std::make_pair(out, rc);
  });
  auto joined = [&] {
    std::ifstream procs(target.path() + "/cgroup.procs");
    pid_t p = 0;
    return static_cast<bool>(procs >> p);
  };
  for (auto until = std::chrono::steady_clock::now() + 20s;
       !joined() && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(joined()) << "exec never joined the target";
  std::this_thread::sleep_for(1500ms);  // the window in which an unheld command would start
  EXPECT_FALSE(std::filesystem::exists(pidfile)) << "the command started before it was covered";
  ctl.Signal(SIGCONT);
  auto [out, rc] = run.get();
  ASSERT_EQ(rc, 0) << out << ctl.output();
  pid_t pid = 0;
  std::ifstream(pidfile) >> pid;
  ASSERT_NE(pid, 0);
  std::ifstream in(seen);
  std::string line;
  bool listed = false;
  while (std::getline(in, line)) listed |= line.rfind(std::to_string(pid) + " ", 0) == 0;
  EXPECT_TRUE(listed) << "pid " << pid << " not in " << record << " when the command started";
  EXPECT_TRUE(ctl.WaitFor("clock_skew: pid " + std::to_string(pid) + " (", 5s)) << ctl.output();
  auto v = Parse(out);
  ASSERT_EQ(v.size(), 3u) << out;
  for (const auto& s : v)
    EXPECT_LE(std::llabs(s.real - s.raw - k.skew_ms * kMs), kTolNs) << "a read not skewed";
  ctl.Signal(SIGTERM);
  ASSERT_EQ(ctl.Wait(20s), 0) << ctl.output();
  EXPECT_FALSE(std::filesystem::exists(record)) << "the record goes with the uprobes";
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// ns per clock_gettime call of a fresh process in cg (median of batches), median of `runs` runs.
// With a controller, each process runs once it is covered (see JoinedProcess).
double CallCost(const Cgroup& cg, const TempDir& dir, int runs, Controller* ctl = nullptr) {
  std::vector<double> r;
  for (int i = 0; i < runs; ++i) {
    JoinedProcess p(cg, std::string(CALL_COST_BIN) + " 9 5000", dir.path(), ctl, "clock_skew");
    r.push_back(std::atof(p.Output().c_str()));
  }
  return Median(r);
}

// Zero cost outside the engine: the uprobes are attached per process of the target cgroup, so a
// process in a sibling cgroup, mapping the same libc, carries no breakpoint. Before, attached by
// file, a bystander paid x27 per call in the 6.1 lane. A process that joins the target carries
// them; the sibling's never do.
TEST(ClockSkewUprobe, ProcessOutsideTheTargetPaysNothing) {
  REQUIRE_CLOCK_UPROBES();
  Cgroup target("target"), sibling("sibling");
  TempDir dir;
  const uint16_t mport = TestPort(3);
  // An off-phase all along (the burst starts in an hour): what the probes cost between bursts.
  ClockKnobs k{.skew_ms = 9000, .on_sec = 1, .off_sec = 3600, .mechanism = "uprobe"};
  auto cfg = dir.Write("chaos.yaml", ClockYaml(target.path(), k, mport, dir.path() + "/inj.jsonl"));
  const double before = CallCost(sibling, dir, 3);
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("clock_skew: uprobes", 20s)) << ctl.output();
  std::this_thread::sleep_for(300ms);
  const double sibling_after = CallCost(sibling, dir, 3);
  // A process that joins the target carries them (Sync) from its "covered" line on.
  const double target_after = CallCost(target, dir, 3, &ctl);
  std::printf(
      "clock_gettime ns/call: sibling %.1f before, %.1f with the uprobes (x%.2f); "
      "target %.1f (x%.1f, off-phase)\n",
      before, sibling_after, sibling_after / before, target_after, target_after / before);
  ASSERT_GT(before, 0);
  // One trap is what the target pays over the bare call; the sibling must pay a small fraction
  // of it (under TCG a busy controller alone moves a bare call by tens of ns).
  EXPECT_GT(target_after / before, 5) << "the target's process carries no uprobe";
  EXPECT_LT(sibling_after - before, 0.05 * (target_after - before))
      << "a process outside the target pays for the uprobes";
}

}  // namespace
}  // namespace mmchaos::testing
