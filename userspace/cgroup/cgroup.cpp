#include "cgroup/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace mmchaos {

Result<std::string> CgroupOfPid(pid_t pid) {
  std::string file = "/proc/" + std::to_string(pid) + "/cgroup";
  std::ifstream in(file);
  if (!in) return Fail("open(" + file + ")", ESRCH, "is pid " + std::to_string(pid) + " running?");
  auto mount = Cgroup2Mount();
  if (!mount) return std::unexpected(mount.error());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return *mount + line.substr(3);
  }
  return Fail("find the v2 entry (0::) in " + file, ENOENT);
}

Result<std::string> ResolveTargetCgroup(const std::string& from_config, const std::string& flag,
                                        pid_t pid) {
  std::string path = from_config;
  if (!flag.empty()) path = flag;
  if (pid > 0) {
    auto p = CgroupOfPid(pid);
    if (!p) return p;
    path = *p;
  }
  if (path.empty())
    return Fail("resolve target cgroup", EINVAL,
                "name it with target.cgroup in the config, --cgroup PATH or --pid PID");
  // The well-known roots are refused by name first, so the answer does not depend on whether
  // (or where) this host mounts cgroup2.
  const auto named = std::filesystem::path(path).lexically_normal().string();
  for (const char* well_known : {"/", "/sys/fs/cgroup", "/sys/fs/cgroup/", "/sys/fs/cgroup/unified",
                                 "/sys/fs/cgroup/unified/"}) {
    if (named == well_known)
      return Fail("target cgroup " + path, EINVAL,
                  "it is the root cgroup and holds the whole host; name the engine's own cgroup");
  }
  auto mount = Cgroup2Mount();
  if (!mount) return std::unexpected(mount.error());
  std::error_code ec;
  auto canon = std::filesystem::weakly_canonical(path, ec);
  if (ec) return Fail("resolve " + path, ec.value());
  auto root = std::filesystem::weakly_canonical(*mount, ec);
  if (canon == root)
    return Fail("target cgroup " + path, EINVAL,
                "it is the root cgroup and holds the whole host; name the engine's own cgroup");
  auto rel = canon.lexically_relative(root);
  auto up = root.lexically_relative(canon);
  if (!up.empty() && *up.begin() != "..")
    return Fail("target cgroup " + path, EINVAL,
                "it contains the cgroup v2 root at " + *mount +
                    " and so the whole host; name the engine's own cgroup");
  if (rel.empty() || *rel.begin() == "..")
    return Fail("target cgroup " + path, EINVAL, "not inside the cgroup v2 hierarchy at " + *mount);
  struct statfs fs {};
  if (::statfs(canon.c_str(), &fs) != 0)
    return Fail("statfs(" + canon.string() + ")", errno, "does the engine's cgroup exist?");
  if (fs.f_type != CGROUP2_SUPER_MAGIC)
    return Fail("target cgroup " + path, EINVAL, "not a cgroup v2 directory");
  return canon.string();
}

Result<uint64_t> CgroupId(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Fail("stat(" + path + ")", errno);
  return static_cast<uint64_t>(st.st_ino);
}

Result<UniqueFd> OpenCgroup(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Fail("open(" + path + ")", errno);
  return UniqueFd(fd);
}

}  // namespace mmchaos
