#include "cgroup/locate.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <vector>

#include "cgroup/cgroup.h"
#include "common/fd.h"

extern char** environ;

namespace mmchaos {
namespace fs = std::filesystem;

namespace {

// Directories under root (depth <= max_depth, symlinks not followed) whose name matches.
std::vector<std::string> FindDirs(const std::string& root, int max_depth,
                                  const std::function<bool(const std::string&)>& match) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) {
      it.disable_recursion_pending();
      continue;
    }
    if (match(it->path().filename().string())) out.push_back(it->path().string());
    if (it.depth() + 1 >= max_depth) it.disable_recursion_pending();
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isdigit(c) || (c >= 'a' && c <= 'f');
  });
}

// A container id from a cgroup directory name, or "" when it names no container.
std::string ContainerIdOf(std::string name) {
  if (name.starts_with("crio-conmon-")) return "";
  if (name.ends_with(".scope")) name.resize(name.size() - 6);
  for (const char* prefix : {"cri-containerd-", "crio-", "docker-", "libpod-"}) {
    const std::string p(prefix);
    if (name.starts_with(p)) {
      name = name.substr(p.size());
      break;
    }
  }
  return name.size() == 64 && IsHex(name) ? name : "";
}

}  // namespace

Result<std::string> FindUnitCgroup(const std::string& root, const std::string& unit_in,
                                   const std::string& systemd_answer) {
  std::string unit = unit_in;
  if (unit.empty() || unit.find('/') != std::string::npos)
    return Fail("--unit " + unit_in, EINVAL, "name a systemd unit, e.g. engine.service");
  if (!unit.ends_with(".service") && !unit.ends_with(".scope") && !unit.ends_with(".slice"))
    unit += ".service";
  std::error_code ec;
  if (!systemd_answer.empty() && systemd_answer != "/") {
    fs::path p = fs::path(root) / fs::path(systemd_answer).relative_path();
    if (fs::is_directory(p, ec)) return p.string();
  }
  // systemd nests units at most a few slices deep (user@.service/app.slice/x.service is 5).
  auto found = FindDirs(root, 6, [&](const std::string& n) { return n == unit; });
  if (found.empty())
    return Fail("find the cgroup of " + unit + " under " + root, ENOENT,
                "is the unit running? `systemctl status " + unit + "`");
  if (found.size() > 1)
    return Fail("find the cgroup of " + unit, EEXIST,
                "several cgroups carry that name (" + Join(found) + "): use --cgroup");
  return found.front();
}

std::string SystemdControlGroup(const std::string& unit) {
  if (!fs::is_directory("/run/systemd/system")) return "";  // systemd is not PID 1 here
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return "";
  UniqueFd rd(p[0]), wr(p[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string a0 = "systemctl", a1 = "show", a2 = "--property=ControlGroup", a3 = "--value",
              a4 = "--", a5 = unit;
  char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), a5.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "systemctl", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  wr.reset();
  if (rc != 0) return "";
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = read(rd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "";
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

Result<std::string> FindPodCgroup(const std::string& root, const std::string& pod_logs,
                                  const std::string& ns_name) {
  const auto slash = ns_name.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == ns_name.size() ||
      ns_name.find('/', slash + 1) != std::string::npos)
    return Fail("--pod " + ns_name, EINVAL, "name it NAMESPACE/NAME, e.g. trading/engine-0");
  // Namespace and pod names are DNS labels/subdomains: no '_', so the split is unambiguous.
  const std::string prefix = ns_name.substr(0, slash) + "_" + ns_name.substr(slash + 1) + "_";
  std::vector<std::string> uids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(pod_logs, ec)) {
    const std::string n = e.path().filename().string();
    if (n.starts_with(prefix) && n.size() > prefix.size()) uids.push_back(n.substr(prefix.size()));
  }
  if (ec)
    return Fail("read " + pod_logs, ec.value(),
                "--pod needs the kubelet's pod log directories: run mmchaos on the node");
  if (uids.empty())
    return Fail("find pod " + ns_name + " in " + pod_logs, ENOENT,
                "no such pod on this node: `kubectl get pod -o wide` says where it runs");
  std::vector<std::string> found;
  for (const auto& uid : uids) {
    std::string sd = uid;
    std::replace(sd.begin(), sd.end(), '-', '_');
    auto dirs = FindDirs(root, 4, [&](const std::string& n) {
      return n == "pod" + uid || (n.starts_with("kubepods") && n.ends_with("-pod" + sd + ".slice"));
    });
    found.insert(found.end(), dirs.begin(), dirs.end());
  }
  if (found.empty())
    return Fail("find the cgroup of pod " + ns_name + " (uid " + Join(uids) + ") under " + root,
                ENOENT, "is the pod running on this node?");
  if (found.size() > 1)
    return Fail("find the cgroup of pod " + ns_name, EEXIST,
                "several pod cgroups match (" + Join(found) + "): use --cgroup");
  return found.front();
}

Result<std::string> FindContainerCgroup(const std::string& root, const std::string& id_in) {
  std::string id = id_in;
  for (const char* scheme : {"containerd://", "cri-o://", "docker://"})
    if (id.starts_with(scheme)) id = id.substr(std::string(scheme).size());  // kubectl's form
  if (id.size() < 12 || id.size() > 64 || !IsHex(id))
    return Fail("--container " + id_in, EINVAL,
                "give the container id (at least 12 hex digits), e.g. from `crictl ps`");
  auto found = FindDirs(root, 8, [&](const std::string& n) {
    const std::string c = ContainerIdOf(n);
    return !c.empty() && c.starts_with(id);
  });
  if (found.empty())
    return Fail("find the cgroup of container " + id + " under " + root, ENOENT,
                "is it running on this host? `crictl ps` lists the node's containers");
  if (found.size() > 1)
    return Fail("find the cgroup of container " + id, EEXIST,
                "the prefix matches several (" + Join(found) + "): give more digits");
  return found.front();
}

Result<std::string> LocateTarget(const std::string& unit, const std::string& pod,
                                 const std::string& container) {
  if (unit.empty() && pod.empty() && container.empty()) return std::string();
  auto root = Cgroup2Mount();
  if (!root) return root;
  if (!unit.empty()) {
    std::string u = unit;
    if (u.find('.') == std::string::npos) u += ".service";
    return FindUnitCgroup(*root, u, SystemdControlGroup(u));
  }
  if (!pod.empty()) return FindPodCgroup(*root, "/var/log/pods", pod);
  return FindContainerCgroup(*root, container);
}

Result<std::string> ResolveTarget(const Config& cfg, const std::string& flag, pid_t pid) {
  if (flag.empty() && pid <= 0 && !cfg.target.unit.empty()) {
    auto unit = LocateTarget(cfg.target.unit, "", "");
    if (!unit) return unit;
    return ResolveTargetCgroup(cfg.target.cgroup, *unit, 0);
  }
  return ResolveTargetCgroup(cfg.target.cgroup, flag, pid);
}

}  // namespace mmchaos
