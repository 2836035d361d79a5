#include "controller/controller.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <random>

#include "cgroup/cgroup.h"
#include "cgroup/locate.h"
#include "cgroup/memory.h"
#include "clock/clock_skew.h"
#include "common/fd.h"
#include "common/log.h"
#include "config/config.h"
#include "controller/fleet.h"
#include "controller/kernel_config.h"
#include "controller/mem_path.h"
#include "controller/registry.h"
#include "controller/tc_path.h"
#include "eventlog/eventlog.h"
#include "experiment/trigger_watch.h"
#include "loader/dataplane.h"
#include "metrics/exporter.h"
#include "metrics/request_window.h"
#include "schedule.h"
#include "tls/tls_faults.h"

namespace mmchaos {
namespace {

constexpr int kExitOk = 0, kExitRuntime = 1, kExitConfig = 2;
// How often the loop wakes without events: to notice an external rollback, beat the heartbeat
// and report phases.
constexpr int kTickMs = 50;
constexpr uint64_t kResolveEveryNs = 30ULL * 1000000000ULL;

uint64_t ClockNs(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}
uint64_t MonoNs() { return ClockNs(CLOCK_MONOTONIC); }
// The burst schedule's epoch for a (re)start now: on UTC boundaries with fleet.burst_align.
uint64_t EpochNow(const Config& cfg) {
  return ScheduleEpoch(cfg, MonoNs(), ClockNs(CLOCK_REALTIME));
}

int Report(const Error& e, int code) {
  LogError(e.message());
  return code;
}

// Loads and checks a config file; on failure logs why. force_dry_run pins shadow mode.
std::optional<Config> ReadConfigOrThrow(const RunOptions& opts) {
  auto cfg = LoadConfig(opts.config_path);
  if (!cfg) {
    LogError(cfg.error().message());
    return std::nullopt;
  }
  for (const auto& w : cfg->warnings) LogWarning(w);
  if (opts.adjust) opts.adjust(*cfg);
  auto refused = CheckScenarios(*cfg);
  for (const auto& u : refused) LogError(u);
  if (!refused.empty()) return std::nullopt;
  if (opts.force_dry_run) cfg->chaos.dry_run = true;
  return std::move(*cfg);
}

std::optional<Config> ReadConfig(const RunOptions& opts) {
  // A SIGHUP reload runs this in a controller that must keep running whatever the file holds.
  try {
    return ReadConfigOrThrow(opts);
  } catch (const std::exception& e) {
    LogError(opts.config_path + ": " + e.what());
    return std::nullopt;
  }
}

bool SameSchedule(const Config& a, const Config& b) {
  return a.chaos.burst_on_sec == b.chaos.burst_on_sec &&
         a.chaos.burst_off_sec == b.chaos.burst_off_sec &&
         a.fleet.burst_align == b.fleet.burst_align;
}

// mem_pressure acts on the cgroup `run` resolved (--cgroup/--pid may differ from the file's).
bool MemoryUsable(const Config& c, const std::string& cgroup) {
  if (c.chaos.mem_pressure == MemPressure::kNone) return true;
  std::string why = MemoryControllerProblem(cgroup);
  if (!why.empty()) Log("error: chaos.mem_pressure: " + why);
  return why.empty();
}

// Everything `run` has placed, and the order it is taken down in: links first (the data path
// is clean from that instant), then the netem path, then memory.high.
class Placement {
 public:
  Placement(DataPlane& plane, int cgroup_fd, std::string cgroup, std::string netns,
            uint64_t cgroup_id)
      : plane_(plane),
        cgroup_fd_(cgroup_fd),
        cgroup_(std::move(cgroup)),
        netns_(std::move(netns)),
        cgroup_id_(cgroup_id),
        mem_(cgroup_, cgroup_id, plane.counters_fd()) {}
  ~Placement() { Clear(); }

  // Makes what is placed match the config.
  Result<void> Apply(const Config& c) {
    if (!c.chaos.enabled) {
      if (plane_.attached()) Log("chaos.enabled is false: detached");
      Clear();
      return {};
    }
    if (!plane_.attached()) {
      if (auto a = plane_.Attach(cgroup_fd_); !a) return a;
      Log("attached to " + cgroup_ + " (cgroup_skb egress+ingress), mode " +
          (c.chaos.dry_run ? "shadow" : "live"));
    }
    std::lock_guard<std::mutex> l(mu_);
    if (!NeedsTc(c)) {
      tc_path_.reset();
      return {};
    }
    // Netem switched on or off: rebuild (filters only change; the interface's qdisc stays).
    if (tc_path_ && tc_path_->has_netem() != NeedsNetem(c)) tc_path_.reset();
    if (tc_path_) return tc_path_->Update(c);
    auto n = TcPath::Start(c, netns_, cgroup_id_, plane_);
    if (!n) return std::unexpected(n.error());
    tc_path_ = std::move(*n);
    if (NeedsNetem(c))
      Log("netem path up on " + std::to_string(c.target.interfaces.size()) +
          " interface(s): lat_spike " + std::to_string(c.chaos.lat_spike_ms) + " ms, ws_lag " +
          std::to_string(c.chaos.ws_lag_ms) + " ms");
    Log("tc hook up on " + std::to_string(c.target.interfaces.size()) + " interface(s) (" +
        TcAttachName(tc_path_->attach()) + ")");
    return {};
  }

