#include "uprobe/process_uprobes.h"

#include <bpf/libbpf.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cgroup/cgroup.h"
#include "common/log.h"
#include "uprobe/coverage.h"
#include "uprobe/elf_symbol.h"

namespace mmchaos {
namespace {

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

std::string ProcessComm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string c;
  std::getline(in, c);
  return c;
}

ProcessUprobes::ProcessUprobes(std::vector<UprobeSpec> specs, std::string label)
    : specs_(std::move(specs)), label_(std::move(label)) {}

ProcessUprobes::~ProcessUprobes() = default;

Result<size_t> ProcessUprobes::Offset(const std::string& path, const std::string& function) {
  auto key = std::make_pair(path, function);
  if (auto it = offsets_.find(key); it != offsets_.end()) return it->second;
  auto off = FuncOffset(path, function);
  if (off) offsets_.emplace(key, *off);
  return off;
}

Result<void> ProcessUprobes::Attach(pid_t pid) { return AttachAt(pid, ProcessStartTime(pid)); }

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
      if (err == ESRCH || ProcessStartTime(pid) != start) return {};  // exited meanwhile
      return Fail(std::string("bpf_program__attach_uprobe_opts(") + bpf_program__name(s.prog) +
                      ", pid " + std::to_string(pid) + ", " + file + ":" + s.function + ")",
                  err, PrivilegeHint(err));
    }
    p.links.push_back(std::move(l));
  }
  procs_.emplace(pid, std::move(p));
  // Operators and the tests wait on this line: from here on the process's calls are seen.
  if (!label_.empty())
    Log(label_ + ": pid " + std::to_string(pid) + " (" + ProcessComm(pid) +
        ") covered by the uprobes");
  return {};
}

Result<void> ProcessUprobes::Sync(const std::string& cgroup) {
  std::map<pid_t, uint64_t> now;
  for (pid_t pid : CgroupPids(cgroup)) now[pid] = ProcessStartTime(pid);
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
  if (auto p = Publish(cgroup); !p && first) first = std::unexpected(p.error());
  return first;
}

Result<void> ProcessUprobes::Publish(const std::string& cgroup) {
  if (label_.empty()) return {};
  if (!coverage_) {
    auto id = CgroupId(cgroup);
    if (!id) return std::unexpected(id.error());
    coverage_ = std::make_unique<CoverageRecord>(*id, label_);
  }
  std::vector<CoveredProcess> covered;
  for (const auto& [pid, p] : procs_) covered.push_back({pid, p.start_time});
  return coverage_->Publish(covered);
}

}  // namespace mmchaos
