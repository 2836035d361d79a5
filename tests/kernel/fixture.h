// RAII fixtures for kernel integration tests: every test builds its own network namespaces, veth
// pair, cgroups and controller process, and the destructors remove all of it even when an
// assertion fails half way.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/fd.h"

namespace mmchaos::testing {

// Runs a shell command; returns its exit status (stdout/stderr go to the test log).
int Sh(const std::string& cmd);
// Runs a command and returns its stdout; exit status into *rc when given.
std::string Capture(const std::string& cmd, int* rc = nullptr);

class NetNs {
 public:
  explicit NetNs(std::string name);
  // Takes over a namespace made elsewhere (or about to be): only removes it.
  enum Adopt { kAdopt };
  NetNs(std::string name, Adopt);
  ~NetNs();
  NetNs(const NetNs&) = delete;
  NetNs& operator=(const NetNs&) = delete;
  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }

 private:
  std::string name_;
};

// Two namespaces joined by a veth pair: the engine side (10.77.<n>.1) and the exchange side
// (10.77.<n>.2). Nothing in the root namespace is touched.
class Topology {
 public:
  Topology();
  NetNs engine;
  NetNs exchange;
  std::string engine_ip, exchange_ip;
  std::string engine_ip6, exchange_ip6;  // fd77:<n>::1 / ::2 (no DAD: usable at once)
  std::string engine_if, exchange_if;    // the veth ends
};

// A cgroup v2 directory under a per-test parent in the cgroup2 mount; its processes are killed
// and the directories removed on destruction.
class Cgroup {
 public:
  explicit Cgroup(const std::string& name);
  // A child of parent (declare the parent first: children go first).
  Cgroup(const Cgroup& parent, const std::string& name);
  ~Cgroup();
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A forked child placed in a cgroup and a netns before it runs fn; fn's return value is its exit
// code. Killed and reaped on destruction.
class Child {
 public:
  Child(const Cgroup& cg, const NetNs& ns, std::function<int()> fn);
  ~Child();
  int Wait();  // exit code, or 128+signal
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// A command run in a network namespace (`ip netns exec`), optionally inside a cgroup first, or
// as it is (a command that places itself, such as `mmchaos exec`); killed and reaped on
// destruction.
class Process {
 public:
  Process(const std::string& cmd, const NetNs& ns, const Cgroup* cg = nullptr);
  explicit Process(const std::string& cmd);
  ~Process();
  int Wait();  // exit code, or 128+signal
  void Signal(int sig);

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// A socket created inside a namespace (sockets keep their namespace for life).
UniqueFd SocketIn(const NetNs& ns, int domain, int type);

// Whether a TCP socket listens on port in ns (any address).
bool Listening(const NetNs& ns, uint16_t port);
// Waits (up to 30 s: a python server starts slowly under TCG) until every port listens in ns; a
// test failure otherwise.
void WaitListening(const NetNs& ns, std::initializer_list<uint16_t> ports);

// `mmchaos run` as a subprocess with stderr captured.
class Controller {
 public:
  Controller(const std::string& config_path, const std::vector<std::string>& extra_args = {});
  // Any mmchaos command line (args after the binary), e.g. {"experiment", "-c", ...}.
  struct Args {
    std::vector<std::string> v;
  };
  explicit Controller(Args args) : Controller(std::move(args), {}) {}
  // Under a wrapper that execs the binary, e.g. {"/usr/bin/setpriv", "--bounding-set=..."}.
  Controller(Args args, std::vector<std::string> wrapper);
  ~Controller();
  // Waits until stderr contains text; false on timeout or exit.
  bool WaitFor(const std::string& text, std::chrono::milliseconds timeout);
  void Signal(int sig);
  // Exit code (or 128+signal), -1 if it did not exit in time.
  int Wait(std::chrono::milliseconds timeout);
  std::string output();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  UniqueFd err_fd_;
  std::thread reader_;
  std::mutex mu_;
  std::string out_;
};

// Path of the built mmchaos binary.
std::string MmchaosBin();

// A scratch directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// A binomial count k of n is inside the 99.9% interval of p (normal approximation, z=3.29).
bool InBinomial999(uint64_t k, uint64_t n, double p);

}  // namespace mmchaos::testing
