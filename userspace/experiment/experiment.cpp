#include "experiment/experiment.h"

#include <sys/stat.h>
#include <time.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "common/log.h"
#include "common/scenarios.h"
#include "config/config.h"
#include "controller/controller.h"
#include "controller/kernel_config.h"
#include "experiment/engine_metrics.h"
#include "experiment/request_meter.h"
#include "experiment/trigger_watch.h"
#include "experiment/triggers.h"
#include "loader/counters.h"
#include "loader/dataplane.h"
#include "report/analysis.h"
#include "report/run.h"
#include "schedule.h"

namespace mmchaos {
namespace {

constexpr int kExitOk = 0, kExitRuntime = 1, kExitConfig = 2;
constexpr uint64_t kNsPerMs = 1000000ULL;

void Say(const std::string& msg) { Log("experiment: " + msg); }

// Every scenario but `keep` off: a fresh section holds each one's "off", `keep` is copied back.
void KeepOnly(ChaosSection& c, mmc_scenario keep) {
  ChaosSection only;
  only.enabled = c.enabled;
  only.dry_run = c.dry_run;
  only.burst_on_sec = c.burst_on_sec;
  only.burst_off_sec = c.burst_off_sec;
  switch (keep) {
    case MMC_SCN_NET_LOSS:
      only.net_loss = c.net_loss;
      break;
    case MMC_SCN_EXCH_429:
      only.exch_429 = c.exch_429;
      break;
    case MMC_SCN_EXCH_5XX:
      only.exch_5xx = c.exch_5xx;
      break;
    case MMC_SCN_LAT_SPIKE:
      only.lat_spike_ms = c.lat_spike_ms;
      break;
    case MMC_SCN_WS_LAG:
      only.ws_lag_ms = c.ws_lag_ms;
      break;
    case MMC_SCN_WS_DISCONNECT:
      only.ws_disconnect = c.ws_disconnect;
      break;
    case MMC_SCN_DNS_FLAP:
      only.dns_flap = c.dns_flap;
      break;
    case MMC_SCN_CLOCK_SKEW:
      only.clock_skew_ms = c.clock_skew_ms;
      break;
    case MMC_SCN_MEM_PRESSURE:
      only.mem_pressure = c.mem_pressure;
      break;
    case MMC_SCN_RATE_LIMIT_STORM:
      only.rate_limit_storm = c.rate_limit_storm;
      break;
    case MMC_SCN_RECONCILE_MISMATCH:
      only.reconcile_mismatch = c.reconcile_mismatch;
      break;
    default:
      break;
  }
  c = only;
}

std::optional<ScenarioInfo> FindScenario(const std::string& name) {
  for (const auto& s : kScenarios)
    if (s.label == name || s.config_key == name) return s;
  return std::nullopt;
}

std::string UtcStamp(int64_t unix_s) {
  time_t t = static_cast<time_t>(unix_s);
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &utc);
  return buf;
}

// p99 of the kernel's WS gap histogram delta: the upper bound of the bucket holding the rank.
double WsGapP99(const Counters& a, const Counters& b) {
  static constexpr double kBounds[MMC_WSGAP_BUCKETS - 1] = MMC_WSGAP_BOUNDS_MS;
  uint64_t n = b[MMC_STAT_WSGAP_COUNT] - a[MMC_STAT_WSGAP_COUNT];
  if (n == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(0.99 * static_cast<double>(n))), seen = 0;
  for (int i = 0; i < MMC_WSGAP_BUCKETS; ++i) {
    seen += b[MMC_STAT_WSGAP_BUCKET0 + i] - a[MMC_STAT_WSGAP_BUCKET0 + i];
    if (seen >= rank) return i < MMC_WSGAP_BUCKETS - 1 ? kBounds[i] : kBounds[i - 1];
  }
  return kBounds[MMC_WSGAP_BUCKETS - 2];
}

// The engine's counters an experiment reports (target.metrics_url), by phase boundary.
struct EngineFigures {
  bool ok = false;
  double deadline_misses = 0, requests = 0, reconnects_rest = 0, reconnects_ws = 0,
         missing_on_engine = 0, missing_on_exchange = 0;
};

EngineFigures ScrapeFigures(const Config& cfg, const std::string& netns) {
  EngineFigures f;
  if (cfg.target.metrics_url.empty()) return f;
  auto s = ScrapeEngine(cfg.target.metrics_url, netns, 1000);
  if (!s) {
    Say("warning: " + s.error().message());
    return f;
  }
  f.ok = true;
  f.deadline_misses = SumSamples(*s, "mm_deadline_miss_total");
  f.requests = SumSamples(*s, "mm_requests_total");
  f.reconnects_rest = SumSamples(*s, "mm_reconnect_attempts_total", {{"kind", "rest"}});
  f.reconnects_ws = SumSamples(*s, "mm_reconnect_attempts_total", {{"kind", "ws"}});
  f.missing_on_engine =
      SumSamples(*s, "mm_reconcile_discrepancies_total", {{"type", "missing_on_engine"}});
  f.missing_on_exchange =
      SumSamples(*s, "mm_reconcile_discrepancies_total", {{"type", "missing_on_exchange"}});
  return f;
}

nlohmann::json EngineDelta(const EngineFigures& a, const EngineFigures& b) {
  return {{"deadline_misses", b.deadline_misses - a.deadline_misses},
          {"requests", b.requests - a.requests},
          {"reconnects",
           {{"rest", b.reconnects_rest - a.reconnects_rest},
            {"ws", b.reconnects_ws - a.reconnects_ws}}},
          {"discrepancies",
           {{"missing_on_engine", b.missing_on_engine - a.missing_on_engine},
            {"missing_on_exchange", b.missing_on_exchange - a.missing_on_exchange}}}};
}

nlohmann::json Opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nullptr; }

