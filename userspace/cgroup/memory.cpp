#include "cgroup/memory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cgroup/cgroup.h"
#include "common/fd.h"

namespace mmchaos {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return std::string(s);
}

Result<std::string> ReadValue(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail("open(" + path + ")", errno);
  std::stringstream text;
  text << in.rdbuf();
  return Trim(text.str());
}

Result<void> WriteValue(const std::string& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return Fail("open(" + path + ")", errno, PrivilegeHint(errno));
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n != static_cast<ssize_t>(value.size()))
    return Fail("write(" + path + ", " + value + ")", n < 0 ? errno : EIO, PrivilegeHint(errno));
  return {};
}

bool HasWord(const std::string& list, std::string_view word) {
  std::istringstream in(list);
  std::string w;
  while (in >> w)
    if (w == word) return true;
  return false;
}

std::string FormatMemoryValue(uint64_t v) {
  return v == kMemoryUnlimited ? "max" : std::to_string(v);
}

bool ValidMemoryValue(const std::string& s) {
  return s == "max" ||
         (!s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos);
}

Result<void> MarkMemoryHigh(const MemoryHighRecord& rec) {
  const std::string v = rec.original + " " + rec.applied;
  if (::setxattr(rec.cgroup.c_str(), kMemoryHighXattr, v.data(), v.size(), 0) != 0)
    return Fail("setxattr(" + rec.cgroup + ", " + kMemoryHighXattr + ")", errno);
  return {};
}

void UnmarkMemoryHigh(const std::string& cgroup) {
  ::removexattr(cgroup.c_str(), kMemoryHighXattr);  // ENODATA: not marked, nothing to do
}

}  // namespace

double MemoryHighFraction(MemPressure level) {
  switch (level) {
    case MemPressure::kNone:
      return 1.0;
    case MemPressure::kLow:
      return 0.90;
    case MemPressure::kMedium:
      return 0.75;
    case MemPressure::kHigh:
      return 0.50;
  }
  return 1.0;
}

std::optional<uint64_t> SqueezedMemoryHigh(MemPressure level, uint64_t current, uint64_t original,
                                           uint64_t page_size) {
  if (level == MemPressure::kNone || page_size == 0) return std::nullopt;
  auto target =
      static_cast<uint64_t>(std::floor(static_cast<double>(current) * MemoryHighFraction(level)));
  target = std::max(target, kMemoryHighFloor);
  // The kernel keeps memory.high in pages: a page-aligned value reads back as written, so the
  // record names exactly what memory.high holds while squeezed.
  target -= target % page_size;
  if (target >= original) return std::nullopt;
  return target;
}

std::optional<uint64_t> ParseMemoryValue(std::string_view text) {
  std::string t = Trim(text);
  if (t == "max") return kMemoryUnlimited;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size() || t.empty()) return std::nullopt;
  return v;
}

std::string MemoryControllerProblem(const std::string& mount, const std::string& target) {
  auto ctl = ReadValue(mount + "/cgroup.controllers");
  if (!ctl) return "cannot read the cgroup v2 controllers: " + ctl.error().message();
  if (!HasWord(*ctl, "memory"))
    return "the cgroup v2 hierarchy at " + mount +
           " has no memory controller (cgroup.controllers: \"" + *ctl +
           "\"; on hybrid-cgroup hosts memory belongs to the v1 hierarchy, which mmchaos never "
           "touches): mem_pressure needs a unified cgroup v2 host (the default of Debian 11+, "
           "Ubuntu 22.04+, RHEL 9; systemd.unified_cgroup_hierarchy=1), or set "
           "chaos.mem_pressure: none";
  if (target.empty()) return {};
  std::error_code ec;
  if (!std::filesystem::is_directory(target, ec)) return {};  // checked again once it exists
  const std::string parent = std::filesystem::path(target).parent_path().string();
  auto sub = ReadValue(parent + "/cgroup.subtree_control");
  if (!sub) return "cannot read " + parent + "/cgroup.subtree_control: " + sub.error().message();
  if (!HasWord(*sub, "memory"))
    return "the memory controller is not enabled for " + target + ": its parent " + parent +
           " does not list memory in cgroup.subtree_control (\"" + *sub +
           "\"). mmchaos does not enable controllers on cgroups it did not create (it changes "
           "memory accounting for every cgroup there): enable it yourself (`echo +memory > " +
           parent +
           "/cgroup.subtree_control`, or MemoryAccounting=yes on the systemd unit), or "
           "set chaos.mem_pressure: none";
  if (::access((target + "/memory.high").c_str(), W_OK) != 0)
    return "cannot write " + target + "/memory.high: " + std::strerror(errno) +
           " (run as root; the cgroup must not be a threaded one)";
  return {};
}