  void Clear() {
    plane_.Detach();
    {
      std::lock_guard<std::mutex> l(mu_);
      tc_path_.reset();
    }
    mem_.Release();
  }

  // Every tick: what follows the burst schedule in userspace (mem_pressure).
  void Tick(const Config& c, const mmc_config& k, uint64_t now) {
    mem_.Tick(c, k, plane_.attached() && k.armed, now);
  }

  void Refresh(const Config& c) {
    std::lock_guard<std::mutex> l(mu_);
    if (tc_path_) tc_path_->Refresh(c);
  }

  // From the metrics thread.
  std::optional<std::array<DataPlaneSnapshot::Netem, 2>> NetemStats() {
    std::lock_guard<std::mutex> l(mu_);
    if (!tc_path_ || !tc_path_->has_netem()) return std::nullopt;
    auto st = tc_path_->Stats();
    if (!st) return std::nullopt;
    std::array<DataPlaneSnapshot::Netem, 2> out{};
    for (int i = 0; i < 2; ++i) out[i] = {(*st)[i].drops, (*st)[i].backlog_packets};
    return out;
  }

 private:
  DataPlane& plane_;
  int cgroup_fd_;
  std::string cgroup_, netns_;
  uint64_t cgroup_id_;
  std::mutex mu_;
  std::unique_ptr<TcPath> tc_path_;  // tc hook and, for delays, the netem path
  MemPressurePath mem_;              // main thread only
};

// The loop's objects as hooks see them.
class LoopSession : public Session {
 public:
  LoopSession(DataPlane& plane, Placement& placed, ClockSkew& clock, TlsFaults& tls, Config& cfg,
              mmc_config& kcfg, const std::string& netns)
      : plane_(plane),
        placed_(placed),
        clock_(clock),
        tls_(tls),
        cfg_(cfg),
        kcfg_(kcfg),
        netns_(netns) {
    for (const auto& t : cfg.rollback_triggers) rollbacks_[t.name] = 0;
  }

  DataPlane& plane() override { return plane_; }
  const Config& config() const override { return cfg_; }
  const mmc_config& kernel_config() const override { return kcfg_; }
  Result<void> SetKernelConfig(const mmc_config& k) override {
    if (auto w = plane_.WriteConfig(k); !w) return w;
    kcfg_ = k;
    // The preloads read their copy from shared memory.
    if (auto a = clock_.Apply(cfg_, k); !a) return a;
    return tls_.Apply(cfg_, k);
  }
  void Rollback(const std::string& trigger) override {
    clock_.Clear();
    tls_.Clear();
    placed_.Clear();
    {
      std::lock_guard<std::mutex> l(mu_);
      rollbacks_[trigger] += 1;
    }
    Log("rollback trigger fired: " + trigger +
        ": detached (SIGHUP re-reads the config and attaches again)");
  }
  bool attached() const override { return plane_.attached(); }
  const std::string& netns() const override { return netns_; }
  Result<Counters> ReadCounters() override {
    auto c = plane_.ReadCounters();
    if (c) {
      clock_.AddCounts(*c);
      tls_.AddCounts(*c);
    }
    return c;
  }

  // From the metrics thread.
  std::vector<std::pair<std::string, uint64_t>> Rollbacks() {
    std::lock_guard<std::mutex> l(mu_);
    return {rollbacks_.begin(), rollbacks_.end()};
  }

