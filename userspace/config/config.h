// chaos.yaml: the seed suite's `chaos:` keys, netem realism, the `target:` schema, metrics and
// the injection log.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace mmchaos {

enum class MemPressure { kNone, kLow, kMedium, kHigh };

// The seed's `chaos:` section, with its safe defaults.
struct ChaosSection {
  bool enabled = false;
  bool dry_run = true;
  double net_loss = 0.0;
  double exch_429 = 0.0;
  double exch_5xx = 0.0;
  int lat_spike_ms = 0;
  int ws_lag_ms = 0;
  double ws_disconnect = 0.0;
  double dns_flap = 0.0;
  int clock_skew_ms = 0;
  MemPressure mem_pressure = MemPressure::kNone;
  double rate_limit_storm = 0.0;
  double reconcile_mismatch = 0.0;
  double burst_on_sec = 30;
  double burst_off_sec = 90;
};

// netem's jitter distribution. kUniform is netem without a distribution table (jitter spread
// evenly over delay +- jitter); the others are the tables iproute2 ships (normal.dist, ...).
enum class NetemDistribution { kUniform, kNormal, kPareto, kParetoNormal };

// The optional `netem:` section: realism for lat_spike_ms/ws_lag_ms. The defaults give a fixed
// extra delay (the seed's meaning).
struct NetemSection {
  int jitter_ms = 0;           // delay varies by +-jitter_ms (0 = fixed delay)
  double correlation_pct = 0;  // how much each packet's jitter follows the previous one's
  NetemDistribution distribution = NetemDistribution::kUniform;  // of the jitter
  double reorder_pct = 0;  // share of delayed packets sent at once (netem reorder; needs gap 1)
  double reorder_correlation_pct = 0;  // correlation of the reorder decision
  int expected_pps = 20000;            // packet rate of one delayed flow class: sizes the queue
  int limit = 0;                       // netem queue limit in packets; 0 = NetemLimit() computes it
};

struct Endpoint {
  std::string url;     // as written
  std::string scheme;  // http, https, ws, wss
  std::string host;
  uint16_t port = 0;  // explicit or the scheme's default
  bool tls = false;   // https/wss
};

struct Exchange {
  std::string name;
  std::vector<Endpoint> rest;
  std::vector<Endpoint> ws;
  std::vector<std::string> order_requests;  // "METHOD /path" prefixes of request lines
  // Host name -> the addresses mmchaos matches for it instead of asking this host's resolver:
  // for engines whose resolver differs (containers, split-horizon DNS). The URLs keep the name
  // the engine uses (its TLS Host header and SNI). Each name is a host of this exchange's URLs.
  std::map<std::string, std::vector<std::string>> resolve;
};

struct Target {
  std::string cgroup;  // cgroup v2 directory; --cgroup/--pid override
  std::string unit;    // a systemd unit whose cgroup is the target instead (cgroup/locate.h)
  std::string netns;   // netns file; empty: that of --pid, else mmchaos's own
  std::vector<std::string> interfaces;  // interfaces mmchaos may manage (tc, qdiscs)
  std::vector<Exchange> exchanges;
  std::vector<uint16_t> dns_ports{53};
  double rollout_percent = 100.0;
  int heartbeat_ms = 250;   // controller -> BPF liveness period; 2 missed periods stop steering
  int tick_ms = 100;        // the engine's tick: mmchaos measures and judges per tick
  int deadline_ms = 200;    // a REST request not answered within this is a deadline miss
  std::string metrics_url;  // the engine's Prometheus endpoint (scraped in target.netns), optional
};

// Acceptance criteria of an experiment (the seed's defaults).
struct AcceptanceSection {
  double p95_regression_max_pct = 15;      // chaos p95 <= baseline p95 * (1 + this/100)
  double deadline_miss_max_pct = 2;        // chaos deadline-miss rate < this
  int recovery_ticks_max = 3;              // every burst recovered within this many ticks
  double lat_spike_p99_max_ms = 250;       // under lat_spike: chaos p99 < this
  bool discrepancies_all_detected = true;  // every created discrepancy detected by the engine
};

// A stop condition: when `metric op value` holds on `for_ticks` consecutive ticks (the metric
// taken over the last `window_ticks` ticks), mmchaos detaches at once.
struct RollbackTrigger {
  std::string name;    // label of mm_chaos_rollbacks_total{trigger}; default: the condition
  std::string metric;  // see kTriggerMetrics, or "engine:<metric name>"
  std::string op;      // >, >=, <, <=
  double value = 0;
  int for_ticks = 1;
  int window_ticks = 10;

  bool operator==(const RollbackTrigger&) const = default;
};