// What the report computes from the ticks, kept in the run for readers without it.
nlohmann::json Summary(const Evaluation& ev) {
  auto phase = [](const PhaseStats& p) {
    return nlohmann::json{{"ticks", p.ticks},
                          {"requests", p.requests},
                          {"p50_ms", Opt(p.p50)},
                          {"p95_ms", Opt(p.p95)},
                          {"p99_ms", Opt(p.p99)},
                          {"deadline_misses", p.deadline_misses},
                          {"deadline_miss_rate", Opt(p.miss_rate)}};
  };
  nlohmann::json per_burst = nlohmann::json::array();
  for (const auto& r : ev.recovery_per_burst)
    per_burst.push_back(r ? nlohmann::json(*r) : nlohmann::json("not recovered"));
  nlohmann::json verdicts = nlohmann::json::object();
  for (const auto& c : ev.criteria)
    verdicts[c.criterion] = {
        {"verdict", VerdictName(c.verdict)}, {"observed", c.observed}, {"threshold", c.threshold}};
  return {{"baseline", phase(ev.baseline)},
          {"chaos", phase(ev.chaos)},
          {"recovery", phase(ev.recovery)},
          {"recovery_ticks_per_burst", per_burst},
          {"verdicts", verdicts},
          {"verdict", RunVerdictName(VerdictOf(ev))},
          {"pass", VerdictOf(ev) == RunVerdict::kPass}};
}

class ExperimentHooks : public LoopHooks {
 public:
  ExperimentHooks(const ExperimentOptions& opts, ScenarioInfo scn, double intensity)
      : opts_(opts), scn_(scn), intensity_(intensity) {}

