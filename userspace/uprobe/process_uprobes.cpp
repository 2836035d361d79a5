#include "uprobe/process_uprobes.h"

#include <bpf/libbpf.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "uprobe/elf_symbol.h"

namespace mmchaos {
namespace {

// Field 22 of /proc/PID/stat (clock ticks since boot), 0 when the process is gone.
uint64_t StartTime(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = s.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return 0;
  std::istringstream f(s.substr(paren + 2));
  std::string field;
  for (int i = 3; i < 22 && f >> field; ++i) {
  }
  uint64_t t = 0;
  f >> t;
  return t;
}

void ReadProcs(const std::filesystem::path& dir, std::set<pid_t>& out) {
  std::ifstream procs(dir / "cgroup.procs");
  pid_t pid;
  while (procs >> pid) out.insert(pid);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_directory(ec) && !e.is_symlink(ec)) ReadProcs(e.path(), out);
}

}  // namespace

std::vector<pid_t> CgroupPids(const std::string& cgroup) {
  std::set<pid_t> s;
  ReadProcs(cgroup, s);
  return {s.begin(), s.end()};
}

ProcessUprobes::ProcessUprobes(std::vector<UprobeSpec> specs) : specs_(std::move(specs)) {}

ProcessUprobes::~ProcessUprobes() = default;

Result<size_t> ProcessUprobes::Offset(const std::string& path, const std::string& function) {
  auto key = std::make_pair(path, function);
  if (auto it = offsets_.find(key); it != offsets_.end()) return it->second;
  auto off = FuncOffset(path, function);
  if (off) offsets_.emplace(key, *off);
  return off;
}

Result<void> ProcessUprobes::Attach(pid_t pid) { return AttachAt(pid, StartTime(pid)); }

Result<void> ProcessUprobes::AttachAt(pid_t pid, uint64_t start) {
  if (start == 0) return {};  // exited
  if (auto it = procs_.find(pid); it != procs_.end()) {
    if (it->second.start_time == start) return {};
    procs_.erase(it);  // a recycled pid
  }
  Proc p{start, {}};
  for (const auto& s : specs_) {
    std::string file = MappedLibrary(pid, s.soname);
    if (file.empty()) file = s.fallback;
    if (file.empty())
      return Fail("find " + s.soname + " for process " + std::to_string(pid), ENOENT,
                  "the process maps no " + s.soname + " and this host has none");
    auto off = Offset(file, s.function);
    if (!off) return std::unexpected(off.error());
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = s.retprobe);
    BpfLink l(bpf_program__attach_uprobe_opts(s.prog, pid, file.c_str(), *off, &opts));
    if (!l) {
      int err = errno;
      if (err == ESRCH || StartTime(pid) != start) return {};  // exited meanwhile
      return Fail(std::string("bpf_program__attach_uprobe_opts(") + bpf_program__name(s.prog) +
                      ", pid " + std::to_string(pid) + ", " + file + ":" + s.function + ")",
                  err, PrivilegeHint(err));
    }
    p.links.push_back(std::move(l));
  }
  procs_.emplace(pid, std::move(p));
  return {};
}

Result<void> ProcessUprobes::Sync(const std::string& cgroup) {
  std::map<pid_t, uint64_t> now;
  for (pid_t pid : CgroupPids(cgroup)) now[pid] = StartTime(pid);
  for (auto it = procs_.begin(); it != procs_.end();) {
    auto n = now.find(it->first);
    if (n == now.end() || n->second != it->second.start_time)
      it = procs_.erase(it);  // left the cgroup, exited, or its pid was recycled
    else
      ++it;
  }
  Result<void> first{};
  for (auto [pid, start] : now)
    if (auto a = AttachAt(pid, start); !a && first) first = std::unexpected(a.error());
  return first;
}

}  // namespace mmchaos
