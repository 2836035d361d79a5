// A child process for the reference tests: started with execv, stderr to a file, killed (and
// reaped) when the object goes away or the test process dies (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace reftest {

class Process {
 public:
  // argv[0] is the program path. Throws std::runtime_error when fork fails.
  Process(const std::vector<std::string>& argv, const std::string& stderr_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `sig` and waits up to `timeout` for the exit; the exit status (or 128+signal), or
  // nullopt when it did not exit in time (it is then SIGKILLed).
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout);
  void kill_now();

 private:
  bool reap(bool block);
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Polls for a JSON file (written atomically by the binaries) up to `timeout`; "" on timeout.
std::string wait_for_file(const std::string& path, std::chrono::milliseconds timeout);

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace reftest
