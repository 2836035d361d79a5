// `mmchaos run`: attach to the engine's cgroup and drive the schedule in the foreground until a
// signal, the duration, or an external rollback ends it. SIGHUP re-reads the config and applies
// it without re-attaching; chaos.enabled: false detaches at once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "loader/counters.h"
#include "mmchaos.h"

namespace mmchaos {

struct Config;
class DataPlane;

// What the run loop exposes to the code that drives it (`experiment`) or watches it (rollback
// triggers). Every call comes from the loop's thread.
class Session {
 public:
  virtual ~Session() = default;
  virtual DataPlane& plane() = 0;
  virtual const Config& config() const = 0;
  virtual const mmc_config& kernel_config() const = 0;
  // Writes a new kernel config (phase changes: shadow <-> live, a new burst epoch).
  virtual Result<void> SetKernelConfig(const mmc_config& k) = 0;
  // A rollback trigger fired: detach at once, log why, count mm_chaos_rollbacks_total{trigger}.
  virtual void Rollback(const std::string& trigger) = 0;
  virtual bool attached() const = 0;
  virtual const std::string& netns() const = 0;  // the target's netns file ("" = ours)
  // The data plane's counters plus what the clock preloads counted in shared memory: what
  // mm_chaos_injections_total shows.
  virtual Result<Counters> ReadCounters() = 0;
  // Finished requests the preloads accounted on TLS flows since the last call (the events the
  // data plane writes to mmc_requests for the flows it accounts), while req_events is set.
  virtual std::vector<mmc_req_event> TakeTlsRequests() { return {}; }
};

class LoopHooks {
 public:
  virtual ~LoopHooks() = default;
  // Once, before anything is attached (the data plane is loaded and configured): a kernel
  // config written here is the first the attached programs see.
  virtual Result<void> OnStart(Session& s) = 0;
  // Every pass of the loop (at most 50 ms apart, CLOCK_MONOTONIC). false ends the run.
  virtual bool OnTick(Session& s, uint64_t now_ns) = 0;
  // The process's exit code when the loop ended without a failure of its own.
  virtual int ExitCode() const { return 0; }
};

struct RunOptions {
  std::string config_path;
  std::string cgroup;  // --cgroup
  pid_t pid = 0;       // --pid
  bool force_dry_run = false;
  double duration_sec = 0;  // 0: until a signal
  // `experiment`: drives the loop instead of the rollback-trigger watch `run` uses.
  LoopHooks* hooks = nullptr;
  // Applied to every config read (the file at start and on SIGHUP), after validation.
  std::function<void(Config&)> adjust;
};

// Runs `run` (or `experiment`'s loop) to its end. Returns the process exit code: 0 success,
// 1 runtime failure, 2 usage or config error. After a run that attached, the caller ends the
// process at once with _exit(code) (main does): the metrics server is left running to the exit,
// since its orderly stop waits out its poll loop.
int RunController(const RunOptions& opts);

}  // namespace mmchaos
