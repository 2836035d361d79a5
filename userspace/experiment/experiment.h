// `mmchaos experiment -c FILE --scenario NAME [--out DIR]`: one scenario against the running
// engine, in three phases of target.tick_ms ticks, through the same controller loop as `run`:
//   baseline   experiment.baseline_ticks, attached in shadow mode with the burst schedule running
//              (decisions counted, nothing injected: the data path does the same work as later);
//   chaos      experiment.bursts duty cycles of chaos.burst_on_sec/burst_off_sec, live (shadow if
//              chaos.dry_run), the scenario alone at its chaos.yaml intensity;
//   recovery   experiment.recovery_ticks, shadow again.
// Each tick records the engine's REST requests as the kernel saw them (latency to the first
// response byte, deadline misses against target.deadline_ms). Rollback triggers are evaluated
// every tick; one that holds detaches at once and ends the run. The run is written to
// DIR/runs/<UTC timestamp>-<scenario>.json (report/run.h's schema, plus "kernel" and "engine"
// sections with the raw figures).
#pragma once

#include <string>

namespace mmchaos {

struct ExperimentOptions {
  std::string config_path;
  std::string scenario;  // a metric label (lat_spike) or its chaos.yaml key (lat_spike_ms)
  std::string out_dir = "artifacts/chaos";
  std::string cgroup;  // --cgroup override, as for run
};

// Exit code: 0 the run was written, 1 runtime failure, 2 usage or config error.
int ExperimentCommand(const ExperimentOptions& opts);

}  // namespace mmchaos