 private:
  DataPlane& plane_;
  Placement& placed_;
  ClockSkew& clock_;
  TlsFaults& tls_;
  Config& cfg_;
  mmc_config& kcfg_;
  const std::string& netns_;
  std::mutex mu_;
  std::map<std::string, uint64_t> rollbacks_;
};

}  // namespace

int RunController(const RunOptions& opts) {
  auto cfg = ReadConfig(opts);
  if (!cfg) return kExitConfig;

  auto cgroup = ResolveTarget(*cfg, opts.cgroup, opts.pid);
  if (!cgroup) return Report(cgroup.error(), kExitConfig);
  if (!MemoryUsable(*cfg, *cgroup)) return kExitConfig;
  auto cgid = CgroupId(*cgroup);
  if (!cgid) return Report(cgid.error(), kExitRuntime);
  auto cgfd = OpenCgroup(*cgroup);
  if (!cgfd) return Report(cgfd.error(), kExitRuntime);
  std::string netns = cfg->target.netns;
  if (netns.empty() && opts.pid > 0) netns = "/proc/" + std::to_string(opts.pid) + "/ns/net";

  auto lock = ControllerLock::Acquire(
      {getpid(), *cgid, *cgroup, opts.config_path, static_cast<int64_t>(::time(nullptr))});
  if (!lock) return Report(lock.error(), kExitRuntime);
  for (const auto& d : DamagedRecords())
    Log("warning: damaged record " + d.path + ": " + d.why +
        " (not undone: `mmchaos rollback` says what may be left)");

  // Signals are read from a signalfd in the loop, so none is lost between checks; threads
  // started later (the metrics server) inherit the blocked mask.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0)
    return Report({"sigprocmask", errno, ""}, kExitRuntime);
  UniqueFd sigfd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) return Report({"signalfd", errno, ""}, kExitRuntime);

  auto dp = DataPlane::Load();
  if (!dp) return Report(dp.error(), kExitRuntime);
  DataPlane& plane = **dp;

  uint32_t seed = RunSeed(*cfg);  // fleet.seed, or one drawn per run
  const uint64_t started = MonoNs();
  const uint64_t epoch = EpochNow(*cfg);
  mmc_config kcfg = ToKernelConfig(*cfg, epoch, seed);
  if (auto w = plane.Heartbeat(MonoNs()); !w) return Report(w.error(), kExitRuntime);
  if (auto w = plane.WriteConfig(kcfg); !w) return Report(w.error(), kExitRuntime);

  auto log = EventLog::Open(plane.events_fd(), cfg->log.injections);
  if (!log) return Report(log.error(), kExitRuntime);

  RequestWindow requests(*cfg, 10ULL * 1000000000ULL);
  if (auto r = ReadReqStats(plane.reqstats_fd())) requests.Sample(*r, MonoNs());  // the zero point
  Placement placed(plane, cgfd->get(), *cgroup, netns, *cgid);
  SharedRecord record(*cgid);  // the preloads' (clock_skew, TLS): outlives both users
  ClockSkew clock(plane, cgfd->get(), *cgroup, record);
  TlsFaults tls(record);
  LoopSession session(plane, placed, clock, tls, *cfg, kcfg, netns);
  // Serving before anything is attached: a scrape as soon as `run` says it attached finds the
  // endpoint (a port in use fails the run before the kernel is touched). Runs on the exposer's
  // thread: it reads the kernel's maps, an atomic flag and qdisc stats.
  std::vector<std::string> exchange_names;
  for (const auto& x : cfg->target.exchanges) exchange_names.push_back(x.name);
  const std::string cgroup_dir = *cgroup;
  auto metrics = MetricsExporter::Start(cfg->metrics.listen, [&, exchange_names, cgroup_dir]() {
    DataPlaneSnapshot s;
    if (auto c = plane.ReadCounters()) s.counters = *c;
    if (s.counters) {  // the preloads count in shared memory
      clock.AddCounts(*s.counters);
      tls.AddCounts(*s.counters);
    }
    if (auto k = ReadKernelConfig(plane.config_fd())) s.config = *k;
    s.attached = plane.attached();
    s.now_ns = MonoNs();
    s.netem = placed.NetemStats();
    s.partial_fail = requests.Rates();
    if (auto r = ReadRestLatency(plane.restlat_fd())) s.rest_latency = *r;
    s.exchanges = exchange_names;
    s.rollbacks = session.Rollbacks();
    s.memory_psi = ReadMemoryPsi(cgroup_dir);
    return s;
  });
  if (!metrics) return Report(metrics.error(), kExitRuntime);
  // `run` watches its rollback triggers (SIGHUP may add some); `experiment` brings its own
  // hooks, which do too. They start before anything is attached, so their kernel config is the
  // first the data path sees.
  TriggerWatch watch;
  LoopHooks& hooks = opts.hooks ? *opts.hooks : watch;
  if (auto h = hooks.OnStart(session); !h) return Report(h.error(), kExitRuntime);
  if (auto a = placed.Apply(*cfg); !a) return Report(a.error(), kExitRuntime);
  if (auto a = clock.Apply(*cfg, kcfg); !a) return Report(a.error(), kExitRuntime);
  if (auto a = tls.Apply(*cfg, kcfg); !a) return Report(a.error(), kExitRuntime);
  record.Beat(MonoNs());
  if (!cfg->chaos.enabled) Log("chaos.enabled is false: nothing attached; SIGHUP re-reads");

