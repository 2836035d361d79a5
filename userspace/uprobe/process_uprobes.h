// Uprobes that only the target's processes carry. A uprobe attached by file alone puts its
// breakpoint into every process that maps the file, and each of their calls traps (measured on
// the 6.18 host: a bystander's clock_gettime went from 26 ns to 18,644 ns). Attached with a pid,
// the kernel's uprobe filter puts it only into that process's address space (all its threads,
// across exec, and into a library it maps later). So every probe is attached once per process of
// the target cgroup and its descendants, and Sync() follows processes that join or leave.
// Used by every scenario that rewrites through uprobes.
//
// When a process is covered: the pid filter follows a process's memory, not its children, so a
// process that joins the cgroup, and one forked inside it (a child of a covered process), is a
// newcomer that carries no breakpoint until the next Sync() attaches to it: the controller calls
// Sync() every loop tick (50 ms), so a newcomer is covered within a tick plus the attach itself,
// and its calls before that are not seen. Covering it earlier would take a probe on the whole
// library (every process on the host traps) or stopping the newcomer. Instead the moment is
// observable: Sync() logs "<label>: pid N (comm) covered by the uprobes" once the last probe of
// that process is attached; every call it makes from then on is seen. exec keeps the coverage.
// Sync() also records the covered processes (uprobe/coverage.h), so that `mmchaos exec` holds
// the command it starts until its process is covered.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "loader/bpf_link.h"

struct bpf_program;

namespace mmchaos {

class CoverageRecord;

// One probe: a program on a function of a shared library.
struct UprobeSpec {
  bpf_program* prog = nullptr;
  std::string soname;    // e.g. "libc.so.6": the copy the process maps is used
  std::string fallback;  // the file for a process that does not map it (yet)
  std::string function;
  bool retprobe = false;
};

// The processes (thread group ids) in a cgroup v2 directory and its descendants.
std::vector<pid_t> CgroupPids(const std::string& cgroup);
// /proc/PID/comm without its newline ("" when the process is gone).
std::string ProcessComm(pid_t pid);

class ProcessUprobes {
 public:
  // label: the scenario named in the "covered" line ("tls", "clock_skew"); "" logs nothing.
  explicit ProcessUprobes(std::vector<UprobeSpec> specs, std::string label = "");
  ~ProcessUprobes();
  ProcessUprobes(const ProcessUprobes&) = delete;
  ProcessUprobes& operator=(const ProcessUprobes&) = delete;

  // Attaches every probe to process pid (nothing if it already carries them) and logs that it is
  // covered. A process that exits meanwhile is not an error.
  Result<void> Attach(pid_t pid);
  // Makes the attached processes those of the cgroup now: attaches to newcomers, detaches from
  // processes that left or exited (a recycled pid is told apart by its start time), and with a
  // label records which are covered (uprobe/coverage.h). The first error is returned after
  // every other process was handled.
  Result<void> Sync(const std::string& cgroup);
  size_t processes() const { return procs_.size(); }

 private:
  struct Proc {
    uint64_t start_time = 0;
    std::vector<BpfLink> links;
  };
  Result<void> AttachAt(pid_t pid, uint64_t start_time);
  Result<void> Publish(const std::string& cgroup);
  Result<size_t> Offset(const std::string& path, const std::string& function);

  std::vector<UprobeSpec> specs_;
  std::string label_;
  std::map<pid_t, Proc> procs_;
  std::unique_ptr<CoverageRecord> coverage_;  // with a label, from the first Sync()
  std::map<std::pair<std::string, std::string>, size_t> offsets_;  // (file, function)
};

}  // namespace mmchaos
