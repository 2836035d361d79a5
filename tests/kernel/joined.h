// A command started in a cgroup as the process that joined it (exec all the way: a child would be
// a newcomer to the uprobes). With a controller, it is held between joining and the exec until
// the controller logs the documented signal that the process is covered,
// "<label>: pid N (comm) covered by the uprobes" (within a loop tick of joining): from the
// command's first instruction on, every call it makes is seen. No sleep stands in for it.
#pragma once

#include <sys/types.h>

#include <future>
#include <string>
#include <utility>

#include "fixture.h"

namespace mmchaos::testing {

class JoinedProcess {
 public:
  // cmd: shell text, exec'd (e.g. "ip netns exec NS prog args"). dir: where its small files go
  // (a pid file, the fifo it waits on). Returns once cmd runs, or the shell ended; a test failure
  // when it never joined or (with ctl) was never covered, after 30 s each.
  JoinedProcess(const Cgroup& cg, const std::string& cmd, const std::string& dir,
                Controller* ctl = nullptr, const std::string& label = "");
  JoinedProcess(const JoinedProcess&) = delete;
  JoinedProcess& operator=(const JoinedProcess&) = delete;

  pid_t pid() const { return pid_; }  // 0 when it never joined
  // cmd's stdout once it exited; its exit status into *rc when given. Call once.
  std::string Output(int* rc = nullptr);

 private:
  std::future<std::pair<std::string, int>> run_;
  pid_t pid_ = 0;
};

}  // namespace mmchaos::testing
