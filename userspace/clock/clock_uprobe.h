// clock_skew_ms, kernel mechanism: the uprobe/uretprobe pair on the C library's clock_gettime
// (bpf/clock_skew.bpf.c), sharing the data plane's maps, attached per process of the target
// cgroup (uprobe/process_uprobes.h): nobody else carries the breakpoint. Its links are unpinned
// bpf_links: they go with the controller process however it ends.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "uprobe/process_uprobes.h"

struct mmchaos_clock_bpf;

namespace mmchaos {

class DataPlane;

class ClockUprobes {
 public:
  // Loads the uprobe object on the data plane's maps, points its cgroup filter at cgroup_fd and
  // attaches to clock_gettime in the libc of each process of the cgroup (the programs still skip
  // threads outside it: a process that left is detached on the next Sync).
  static Result<std::unique_ptr<ClockUprobes>> Attach(const DataPlane& plane, int cgroup_fd,
                                                      const std::string& cgroup);
  ~ClockUprobes();
  // Follows the cgroup's processes (the controller calls it every loop tick).
  Result<void> Sync();
  size_t processes() const { return probes_ ? probes_->processes() : 0; }
  ClockUprobes(const ClockUprobes&) = delete;
  ClockUprobes& operator=(const ClockUprobes&) = delete;

 private:
  struct SkelDeleter {
    void operator()(::mmchaos_clock_bpf* s) const;
  };
  ClockUprobes() = default;
  std::string cgroup_;
  std::unique_ptr<::mmchaos_clock_bpf, SkelDeleter> skel_;
  std::unique_ptr<ProcessUprobes> probes_;  // destroyed first
};

// The two probes on clock_gettime (entry, return) of the C library, for ProcessUprobes.
std::vector<UprobeSpec> ClockSpecs(::mmchaos_clock_bpf* skel);

// Success when this kernel runs the uprobe mechanism, else an error saying why not. load_only: only
// check that the kernel accepts the programs (bpf_probe_write_user is refused under lockdown at
// load time); otherwise also attach them to a scratch process in a scratch cgroup and check that it
// reads a skewed CLOCK_REALTIME while this process does not.
Result<void> ProbeClockUprobe(bool load_only);

}  // namespace mmchaos
