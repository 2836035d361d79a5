#include "controller/registry.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "common/log.h"
#include "common/safe_file.h"

namespace mmchaos {
namespace {

// A record is a few hundred bytes; anything near this is not one of ours.
constexpr size_t kMaxRecordBytes = 1 << 20;

std::string LockPath(uint64_t cgroup_id) {
  return RunDir() + "/cgroup-" + std::to_string(cgroup_id) + ".lock";
}

std::string StatePath(uint64_t cgroup_id) {
  return RunDir() + "/cgroup-" + std::to_string(cgroup_id) + ".state.json";
}

// The cgroup id in "cgroup-<id><suffix>", or nullopt.
std::optional<uint64_t> IdFromName(const std::string& name, std::string_view suffix) {
  constexpr std::string_view prefix = "cgroup-";
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return std::nullopt;
  std::string_view digits(name.data() + prefix.size(), name.size() - prefix.size() - suffix.size());
  uint64_t id = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size())
    return std::nullopt;
  return id;
}

// Typed reads of one field: false when it is missing or of another type (records come from
// disk, and nlohmann's value() throws on a wrong type).
bool Take(const nlohmann::json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}
bool Take(const nlohmann::json& j, const char* key, bool& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return false;
  out = it->get<bool>();
  return true;
}
bool Take(const nlohmann::json& j, const char* key, uint64_t& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return false;
  out = it->get<uint64_t>();
  return true;
}
template <typename T>
bool TakeInt(const nlohmann::json& j, const char* key, T lo, T hi, T& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return false;
  auto v = it->get<int64_t>();
  if (v < static_cast<int64_t>(lo) || v > static_cast<int64_t>(hi)) return false;
  out = static_cast<T>(v);
  return true;
}

// An interface name mmchaos made itself (its ifb, its bounce veths): rollback deletes these, so
// a record naming anything else is damaged, never obeyed.
bool OurDeviceName(const std::string& s) {
  return s.size() > 3 && s.size() <= 15 && s.starts_with("mmc") &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
}

bool ValidIfname(const std::string& s) {
  return !s.empty() && s.size() <= 15 && s != "." && s != ".." &&
         std::none_of(s.begin(), s.end(), [](char c) {
           return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || c == 0;
         });
}

// memory.high as the kernel prints it: "max" or a byte count.
bool MemoryValue(const std::string& s) {
  return s == "max" || (!s.empty() && s.size() <= 20 && std::all_of(s.begin(), s.end(), [](char c) {
           return c >= '0' && c <= '9';
         }));
}

bool ParseRecord(const std::string& text, ControllerRecord* rec) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  bool ok = TakeInt(j, "pid", 1, std::numeric_limits<pid_t>::max(), rec->pid);
  ok &= Take(j, "cgroup_id", rec->cgroup_id);
  ok &= Take(j, "cgroup", rec->cgroup);
  ok &= Take(j, "config", rec->config);
  ok &= TakeInt(j, "started_unix", int64_t{0}, std::numeric_limits<int64_t>::max(),
                rec->started_unix);
  return ok;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while (out.size() < kMaxRecordBytes &&
         (n = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(out.size()))) > 0)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

// Visits each lock file; held = a live controller holds it. The cgroup id comes from the file
// name, so a damaged record still names its target; damaged = its content is not a record.
template <typename Fn>
void ForEachRecord(Fn&& fn) {
  if (!CheckRunDir()) return;
  std::error_code ec;
  for (const auto& ent : std::filesystem::directory_iterator(RunDir(), ec)) {
    const std::string path = ent.path().string();
    auto id = IdFromName(ent.path().filename().string(), ".lock");
    if (!id) continue;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    bool held = ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ControllerRecord rec;
    bool damaged = !ParseRecord(ReadAll(fd.get()), &rec);
    if (damaged) rec = {};
    rec.cgroup_id = *id;
    fn(path, held, rec, damaged);
  }
}

// One state file, read part by part: what is readable, and why anything is not.
struct StateFile {
  std::string path;
  uint64_t cgroup_id = 0;                          // from the file name
  nlohmann::json json = nlohmann::json::object();  // the whole record when it parses
  std::optional<PlacedState> steering;
  std::optional<MemoryHighRecord> memory;
  std::vector<std::string> damage;
};