  Result<void> OnStart(Session& s) override {
    const Config& cfg = s.config();
    auto m = RequestMeter::Open(s.plane().requests_fd());
    if (!m) return std::unexpected(m.error());
    meter_ = std::move(*m);
    eval_ = std::make_unique<TriggerEvaluator>(cfg.rollback_triggers);
    tick_ns_ = static_cast<uint64_t>(cfg.target.tick_ms) * kNsPerMs;
    deadline_ns_ = static_cast<uint64_t>(cfg.target.deadline_ms) * kNsPerMs;
    live_ = !cfg.chaos.dry_run;
    const auto on = static_cast<uint64_t>(cfg.chaos.burst_on_sec * 1e9);
    const auto off = static_cast<uint64_t>(cfg.chaos.burst_off_sec * 1e9);
    on_ns_ = on;
    off_ns_ = off;
    const uint64_t bursts = static_cast<uint64_t>(cfg.experiment.bursts);
    const uint64_t chaos_ns = off == 0 ? bursts * on : bursts * (on + off) - off;
    baseline_ticks_ = cfg.experiment.baseline_ticks;
    chaos_ticks_ = static_cast<int64_t>((chaos_ns + tick_ns_ - 1) / tick_ns_);
    total_ticks_ = baseline_ticks_ + chaos_ticks_ + cfg.experiment.recovery_ticks;

    run_.scenario = std::string(scn_.label);
    run_.intensity = intensity_;
    run_.started_unix = static_cast<int64_t>(::time(nullptr));
    run_.tick_ms = cfg.target.tick_ms;
    run_.dry_run = cfg.chaos.dry_run;
    for (const auto& x : cfg.target.exchanges) {
      for (const auto& e : x.rest) run_.endpoints.push_back(e.url);
      for (const auto& e : x.ws) run_.endpoints.push_back(e.url);
    }
    const AcceptanceSection& a = cfg.acceptance;
    run_.acceptance.p95_regression_max = a.p95_regression_max_pct / 100.0;
    run_.acceptance.deadline_miss_max = a.deadline_miss_max_pct / 100.0;
    run_.acceptance.recovery_ticks_max = a.recovery_ticks_max;
    run_.acceptance.p99_max_ms_under_lat_spike = a.lat_spike_p99_max_ms;
    run_.acceptance.discrepancies_all_detected = a.discrepancies_all_detected;

    // Until the first tick: attached (by the loop, after this) and deciding nothing.
    mmc_config k = s.kernel_config();
    k.req_events = 1;
    k.dry_run = 1;
    k.epoch_ns = ~0ULL >> 1;  // the schedule is off until its epoch
    if (auto w = s.SetKernelConfig(k); !w) return w;
    return {};
  }

  // The first pass of the loop, attached: phase 1 starts, in shadow mode, with the burst schedule
  // running from now (decided and counted, nothing injected: the data path does the same work
  // as in the chaos phase).
  Result<void> Begin(Session& s) {
    const Config& cfg = s.config();
    t0_ = Now();
    chaos_start_ = t0_ + static_cast<uint64_t>(baseline_ticks_) * tick_ns_;
    // Nothing was decided so far (the schedule was off): counters first, then the schedule, so
    // every decision of the run is in the deltas and in the injection log alike.
    if (auto c = s.ReadCounters()) c_start_ = *c;
    mmc_config k = s.kernel_config();
    k.epoch_ns = t0_;
    if (auto w = s.SetKernelConfig(k); !w) return w;
    meter_->Drain();
    meter_->Add(s.TakeTlsRequests());  // the TLS preloads' requests
    meter_->Discard(t0_);
    engine_start_ = ScrapeFigures(cfg, s.netns());
    Say(run_.scenario + " at " + FormatNumber(intensity_, 3, true) + ": " +
        std::to_string(baseline_ticks_) + " baseline + " + std::to_string(chaos_ticks_) +
        " chaos (" + std::to_string(cfg.experiment.bursts) + " bursts, " +
        (live_ ? "live" : "shadow") + ") + " + std::to_string(cfg.experiment.recovery_ticks) +
        " recovery ticks of " + std::to_string(cfg.target.tick_ms) + " ms");
    return {};
  }

  bool OnTick(Session& s, uint64_t now) override {
    const Config& cfg = s.config();
    if (t0_ == 0) {
      if (auto b = Begin(s); !b) {
        Say("error: " + b.error().message());
        return false;
      }
      return true;
    }
    meter_->Drain();
    meter_->Add(s.TakeTlsRequests());  // the TLS preloads' requests
    // Go live just before the first burst (the schedule keeps everything off until then), so
    // the loop's wake-up jitter never eats into it.
    // The chaos phase's schedule starts at its first tick: nothing is on from here until then.
    if (!went_live_ && now + 2 * 50 * kNsPerMs >= chaos_start_) {
      went_live_ = true;
      mmc_config k = s.kernel_config();
      k.epoch_ns = chaos_start_;
      k.dry_run = live_ ? 0 : 1;
      if (auto c = s.ReadCounters()) c_chaos_ = *c;
      if (auto w = s.SetKernelConfig(k); !w) {
        Say("error: " + w.error().message());
        return Finish(s, false);
      }
      engine_chaos_ = ScrapeFigures(cfg, s.netns());
    }
    while (now >= TickEnd(next_tick_)) {
      if (!CloseTick(s, next_tick_)) return Finish(s, true);
      ++next_tick_;
      if (next_tick_ == baseline_ticks_ + chaos_ticks_) {
        if (!SetDryRun(s, true)) return Finish(s, false);
        if (auto c = s.ReadCounters()) c_recovery_ = *c;
        engine_recovery_ = ScrapeFigures(cfg, s.netns());
        Say("chaos phase over: recovery (shadow)");
      }
      if (next_tick_ == total_ticks_) return Finish(s, true);
    }
    return true;
  }

