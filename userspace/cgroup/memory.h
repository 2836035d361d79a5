// The cgroup v2 memory controller as mem_pressure uses it: whether a target has it, the squeeze
// arithmetic per level, the cgroup's memory PSI, and the squeeze itself (an RAII object that
// lowers memory.high and puts back exactly what it found).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "config/config.h"

namespace mmchaos {

// memory.high is never set below this, whatever the level: below it a burst would stall a small
// engine outright instead of squeezing it.
inline constexpr uint64_t kMemoryHighFloor = 32ULL << 20;
// "max" (no limit) as a number.
inline constexpr uint64_t kMemoryUnlimited = ~0ULL;

// Share of memory.current a level lowers memory.high to: low 0.90, medium 0.75, high 0.50
// (none 1.0, nothing lowered).
double MemoryHighFraction(MemPressure level);

// The memory.high a burst sets: current * fraction rounded down to a page, at least the floor,
// or nullopt when that would not lower memory.high below original (kMemoryUnlimited = "max").
std::optional<uint64_t> SqueezedMemoryHigh(MemPressure level, uint64_t current, uint64_t original,
                                           uint64_t page_size);

// "max" -> kMemoryUnlimited, a decimal byte count -> itself; nullopt otherwise.
std::optional<uint64_t> ParseMemoryValue(std::string_view text);

// Why the memory controller cannot serve mem_pressure on target, or "" when it can: the cgroup v2
// hierarchy at mount must have it (cgroup.controllers) and target's parent must enable it for its
// children (cgroup.subtree_control). target "" checks the hierarchy only. mmchaos never enables a
// controller itself: that changes accounting for every cgroup below, the operator's call.
std::string MemoryControllerProblem(const std::string& mount, const std::string& target);
// The same against this host's cgroup v2 mount.
std::string MemoryControllerProblem(const std::string& target);

// The cgroup's memory PSI (memory.pressure): share of the last 10 s in which some / all of its
// tasks stalled on memory (percent, as the kernel prints it), and the total stall time.
struct MemoryPsi {
  double some_avg10 = 0, full_avg10 = 0;
  uint64_t some_total_us = 0, full_total_us = 0;
};
std::optional<MemoryPsi> ParseMemoryPsi(std::string_view text);
std::optional<MemoryPsi> ReadMemoryPsi(const std::string& cgroup);

// What a burst would set memory.high to now (reads memory.current and memory.high; writes
// nothing): the shadow-mode decision, and the first half of MemorySqueeze::Apply.
Result<std::optional<uint64_t>> PlannedMemoryHigh(const std::string& cgroup, MemPressure level);

// One lowered memory.high, as recorded on disk before it is written.
struct MemoryHighRecord {
  uint64_t cgroup_id = 0;
  std::string cgroup;    // its directory
  std::string original;  // memory.high as read before, exactly ("max" or bytes)
  std::string applied;   // what mmchaos wrote, as the kernel reads it back
};

// Puts memory.high back to rec.original, unless someone else changed it since mmchaos lowered it
// (then it is left alone and the message says so) or the cgroup is gone. Returns what was done.
Result<std::string> RestoreMemoryHigh(const MemoryHighRecord& rec);

// Whether rec's cgroup (the same one, by id) has rec.original as its memory.high now.
bool MemoryHighIsOriginal(const MemoryHighRecord& rec);

// The record kept a second time on the cgroup itself while memory.high is lowered: an extended
// attribute in the trusted namespace (only CAP_SYS_ADMIN reads or writes it; cgroupfs keeps it in
// memory, so it goes with the cgroup and with a reboot, like the value it restores). Value
// "ORIGINAL APPLIED". It lets `rollback` and the next `run` restore memory.high when the record
// in /run/mmchaos is damaged, deleted or was never written whole.
inline constexpr const char kMemoryHighXattr[] = "trusted.mmchaos.memory_high";
// The record the xattr on cgroup holds (its id: the directory's), nullopt when it has none or
// what it holds is not "ORIGINAL APPLIED".
std::optional<MemoryHighRecord> MarkedMemoryHigh(const std::string& cgroup);
// Every cgroup under dir (itself included) whose memory.high mmchaos lowered by its xattr:
// restored as RestoreMemoryHigh does and unmarked once restored. One line per cgroup found.
std::vector<std::string> RestoreMarkedMemory(const std::string& dir);

// Lowers a cgroup's memory.high for one burst; the destructor restores it (RestoreMemoryHigh) and,
// once restored, calls forget so the record on disk goes too.
class MemorySqueeze {
 public:
  using RecordFn = std::function<Result<void>(const MemoryHighRecord&)>;
  using ForgetFn = std::function<void(const Result<std::string>&)>;
  // Reads memory.current and memory.high, and when the level lowers memory.high calls record
  // (which must succeed: a crash after the write is then undoable) and writes it. nullptr when
  // there is nothing to lower (memory.high already at or below the squeezed value).
  static Result<std::unique_ptr<MemorySqueeze>> Apply(const std::string& cgroup, uint64_t cgroup_id,
                                                      MemPressure level, const RecordFn& record,
                                                      ForgetFn forget);
  ~MemorySqueeze();
  MemorySqueeze(const MemorySqueeze&) = delete;
  MemorySqueeze& operator=(const MemorySqueeze&) = delete;
  const MemoryHighRecord& record() const { return rec_; }
  MemPressure level() const { return level_; }
  uint64_t current() const { return current_; }

 private:
  MemorySqueeze() = default;
  MemoryHighRecord rec_;
  MemPressure level_ = MemPressure::kNone;
  uint64_t current_ = 0;
  ForgetFn forget_;
};

}  // namespace mmchaos
