// Which processes a running controller's uprobes cover, told to `mmchaos exec`: a command it
// starts in the target is otherwise a newcomer whose calls go unseen until the controller's next
// Sync() (process_uprobes.h). Each scenario's uprobes ("clock_skew", "tls") keep a record of the
// processes they cover, /run/mmchaos/cgroup-<id>.covered-<label>, one "pid start_time" a line
// (start_time: field 22 of /proc/PID/stat, so a recycled pid is not taken for the old process),
// rewritten (write then rename) when the set changes and removed with the uprobes. A killed
// controller's records are stale: readers ignore them (no live controller holds the cgroup's
// lock) and `mmchaos rollback` removes them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace mmchaos {

struct CoveredProcess {
  pid_t pid = 0;
  uint64_t start_time = 0;
  bool operator==(const CoveredProcess&) const = default;
};

// Field 22 of /proc/PID/stat (clock ticks since boot), 0 when the process is gone.
uint64_t ProcessStartTime(pid_t pid);

// One label's record, owned by its uprobes: written by Publish, removed by the destructor.
class CoverageRecord {
 public:
  CoverageRecord(uint64_t cgroup_id, const std::string& label);
  ~CoverageRecord();
  CoverageRecord(const CoverageRecord&) = delete;
  CoverageRecord& operator=(const CoverageRecord&) = delete;

  // Rewrites the record when `covered` differs from what it says.
  Result<void> Publish(const std::vector<CoveredProcess>& covered);

 private:
  std::string path_;
  std::optional<std::vector<CoveredProcess>> written_;
};

// For `mmchaos exec`, from the process about to exec the command: waits until `self` is in every
// coverage record of cgroup_id's live controller. Returns the labels that still miss it after
// `timeout`; empty when covered, or when there is nothing to wait for (no live controller on the
// cgroup, no uprobes attached, or they went away meanwhile).
std::vector<std::string> WaitCovered(uint64_t cgroup_id, const CoveredProcess& self,
                                     std::chrono::milliseconds timeout);

// Removes the coverage records of cgroups no live controller holds (`rollback`); how many.
int RemoveStaleCoverage();
// Removes every coverage record of cgroup_id: a controller that just took the cgroup's lock
// clears what a killed predecessor left.
void RemoveCoverage(uint64_t cgroup_id);

}  // namespace mmchaos