std::optional<PlacedState> SteeringPart(const nlohmann::json& j, uint64_t cgroup_id,
                                        std::string& why) {
  PlacedState s;
  s.cgroup_id = cgroup_id;
  SteeringState& t = s.steering;
  std::string attach;
  if (!Take(j, "netns_inode", t.netns_inode))
    why = "netns_inode is not a number";
  else if (!Take(j, "netns_path", t.netns_path))
    why = "netns_path is not a string";
  else if (!Take(j, "attach", attach) || (attach != "tcx" && attach != "clsact"))
    why = "attach is not \"tcx\" or \"clsact\"";
  else if (!Take(j, "ifb", t.ifb) || (!t.ifb.empty() && !OurDeviceName(t.ifb)))
    why = "ifb is not the name of an mmchaos ifb";
  else if (!j.contains("interfaces") || !j["interfaces"].is_array() || j["interfaces"].size() > 64)
    why = "interfaces is not a list";
  if (!why.empty()) return std::nullopt;
  t.attach = attach == "tcx" ? TcAttach::kTcx : TcAttach::kClsact;
  for (const auto& i : j["interfaces"]) {
    SteeringState::Iface f;
    if (!i.is_object() || !Take(i, "name", f.name) || !ValidIfname(f.name) ||
        !TakeInt(i, "ifindex", 0, std::numeric_limits<int>::max(), f.ifindex) ||
        !Take(i, "clsact_created", f.clsact_created) || !Take(i, "bounce", f.bounce) ||
        (!f.bounce.empty() && !OurDeviceName(f.bounce))) {
      why = "an entry of interfaces is not {name, ifindex, clsact_created, bounce}";
      return std::nullopt;
    }
    t.ifaces.push_back(std::move(f));
  }
  return s;
}

std::optional<MemoryHighRecord> MemoryPart(const nlohmann::json& m, uint64_t cgroup_id,
                                           std::string& why) {
  MemoryHighRecord r;
  r.cgroup_id = cgroup_id;
  if (!m.is_object() || !Take(m, "cgroup", r.cgroup) || !Take(m, "original", r.original) ||
      !Take(m, "applied", r.applied)) {
    why = "memory is not {cgroup, original, applied} strings";
  } else if (!r.cgroup.starts_with("/") || r.cgroup.find("/../") != std::string::npos ||
             r.cgroup.ends_with("/..")) {
    why = "memory.cgroup is not an absolute cgroup directory";
  } else if (!MemoryValue(r.original) || !MemoryValue(r.applied)) {
    why = "memory.original/applied are not memory.high values (\"max\" or bytes)";
  }
  if (!why.empty()) return std::nullopt;
  return r;
}

StateFile ReadStateFile(const std::string& path, uint64_t cgroup_id) {
  StateFile f;
  f.path = path;
  f.cgroup_id = cgroup_id;
  auto text = ReadRegularFile(path, kMaxRecordBytes, false);
  if (!text) {
    if (text.error().err != ENOENT) f.damage.push_back(text.error().message());
    return f;
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    f.damage.push_back(text->empty() ? "empty" : "not a JSON object (truncated?)");
    return f;
  }
  // Another cgroup's record under this name is not merged into ours when we write it.
  if (uint64_t inner = 0;
      j.contains("cgroup_id") && (!Take(j, "cgroup_id", inner) || inner != cgroup_id)) {
    f.damage.push_back("its cgroup_id is not the one in its name");
    return f;
  }
  f.json = std::move(j);
  std::string why;
  if (f.json.contains("netns_inode")) {
    f.steering = SteeringPart(f.json, cgroup_id, why);
    if (!why.empty()) f.damage.push_back("tc path part: " + why);
  }
  why.clear();
  if (f.json.contains("memory")) {
    f.memory = MemoryPart(f.json["memory"], cgroup_id, why);
    if (!why.empty()) f.damage.push_back("mem_pressure part: " + why);
  }
  return f;
}

// The whole record of one cgroup (an empty object when there is none or it is unreadable).
nlohmann::json ReadStateJson(uint64_t cgroup_id) {
  return ReadStateFile(StatePath(cgroup_id), cgroup_id).json;
}

// Writes the record, or removes the file when no part is left.
Result<void> WriteStateJson(uint64_t cgroup_id, nlohmann::json j) {
  const std::string path = StatePath(cgroup_id);
  if (!j.contains("netns_inode") && !j.contains("memory")) {
    ::unlink(path.c_str());
    return {};
  }
  j["cgroup_id"] = cgroup_id;
  if (auto d = PrepareRunDir(); !d) return d;
  // Write then rename: a crash mid-write never leaves a half record.
  return WriteFileAtomic(path, j.dump() + "\n", 0644);
}

constexpr const char* kSteeringKeys[] = {"netns_inode", "netns_path", "attach", "ifb",
                                         "interfaces"};

// Each state file, read part by part.
template <typename Fn>
void ForEachState(Fn&& fn) {
  if (!CheckRunDir()) return;
  std::error_code ec;
  for (const auto& ent : std::filesystem::directory_iterator(RunDir(), ec)) {
    auto id = IdFromName(ent.path().filename().string(), ".state.json");
    if (id) fn(ReadStateFile(ent.path().string(), *id));
  }
}

}  // namespace

std::string RunDir() {
  const char* dir = std::getenv("MMCHAOS_RUN_DIR");
  return dir && *dir == '/' ? dir : kRunDir;
}

Result<void> PrepareRunDir() { return EnsurePrivateDir(RunDir(), 0755); }

Result<void> CheckRunDir() {
  struct stat st {};
  if (::lstat(RunDir().c_str(), &st) != 0 && errno == ENOENT) return {};
  return EnsurePrivateDir(RunDir(), 0755);
}

