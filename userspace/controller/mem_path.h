// The controller's side of mem_pressure: while a burst is on, the target cgroup's memory.high is
// lowered (cgroup/memory.h), and restored when it ends, on detach and on exit. memory.high
// cannot be written from BPF, so the burst edges come from the controller's 50 ms tick, by the
// same schedule function (bpf/schedule.h) the data plane decides by. Every squeeze is recorded
// on disk before it is written, so `mmchaos rollback` and the next `run` restore it after a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cgroup/memory.h"
#include "config/config.h"
#include "mmchaos.h"

namespace mmchaos {

class MemPressurePath {
 public:
  // counters_fd: the data plane's mmc_counters, where burst applications are counted. Restores
  // what a crashed predecessor on this cgroup left lowered (we hold the target's lock).
  MemPressurePath(std::string cgroup, uint64_t cgroup_id, int counters_fd);
  ~MemPressurePath() { Release(); }
  MemPressurePath(const MemPressurePath&) = delete;
  MemPressurePath& operator=(const MemPressurePath&) = delete;

  // Every tick: squeezes at the start of a burst (live) or counts what it would have done
  // (shadow), restores when the burst ends. active: armed and attached.
  void Tick(const Config& cfg, const mmc_config& k, bool active, uint64_t now_ns);
  // Restores memory.high now, if lowered (idempotent).
  void Release();

 private:
  void Count(mmc_mode mode);
  std::string cgroup_;
  uint64_t cgroup_id_;
  int counters_fd_;
  std::unique_ptr<MemorySqueeze> squeeze_;
  // The burst last handled (epoch, index, as configured): one application per burst, one
  // message per failure.
  uint64_t handled_epoch_ = 0;
  int64_t handled_burst_ = -1;
  MemPressure handled_level_ = MemPressure::kNone;
  bool handled_dry_run_ = false;
  bool restore_failed_ = false;  // a record stays on disk: never squeeze over it
};

// Restores every recorded memory.high whose controller is gone (or all, with also_live: their
// controllers restore again on their way out, which is harmless). Returns what was done, per
// record.
struct MemoryRestore {
  MemoryHighRecord rec;
  std::string message;
};
std::vector<MemoryRestore> RestoreRecordedMemory(bool also_live);

// What became of each record in `before` (read before a rollback began) and of each attempt:
// the state now, whoever restored it (a live controller restores and removes its own record on
// its way out, racing `mmchaos rollback`). One line per cgroup.
std::vector<std::string> DescribeMemoryRollback(const std::vector<MemoryHighRecord>& before,
                                                const std::vector<MemoryRestore>& attempts);

}  // namespace mmchaos
