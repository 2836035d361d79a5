#include "uprobe/load_refusal.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "common/fd.h"
#include "loader/libbpf_print.h"

namespace mmchaos {
namespace {

// The verifier's reason for refusing the programs ("... cannot use helper bpf_probe_write_user",
// "unknown func bpf_probe_write_user#36"), picked out of libbpf's load log for the operator.
thread_local std::string g_refusal;

int CapturePrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level != LIBBPF_WARN) return 0;
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return 0;
  std::string text(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), fmt, args);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string line = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    if (line.find("cannot use helper") != std::string::npos ||
        line.find("unknown func") != std::string::npos)
      g_refusal = line;
    if (eol == std::string::npos) break;
    pos = eol + 1;
  }
  return 0;
}

}  // namespace

std::string KernelLockdown() {
  constexpr char kPath[] = "/sys/kernel/security/lockdown";
  std::ifstream in(kPath);
  std::string line;
  if (std::getline(in, line)) return line;
  // securityfs is often not mounted (Debian): read it from a child in a mount namespace of its
  // own, where mounting it changes nothing for anyone else. Only system calls in the child.
  Pipe pipe = MakePipe();
  if (!pipe.read) return "";
  pid_t child = fork();
  if (child == 0) {
    pipe.read.reset();
    char buf[256];
    ssize_t n = 0;
    if (unshare(CLONE_NEWNS) == 0 &&
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        mount("securityfs", "/sys/kernel/security", "securityfs", 0, nullptr) == 0) {
      const UniqueFd fd(::open(kPath, O_RDONLY | O_CLOEXEC));
      if (fd) n = ::read(fd.get(), buf, sizeof(buf));
    }
    if (n > 0) (void)!::write(pipe.write.get(), buf, static_cast<size_t>(n));
    _exit(0);
  }
  pipe.write.reset();  // the child's end: read() below sees EOF once the child is gone
  char buf[256];
  ssize_t n = child > 0 ? ::read(pipe.read.get(), buf, sizeof(buf)) : -1;
  pipe.read.reset();
  if (child > 0) waitpid(child, nullptr, 0);
  if (n <= 0) return "";
  line.assign(buf, static_cast<size_t>(n));
  if (auto eol = line.find('\n'); eol != std::string::npos) line.resize(eol);
  return line;
}

std::string LoadRefusal(const std::string& what, const std::function<int()>& load) {
  g_refusal.clear();
  int err = 0;
  {
    ScopedLibbpfPrint capture(CapturePrint);  // the verifier's reason, into g_refusal
    err = load();
  }
  if (err == 0) return "";
  std::string why = "the kernel refused " + what + " (" + std::strerror(err < 0 ? -err : err) + ")";
  if (!g_refusal.empty()) why += ": " + g_refusal;
  if (std::string lockdown = KernelLockdown(); !lockdown.empty())
    why += "; kernel lockdown: " + lockdown;
  return why;
}

}  // namespace mmchaos
