// `mmchaos run`: attach to the engine's cgroup and drive the schedule in the foreground until a
// signal, the duration, or an external rollback ends it. SIGHUP re-reads the config and applies
// it without re-attaching; chaos.enabled: false detaches at once.
#pragma once

#include <sys/types.h>

#include <string>

namespace mmchaos {

struct RunOptions {
  std::string config_path;
  std::string cgroup;  // --cgroup
  pid_t pid = 0;       // --pid
  bool force_dry_run = false;
  double duration_sec = 0;  // 0: until a signal
};

// Returns the process exit code: 0 success, 1 runtime failure, 2 usage or config error.
int RunController(const RunOptions& opts);

}  // namespace mmchaos
