#include "clock/clock_uprobe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cgroup/cgroup.h"
#include "clock.h"
#include "common/fd.h"
#include "controller/kernel_config.h"
#include "loader/dataplane.h"
#include "mmchaos_clock_bpf.skel.h"
#include "uprobe/elf_symbol.h"
#include "uprobe/load_refusal.h"
#include "uprobe/plane_object.h"

namespace mmchaos {

std::vector<UprobeSpec> ClockSpecs(::mmchaos_clock_bpf* skel) {
  const std::string libc = HostLibrary("libc.so.6");
  return {{skel->progs.mmc_clk_cgt_in, "libc.so.6", libc, "clock_gettime", false},
          {skel->progs.mmc_clk_cgt_out, "libc.so.6", libc, "clock_gettime", true}};
}

namespace {
constexpr int64_t kProbeSkewNs = 3600LL * 1000000000LL;
}  // namespace

void ClockUprobes::SkelDeleter::operator()(::mmchaos_clock_bpf* s) const {
  mmchaos_clock_bpf__destroy(s);
}
ClockUprobes::~ClockUprobes() { probes_.reset(); }

Result<std::unique_ptr<ClockUprobes>> ClockUprobes::Attach(const DataPlane& plane, int cgroup_fd,
                                                           const std::string& cgroup) {
  std::unique_ptr<ClockUprobes> u(new ClockUprobes());
  u->cgroup_ = cgroup;
  u->skel_.reset(mmchaos_clock_bpf__open());
  if (!u->skel_) return Fail("mmchaos_clock_bpf__open (BPF object)", errno);
  auto loaded = LoadOnDataPlane(
      u->skel_->obj, plane, [&] { return mmchaos_clock_bpf__load(u->skel_.get()); },
      "mmchaos_clock_bpf",
      "the kernel refused the clock_skew uprobes (bpf_probe_write_user is refused under kernel "
      "lockdown): `mmchaos doctor` says why; use faults.clock_skew_mechanism: preload and "
      "`mmchaos exec`",
      u->skel_->maps.mmc_clk_cg, cgroup_fd);
  if (!loaded) return std::unexpected(loaded.error());
  u->probes_ = std::make_unique<ProcessUprobes>(ClockSpecs(u->skel_.get()), "clock_skew");
  if (auto a = u->probes_->Sync(cgroup); !a) return std::unexpected(a.error());
  return u;
}

Result<void> ClockUprobes::Sync() { return probes_->Sync(cgroup_); }

Result<void> ProbeClockUprobe(bool load_only) {
  std::unique_ptr<::mmchaos_clock_bpf, void (*)(::mmchaos_clock_bpf*)> skel(
      nullptr, mmchaos_clock_bpf__destroy);
  std::string why = LoadRefusal("the clock_gettime uprobes", [&] {
    skel.reset(mmchaos_clock_bpf__open());
    return skel ? mmchaos_clock_bpf__load(skel.get()) : -errno;
  });
  if (!why.empty()) return Fail(why);
  if (load_only) return {};

  auto mount = Cgroup2Mount();
  if (!mount) return std::unexpected(mount.error());
  const std::string dir = *mount + "/mmchaos-doctor-clock-" + std::to_string(getpid());
  if (::mkdir(dir.c_str(), 0755) != 0) return Fail("mkdir " + dir, errno);
  Result<void> result;
  {
    auto cgfd = OpenCgroup(dir);
    mmc_config k{};
    k.armed = 1;
    k.on_ns = 3600ULL * 1000000000ULL;  // epoch 0, always on since
    k.rollout_threshold = MMC_P_ONE;
    k.prob[MMC_SCN_CLOCK_SKEW] = MMC_P_ONE;
    k.clock_skew_ns = kProbeSkewNs;
    k.clock_mask = MMC_CLOCK_REALTIME;
    k.events_per_sec = 0;
    uint32_t zero = 0;
    int cg = cgfd ? cgfd->get() : -1;
    if (!cgfd)
      result = std::unexpected(cgfd.error());
    else if (bpf_map_update_elem(bpf_map__fd(skel->maps.mmc_cfg), &zero, &k, BPF_ANY) != 0 ||
             bpf_map_update_elem(bpf_map__fd(skel->maps.mmc_clk_cg), &zero, &cg, BPF_ANY) != 0)
      result = Fail("bpf_map_update_elem", errno);
    if (result) {
      // A scratch child joins the scratch cgroup, waits until its probes are attached, then
      // reads CLOCK_REALTIME through libc and through the raw system call (never hooked) and
      // reports the difference.
      const std::string procs = dir + "/cgroup.procs";
      int r[2] = {-1, -1}, g[2] = {-1, -1};
      const bool piped = pipe2(r, O_CLOEXEC) == 0 && pipe2(g, O_CLOEXEC) == 0;
      // Owned from here: closed on every path, a failed pipe2 or fork included.
      UniqueFd ready_rd(r[0]), ready_wr(r[1]), go_rd(g[0]), go_wr(g[1]);
      pid_t child = piped ? fork() : -1;
      if (child == 0) {
        ready_rd.reset();
        go_wr.reset();
        char pid[24];
        int len = std::snprintf(pid, sizeof(pid), "%d", getpid());
        int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, pid, static_cast<size_t>(len)) != len) _exit(1);
        char c = 0;
        if (write(ready_wr.get(), &c, 1) != 1 || read(go_rd.get(), &c, 1) != 1) _exit(1);
        timespec lib{}, raw{};
        clock_gettime(CLOCK_REALTIME, &lib);
        syscall(SYS_clock_gettime, CLOCK_REALTIME, &raw);
        int64_t d = (lib.tv_sec - raw.tv_sec) * 1000000000LL + (lib.tv_nsec - raw.tv_nsec);
        (void)!write(ready_wr.get(), &d, sizeof(d));
        _exit(0);
      }
      ready_wr.reset();  // the child's ends
      go_rd.reset();
      int64_t d = 0;
      char c = 0;
      pollfd pfd{ready_rd.get(), POLLIN, 0};
      bool joined = child > 0 && poll(&pfd, 1, 10000) == 1 && read(ready_rd.get(), &c, 1) == 1;
      ProcessUprobes probes(ClockSpecs(skel.get()));
      auto attached = joined ? probes.Attach(child) : Result<void>{};
      bool got = joined && attached && write(go_wr.get(), &c, 1) == 1 &&
                 poll(&pfd, 1, 10000) == 1 && read(ready_rd.get(), &d, sizeof(d)) == sizeof(d);
      ready_rd.reset();
      go_wr.reset();
      if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
      }
      timespec lib{}, raw{};
      clock_gettime(CLOCK_REALTIME, &lib);
      syscall(SYS_clock_gettime, CLOCK_REALTIME, &raw);
      int64_t mine = (lib.tv_sec - raw.tv_sec) * 1000000000LL + (lib.tv_nsec - raw.tv_nsec);
      if (!attached)
        result = attached;
      else if (!got)
        result = Fail("the scratch process did not report its clock reads");
      else if (std::llabs(d - kProbeSkewNs) > 60LL * 1000000000LL)
        result = Fail("uprobes attached, but a read in the scratch cgroup was off by " +
                      std::to_string(d / 1000000) + " ms instead of " +
                      std::to_string(kProbeSkewNs / 1000000) + " ms");
      else if (std::llabs(mine) > 60LL * 1000000000LL)
        result = Fail("a process outside the scratch cgroup read a skewed clock");
    }
  }
  ::rmdir(dir.c_str());
  return result;
}

}  // namespace mmchaos
