#include "fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "cgroup/cgroup.h"
#include "tc/netns.h"

extern char** environ;

namespace mmchaos::testing {
namespace {

std::atomic<int> g_seq{0};

// Peers close connections mid-write when a test ends: that must be an error, not a signal that
// kills the test process.
const bool g_ignore_sigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

std::string Unique(const std::string& prefix) {
  return prefix + std::to_string(getpid()) + "-" + std::to_string(g_seq++);
}

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("fixture: " + what);
}

}  // namespace

int Sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

std::string Capture(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int st = pclose(p);
  if (rc) *rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  return out;
}

bool InBinomial999(uint64_t k, uint64_t n, double p) {
  double mean = static_cast<double>(n) * p;
  double sd = std::sqrt(static_cast<double>(n) * p * (1 - p));
  return std::fabs(static_cast<double>(k) - mean) <= 3.29 * sd;
}

NetNs::NetNs(std::string name) : name_(std::move(name)) {
  Check(Sh("ip netns add " + name_ + " && ip -n " + name_ + " link set lo up") == 0,
        "ip netns add " + name_);
}

NetNs::NetNs(std::string name, Adopt) : name_(std::move(name)) {}

// What `ip netns del` does, without spawning it (under qemu's emulation each process start costs
// ~100 ms, and every test tears down namespaces).
NetNs::~NetNs() {
  const std::string p = path();
  ::umount2(p.c_str(), MNT_DETACH);
  ::unlink(p.c_str());
}

namespace {

// One `ip -n NS -batch -` per namespace: the commands in one process each.
std::string IpBatch(const std::string& ns, const std::vector<std::string>& cmds) {
  std::string lines;
  for (const auto& c : cmds) lines += c + "\\n";
  return "printf '" + lines + "' | ip " + (ns.empty() ? "" : "-n " + ns + " ") + "-batch -";
}

}  // namespace

// The whole topology in one shell and three `ip` processes (was eleven: each costs ~100 ms under
// qemu's emulation). The namespaces are adopted first, so a failure half way removes them.
Topology::Topology()
    : engine(Unique("mmc-e"), NetNs::kAdopt), exchange(Unique("mmc-x"), NetNs::kAdopt) {
  int n = 1 + (getpid() + g_seq) % 250;
  engine_ip = "10.77." + std::to_string(n) + ".1";
  exchange_ip = "10.77." + std::to_string(n) + ".2";
  engine_ip6 = "fd77:" + std::to_string(n) + "::1";
  exchange_ip6 = "fd77:" + std::to_string(n) + "::2";
  engine_if = "mmce" + std::to_string(g_seq);
  exchange_if = "mmcx" + std::to_string(g_seq);
  const std::string &e = engine.name(), &x = exchange.name();
  auto side = [](const std::string& dev, const std::string& ip, const std::string& ip6) {
    return std::vector<std::string>{"link set lo up", "addr add " + ip + "/24 dev " + dev,
                                    "addr add " + ip6 + "/64 dev " + dev + " nodad",
                                    "link set " + dev + " up"};
  };
  const std::string cmd = IpBatch("", {"netns add " + e, "netns add " + x,
                                       "link add " + engine_if + " netns " + e +
                                           " type veth peer name " + exchange_if + " netns " + x}) +
                          " && " + IpBatch(e, side(engine_if, engine_ip, engine_ip6)) + " && " +
                          IpBatch(x, side(exchange_if, exchange_ip, exchange_ip6));
  Check(Sh(cmd) == 0, "topology: " + cmd);
}

Cgroup::Cgroup(const std::string& name) {
  auto mount = Cgroup2Mount();
  Check(mount.has_value(), "no cgroup2 mount");
  path_ = *mount + "/" + Unique("mmchaos-test-") + "-" + name;
  std::filesystem::create_directories(path_);
}

Cgroup::Cgroup(const Cgroup& parent, const std::string& name) : path_(parent.path() + "/" + name) {
  Check(::mkdir(path_.c_str(), 0755) == 0, "mkdir " + path_);
}

