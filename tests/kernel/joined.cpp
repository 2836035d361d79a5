#include "joined.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "common/fd.h"

namespace mmchaos::testing {

using namespace std::chrono_literals;

JoinedProcess::JoinedProcess(const Cgroup& cg, const std::string& cmd, const std::string& dir,
                             Controller* ctl, const std::string& label) {
  static std::atomic<int> count{0};
  const std::string base =
      dir + "/joined-" + std::to_string(getpid()) + "-" + std::to_string(++count);
  const std::string pidfile = base + ".pid", go = base + ".go";
  std::ofstream(base + ".sh") << "exec " << cmd << "\n";
  if (ctl) {
    EXPECT_EQ(mkfifo(go.c_str(), 0600), 0) << go;
  }
  const std::string sh = "sh -c 'echo $$ > " + cg.path() + "/cgroup.procs && echo $$ > " + pidfile +
                         (ctl ? " && read go < " + go : "") + " && exec sh " + base + ".sh'";
  run_ = std::async(std::launch::async, [sh] {
    int rc = 0;
    std::string out = Capture(sh, &rc);
    return std::make_pair(std::move(out), rc);
  });
  auto ended = [&] { return run_.wait_for(0s) == std::future_status::ready; };
  for (auto until = std::chrono::steady_clock::now() + 30s;
       !pid_ && !ended() && std::chrono::steady_clock::now() < until;) {
    std::ifstream(pidfile) >> pid_;
    if (!pid_) std::this_thread::sleep_for(5ms);
  }
  if (!pid_) std::ifstream(pidfile) >> pid_;
  EXPECT_NE(pid_, 0) << "the command never joined " << cg.path();
  if (!ctl) return;
  if (pid_) {
    EXPECT_TRUE(ctl->WaitFor(label + ": pid " + std::to_string(pid_) + " (", 30s))
        << "pid " << pid_ << " never covered: " << ctl->output();
  }
  // Lets it go (a reader on the fifo) even when a wait above failed, or it already ended.
  for (auto until = std::chrono::steady_clock::now() + 30s;
       !ended() && std::chrono::steady_clock::now() < until;) {
    const UniqueFd fd(open(go.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (fd) {
      EXPECT_EQ(write(fd.get(), "go\n", 3), 3);
      return;
    }
    std::this_thread::sleep_for(5ms);
  }
}

std::string JoinedProcess::Output(int* rc) {
  auto [out, r] = run_.get();
  if (rc) *rc = r;
  return out;
}

}  // namespace mmchaos::testing
