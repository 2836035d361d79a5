#include "exec/exec.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "cgroup/cgroup.h"
#include "cgroup/locate.h"
#include "clock/clock_skew.h"
#include "clock/clock_state.h"
#include "common/error.h"
#include "common/fd.h"
#include "common/log.h"
#include "config/config.h"
#include "tls/tls_faults.h"
#include "uprobe/coverage.h"

namespace mmchaos {
namespace {

// How long the command waits to be covered by a running controller's uprobes (one loop tick and
// the attach itself, normally; seconds under emulation).
constexpr std::chrono::milliseconds kCoverWait{10000};

int Die(const std::string& msg, int code = kExecFailed) {
  LogFrom("exec", msg);
  return code;
}

std::optional<unsigned> Numeric(const std::string& s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The identity to switch to, resolved before anything is changed so a typo fails cleanly.
struct Switch {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name, home;  // empty for a uid without a passwd entry
};

Result<std::optional<Switch>> Resolve(const ExecIdentity& as) {
  if (as.user.empty() && as.group.empty()) return std::nullopt;
  if (as.user.empty()) return Fail("--group without --user", EINVAL, "name the user as well");
  Switch sw;
  std::vector<char> buf(16384);
  passwd pw{}, *pwp = nullptr;
  auto num = Numeric(as.user);
  int err = num ? ::getpwuid_r(*num, &pw, buf.data(), buf.size(), &pwp)
                : ::getpwnam_r(as.user.c_str(), &pw, buf.data(), buf.size(), &pwp);
  if (pwp) {
    sw = {pw.pw_uid, pw.pw_gid, pw.pw_name, pw.pw_dir};
  } else if (num) {
    sw.uid = *num;  // a bare uid: it needs --group, and gets no supplementary groups
    if (as.group.empty())
      return Fail("--user " + as.user, err ? err : ENOENT,
                  "uid without a passwd entry: give its group with --group");
  } else {
    return Fail("--user " + as.user, err ? err : ENOENT, "no such user");
  }
  if (!as.group.empty()) {
    group gr{}, *grp = nullptr;
    auto gnum = Numeric(as.group);
    err = gnum ? ::getgrgid_r(*gnum, &gr, buf.data(), buf.size(), &grp)
               : ::getgrnam_r(as.group.c_str(), &gr, buf.data(), buf.size(), &grp);
    if (grp) {
      sw.gid = gr.gr_gid;
    } else if (gnum) {
      sw.gid = *gnum;
    } else {
      return Fail("--group " + as.group, err ? err : ENOENT, "no such group");
    }
  }
  if (sw.uid == 0) return Fail("--user " + as.user + " is root", EINVAL, "leave --user out");
  return sw;
}

// Groups first (they need root), then the gid, then the uid; then check root cannot be had back.
Result<void> Become(const Switch& sw) {
  int rc = sw.name.empty() ? ::setgroups(0, nullptr) : ::initgroups(sw.name.c_str(), sw.gid);
  if (rc != 0) return Fail(sw.name.empty() ? "setgroups" : "initgroups(" + sw.name + ")", errno);
  if (::setresgid(sw.gid, sw.gid, sw.gid) != 0)
    return Fail("setresgid(" + std::to_string(sw.gid) + ")", errno);
  if (::setresuid(sw.uid, sw.uid, sw.uid) != 0)
    return Fail("setresuid(" + std::to_string(sw.uid) + ")", errno);
  if (::setuid(0) == 0) return Fail("setuid(0) succeeded after dropping root", EPERM);
  if (!sw.name.empty()) {
    ::setenv("USER", sw.name.c_str(), 1);
    ::setenv("LOGNAME", sw.name.c_str(), 1);
    ::setenv("HOME", sw.home.c_str(), 1);
  }
  return {};
}

}  // namespace

int ExecCommand(const std::string& config_path, const std::vector<std::string>& cmd,
                const ExecIdentity& as) {
  if (cmd.empty()) return Die("no command given: mmchaos exec -c FILE -- CMD [ARGS...]");
  auto sw = Resolve(as);
  if (!sw) return Die(sw.error().message());
  auto cfg = LoadConfig(config_path);
  if (!cfg) return Die(cfg.error().message());
  auto cgroup = ResolveTarget(*cfg, "", 0);
  if (!cgroup) return Die(cgroup.error().message());
  auto cgid = CgroupId(*cgroup);
  if (!cgid) return Die(cgid.error().message());

  // The preload goes in wherever the clock uprobes cannot run, and for an engine with https://
  // REST endpoints (the TLS faults' mechanism), whatever the intensities say now: a SIGHUP may
  // turn them on later, and without an armed controller it changes nothing.
  // Not where the TLS uprobes run (they need no preload).
  bool tls_rest = false;
  for (const auto& x : cfg->target.exchanges)
    for (const auto& e : x.rest) tls_rest |= e.tls;
  if (tls_rest && (cfg->faults.tls_mechanism == "uprobe" ||
                   ChooseTlsMechanism(*cfg).mechanism == TlsMechanism::kUprobe))
    tls_rest = false;
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
  // A controller running uprobes on the target covers a newcomer within a loop tick: the command
  // starts once this process is covered, so that its first call is seen (exec keeps the
  // coverage). Not covered in time (a controller busy or failing to attach): said, and started.
  {
    const pid_t self = ::getpid();
    for (const auto& label : WaitCovered(*cgid, {self, ProcessStartTime(self)}, kCoverWait))
      LogFrom("exec", "pid " + std::to_string(self) + " not covered by the " + label +
                          " uprobes after " + std::to_string(kCoverWait.count()) +
                          " ms: the command's first calls may go unseen");
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
  // Last: joining the cgroup and the netns needed root.
  if (*sw) {
    if (auto b = Become(**sw); !b) return Die(b.error().message());
  }
  std::vector<char*> argv;
  for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  int err = errno;
  return Die(cmd[0] + ": " + std::strerror(err), err == ENOENT ? kExecNotFound : kExecNotRunnable);
}

}  // namespace mmchaos
