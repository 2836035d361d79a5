#include "uprobe/coverage.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "common/safe_file.h"
#include "controller/registry.h"

namespace mmchaos {
namespace {

constexpr char kInfix[] = ".covered-";
// A record is a line per process of the target; anything near this is not one of ours.
constexpr size_t kMaxRecordBytes = 1 << 20;

std::string Prefix(uint64_t cgroup_id) {
  return RunDir() + "/cgroup-" + std::to_string(cgroup_id) + kInfix;
}

// The cgroup id and label in "cgroup-<id>.covered-<label>", or nullopt.
std::optional<std::pair<uint64_t, std::string>> Parse(const std::string& name) {
  constexpr std::string_view prefix = "cgroup-";
  const auto infix = name.find(kInfix);
  if (!name.starts_with(prefix) || infix == std::string::npos) return std::nullopt;
  const std::string digits = name.substr(prefix.size(), infix - prefix.size());
  const std::string label = name.substr(infix + sizeof(kInfix) - 1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
      digits.size() > 20 || label.empty() || label.find('.') != std::string::npos)
    return std::nullopt;
  return std::make_pair(std::stoull(digits), label);
}

// label -> whether self is in it, for each record of cgroup_id.
std::map<std::string, bool> Covering(uint64_t cgroup_id, const CoveredProcess& self) {
  std::map<std::string, bool> out;
  if (!CheckRunDir()) return out;
  std::error_code ec;
  for (const auto& ent : std::filesystem::directory_iterator(RunDir(), ec)) {
    auto p = Parse(ent.path().filename().string());
    if (!p || p->first != cgroup_id) continue;
    auto text = ReadRegularFile(ent.path().string(), kMaxRecordBytes, false);
    if (!text) continue;  // gone meanwhile (rewritten by rename: never half there)
    std::istringstream in(*text);
    CoveredProcess c;
    bool found = false;
    while (!found && in >> c.pid >> c.start_time) found = c == self;
    out[p->second] = found;
  }
  return out;
}

// Unlinks the records whose cgroup id `pick` accepts (listed first, then removed); how many.
template <typename Pick>
int RemoveWhere(Pick&& pick) {
  if (!CheckRunDir()) return 0;
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& ent : std::filesystem::directory_iterator(RunDir(), ec)) {
    auto p = Parse(ent.path().filename().string());
    if (p && pick(p->first)) paths.push_back(ent.path().string());
  }
  int removed = 0;
  for (const auto& path : paths) removed += ::unlink(path.c_str()) == 0;
  return removed;
}

}  // namespace

uint64_t ProcessStartTime(pid_t pid) {
  // Read with read(2), not an istreambuf_iterator: a process reaped between open and read makes
  // read fail with ESRCH, which libstdc++'s filebuf throws past the stream (it ended a run).
  auto text = ReadRegularFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return 0;
  const std::string& s = *text;
  auto paren = s.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos || paren + 2 > s.size()) return 0;
  std::istringstream f(s.substr(paren + 2));
  std::string field;
  for (int i = 3; i < 22 && f >> field; ++i) {
  }
  uint64_t t = 0;
  f >> t;
  return t;
}

CoverageRecord::CoverageRecord(uint64_t cgroup_id, const std::string& label)
    : path_(Prefix(cgroup_id) + label) {}

CoverageRecord::~CoverageRecord() {
  if (written_) ::unlink(path_.c_str());
}

Result<void> CoverageRecord::Publish(const std::vector<CoveredProcess>& covered) {
  if (written_ == covered) return {};
  std::string text;
  for (const auto& c : covered)
    text += std::to_string(c.pid) + " " + std::to_string(c.start_time) + "\n";
  if (auto d = PrepareRunDir(); !d) return d;
  if (auto w = WriteFileAtomic(path_, text, 0644); !w) return w;
  written_ = covered;
  return {};
}

std::vector<std::string> WaitCovered(uint64_t cgroup_id, const CoveredProcess& self,
                                     std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> missing;
  for (;;) {
    if (!ControllerAlive(cgroup_id)) return {};
    missing.clear();
    for (const auto& [label, covered] : Covering(cgroup_id, self))
      if (!covered) missing.push_back(label);
    if (missing.empty() || std::chrono::steady_clock::now() >= until) return missing;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int RemoveStaleCoverage() {
  return RemoveWhere([](uint64_t id) { return !ControllerAlive(id); });
}

void RemoveCoverage(uint64_t cgroup_id) {
  RemoveWhere([cgroup_id](uint64_t id) { return id == cgroup_id; });
}

}  // namespace mmchaos