  UniqueFd ep(epoll_create1(EPOLL_CLOEXEC));
  if (!ep) return Report({"epoll_create1", errno, ""}, kExitRuntime);
  for (int fd : {sigfd.get(), (*log)->epoll_fd()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
      return Report({"epoll_ctl", errno, ""}, kExitRuntime);
  }

  const uint64_t deadline =
      opts.duration_sec > 0 ? started + static_cast<uint64_t>(opts.duration_sec * 1e9) : 0;
  uint64_t last_beat = 0, last_resolve = MonoNs(), last_sample = MonoNs();
  int64_t last_burst = -1;
  int rc = kExitOk;
  for (;;) {
    epoll_event evs[4];
    int n = epoll_wait(ep.get(), evs, 4, kTickMs);
    if (n < 0 && errno != EINTR) {
      rc = Report({"epoll_wait", errno, ""}, kExitRuntime);
      break;
    }
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.fd != sigfd.get()) {
        (*log)->Consume();
        continue;
      }
      signalfd_siginfo si{};
      while (read(sigfd.get(), &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo != SIGHUP) {
          stop = true;
          continue;
        }
        if (opts.hooks) {
          Log("SIGHUP ignored: an experiment runs its own schedule");
          continue;
        }
        auto next = ReadConfig(opts);
        if (next && !MemoryUsable(*next, *cgroup)) next.reset();
        if (!next) {
          Log("SIGHUP: new config rejected, keeping the running one");
          continue;
        }
        uint64_t new_epoch = SameSchedule(*cfg, *next) ? kcfg.epoch_ns : EpochNow(*next);
        // A changed fleet.seed applies now (a staged rollout changes it with a reload); an
        // unchanged one, drawn or not, keeps this run's decisions where they were.
        const uint32_t next_seed = next->fleet.seed != cfg->fleet.seed ? RunSeed(*next) : seed;
        mmc_config next_k = ToKernelConfig(*next, new_epoch, next_seed);
        if (auto w = plane.WriteConfig(next_k); !w) {
          Log("SIGHUP: " + w.error().message());
          continue;
        }
        kcfg = next_k;
        if (next_seed != seed) Log("SIGHUP: rollout and storm draws salted by the new fleet.seed");
        seed = next_seed;
        if (auto a = placed.Apply(*next); !a) Log("SIGHUP: " + a.error().message());
        if (auto a = clock.Apply(*next, next_k); !a) Log("SIGHUP: " + a.error().message());
        if (auto a = tls.Apply(*next, next_k); !a) Log("SIGHUP: " + a.error().message());
        if (next->target.cgroup != cfg->target.cgroup || next->target.netns != cfg->target.netns)
          Log("SIGHUP: target changes need a restart; still on " + *cgroup);
        *cfg = std::move(*next);
        Log("SIGHUP: config re-read");
      }
    }
    if (stop) break;
    if (plane.attached() && !plane.LinksAlive()) {
      Log("links detached from outside (mmchaos rollback): exiting");
      break;
    }
    uint64_t now = MonoNs();
    if (deadline && now >= deadline) break;
    if (now - last_beat >= static_cast<uint64_t>(cfg->target.heartbeat_ms) * 1000000ULL / 2) {
      if (auto w = plane.Heartbeat(now); !w) Log("heartbeat: " + w.error().message());
      record.Beat(now);
      last_beat = now;
    }
    if (now - last_sample >= 1000000000ULL) {
      if (auto r = ReadReqStats(plane.reqstats_fd())) requests.Sample(*r, now);
      last_sample = now;
    }
    if (now - last_resolve >= kResolveEveryNs) {
      placed.Refresh(*cfg);
      last_resolve = now;
    }
    if (!hooks.OnTick(session, now)) break;
    placed.Tick(*cfg, kcfg, now);
    clock.Sync();
    mmc_phase ph = mmc_schedule_phase(kcfg.epoch_ns, kcfg.on_ns, kcfg.off_ns, now);
    int64_t burst = ph.on ? static_cast<int64_t>(ph.burst) : -1;
    if (plane.attached() && kcfg.armed && burst != last_burst && burst >= 0)
      Log("burst " + std::to_string(burst) + " on");
    last_burst = burst;
  }
  if (rc == kExitOk) rc = hooks.ExitCode();
  // Rollback first: links go before anything else is torn down, then the netem path.
  clock.Clear();
  tls.Clear();
  placed.Clear();
  (*log)->Consume();
  lock->Release();
  Log("detached; injection log: " + cfg->log.injections);
  // Everything placed in the kernel is gone and the log is flushed. What is left is the metrics
  // server, whose orderly stop waits out its poll loop (1-2 s); the process exit releases the
  // rest (BPF object, fds) just the same.
  std::fflush(nullptr);
  _exit(rc);
}

}  // namespace mmchaos