std::string MemoryControllerProblem(const std::string& target) {
  auto mount = Cgroup2Mount();
  if (!mount) return mount.error().message();
  return MemoryControllerProblem(*mount, target);
}

std::optional<MemoryPsi> ParseMemoryPsi(std::string_view text) {
  MemoryPsi p;
  bool some = false, full = false;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string kind, field;
    f >> kind;
    double* avg10 = kind == "some" ? &p.some_avg10 : kind == "full" ? &p.full_avg10 : nullptr;
    uint64_t* total = kind == "some" ? &p.some_total_us : &p.full_total_us;
    if (!avg10) continue;
    bool got_avg = false, got_total = false;
    while (f >> field) {
      auto eq = field.find('=');
      if (eq == std::string::npos) continue;
      std::string key = field.substr(0, eq), val = field.substr(eq + 1);
      if (key == "avg10") {
        char* end = nullptr;
        *avg10 = std::strtod(val.c_str(), &end);
        got_avg = end && *end == '\0' && !val.empty();
      } else if (key == "total") {
        auto [e, ec] = std::from_chars(val.data(), val.data() + val.size(), *total);
        got_total = ec == std::errc() && e == val.data() + val.size();
      }
    }
    if (!got_avg || !got_total) return std::nullopt;
    (kind == "some" ? some : full) = true;
  }
  if (!some || !full) return std::nullopt;
  return p;
}

std::optional<MemoryPsi> ReadMemoryPsi(const std::string& cgroup) {
  auto text = ReadValue(cgroup + "/memory.pressure");
  if (!text) return std::nullopt;
  return ParseMemoryPsi(*text);
}

Result<std::optional<uint64_t>> PlannedMemoryHigh(const std::string& cgroup, MemPressure level) {
  auto high_text = ReadValue(cgroup + "/memory.high");
  if (!high_text)
    return Fail(high_text.error().call, high_text.error().err,
                "is the memory controller enabled for this cgroup? `mmchaos doctor` checks");
  auto high = ParseMemoryValue(*high_text);
  if (!high) return Fail("parse " + cgroup + "/memory.high: \"" + *high_text + "\"", EINVAL);
  auto cur_text = ReadValue(cgroup + "/memory.current");
  if (!cur_text) return std::unexpected(cur_text.error());
  auto cur = ParseMemoryValue(*cur_text);
  if (!cur || *cur == kMemoryUnlimited)
    return Fail("parse " + cgroup + "/memory.current: \"" + *cur_text + "\"", EINVAL);
  return SqueezedMemoryHigh(level, *cur, *high, static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)));
}

namespace {

Result<std::string> RestoreMemoryHighValue(const MemoryHighRecord& rec) {
  const std::string file = rec.cgroup + "/memory.high";
  // A cgroup removed (and maybe re-created by the engine's supervisor) has nothing of ours.
  auto id = CgroupId(rec.cgroup);
  if (!id || *id != rec.cgroup_id)
    return "cgroup " + rec.cgroup + " (id " + std::to_string(rec.cgroup_id) +
           ") is gone, and its memory.high with it";
  auto now = ReadValue(file);
  if (!now) return std::unexpected(now.error());
  if (*now == rec.original) return "memory.high of " + rec.cgroup + " is " + rec.original;
  if (*now != rec.applied)
    return "memory.high of " + rec.cgroup + " is " + *now + ", neither mmchaos' " + rec.applied +
           " nor the original " + rec.original + ": someone changed it since; left as is";
  if (auto w = WriteValue(file, rec.original); !w) return std::unexpected(w.error());
  return "memory.high of " + rec.cgroup + " restored to " + rec.original;
}

}  // namespace

// The cgroup's mark goes once the record is done with (restored, already original, changed by
// someone else, or the cgroup gone): never retried. A cgroup of that name made since is not ours
// to unmark.
Result<std::string> RestoreMemoryHigh(const MemoryHighRecord& rec) {
  auto r = RestoreMemoryHighValue(rec);
  if (auto id = CgroupId(rec.cgroup); r && id && *id == rec.cgroup_id) UnmarkMemoryHigh(rec.cgroup);
  return r;
}