  int ExitCode() const override {
    if (rc_ == kExitRuntime && !written_) Say("stopped before the end: no run written");
    return rc_;
  }

 private:
  static uint64_t Now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
  }

  uint64_t TickEnd(int64_t tick) const { return t0_ + static_cast<uint64_t>(tick + 1) * tick_ns_; }

  bool SetDryRun(Session& s, bool dry) {
    mmc_config k = s.kernel_config();
    k.dry_run = dry ? 1 : 0;
    if (auto w = s.SetKernelConfig(k); !w) {
      Say("error: " + w.error().message());
      rc_ = kExitRuntime;
      return false;
    }
    return true;
  }

  Phase PhaseOf(int64_t tick) const {
    if (tick < baseline_ticks_) return Phase::kBaseline;
    if (tick < baseline_ticks_ + chaos_ticks_) return Phase::kChaos;
    return Phase::kRecovery;
  }

  // Records tick k; false when a rollback trigger fired (the data plane is detached).
  bool CloseTick(Session& s, int64_t k) {
    const Config& cfg = s.config();
    TickStats st = meter_->Take(TickEnd(k), deadline_ns_);
    RunTick t;
    t.tick = k;
    t.phase = PhaseOf(k);
    const uint64_t start = TickEnd(k) - tick_ns_;
    if (t.phase == Phase::kChaos) {
      // A tick is in a burst when the burst is on at any point of it.
      mmc_phase a = mmc_schedule_phase(chaos_start_, on_ns_, off_ns_, start);
      mmc_phase b = mmc_schedule_phase(chaos_start_, on_ns_, off_ns_, start + tick_ns_ - 1);
      t.burst_on = a.on || b.on || a.burst != b.burst;
      if (t.burst_on) {
        int64_t idx = static_cast<int64_t>(b.on ? b.burst : a.burst);
        if (run_.bursts.empty() || run_.bursts.back().index != idx)
          run_.bursts.push_back({idx, k, k});
        run_.bursts.back().end_tick = k;
      }
    }
    t.latency_ms = st.latency_ms;
    t.deadline_misses = st.deadline_misses;
    t.requests = st.requests;
    kernel_failures_ += st.failures;
    run_.ticks.push_back(t);

    TriggerTick tt;
    tt.kernel = std::move(st);
    tt.engine = EngineCounters(cfg, s.netns(), eval_->EngineMetrics());
    if (auto fired = eval_->Observe(std::move(tt))) {
      s.Rollback(*fired);
      run_.rollbacks.push_back({k, *fired});
      Say("rollback trigger fired at tick " + std::to_string(k) + ": " + *fired +
          ": detached, run ends here");
      return false;
    }
    Progress(k, t);
    return true;
  }

  void Progress(int64_t k, const RunTick& t) {
    const uint64_t now = Now();
    if (now - last_progress_ < 1000000000ULL && k + 1 != total_ticks_ && k + 1 != baseline_ticks_)
      return;
    last_progress_ = now;
    std::string burst = "-";
    if (t.phase == Phase::kChaos && !run_.bursts.empty())
      burst = std::to_string(run_.bursts.back().index + 1) + "/" + std::to_string(bursts_total()) +
              (t.burst_on ? " on" : " off");
    const RunTick w = LastSecond();
    auto p95 = Percentile(w.latency_ms, 95);
    Logf("experiment: %-8s tick %lld/%lld  burst %s  p95(1s) %s  misses(1s) %lld/%lld",
         std::string(PhaseName(t.phase)).c_str(), static_cast<long long>(k + 1),
         static_cast<long long>(total_ticks_), burst.c_str(),
         p95 ? (FormatNumber(*p95, 1, false) + " ms").c_str() : "-",
         static_cast<long long>(w.deadline_misses), static_cast<long long>(w.requests));
  }

  int64_t bursts_total() const { return static_cast<int64_t>(run_config_bursts_); }
  // The last second of ticks summed into one (the progress line's window).
  RunTick LastSecond() const {
    const size_t per_second = static_cast<size_t>(1000 / std::max<int64_t>(1, run_.tick_ms));
    const size_t n = std::min(run_.ticks.size(), std::max<size_t>(1, per_second));
    RunTick sum;
    for (size_t i = run_.ticks.size() - n; i < run_.ticks.size(); ++i) {
      const RunTick& t = run_.ticks[i];
      sum.latency_ms.insert(sum.latency_ms.end(), t.latency_ms.begin(), t.latency_ms.end());
      sum.deadline_misses += t.deadline_misses;
      sum.requests += t.requests;
    }
    return sum;
  }

  // Writes the run; `complete` false: stopped by an error before the end (nothing written).
  bool Finish(Session& s, bool complete) {
    if (!complete) return false;
    const Config& cfg = s.config();
    // Decide nothing more, so the figures below are final (the loop detaches after this).
    mmc_config k = s.kernel_config();
    k.armed = 0;
    // The loop detaches right after this; a failed disarm only means a few more decisions may
    // be counted below, which the operator should know.
    if (auto w = s.SetKernelConfig(k); !w)
      Say("disarm before the final counters: " + w.error().message());
    Counters end{};
    if (auto c = s.ReadCounters()) end = *c;
    if (!went_live_) c_chaos_ = end;
    if (next_tick_ < baseline_ticks_ + chaos_ticks_) c_recovery_ = end;
    EngineFigures engine_end = ScrapeFigures(cfg, s.netns());

    const auto id = scn_.id;
    auto delta = [](const Counters& a, const Counters& b, uint32_t slot) {
      return static_cast<int64_t>(b[slot] - a[slot]);
    };
    run_.injections_live = delta(c_start_, end, mmc_injection_slot(id, MMC_MODE_LIVE));
    run_.injections_shadow = delta(c_start_, end, mmc_injection_slot(id, MMC_MODE_SHADOW));
    run_.reconnects_rest = delta(c_start_, end, MMC_STAT_CONNECT_REST);
    run_.reconnects_ws = delta(c_start_, end, MMC_STAT_CONNECT_WS);
    run_.ws_gaps_count = delta(c_start_, end, MMC_STAT_WSGAP_COUNT);
    run_.ws_gaps_p99_ms = WsGapP99(c_start_, end);
    if (id == MMC_SCN_RECONCILE_MISMATCH) {
      run_.discrepancies_created = run_.injections_live;
      if (engine_start_.ok && engine_end.ok) {
        run_.discrepancies_detected =
            static_cast<int64_t>(engine_end.missing_on_engine - engine_start_.missing_on_engine);
      } else {
        // Nobody to ask: recorded, not judged.
        run_.acceptance.discrepancies_all_detected = false;
        Say("note: discrepancies created but not judged: target.metrics_url is not set");
      }
    }

    nlohmann::json j = RunJson(run_);
    j["summary"] = Summary(Evaluate(run_));
    j["config"] = {{"file", cfg.source},
                   {"scenario_key", std::string(scn_.config_key)},
                   {"burst_on_sec", cfg.chaos.burst_on_sec},
                   {"burst_off_sec", cfg.chaos.burst_off_sec},
                   {"bursts", cfg.experiment.bursts},
                   {"baseline_ticks", baseline_ticks_},
                   {"chaos_ticks", chaos_ticks_},
                   {"recovery_ticks", cfg.experiment.recovery_ticks},
                   {"deadline_ms", cfg.target.deadline_ms},
                   {"cgroup", cfg.target.cgroup},
                   {"rollout_percent", cfg.target.rollout_percent}};
    int64_t requests = 0;
    for (const auto& t : run_.ticks) requests += t.requests;
    j["kernel"] = {
        {"requests", requests},
        {"failures", kernel_failures_},
        {"injections_by_phase",
         {{"baseline",
           {{"live", delta(c_start_, c_chaos_, mmc_injection_slot(id, MMC_MODE_LIVE))},
            {"shadow", delta(c_start_, c_chaos_, mmc_injection_slot(id, MMC_MODE_SHADOW))}}},
          {"chaos",
           {{"live", delta(c_chaos_, c_recovery_, mmc_injection_slot(id, MMC_MODE_LIVE))},
            {"shadow", delta(c_chaos_, c_recovery_, mmc_injection_slot(id, MMC_MODE_SHADOW))}}},
          {"recovery",
           {{"live", delta(c_recovery_, end, mmc_injection_slot(id, MMC_MODE_LIVE))},
            {"shadow", delta(c_recovery_, end, mmc_injection_slot(id, MMC_MODE_SHADOW))}}}}},
        {"request_events_lost", delta(c_start_, end, MMC_STAT_REQ_EVENTS_LOST)}};
    if (engine_start_.ok && engine_end.ok) {
      nlohmann::json e = {{"metrics_url", cfg.target.metrics_url},
                          {"total", EngineDelta(engine_start_, engine_end)}};
      if (engine_chaos_.ok && engine_recovery_.ok) {
        e["baseline"] = EngineDelta(engine_start_, engine_chaos_);
        e["chaos"] = EngineDelta(engine_chaos_, engine_recovery_);
        e["recovery"] = EngineDelta(engine_recovery_, engine_end);
      }
      j["engine"] = std::move(e);
    }

    std::error_code ec;
    const std::string dir = opts_.out_dir + "/runs";
    std::filesystem::create_directories(dir, ec);
    const std::string path =
        dir + "/" + UtcStamp(run_.started_unix) + "-" + run_.scenario + ".json";
    std::ofstream out(path);
    out << j.dump(1) << "\n";
    out.close();
    if (ec || !out) {
      Say("error: cannot write " + path + (ec ? ": " + ec.message() : ""));
      rc_ = kExitRuntime;
      return false;
    }
    Evaluation ev = Evaluate(run_);
    std::string verdicts;
    for (const auto& c : ev.criteria)
      if (c.verdict != Verdict::kNotApplicable)
        verdicts +=
            " " + c.criterion + "=" + std::string(VerdictName(c.verdict)) + "(" + c.observed + ")";
    Say("wrote " + path);
    Say(run_.scenario + ": " + std::string(RunVerdictName(VerdictOf(ev))) + " |" + verdicts +
        " | injections live " + std::to_string(run_.injections_live) + ", shadow " +
        std::to_string(run_.injections_shadow));
    rc_ = kExitOk;
    written_ = true;
    return false;
  }

 public:
  uint64_t run_config_bursts_ = 0;

 private:
  ExperimentOptions opts_;
  ScenarioInfo scn_;
  double intensity_;
  std::unique_ptr<RequestMeter> meter_;
  std::unique_ptr<TriggerEvaluator> eval_;
  uint64_t tick_ns_ = 0, deadline_ns_ = 0, on_ns_ = 0, off_ns_ = 0, t0_ = 0, chaos_start_ = 0;
  uint64_t last_progress_ = 0;
  int64_t baseline_ticks_ = 0, chaos_ticks_ = 0, total_ticks_ = 0, next_tick_ = 0;
  int64_t kernel_failures_ = 0;
  bool live_ = true, went_live_ = false, written_ = false;
  Counters c_start_{}, c_chaos_{}, c_recovery_{};
  EngineFigures engine_start_, engine_chaos_, engine_recovery_;
  ExperimentRun run_;
  int rc_ = kExitRuntime;  // until the run is written
};

}  // namespace

