#include "controller/controller.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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
#include "uprobe/coverage.h"

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

  std::vector<mmc_req_event> TakeTlsRequests() override { return tls_.TakeRequests(); }

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

// `run` as its stages, in order: load and check the config, place (the target cgroup and netns),
// lock the target, load the data plane, build and write the kernel config, attach (and serve
// metrics), loop, tear down. Each stage that fails logs why and gives the exit code; the members
// are declared in the order the stages make them, so an early return unwinds in reverse.
class Controller {
 public:
  explicit Controller(const RunOptions& opts) : opts_(opts) {}

  int Run() {
    if (auto s = LoadAndCheckConfig(); !s) return s.error();
    if (auto s = Place(); !s) return s.error();
    if (auto s = Lock(); !s) return s.error();
    if (auto s = Load(); !s) return s.error();
    if (auto s = BuildKernelConfig(); !s) return s.error();
    if (auto s = Attach(); !s) return s.error();
    int rc = Loop();
    TearDown();
    return rc;
  }

  bool torn_down() const { return torn_down_; }

 private:
  // A stage's outcome: go on, or end the run with this exit code (the reason already logged).
  using Stage = std::expected<void, int>;
  static std::unexpected<int> Stop(const Error& e, int code) {
    return std::unexpected(Report(e, code));
  }

  Stage LoadAndCheckConfig() {
    auto cfg = ReadConfig(opts_);
    if (!cfg) return std::unexpected(kExitConfig);
    cfg_ = std::move(*cfg);
    return {};
  }

  // The target: its cgroup (--pid, --cgroup or the file), checked for mem_pressure, and netns.
  Stage Place() {
    auto cgroup = ResolveTarget(cfg_, opts_.cgroup, opts_.pid);
    if (!cgroup) return Stop(cgroup.error(), kExitConfig);
    cgroup_ = *cgroup;
    if (!MemoryUsable(cfg_, cgroup_)) return std::unexpected(kExitConfig);
    auto cgid = CgroupId(cgroup_);
    if (!cgid) return Stop(cgid.error(), kExitRuntime);
    cgid_ = *cgid;
    auto cgfd = OpenCgroup(cgroup_);
    if (!cgfd) return Stop(cgfd.error(), kExitRuntime);
    cgfd_ = std::move(*cgfd);
    netns_ = cfg_.target.netns;
    if (netns_.empty() && opts_.pid > 0) netns_ = "/proc/" + std::to_string(opts_.pid) + "/ns/net";
    return {};
  }

  // One controller per target cgroup.
  Stage Lock() {
    auto lock = ControllerLock::Acquire(
        {getpid(), cgid_, cgroup_, opts_.config_path, static_cast<int64_t>(::time(nullptr))});
    if (!lock) return Stop(lock.error(), kExitRuntime);
    lock_.emplace(std::move(*lock));
    RemoveCoverage(cgid_);  // a killed predecessor's: `mmchaos exec` must not wait on them
    for (const auto& d : DamagedRecords())
      Log("warning: damaged record " + d.path + ": " + d.why +
          " (not undone: `mmchaos rollback` says what may be left)");
    return {};
  }

