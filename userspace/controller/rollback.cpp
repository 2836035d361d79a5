#include "controller/rollback.h"

#include <chrono>
#include <thread>

#include "cgroup/cgroup.h"
#include "cgroup/memory.h"
#include "clock/clock_state.h"
#include "controller/mem_path.h"
#include "controller/tc_path.h"
#include "discovery/discovery.h"
#include "tc/netns.h"
#include "tc/steering.h"
#include "uprobe/coverage.h"

namespace mmchaos {
namespace {

// Everything of mmchaos' that no record accounts for any more: every netns's devices and filters
// (the recorded ones are gone by now), every marked cgroup's memory.high.
void RemoveUnrecorded(RollbackOutcome& o) {
  for (const auto& ns : AllNetns()) {
    auto guard = NetnsGuard::Enter(ns == "/proc/self/ns/net" ? "" : ns);
    if (!guard) continue;  // its process exited since it was listed: nothing in it survives
    auto all = [](const std::string&) { return true; };
    auto found = RemoveUnrecordedSteering(all, all);
    const std::string where = ns == "/proc/self/ns/net" ? "" : " (netns " + ns + ")";
    for (auto& m : found.done) o.done.push_back("found without a record: " + m + where);
    for (auto& m : found.left) o.left.push_back(m + where);
  }
  auto mount = Cgroup2Mount();
  if (!mount) {
    o.left.push_back("memory.high marks not looked for: " + mount.error().message());
    return;
  }
  for (auto& m : RestoreMarkedMemory(*mount))
    (m.starts_with("cannot ") || m.find("left as is") != std::string::npos ? o.left : o.done)
        .push_back(std::move(m));
}

// " (pid 812 gone)", " (pids 812, 813 gone)"; "" when no removed record named its controller.
std::string GonePids(const std::vector<ControllerRecord>& stale) {
  std::string pids;
  size_t n = 0;
  for (const auto& r : stale) {
    if (r.pid <= 0) continue;
    pids += (n++ ? ", " : "") + std::to_string(r.pid);
  }
  if (n == 0) return "";
  return std::string(" (pid") + (n > 1 ? "s " : " ") + pids + " gone)";
}

}  // namespace

std::string RollbackSummary(const RollbackOutcome& o) {
  const std::string stale = std::to_string(o.stale_removed.size()) + " stale record(s)";
  if (o.links_detached == 0 && o.controllers_stopped == 0 && o.done.empty()) {
    if (o.stale_removed.empty()) return "nothing to roll back";
    return "removed " + stale + GonePids(o.stale_removed) + ": nothing was attached";
  }
  std::string s = "rolled back: " + std::to_string(o.links_detached) + " link(s) detached, " +
                  std::to_string(o.controllers_stopped) + " controller(s) stopped";
  if (!o.stale_removed.empty()) s += ", " + stale + " removed" + GonePids(o.stale_removed);
  return s;
}

RollbackOutcome RollbackHost() {
  RollbackOutcome o;
  // What memory.high records say before the links go: a live controller that notices restores
  // and removes its own record, racing us, and the report must still name every cgroup. Bounded
  // reads of our own state files (safe_file), so the emergency stop is not delayed.
  const auto memory_before = ReadMemoryRecords();
  // The kernel's links first: they are the data path, found by walking kernel ids, so nothing
  // on disk (a damaged or planted record) can stop or delay the emergency stop.
  auto detached = DetachAll();
  // clock_skew's preloads read true time from the instant their record is disarmed.
  const int clocks = RemoveClockStates();
  o.controllers_stopped = LiveControllers().size();
  // memory.high next; live controllers restore it too on their way out (a no-op for whoever
  // comes second: RestoreMemoryHigh sees the original).
  auto memory = RestoreRecordedMemory(true);
  if (!detached) {
    o.detach_error = detached.error();
    o.done = DescribeMemoryRollback(memory_before, memory);
    if (auto mount = Cgroup2Mount(); mount)
      for (auto& m : RestoreMarkedMemory(*mount)) o.done.push_back(std::move(m));
    return o;
  }
  o.links_detached = *detached;
  // The netem path of live controllers too: their filters would otherwise steer until they
  // notice. Removing twice is harmless; they do it again on their way out.
  o.done = RemoveRecordedPaths(true);
  // Running controllers notice their links are gone within a tick and exit; wait for them so
  // that `status` right after shows nothing.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!LiveControllers().empty() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (auto& m : RemoveRecordedPaths(false)) o.done.push_back(std::move(m));
  for (auto& m : RestoreRecordedMemory(false)) memory.push_back(std::move(m));
  for (auto& m : DescribeMemoryRollback(memory_before, memory)) o.done.push_back(std::move(m));
  RemoveUnrecorded(o);
  o.stale_removed = RemoveStaleRecords();
  RemoveStaleCoverage();  // part of those controllers' records (uprobe/coverage.h)
  if (clocks)
    o.done.push_back(std::to_string(clocks) + " clock_skew record(s) disarmed and removed");
  if (auto left = LiveControllers(); !left.empty()) o.still_running = left.front().pid;
  o.damaged = DamagedRecords();
  return o;
}

}  // namespace mmchaos