int ExperimentCommand(const ExperimentOptions& opts) {
  auto scn = FindScenario(opts.scenario);
  if (!scn) {
    std::string known;
    for (const auto& s : kScenarios) known.append(" ").append(s.label);
    Say("error: unknown scenario '" + opts.scenario + "' (known:" + known + ")");
    return kExitConfig;
  }
  auto cfg = LoadConfig(opts.config_path);
  if (!cfg) {
    Say("error: " + cfg.error().message());
    return kExitConfig;
  }
  const double intensity = ScenarioIntensity(cfg->chaos, scn->id);
  if (intensity == 0) {
    Say("error: chaos." + std::string(scn->config_key) + " is 0 in " + opts.config_path +
        ": set the intensity the experiment should inject");
    return kExitConfig;
  }
  ExperimentHooks hooks(opts, *scn, intensity);
  hooks.run_config_bursts_ = static_cast<uint64_t>(cfg->experiment.bursts);
  RunOptions run;
  run.config_path = opts.config_path;
  run.cgroup = opts.cgroup;
  run.hooks = &hooks;
  const mmc_scenario keep = scn->id;
  run.adjust = [keep](Config& c) {
    KeepOnly(c.chaos, keep);
    c.chaos.enabled = true;
  };
  return RunController(run);  // hooks.ExitCode() once the loop ran
}

}  // namespace mmchaos
