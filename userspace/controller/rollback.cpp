#include "controller/rollback.h"

#include <chrono>
#include <thread>

#include "clock/clock_state.h"
#include "controller/mem_path.h"
#include "controller/tc_path.h"
#include "discovery/discovery.h"

namespace mmchaos {

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
  o.stale_removed = RemoveStaleRecords();
  if (clocks)
    o.done.push_back(std::to_string(clocks) + " clock_skew record(s) disarmed and removed");
  if (auto left = LiveControllers(); !left.empty()) o.still_running = left.front().pid;
  o.damaged = DamagedRecords();
  return o;
}

}  // namespace mmchaos