std::optional<MemoryHighRecord> MarkedMemoryHigh(const std::string& cgroup) {
  char buf[64];
  ssize_t n = ::getxattr(cgroup.c_str(), kMemoryHighXattr, buf, sizeof(buf));
  if (n <= 0) return std::nullopt;
  std::string v(buf, static_cast<size_t>(n));
  auto sp = v.find(' ');
  if (sp == std::string::npos) return std::nullopt;
  MemoryHighRecord rec;
  rec.cgroup = cgroup;
  rec.original = v.substr(0, sp);
  rec.applied = v.substr(sp + 1);
  auto id = CgroupId(cgroup);
  if (!id || !ValidMemoryValue(rec.original) || !ValidMemoryValue(rec.applied)) return std::nullopt;
  rec.cgroup_id = *id;
  return rec;
}

std::vector<std::string> RestoreMarkedMemory(const std::string& dir) {
  std::vector<std::string> out;
  auto visit = [&](const std::string& cg) {
    char probe[1];
    // Cheap for the many unmarked cgroups of a node: ENODATA, no parse.
    if (::getxattr(cg.c_str(), kMemoryHighXattr, probe, 0) < 0) return;
    auto rec = MarkedMemoryHigh(cg);
    if (!rec) {
      out.push_back(cg + " carries a " + kMemoryHighXattr +
                    " mark that is not \"ORIGINAL APPLIED\": memory.high left as is");
      return;
    }
    auto r = RestoreMemoryHigh(*rec);
    out.push_back(r ? *r + " (found by its mark, without a record)"
                    : "cannot restore memory.high of " + cg + " to " + rec->original + ": " +
                          r.error().message());
  };
  visit(dir);
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(
      dir, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    // cgroupfs: directories are cgroups; never follow a link out of the hierarchy.
    if (it->is_directory(ec) && !it->is_symlink(ec)) visit(it->path().string());
  }
  return out;
}

bool MemoryHighIsOriginal(const MemoryHighRecord& rec) {
  auto id = CgroupId(rec.cgroup);
  auto now = ReadValue(rec.cgroup + "/memory.high");
  return id && *id == rec.cgroup_id && now && *now == rec.original;
}

Result<std::unique_ptr<MemorySqueeze>> MemorySqueeze::Apply(const std::string& cgroup,
                                                            uint64_t cgroup_id, MemPressure level,
                                                            const RecordFn& record,
                                                            ForgetFn forget) {
  const std::string file = cgroup + "/memory.high";
  auto original = ReadValue(file);
  if (!original)
    return Fail(original.error().call, original.error().err,
                "is the memory controller enabled for this cgroup? `mmchaos doctor` checks");
  auto target = PlannedMemoryHigh(cgroup, level);
  if (!target) return std::unexpected(target.error());
  if (!*target) return nullptr;
  std::unique_ptr<MemorySqueeze> sq(new MemorySqueeze());
  sq->rec_ = {cgroup_id, cgroup, *original, FormatMemoryValue(**target)};
  sq->level_ = level;
  if (auto c = ReadValue(cgroup + "/memory.current"); c)
    sq->current_ = ParseMemoryValue(*c).value_or(0);
  // On disk before the kernel sees it: a crash from here on leaves what rollback needs. The
  // mark on the cgroup is the second copy, for when the file is damaged or lost.
  if (auto r = record(sq->rec_); !r) return std::unexpected(r.error());
  if (auto m = MarkMemoryHigh(sq->rec_); !m) {
    forget(Result<std::string>("not written"));
    return std::unexpected(m.error());
  }
  // The kernel reclaims down to the new value in this write (bounded retries), then throttles
  // the cgroup's tasks while they stay above it; memory.high never OOM-kills.
  if (auto w = WriteValue(file, sq->rec_.applied); !w) {
    UnmarkMemoryHigh(cgroup);
    forget(Result<std::string>("not written"));
    return std::unexpected(w.error());
  }
  sq->forget_ = std::move(forget);
  return sq;
}

MemorySqueeze::~MemorySqueeze() {
  auto r = RestoreMemoryHigh(rec_);
  if (forget_) forget_(r);
}

}  // namespace mmchaos
