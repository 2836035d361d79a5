// clock_skew_ms, kernel mechanism: the uprobe/uretprobe pair on the C library's clock_gettime
// (bpf/clock_skew.bpf.c), sharing the data plane's maps. Its links are unpinned bpf_links: they
// go with the controller process however it ends.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/error.h"

struct mmchaos_clock_bpf;
struct bpf_link;

namespace mmchaos {

class DataPlane;

class ClockUprobes {
 public:
  // Loads the uprobe object on the data plane's maps, points its cgroup filter at cgroup_fd and
  // attaches to clock_gettime in libc (every process mapping that file; the programs skip all
  // but the target cgroup's threads).
  static Result<std::unique_ptr<ClockUprobes>> Attach(const DataPlane& plane, int cgroup_fd,
                                                      const std::string& libc);
  ~ClockUprobes();
  ClockUprobes(const ClockUprobes&) = delete;
  ClockUprobes& operator=(const ClockUprobes&) = delete;

 private:
  struct SkelDeleter {
    void operator()(::mmchaos_clock_bpf* s) const;
  };
  struct LinkDeleter {
    void operator()(bpf_link* l) const;
  };
  ClockUprobes() = default;
  std::unique_ptr<::mmchaos_clock_bpf, SkelDeleter> skel_;
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links_;  // destroyed first
};

// The C library the engine uses: the libc.so.6 mapped by a process of the cgroup (through
// /proc/PID/root, so a container's own libc), else the standard path on this host.
std::string LibcPath(const std::string& cgroup);

// The file offset of a function in a 64-bit ELF shared object (its dynamic symbol table).
Result<size_t> FuncOffset(const std::string& path, const std::string& name);

// "" when this kernel runs the uprobe mechanism, else why not. load_only: only check that the
// kernel accepts the programs (bpf_probe_write_user is refused under lockdown at load time);
// otherwise also attach them and check that a scratch process in a scratch cgroup reads a
// skewed CLOCK_REALTIME while this process does not.
std::string ProbeClockUprobe(bool load_only);

}  // namespace mmchaos