  // Signals first (read from a signalfd in the loop, so none is lost between checks; threads
  // started later, the metrics server's, inherit the blocked mask), then the BPF object.
  Stage Load() {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
    if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0)
      return Stop({"sigprocmask", errno, ""}, kExitRuntime);
    sigfd_.reset(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sigfd_) return Stop({"signalfd", errno, ""}, kExitRuntime);
    auto dp = DataPlane::Load();
    if (!dp) return Stop(dp.error(), kExitRuntime);
    plane_ = std::move(*dp);
    return {};
  }

  // The schedule's epoch starts now; the heartbeat and the config go into the maps before
  // anything is attached.
  Stage BuildKernelConfig() {
    seed_ = RunSeed(cfg_);  // fleet.seed, or one drawn per run
    started_ = MonoNs();
    kcfg_ = ToKernelConfig(cfg_, EpochNow(cfg_), seed_);
    if (auto w = plane_->Heartbeat(MonoNs()); !w) return Stop(w.error(), kExitRuntime);
    if (auto w = plane_->WriteConfig(kcfg_); !w) return Stop(w.error(), kExitRuntime);
    return {};
  }

  // The injection log, what is placed (links, tc, netem, memory.high, the preloads' record),
  // the metrics endpoint, the hooks, then the config applied.
  Stage Attach() {
    DataPlane& plane = *plane_;
    auto log = EventLog::Open(plane.events_fd(), cfg_.log.injections);
    if (!log) return Stop(log.error(), kExitRuntime);
    log_ = std::move(*log);

    requests_.emplace(cfg_, 10ULL * 1000000000ULL, kcfg_.tls_accounting != 0);
    if (auto r = ReadReqStats(plane.reqstats_fd())) requests_->Sample(*r, MonoNs());  // zero point
    placed_.emplace(plane, cgfd_.get(), cgroup_, netns_, cgid_);
    record_.emplace(cgid_);  // the preloads' (clock_skew, TLS): outlives both users
    clock_.emplace(plane, cgfd_.get(), cgroup_, *record_);
    tls_.emplace(plane, cgfd_.get(), cgroup_, *record_);
    session_.emplace(plane, *placed_, *clock_, *tls_, cfg_, kcfg_, netns_);
    if (auto m = ServeMetrics(); !m) return m;
    // `run` watches its rollback triggers (SIGHUP may add some); `experiment` brings its own
    // hooks, which do too. They start before anything is attached, so their kernel config is the
    // first the data path sees.
    hooks_ = opts_.hooks ? opts_.hooks : &watch_;
    if (auto h = hooks_->OnStart(*session_); !h) return Stop(h.error(), kExitRuntime);
    if (auto a = placed_->Apply(cfg_); !a) return Stop(a.error(), kExitRuntime);
    if (auto a = clock_->Apply(cfg_, kcfg_); !a) return Stop(a.error(), kExitRuntime);
    if (auto a = tls_->Apply(cfg_, kcfg_); !a) return Stop(a.error(), kExitRuntime);
    record_->Beat(MonoNs());
    if (!cfg_.chaos.enabled) Log("chaos.enabled is false: nothing attached; SIGHUP re-reads");

    ep_.reset(epoll_create1(EPOLL_CLOEXEC));
    if (!ep_) return Stop({"epoll_create1", errno, ""}, kExitRuntime);
    for (int fd : {sigfd_.get(), log_->epoll_fd()}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      if (epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
        return Stop({"epoll_ctl", errno, ""}, kExitRuntime);
    }
    return {};
  }

  // Serving before anything is attached: a scrape as soon as `run` says it attached finds the
  // endpoint (a port in use fails the run before the kernel is touched). Runs on the exposer's
  // thread: it reads the kernel's maps, an atomic flag and qdisc stats.
  Stage ServeMetrics() {
    std::vector<std::string> exchange_names;
    for (const auto& x : cfg_.target.exchanges) exchange_names.push_back(x.name);
    auto metrics = MetricsExporter::Start(cfg_.metrics.listen, [this, exchange_names]() {
      DataPlaneSnapshot s;
      if (auto c = plane_->ReadCounters()) s.counters = *c;
      if (s.counters) {  // the preloads count in shared memory
        clock_->AddCounts(*s.counters);
        tls_->AddCounts(*s.counters);
      }
      if (auto k = ReadKernelConfig(plane_->config_fd())) s.config = *k;
      s.attached = plane_->attached();
      s.now_ns = MonoNs();
      s.netem = placed_->NetemStats();
      s.partial_fail = requests_->Rates();
      s.request_counts = requests_->Totals();
      if (auto r = ReadRestLatency(plane_->restlat_fd())) {
        tls_->AddLatency(*r);
        s.rest_latency = *r;
      }
      s.exchanges = exchange_names;
      s.rollbacks = session_->Rollbacks();
      s.memory_psi = ReadMemoryPsi(cgroup_);
      return s;
    });
    if (!metrics) return Stop(metrics.error(), kExitRuntime);
    metrics_ = std::move(*metrics);
    return {};
  }

  // Until a signal, the duration, an external rollback or the hooks end it. Returns the exit
  // code.
  int Loop() {
    DataPlane& plane = *plane_;
    const uint64_t deadline =
        opts_.duration_sec > 0 ? started_ + static_cast<uint64_t>(opts_.duration_sec * 1e9) : 0;
    uint64_t last_beat = 0, last_resolve = MonoNs(), last_sample = MonoNs();
    int64_t last_burst = -1;
    int rc = kExitOk;
    for (;;) {
      epoll_event evs[4];
      int n = epoll_wait(ep_.get(), evs, 4, kTickMs);
      if (n < 0 && errno != EINTR) {
        rc = Report({"epoll_wait", errno, ""}, kExitRuntime);
        break;
      }
      bool stop = false;
      for (int i = 0; i < n; ++i) {
        if (evs[i].data.fd != sigfd_.get()) {
          log_->Consume();
          continue;
        }
        signalfd_siginfo si{};
        while (read(sigfd_.get(), &si, sizeof(si)) == sizeof(si)) {
          if (si.ssi_signo != SIGHUP) {
            stop = true;
            continue;
          }
          Reload();
        }
      }
      if (stop) break;
      if (plane.attached() && !plane.LinksAlive()) {
        Log("links detached from outside (mmchaos rollback): exiting");
        break;
      }
      uint64_t now = MonoNs();
      if (deadline && now >= deadline) break;
      if (now - last_beat >= static_cast<uint64_t>(cfg_.target.heartbeat_ms) * 1000000ULL / 2) {
        if (auto w = plane.Heartbeat(now); !w) Log("heartbeat: " + w.error().message());
        record_->Beat(now);
        last_beat = now;
      }
      if (now - last_sample >= 1000000000ULL) {
        if (auto r = ReadReqStats(plane.reqstats_fd())) {
          tls_->AddRequests(*r);  // the preloads account TLS requests in shared memory
          requests_->Sample(*r, now);
        }
        last_sample = now;
      }
      if (now - last_resolve >= kResolveEveryNs) {
        placed_->Refresh(cfg_);
        last_resolve = now;
      }
      if (!hooks_->OnTick(*session_, now)) break;
      placed_->Tick(cfg_, kcfg_, now);
      clock_->Sync();
      tls_->Sync();
      mmc_phase ph = mmc_schedule_phase(kcfg_.epoch_ns, kcfg_.on_ns, kcfg_.off_ns, now);
      int64_t burst = ph.on ? static_cast<int64_t>(ph.burst) : -1;
      if (plane.attached() && kcfg_.armed && burst != last_burst && burst >= 0)
        Log("burst " + std::to_string(burst) + " on");
      last_burst = burst;
    }
    if (rc == kExitOk) rc = hooks_->ExitCode();
    return rc;
  }

  // SIGHUP: re-read and validate the file; a config that fails is rejected and the running one
  // kept. A changed burst schedule restarts the cycle from now; anything else keeps the epoch.
  void Reload() {
    if (opts_.hooks) {
      Log("SIGHUP ignored: an experiment runs its own schedule");
      return;
    }
    auto next = ReadConfig(opts_);
    if (next && !MemoryUsable(*next, cgroup_)) next.reset();
    if (!next) {
      Log("SIGHUP: new config rejected, keeping the running one");
      return;
    }
    uint64_t new_epoch = SameSchedule(cfg_, *next) ? kcfg_.epoch_ns : EpochNow(*next);
    // A changed fleet.seed applies now (a staged rollout changes it with a reload); an
    // unchanged one, drawn or not, keeps this run's decisions where they were.
    const uint32_t next_seed = next->fleet.seed != cfg_.fleet.seed ? RunSeed(*next) : seed_;
    mmc_config next_k = ToKernelConfig(*next, new_epoch, next_seed);
    if (auto w = plane_->WriteConfig(next_k); !w) {
      Log("SIGHUP: " + w.error().message());
      return;
    }
    kcfg_ = next_k;
    if (next_seed != seed_) Log("SIGHUP: rollout and storm draws salted by the new fleet.seed");
    seed_ = next_seed;
    if (auto a = placed_->Apply(*next); !a) Log("SIGHUP: " + a.error().message());
    if (auto a = clock_->Apply(*next, next_k); !a) Log("SIGHUP: " + a.error().message());
    if (auto a = tls_->Apply(*next, next_k); !a) Log("SIGHUP: " + a.error().message());
    if (next->target.cgroup != cfg_.target.cgroup || next->target.netns != cfg_.target.netns)
      Log("SIGHUP: target changes need a restart; still on " + cgroup_);
    cfg_ = std::move(*next);
    Log("SIGHUP: config re-read");
  }

  // Rollback first: links go before anything else is torn down, then the netem path.
  void TearDown() {
    clock_->Clear();
    tls_->Clear();
    placed_->Clear();
    log_->Consume();
    lock_->Release();
    Log("detached; injection log: " + cfg_.log.injections);
    torn_down_ = true;
  }

  const RunOptions& opts_;
  Config cfg_;
  std::string cgroup_;
  uint64_t cgid_ = 0;
  UniqueFd cgfd_;
  std::string netns_;
  std::optional<ControllerLock> lock_;
  UniqueFd sigfd_;
  std::unique_ptr<DataPlane> plane_;
  uint32_t seed_ = 0;
  uint64_t started_ = 0;
  mmc_config kcfg_{};
  std::unique_ptr<EventLog> log_;
  std::optional<RequestWindow> requests_;
  std::optional<Placement> placed_;
  std::optional<SharedRecord> record_;
  std::optional<ClockSkew> clock_;
  std::optional<TlsFaults> tls_;
  std::optional<LoopSession> session_;
  std::unique_ptr<MetricsExporter> metrics_;
  TriggerWatch watch_;
  LoopHooks* hooks_ = nullptr;
  UniqueFd ep_;
  bool torn_down_ = false;
};

}  // namespace

int RunController(const RunOptions& opts) {
  auto controller = std::make_unique<Controller>(opts);
  const int rc = controller->Run();
  // After a run that got as far as its teardown, everything placed in the kernel is gone and
  // the log is flushed. What is left is the metrics server, whose orderly stop waits out its
  // poll loop (1-2 s), and what its scrapes read: left to the process exit, which the caller
  // makes at once (main: _exit), releasing the rest (BPF object, fds) just the same.
  if (controller->torn_down()) (void)controller.release();
  return rc;
}

}  // namespace mmchaos
