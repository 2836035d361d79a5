#include "controller/registry.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mmchaos {
namespace {

std::string LockPath(uint64_t cgroup_id) {
  return RunDir() + "/cgroup-" + std::to_string(cgroup_id) + ".lock";
}

bool ParseRecord(const std::string& text, ControllerRecord* rec) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  rec->pid = j.value("pid", 0);
  rec->cgroup_id = j.value("cgroup_id", uint64_t{0});
  rec->cgroup = j.value("cgroup", "");
  rec->config = j.value("config", "");
  rec->started_unix = j.value("started_unix", int64_t{0});
  return true;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(out.size()))) > 0)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

// Visits each lock file; held = a live controller holds it.
template <typename Fn>
void ForEachRecord(Fn&& fn) {
  std::error_code ec;
  for (const auto& ent : std::filesystem::directory_iterator(RunDir(), ec)) {
    const std::string path = ent.path().string();
    if (ent.path().extension() != ".lock") continue;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    bool held = ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ControllerRecord rec;
    if (!ParseRecord(ReadAll(fd.get()), &rec)) rec = {};
    fn(path, held, rec);
  }
}

std::string StatePath(uint64_t cgroup_id) {
  return RunDir() + "/cgroup-" + std::to_string(cgroup_id) + ".state.json";
}

// The whole record of one cgroup (an empty object when there is none).
nlohmann::json ReadStateJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  return j.is_discarded() || !j.is_object() ? nlohmann::json::object() : j;
}

// Writes the record, or removes the file when no part is left.
Result<void> WriteStateJson(uint64_t cgroup_id, nlohmann::json j) {
  const std::string path = StatePath(cgroup_id), tmp = path + ".tmp";
  if (!j.contains("netns_inode") && !j.contains("memory")) {
    ::unlink(path.c_str());
    return {};
  }
  j["cgroup_id"] = cgroup_id;
  std::error_code ec;
  std::filesystem::create_directories(RunDir(), ec);
  // Write then rename: a crash mid-write never leaves a half record.
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump() << "\n";
    out.flush();
    if (!out) return Fail("write(" + tmp + ")", errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Fail("rename(" + path + ")", errno);
  return {};
}

constexpr const char* kSteeringKeys[] = {"netns_inode", "netns_path", "attach", "ifb",
                                         "interfaces"};

// Each state file's record, parsed.
template <typename Fn>
void ForEachState(Fn&& fn) {
  std::error_code ec;
  for (const auto& ent : std::filesystem::directory_iterator(RunDir(), ec)) {
    const std::string name = ent.path().filename().string();
    if (name.size() < 11 || name.substr(name.size() - 11) != ".state.json") continue;
    auto j = ReadStateJson(ent.path().string());
    if (!j.empty()) fn(j);
  }
}

}  // namespace

std::string RunDir() {
  const char* dir = std::getenv("MMCHAOS_RUN_DIR");
  return dir && *dir ? dir : kRunDir;
}

Result<void> WriteState(const PlacedState& s) {
  nlohmann::json ifaces = nlohmann::json::array();
  for (const auto& i : s.steering.ifaces)
    ifaces.push_back({{"name", i.name},
                      {"ifindex", i.ifindex},
                      {"clsact_created", i.clsact_created},
                      {"bounce", i.bounce}});
  auto j = ReadStateJson(StatePath(s.cgroup_id));
  j["netns_inode"] = s.steering.netns_inode;
  j["netns_path"] = s.steering.netns_path;
  j["attach"] = TcAttachName(s.steering.attach);
  j["ifb"] = s.steering.ifb;
  j["interfaces"] = ifaces;
  return WriteStateJson(s.cgroup_id, std::move(j));
}

void RemoveState(uint64_t cgroup_id) {
  auto j = ReadStateJson(StatePath(cgroup_id));
  for (const char* k : kSteeringKeys) j.erase(k);
  (void)WriteStateJson(cgroup_id, std::move(j));
}

std::vector<PlacedState> ReadStates() {
  std::vector<PlacedState> out;
  ForEachState([&](const nlohmann::json& j) {
    if (!j.contains("netns_inode")) return;  // no steering part
    PlacedState s;
    s.cgroup_id = j.value("cgroup_id", uint64_t{0});
    s.steering.netns_inode = j.value("netns_inode", uint64_t{0});
    s.steering.netns_path = j.value("netns_path", "");
    s.steering.ifb = j.value("ifb", "");
    s.steering.attach = j.value("attach", "clsact") == "tcx" ? TcAttach::kTcx : TcAttach::kClsact;
    for (const auto& i : j.value("interfaces", nlohmann::json::array()))
      s.steering.ifaces.push_back({i.value("name", ""), i.value("ifindex", 0),
                                   i.value("clsact_created", false), i.value("bounce", "")});
    out.push_back(std::move(s));
  });
  return out;
}

Result<void> WriteMemoryRecord(const MemoryHighRecord& m) {
  auto j = ReadStateJson(StatePath(m.cgroup_id));
  j["memory"] = {{"cgroup", m.cgroup}, {"original", m.original}, {"applied", m.applied}};
  return WriteStateJson(m.cgroup_id, std::move(j));
}

void RemoveMemoryRecord(uint64_t cgroup_id) {
  auto j = ReadStateJson(StatePath(cgroup_id));
  j.erase("memory");
  (void)WriteStateJson(cgroup_id, std::move(j));
}

std::vector<MemoryHighRecord> ReadMemoryRecords() {
  std::vector<MemoryHighRecord> out;
  ForEachState([&](const nlohmann::json& j) {
    if (!j.contains("memory") || !j["memory"].is_object()) return;
    const auto& m = j["memory"];
    out.push_back({j.value("cgroup_id", uint64_t{0}), m.value("cgroup", ""),
                   m.value("original", ""), m.value("applied", "")});
  });
  return out;
}

bool ControllerAlive(uint64_t cgroup_id) {
  for (const auto& r : LiveControllers())
    if (r.cgroup_id == cgroup_id) return true;
  return false;
}

Result<ControllerLock> ControllerLock::Acquire(const ControllerRecord& rec) {
  std::error_code ec;
  std::filesystem::create_directories(RunDir(), ec);
  if (ec) return Fail("mkdir " + RunDir(), ec.value(), PrivilegeHint(ec.value()));
  ControllerLock lock;
  lock.path_ = LockPath(rec.cgroup_id);
  lock.fd_.reset(::open(lock.path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock.fd_) return Fail("open(" + lock.path_ + ")", errno, PrivilegeHint(errno));
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
  ForEachRecord([&](const std::string&, bool held, const ControllerRecord& rec) {
    if (held) out.push_back(rec);
  });
  return out;
}

int RemoveStaleRecords() {
  int removed = 0;
  ForEachRecord([&](const std::string& path, bool held, const ControllerRecord&) {
    if (!held && ::unlink(path.c_str()) == 0) ++removed;
  });
  return removed;
}

}  // namespace mmchaos
