#include "tc/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

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

std::vector<std::string> AllNetns() {
  std::vector<std::string> out;
  std::set<uint64_t> seen;
  auto add = [&](const std::string& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && seen.insert(static_cast<uint64_t>(st.st_ino)).second)
      out.push_back(p);
  };
  add("/proc/self/ns/net");
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec))
    add(e.path().string());
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    add(e.path().string() + "/ns/net");
  }
  return out;
}

namespace {

// An Error across the probe child's pipe: errno, '\n', call, '\0', detail, '\0', hint.
std::string Encode(const Error& e) {
  return std::to_string(e.err) + "\n" + e.call + '\0' + e.detail + '\0' + e.hint;
}

Error Decode(const std::string& msg) {
  Error e;
  size_t nl = msg.find('\n');
  size_t nul = msg.find('\0', nl == std::string::npos ? 0 : nl + 1);
  size_t nul2 = nul == std::string::npos ? nul : msg.find('\0', nul + 1);
  if (nl == std::string::npos || nul2 == std::string::npos) return Error{msg, 0, {}};  // truncated
  e.err = std::atoi(msg.substr(0, nl).c_str());
  e.call = msg.substr(nl + 1, nul - nl - 1);
  e.detail = msg.substr(nul + 1, nul2 - nul - 1);
  e.hint = msg.substr(nul2 + 1);
  return e;
}

}  // namespace

Result<void> InScratchNetns(const std::function<Result<void>()>& fn) {
  Pipe p = MakePipe();
  if (!p.read) return Fail("pipe2", errno);
  UniqueFd rd = std::move(p.read), wr = std::move(p.write);  // closed on every path
  pid_t pid = fork();
  if (pid < 0) return Fail("fork", errno);
  if (pid == 0) {
    rd.reset();
    Result<void> r = unshare(CLONE_NEWNET) != 0 ? Fail("unshare(CLONE_NEWNET)", errno) : fn();
    if (!r) {
      const std::string msg = Encode(r.error());
      (void)!write(wr.get(), msg.data(), msg.size());
    }
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
  if (msg.empty()) return {};
  return std::unexpected(Decode(msg));
}

}  // namespace mmchaos