std::vector<DamagedRecord> DamagedRecords() {
  std::vector<DamagedRecord> out;
  if (auto d = CheckRunDir(); !d) {
    out.push_back({RunDir(), "not trusted, its records are ignored: " + d.error().message()});
    return out;
  }
  ForEachState([&](const StateFile& f) {
    for (const auto& why : f.damage) out.push_back({f.path, why});
  });
  ForEachRecord([&](const std::string& path, bool held, const ControllerRecord&, bool damaged) {
    if (damaged && held)
      out.push_back({path, "the lock record of a running controller is not readable"});
  });
  return out;
}

Result<void> WriteState(const PlacedState& s) {
  nlohmann::json ifaces = nlohmann::json::array();
  for (const auto& i : s.steering.ifaces)
    ifaces.push_back({{"name", i.name},
                      {"ifindex", i.ifindex},
                      {"clsact_created", i.clsact_created},
                      {"bounce", i.bounce}});
  auto j = ReadStateJson(s.cgroup_id);
  j["netns_inode"] = s.steering.netns_inode;
  j["netns_path"] = s.steering.netns_path;
  j["attach"] = TcAttachName(s.steering.attach);
  j["ifb"] = s.steering.ifb;
  j["interfaces"] = ifaces;
  return WriteStateJson(s.cgroup_id, std::move(j));
}

void RemoveState(uint64_t cgroup_id) {
  auto j = ReadStateJson(cgroup_id);
  for (const char* k : kSteeringKeys) j.erase(k);
  // Called on teardown paths, which go on regardless: a part left on disk is the operator's to
  // know about (rollback and status will read it again).
  if (auto w = WriteStateJson(cgroup_id, std::move(j)); !w)
    Log("removing the steering record: " + w.error().message());
}

std::vector<PlacedState> ReadStates() {
  std::vector<PlacedState> out;
  ForEachState([&](const StateFile& f) {
    if (f.steering) out.push_back(*f.steering);
  });
  return out;
}

Result<void> WriteMemoryRecord(const MemoryHighRecord& m) {
  auto j = ReadStateJson(m.cgroup_id);
  j["memory"] = {{"cgroup", m.cgroup}, {"original", m.original}, {"applied", m.applied}};
  return WriteStateJson(m.cgroup_id, std::move(j));
}

void RemoveMemoryRecord(uint64_t cgroup_id) {
  auto j = ReadStateJson(cgroup_id);
  j.erase("memory");
  if (auto w = WriteStateJson(cgroup_id, std::move(j)); !w)  // as in RemoveState
    Log("removing the memory.high record: " + w.error().message());
}

std::vector<MemoryHighRecord> ReadMemoryRecords() {
  std::vector<MemoryHighRecord> out;
  ForEachState([&](const StateFile& f) {
    if (f.memory) out.push_back(*f.memory);
  });
  return out;
}

bool ControllerAlive(uint64_t cgroup_id) {
  for (const auto& r : LiveControllers())
    if (r.cgroup_id == cgroup_id) return true;
  return false;
}

Result<ControllerLock> ControllerLock::Acquire(const ControllerRecord& rec) {
  if (auto d = PrepareRunDir(); !d) return std::unexpected(d.error());
  ControllerLock lock;
  lock.path_ = LockPath(rec.cgroup_id);
  // Never through a link, and only a regular file of ours: it is truncated and rewritten.
  auto fd = OpenOwnedFile(lock.path_, O_RDWR, 0644);
  if (!fd) {
    lock.path_.clear();
    return std::unexpected(fd.error());
  }
  lock.fd_ = std::move(*fd);
  if (::flock(lock.fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ControllerRecord other;
    ParseRecord(ReadAll(lock.fd_.get()), &other);
    lock.path_.clear();  // not ours: never unlink it
    return Fail("lock target cgroup " + rec.cgroup, err,
                "another mmchaos run (pid " + std::to_string(other.pid) +
                    ") already targets it; stop it or run `mmchaos rollback`");
  }
  nlohmann::json j{{"pid", rec.pid},
                   {"cgroup_id", rec.cgroup_id},
                   {"cgroup", rec.cgroup},
                   {"config", rec.config},
                   {"started_unix", rec.started_unix}};
  std::string text = j.dump() + "\n";
  if (::ftruncate(lock.fd_.get(), 0) != 0 ||
      ::pwrite(lock.fd_.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    return Fail("write(" + lock.path_ + ")", errno);
  return lock;
}

ControllerLock::~ControllerLock() { Release(); }

void ControllerLock::Release() {
  // Unlink while still holding the lock, so no other process sees a file it could take.
  if (fd_ && !path_.empty()) ::unlink(path_.c_str());
  path_.clear();
  fd_.reset();
}

std::vector<ControllerRecord> LiveControllers() {
  std::vector<ControllerRecord> out;
  ForEachRecord([&](const std::string&, bool held, const ControllerRecord& rec, bool) {
    if (held) out.push_back(rec);
  });
  return out;
}

std::vector<ControllerRecord> RemoveStaleRecords() {
  std::vector<ControllerRecord> removed;
  ForEachRecord([&](const std::string& path, bool held, const ControllerRecord& rec, bool) {
    if (!held && ::unlink(path.c_str()) == 0) removed.push_back(rec);
  });
  return removed;
}

}  // namespace mmchaos