Cgroup::~Cgroup() {
  // Kill what is left inside, then remove the directory once the kernel has emptied it.
  for (int i = 0; i < 100; ++i) {
    std::ifstream procs(path_ + "/cgroup.procs");
    pid_t p;
    bool any = false;
    while (procs >> p) {
      any = true;
      ::kill(p, SIGKILL);
    }
    if (!any && ::rmdir(path_.c_str()) == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::fprintf(stderr, "fixture: could not remove %s\n", path_.c_str());
}

Child::Child(const Cgroup& cg, const NetNs& ns, std::function<int()> fn) {
  // Everything the child needs is prepared before fork: the test process has threads, so the
  // child sticks to system calls until fn runs.
  const std::string procs = cg.path() + "/cgroup.procs";
  const std::string nspath = ns.path();
  Pipe ready = MakePipe();
  Check(static_cast<bool>(ready.read), "pipe");
  pid_ = fork();
  Check(pid_ >= 0, "fork");
  if (pid_ == 0) {
    ready.read.reset();
    char pid[24];
    int len = std::snprintf(pid, sizeof(pid), "%d", getpid());
    UniqueFd cgfd(open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    UniqueFd nsfd(open(nspath.c_str(), O_RDONLY | O_CLOEXEC));
    if (!cgfd || write(cgfd.get(), pid, static_cast<size_t>(len)) != len || !nsfd ||
        setns(nsfd.get(), CLONE_NEWNET) != 0)
      _exit(100);
    cgfd.reset();  // _exit runs no destructors
    nsfd.reset();
    char c = 1;
    (void)!write(ready.write.get(), &c, 1);
    ready.write.reset();
    _exit(fn());
  }
  ready.write.reset();
  char c = 0;
  ssize_t n = read(ready.read.get(), &c, 1);
  Check(n == 1, "child could not join its cgroup and netns");
}

Child::~Child() {
  if (pid_ > 0 && status_ < 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

int Child::Wait() {
  if (status_ < 0) {
    int st = 0;
    waitpid(pid_, &st, 0);
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return status_;
}

Process::Process(const std::string& cmd, const NetNs& ns, const Cgroup* cg)
    // Joins the cgroup before `ip netns exec` (which remounts /sys and hides cgroup2).
    : Process((cg ? "echo $$ > " + cg->path() + "/cgroup.procs && " : std::string()) +
              "exec ip netns exec " + ns.name() + " " + cmd) {}

Process::Process(const std::string& script) {
  pid_ = fork();
  Check(pid_ >= 0, "fork");
  if (pid_ == 0) {
    execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0 && status_ < 0) {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && waitpid(pid_, nullptr, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void Process::Signal(int sig) {
  // `ip netns exec` execs the command, so the pid is the command's.
  if (pid_ > 0 && status_ < 0) ::kill(pid_, sig);
}

int Process::Wait() {
  if (status_ < 0) {
    int st = 0;
    waitpid(pid_, &st, 0);
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return status_;
}

UniqueFd SocketIn(const NetNs& ns, int domain, int type) {
  auto in = NetnsGuard::Enter(ns.path());  // this thread only, back at the end of the scope
  Check(in.has_value(), "enter " + ns.path());
  UniqueFd fd(socket(domain, type | SOCK_CLOEXEC, 0));
  Check(fd.get() >= 0, "socket");
  return fd;
}

bool Listening(const NetNs& ns, uint16_t port) {
  // /proc/thread-self/net follows this thread's namespace: a look, no connection, no process.
  auto in = NetnsGuard::Enter(ns.path());
  Check(in.has_value(), "enter " + ns.path());
  char local[16];
  std::snprintf(local, sizeof(local), ":%04X", port);
  bool found = false;
  for (const char* table : {"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"}) {
    std::ifstream in(table);
    std::string sl, addr, rem, state, line;
    std::getline(in, line);  // header
    while (!found && in >> sl >> addr >> rem >> state) {
      found = state == "0A" && addr.size() > 5 && addr.compare(addr.size() - 5, 5, local) == 0;
      std::getline(in, line);
    }
  }
  return found;
}

void WaitListening(const NetNs& ns, std::initializer_list<uint16_t> ports) {
  for (uint16_t port : ports) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!Listening(ns, port) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    Check(Listening(ns, port),
          "nothing listens on port " + std::to_string(port) + " in " + ns.name());
  }
}

std::string MmchaosBin() { return MMCHAOS_BIN; }

Controller::Controller(const std::string& config_path, const std::vector<std::string>& extra)
    : Controller([&] {
        Args a{{"run", "-c", config_path}};
        a.v.insert(a.v.end(), extra.begin(), extra.end());
        return a;
      }()) {}

Controller::Controller(Args a, std::vector<std::string> wrapper) {
  Pipe p = MakePipe();
  Check(static_cast<bool>(p.read), "pipe");
  std::vector<std::string> args = std::move(wrapper);
  args.push_back(MmchaosBin());
  args.insert(args.end(), a.v.begin(), a.v.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p.write.get(), STDERR_FILENO);
  int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  p.write.reset();
  Check(rc == 0, "spawn mmchaos");
  err_fd_ = std::move(p.read);
  reader_ = std::thread([this] {
    char buf[4096];
    ssize_t n;
    while ((n = read(err_fd_.get(), buf, sizeof(buf))) > 0) {
      std::lock_guard<std::mutex> l(mu_);
      out_.append(buf, static_cast<size_t>(n));
    }
  });
}

Controller::~Controller() {
  // Stop it as an operator would (SIGTERM: it takes down what it placed); SIGKILL only if it
  // hangs. Crash paths are tested on purpose, not left to teardown.
  if (pid_ > 0 && status_ < 0) {
    ::kill(pid_, SIGTERM);
    if (Wait(std::chrono::seconds(20)) < 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  if (reader_.joinable()) reader_.join();
  err_fd_.reset();
  std::fprintf(stderr, "--- mmchaos run output ---\n%s--- end ---\n", output().c_str());
}

std::string Controller::output() {
  std::lock_guard<std::mutex> l(mu_);
  return out_;
}

bool Controller::WaitFor(const std::string& text, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (output().find(text) != std::string::npos) return true;
    int st;
    if (status_ < 0 && waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      if (reader_.joinable()) reader_.join();  // EOF: all it wrote is in out_
      return output().find(text) != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void Controller::Signal(int sig) { ::kill(pid_, sig); }

int Controller::Wait(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (status_ < 0 && std::chrono::steady_clock::now() < until) {
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      if (reader_.joinable()) reader_.join();  // EOF: all it wrote is in out_
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return status_;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/mmchaos-test-XXXXXX";
  Check(mkdtemp(tmpl) != nullptr, "mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  std::string p = path_ + "/" + name;
  std::ofstream(p) << content;
  return p;
}

}  // namespace mmchaos::testing
