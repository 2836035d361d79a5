// One lock file per targeted cgroup under /run/mmchaos: it refuses a second controller on the
// same target (flock, released by the kernel however the holder dies) and tells `status` and
// `rollback` which process runs it. A file whose lock nobody holds is stale and ignored.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cgroup/memory.h"
#include "common/error.h"
#include "common/fd.h"
#include "tc/steering.h"

namespace mmchaos {

inline constexpr const char kRunDir[] = "/run/mmchaos";
// kRunDir, or $MMCHAOS_RUN_DIR when set to an absolute path (tests). Either way it is trusted
// only as CheckRunDir() says: records in a directory someone else could write are never acted on.
std::string RunDir();
// The run directory, made if missing (mode 0755: preloads in non-root engines read the clock
// records), and refused unless it is a real directory owned by us that only we can write.
Result<void> PrepareRunDir();
// For readers: ok when the directory is missing (nothing recorded) or trustworthy as above.
Result<void> CheckRunDir();

struct ControllerRecord {
  pid_t pid = 0;
  uint64_t cgroup_id = 0;
  std::string cgroup;
  std::string config;
  int64_t started_unix = 0;
};

class ControllerLock {
 public:
  // Takes the target's lock or says which controller holds it.
  static Result<ControllerLock> Acquire(const ControllerRecord& rec);
  ControllerLock(ControllerLock&&) = default;
  ControllerLock& operator=(ControllerLock&&) = default;
  ~ControllerLock();
  // Unlinks the file and drops the lock now (idempotent).
  void Release();

 private:
  ControllerLock() = default;
  std::string path_;
  UniqueFd fd_;
};

// What a controller placed that outlives it (qdisc filters, ifb), recorded before it is made so
// `mmchaos rollback` and the next `run` can undo it after a crash.
struct PlacedState {
  uint64_t cgroup_id = 0;
  SteeringState steering;
};

// One state file per cgroup holds each part of what is placed; each part is written and removed
// on its own (the other parts are kept), and the file goes with the last part.
// The steering part (tc/netem path):
Result<void> WriteState(const PlacedState& s);
void RemoveState(uint64_t cgroup_id);
std::vector<PlacedState> ReadStates();
// The memory part (mem_pressure: memory.high lowered during a burst):
Result<void> WriteMemoryRecord(const MemoryHighRecord& m);
void RemoveMemoryRecord(uint64_t cgroup_id);
std::vector<MemoryHighRecord> ReadMemoryRecords();
bool ControllerAlive(uint64_t cgroup_id);

// A record that cannot be read whole (truncated, not JSON, a field of the wrong type, a name
// that is not mmchaos', a run directory that is not trustworthy). Readers skip the damaged part
// and use the rest; `rollback` and `status` report these with what may be left behind, and
// leave the files for the operator.
struct DamagedRecord {
  std::string path;
  std::string why;
};
std::vector<DamagedRecord> DamagedRecords();

// Controllers alive now (their lock is held); stale files are skipped.
std::vector<ControllerRecord> LiveControllers();
// Removes lock files no live controller holds; returns the records removed (pid 0 where the file
// was not readable).
std::vector<ControllerRecord> RemoveStaleRecords();

}  // namespace mmchaos
