#include "controller/mem_path.h"

#include <cstdio>
#include <map>

#include "common/log.h"
#include "controller/registry.h"
#include "loader/counters.h"
#include "schedule.h"

namespace mmchaos {
namespace {}  // namespace

MemPressurePath::MemPressurePath(std::string cgroup, uint64_t cgroup_id, int counters_fd)
    : cgroup_(std::move(cgroup)), cgroup_id_(cgroup_id), counters_fd_(counters_fd) {
  for (const auto& rec : ReadMemoryRecords()) {
    if (rec.cgroup_id != cgroup_id_) continue;
    auto r = RestoreMemoryHigh(rec);
    Log("stale mem_pressure record: " + (r ? *r : r.error().message()));
    if (r)
      RemoveMemoryRecord(cgroup_id_);
    else
      restore_failed_ = true;
  }
  // The cgroup's own mark, when the record of it is damaged or lost.
  if (auto marked = MarkedMemoryHigh(cgroup_); marked && !restore_failed_) {
    auto r = RestoreMemoryHigh(*marked);
    Log("stale mem_pressure mark without a record: " + (r ? *r : r.error().message()));
    if (!r) restore_failed_ = true;
  }
}

void MemPressurePath::Count(mmc_mode mode) {
  if (auto r = AddToCounter(counters_fd_, mmc_injection_slot(MMC_SCN_MEM_PRESSURE, mode), 1); !r)
    Log("mem_pressure: count: " + r.error().message());
}

void MemPressurePath::Tick(const Config& cfg, const mmc_config& k, bool active, uint64_t now_ns) {
  const MemPressure level = cfg.chaos.mem_pressure;
  mmc_phase ph = mmc_schedule_phase(k.epoch_ns, k.on_ns, k.off_ns, now_ns);
  if (!active || !ph.on || level == MemPressure::kNone) return Release();
  // A level or mode changed by SIGHUP mid-burst applies at once.
  if (squeeze_ && (squeeze_->level() != level || k.dry_run)) Release();
  if (squeeze_) return;
  const bool dry_run = k.dry_run != 0;
  if (handled_epoch_ == k.epoch_ns && handled_burst_ == static_cast<int64_t>(ph.burst) &&
      handled_level_ == level && handled_dry_run_ == dry_run)
    return;  // this burst was handled: applied, counted, or failed once
  handled_epoch_ = k.epoch_ns;
  handled_burst_ = static_cast<int64_t>(ph.burst);
  handled_level_ = level;
  handled_dry_run_ = dry_run;
  const std::string burst = "burst " + std::to_string(ph.burst);
  // The record on disk still holds the true original; a new squeeze would overwrite it with the
  // lowered value.
  if (restore_failed_ && !dry_run)
    return Log("mem_pressure: " + burst + ": not lowering memory.high of " + cgroup_ +
               ": an earlier restore failed; run `mmchaos rollback`");
  if (dry_run) {
    auto plan = PlannedMemoryHigh(cgroup_, level);
    if (!plan) return Log("mem_pressure (shadow): " + plan.error().message());
    if (!*plan) return;
    Count(MMC_MODE_SHADOW);
    Log("mem_pressure (shadow): " + burst + ": would lower memory.high of " + cgroup_ + " to " +
        std::to_string(**plan));
    return;
  }
  auto sq = MemorySqueeze::Apply(
      cgroup_, cgroup_id_, level, [](const MemoryHighRecord& r) { return WriteMemoryRecord(r); },
      [this](const Result<std::string>& restored) {
        if (restored) {
          RemoveMemoryRecord(cgroup_id_);
          Log("mem_pressure: " + *restored);
        } else {
          restore_failed_ = true;
          Log("mem_pressure: restore failed, the record stays for `mmchaos rollback`: " +
              restored.error().message());
        }
      });
  if (!sq) return Log("mem_pressure: " + burst + ": " + sq.error().message());
  if (!*sq)
    return Log("mem_pressure: " + burst + ": memory.high is already at or below the " +
               MemPressureName(level) + " level's value: nothing to lower");
  squeeze_ = std::move(*sq);
  Count(MMC_MODE_LIVE);
  const auto& r = squeeze_->record();
  Log("mem_pressure: " + burst + ": memory.high of " + cgroup_ + " lowered from " + r.original +
      " to " + r.applied + " (" + MemPressureName(level) + ", memory.current " +
      std::to_string(squeeze_->current()) + ")");
}

void MemPressurePath::Release() {
  squeeze_.reset();
  handled_burst_ = -1;  // re-armed (SIGHUP enabled: true) mid-burst squeezes again
}

std::vector<MemoryRestore> RestoreRecordedMemory(bool also_live) {
  std::vector<MemoryRestore> done;
  for (const auto& rec : ReadMemoryRecords()) {
    bool live = ControllerAlive(rec.cgroup_id);
    if (live && !also_live) continue;
    auto r = RestoreMemoryHigh(rec);
    if (!r) {
      done.push_back({rec, "cannot restore memory.high of " + rec.cgroup + " to " + rec.original +
                               ": " + r.error().message()});
      continue;
    }
    done.push_back({rec, *r});
    if (!live) RemoveMemoryRecord(rec.cgroup_id);
  }
  return done;
}

std::vector<std::string> DescribeMemoryRollback(const std::vector<MemoryHighRecord>& before,
                                                const std::vector<MemoryRestore>& attempts) {
  // The last attempt per cgroup says why it is not restored, if it is not.
  std::map<uint64_t, std::pair<MemoryHighRecord, std::string>> by_id;
  for (const auto& rec : before) by_id[rec.cgroup_id] = {rec, ""};
  for (const auto& a : attempts) by_id[a.rec.cgroup_id] = {a.rec, a.message};
  std::vector<std::string> out;
  for (const auto& [id, entry] : by_id) {
    const auto& [rec, why] = entry;
    if (MemoryHighIsOriginal(rec))
      out.push_back("memory.high of " + rec.cgroup + " restored to " + rec.original);
    else if (!why.empty())
      out.push_back(why);
    else  // its controller removed the record, and did not restore it: it said why in its log
      out.push_back("memory.high of " + rec.cgroup + " was not restored to " + rec.original +
                    " by its controller: see its log");
  }
  return out;
}

}  // namespace mmchaos
