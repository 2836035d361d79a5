// chaos.yaml: the seed suite's `chaos:` keys, the `target:` schema, metrics and the injection log.
#pragma once

#include <cstdint>
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
  std::vector<std::string> order_requests;  // "METHOD /path", plaintext flows only
};

struct Target {
  std::string cgroup;                   // cgroup v2 directory; --cgroup/--pid override
  std::string netns;                    // netns file; empty: that of --pid, else mmchaos's own
  std::vector<std::string> interfaces;  // interfaces mmchaos may manage (tc, qdiscs)
  std::vector<Exchange> exchanges;
  std::vector<uint16_t> dns_ports{53};
  double rollout_percent = 100.0;
};

struct MetricsSection {
  std::string listen = "127.0.0.1:9464";
};

struct LogSection {
  std::string injections = "/var/log/mmchaos/injections.jsonl";  // JSON lines; "-" = stderr
  int max_events_per_sec = 100;                                  // per CPU, in the kernel
};

struct Config {
  ChaosSection chaos;
  Target target;
  MetricsSection metrics;
  LogSection log;
  std::string source;                 // file name the config came from
  std::vector<std::string> warnings;  // "file:line: key clamped from X to Y"
};

// Parses YAML text. Errors (malformed YAML, unknown keys, wrong types, bad URLs, a root
// cgroup target) carry "source:line:col: what". Out-of-range numbers are clamped, each with
// a warning in Config::warnings.
Result<Config> ParseConfig(const std::string& text, const std::string& source);
Result<Config> LoadConfig(const std::string& path);

// The effective configuration (after clamping and defaults) as YAML, for `mmchaos validate`.
std::string DumpConfig(const Config& cfg);

const char* MemPressureName(MemPressure m);

}  // namespace mmchaos
