#include "tc/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

namespace mmchaos {

Result<NetnsGuard> NetnsGuard::Enter(const std::string& path) {
  NetnsGuard g;
  if (path.empty()) return g;
  g.home_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!g.home_) return Fail("open(/proc/thread-self/ns/net)", errno);
  UniqueFd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target) return Fail("open(" + path + ")", errno, "target.netns must name a netns file");
  if (::setns(target.get(), CLONE_NEWNET) != 0)
    return Fail("setns(" + path + ")", errno, PrivilegeHint(errno));
  return g;
}

NetnsGuard::~NetnsGuard() {
  if (home_ && ::setns(home_.get(), CLONE_NEWNET) != 0)
    std::perror("mmchaos: setns back to the controller's netns");
}

Result<uint64_t> NetnsInode(const std::string& path) {
  std::string p = path.empty() ? "/proc/thread-self/ns/net" : path;
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return Fail("stat(" + p + ")", errno);
  return static_cast<uint64_t>(st.st_ino);
}

std::string FindNetns(uint64_t inode) {
  std::error_code ec;
  auto matches = [&](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) == inode;
  };
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec))
    if (matches(e.path().string())) return e.path().string();
  if (matches("/proc/self/ns/net")) return "/proc/self/ns/net";
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string p = e.path().string() + "/ns/net";
    if (matches(p)) return p;
  }
  return {};
}

std::string InScratchNetns(const std::function<std::string()>& fn) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return std::string("pipe2: ") + std::strerror(errno);
  UniqueFd rd(p[0]), wr(p[1]);  // closed on every path, fork failure included
  pid_t pid = fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    rd.reset();
    std::string msg = unshare(CLONE_NEWNET) != 0
                          ? std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno)
                          : fn();
    if (!msg.empty()) (void)!write(wr.get(), msg.data(), msg.size());
    _exit(0);  // the namespace and all in it go with this process
  }
  wr.reset();
  std::string msg;
  char buf[512];
  for (;;) {
    ssize_t n = read(rd.get(), buf, sizeof(buf));
    if (n > 0) {
      msg.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return msg;
}

}  // namespace mmchaos
