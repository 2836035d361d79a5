// One experiment run as `mmchaos experiment` writes it (runs/<timestamp>-<scenario>.json), and
// its loader. The file's schema (unknown keys are ignored, so the writer may add more):
//
//   {
//     "scenario": "net_loss",            required, [a-z0-9_]+ (it names the chart file)
//     "intensity": 0.2,                  the scenario's chaos.yaml value (lat_spike: ms)
//     "started_unix": 1795760000,        seconds
//     "tick_ms": 100,
//     "dry_run": false,                  shadow mode: decisions counted, nothing injected
//     "acceptance": {                    optional; each key optional, these are the defaults
//       "p95_regression_max": 0.15, "deadline_miss_max": 0.02, "recovery_ticks_max": 3,
//       "p99_max_ms_under_lat_spike": 250, "discrepancies_all_detected": true},
//     "ticks": [                         required; strictly increasing "tick"
//       {"tick": 0, "phase": "baseline"|"chaos"|"recovery", "burst_on": false,
//        "latency_ms": [12.1, 15.3], "deadline_misses": 0, "requests": 2}],
//     "bursts": [{"index": 0, "start_tick": 50, "end_tick": 60}],   end_tick inclusive
//     "injections": {"live": 123, "shadow": 456},
//     "reconnects": {"rest": 1, "ws": 2},
//     "ws_gaps": {"count": 900, "p99_ms": 55.0},
//     "discrepancies": {"created": 3, "detected": 3},
//     "rollbacks": [{"tick": 77, "trigger": "deadline_miss > 5% for 3 ticks"}]
//   }
//
// Absent optional sections read as zero/empty. Latencies are finite and >= 0; counts are
// non-negative integers; deadline_misses <= requests; a burst has start_tick <= end_tick.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"

namespace mmchaos {

enum class Phase { kBaseline, kChaos, kRecovery };

struct Acceptance {
  double p95_regression_max = 0.15;         // chaos p95 <= baseline p95 * (1 + this)
  double deadline_miss_max = 0.02;          // chaos deadline-miss rate < this (a share, 0..1)
  int64_t recovery_ticks_max = 3;           // worst recovery <= this
  double p99_max_ms_under_lat_spike = 250;  // scenario lat_spike: chaos p99 < this
  bool discrepancies_all_detected = true;   // detected >= created (false: not judged)
};

struct RunTick {
  int64_t tick = 0;
  Phase phase = Phase::kBaseline;
  bool burst_on = false;
  std::vector<double> latency_ms;
  int64_t deadline_misses = 0;
  int64_t requests = 0;
};

struct RunBurst {
  int64_t index = 0;
  int64_t start_tick = 0;
  int64_t end_tick = 0;  // the burst's last tick (inclusive)
};

struct RunRollback {
  int64_t tick = 0;
  std::string trigger;
};

struct ExperimentRun {
  std::string source;  // the run file's name (set by LoadRun; empty from ParseRun)
  std::string scenario;
  double intensity = 0;
  int64_t started_unix = 0;
  int64_t tick_ms = 0;
  bool dry_run = false;
  Acceptance acceptance;
  std::vector<RunTick> ticks;
  std::vector<RunBurst> bursts;
  int64_t injections_live = 0;
  int64_t injections_shadow = 0;
  int64_t reconnects_rest = 0;
  int64_t reconnects_ws = 0;
  int64_t ws_gaps_count = 0;
  double ws_gaps_p99_ms = 0;
  int64_t discrepancies_created = 0;
  int64_t discrepancies_detected = 0;
  std::vector<RunRollback> rollbacks;
  // The exchange URLs of target.exchanges (REST and WS) the run's engine was configured with:
  // the report says whether it met the exchange over TLS. Optional (older runs have none).
  std::vector<std::string> endpoints;
};

std::string_view PhaseName(Phase p);

// A run from its JSON; the error names the offending key, e.g. "ticks[3].latency_ms[1]: expected
// a number, got string".
Result<ExperimentRun> ParseRun(const nlohmann::json& j);

// The run as JSON in the schema above (ParseRun(RunJson(r)) == r, source aside).
nlohmann::json RunJson(const ExperimentRun& r);

// Reads and parses one run file; the error starts with the path. Sets ExperimentRun::source to the
// file name (without directories).
Result<ExperimentRun> LoadRun(const std::string& path);

// Every `*.json` directly in `dir` (dot files skipped), sorted by scenario, then started_unix,
// then file name. Fails on the first unreadable or malformed file, and when there is none.
Result<std::vector<ExperimentRun>> LoadRuns(const std::string& dir);

}  // namespace mmchaos
