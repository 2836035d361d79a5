#include "exec/exec.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cgroup/cgroup.h"
#include "cgroup/locate.h"
#include "clock/clock_skew.h"
#include "clock/clock_state.h"
#include "common/fd.h"
#include "config/config.h"

namespace mmchaos {
namespace {

int Die(const std::string& msg, int code = kExecFailed) {
  std::fprintf(stderr, "mmchaos exec: %s\n", msg.c_str());
  return code;
}

}  // namespace

int ExecCommand(const std::string& config_path, const std::vector<std::string>& cmd) {
  if (cmd.empty()) return Die("no command given: mmchaos exec -c FILE -- CMD [ARGS...]");
  auto cfg = LoadConfig(config_path);
  if (!cfg) return Die(cfg.error().message());
  auto cgroup = ResolveTarget(*cfg, "", 0);
  if (!cgroup) return Die(cgroup.error().message());
  auto cgid = CgroupId(*cgroup);
  if (!cgid) return Die(cgid.error().message());

  // The preload goes in wherever the clock uprobes cannot run, and for an engine with https://
  // REST endpoints (the TLS faults' mechanism), whatever the intensities say now: a SIGHUP may
  // turn them on later, and without an armed controller it changes nothing.
  bool tls_rest = false;
  for (const auto& x : cfg->target.exchanges)
    for (const auto& e : x.rest) tls_rest |= e.tls;
  std::string preload;
  if ((cfg->faults.clock_skew_mechanism != "uprobe" &&
       ChooseClockMechanism(*cfg).mechanism == ClockMechanism::kPreload) ||
      tls_rest) {
    preload = PreloadLibraryPath();
    if (preload.empty())
      return Die(
          "libmmchaos-clock.so not found next to the mmchaos binary (or in ../lib/mmchaos/):"
          " reinstall mmchaos");
  }

  // Cgroup first: once in another netns (and mount namespace, with `ip netns exec`) the cgroup2
  // mount may not be reachable.
  {
    const std::string procs = *cgroup + "/cgroup.procs";
    UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    const std::string pid = std::to_string(::getpid());
    if (!fd || ::write(fd.get(), pid.data(), pid.size()) != static_cast<ssize_t>(pid.size()))
      return Die("write(" + procs + "): " + std::strerror(errno) +
                 " (needs root; the cgroup must exist)");
  }
  if (!cfg->target.netns.empty()) {
    UniqueFd ns(::open(cfg->target.netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns || ::setns(ns.get(), CLONE_NEWNET) != 0)
      return Die("setns(" + cfg->target.netns + ", CLONE_NEWNET): " + std::strerror(errno) +
                 " (target.netns must name a network namespace file, e.g. /run/netns/engine)");
  }
  if (!preload.empty()) {
    const char* old = std::getenv("LD_PRELOAD");
    std::string value = preload + (old && *old ? std::string(":") + old : std::string());
    ::setenv("LD_PRELOAD", value.c_str(), 1);
    ::setenv("MMCHAOS_CLOCK_STATE", ClockStatePath(*cgid).c_str(), 1);
  }
  std::vector<char*> argv;
  for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  int err = errno;
  return Die(cmd[0] + ": " + std::strerror(err), err == ENOENT ? kExecNotFound : kExecNotRunnable);
}

}  // namespace mmchaos