// Kernel-observed trigger metrics, over the window's REST requests: deadline_miss_pct (misses /
// requests), fail_pct (reset, timeout, 429, 5xx / requests), p95_ms, p99_ms (answered
// requests), requests (count).
inline constexpr const char* kTriggerMetrics[] = {"deadline_miss_pct", "fail_pct", "p95_ms",
                                                  "p99_ms", "requests"};

// `mmchaos experiment`'s phases, in ticks of target.tick_ms (the chaos phase lasts `bursts`
// duty cycles of chaos.burst_on_sec/burst_off_sec, its last off-period excluded).
struct ExperimentSection {
  int baseline_ticks = 50;
  int bursts = 2;
  int recovery_ticks = 30;
};

// How the exchange-protocol faults answer.
struct FaultsSection {
  int status_5xx = 503;  // exch_5xx's status code (500..599)
  // dns_flap's answer: servfail | nxdomain (the RCODE), timeout (no answer at all)
  std::string dns_answer = "servfail";
  // clock_skew_ms: the clock classes skewed (realtime | monotonic) and how (auto: the uprobe
  // mechanism where the kernel allows it, else the preload of `mmchaos exec`).
  std::vector<std::string> clock_skew_clocks{"realtime"};
  std::string clock_skew_mechanism = "auto";
  // exch_429 / exch_5xx / rate_limit_storm on https:// endpoints: how the engine's TLS library is
  // reached (auto | preload: the preload of `mmchaos exec` wraps libssl's SSL_read/SSL_write).
  std::string tls_mechanism = "auto";
};

struct MetricsSection {
  std::string listen = "127.0.0.1:9464";
};

struct LogSection {
  std::string injections = "/var/log/mmchaos/injections.jsonl";  // JSON lines; "-" = stderr
  int max_events_per_sec = 100;                                  // per CPU, in the kernel
};

// The optional `fleet:` section: several canary hosts as one experiment.
struct FleetSection {
  bool burst_align = false;  // cycles start on UTC multiples of burst_on_sec + burst_off_sec
  int seed = 0;              // the rollout hash's (and storm draw's) salt; 0: random per run
};

struct Config {
  ChaosSection chaos;
  FleetSection fleet;
  NetemSection netem;
  Target target;
  FaultsSection faults;
  MetricsSection metrics;
  LogSection log;
  AcceptanceSection acceptance;
  std::vector<RollbackTrigger> rollback_triggers;
  ExperimentSection experiment;
  std::string source;                 // file name the config came from
  std::vector<std::string> warnings;  // "file:line: key clamped from X to Y"
};

// What parsing asks of the host (parsing itself reads no file): whether target.cgroup names a
// cgroup v2 root. Empty: not asked.
struct HostProbe {
  std::function<bool(const std::string& path)> is_root_cgroup;
};

// Parses YAML text. Errors (malformed YAML, unknown keys, wrong types, bad URLs, a root
// cgroup target) carry "source:line:col: what". Out-of-range numbers are clamped, each with
// a warning in Config::warnings. Without `host`, this host's cgroup mounts decide what a root
// cgroup is (cgroup/mounts.h).
Result<Config> ParseConfig(const std::string& text, const std::string& source,
                           const HostProbe& host);
Result<Config> ParseConfig(const std::string& text, const std::string& source);
Result<Config> LoadConfig(const std::string& path);

// The effective configuration (after clamping and defaults) as YAML, for `mmchaos validate`.
std::string DumpConfig(const Config& cfg);

// Why `path` is no place for the injection log, or "" when it is: "-" (stderr), or an absolute
// path to a *.jsonl or *.log file outside the kernel's and the system's trees (/proc, /sys,
// /dev, /boot, /etc, /usr, ...). The controller checks the resolved path again when it opens it.
std::string LogPathProblem(const std::string& path);

const char* MemPressureName(MemPressure m);
const char* NetemDistributionName(NetemDistribution d);  // "uniform", "normal", ...

// netem's queue limit (packets) for a qdisc delaying by `delay_ms` with n's jitter. netem holds
// every packet for its delay, so at R packets/s it holds about R * delay / 1000 of them, and once
// `limit` are queued it drops new ones silently (a qdisc stat, no error to anyone): too small a
// limit turns a latency scenario into packet loss. Hence, unless n.limit > 0 overrides it:
// max(1000, ceil(expected_pps * (delay_ms + 2 * jitter_ms) / 1000 * 2)), where 2 * jitter covers
// the long tail of normal/pareto jitter, the factor 2 is headroom for bursts above
// expected_pps, and 1000 is netem's own default.
uint32_t NetemLimit(const NetemSection& n, int delay_ms);

}  // namespace mmchaos
