#include "clock/clock_skew.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "clock.h"
#include "common/log.h"
#include "loader/dataplane.h"

namespace mmchaos {

ClockChoice ChooseClockMechanism(const Config& cfg) {
  const std::string& m = cfg.faults.clock_skew_mechanism;
  if (m == "preload") return {ClockMechanism::kPreload, "faults.clock_skew_mechanism is preload"};
  Result<void> uprobes = ProbeClockUprobe(true);
  if (uprobes) return {ClockMechanism::kUprobe, ""};
  return {ClockMechanism::kPreload, uprobes.error().message()};
}

uint32_t ClockMask(const Config& cfg) {
  uint32_t mask = 0;
  for (const auto& c : cfg.faults.clock_skew_clocks) {
    if (c == "realtime") mask |= MMC_CLOCK_REALTIME;
    if (c == "monotonic") mask |= MMC_CLOCK_MONOTONIC;
  }
  return mask;
}

std::vector<std::string> CheckClockSkew(const Config& cfg, bool probe) {
  std::vector<std::string> out;
  if (cfg.chaos.clock_skew_ms == 0) return out;
  if (ClockMask(cfg) == 0)
    out.push_back(
        "chaos.clock_skew_ms is set but faults.clock_skew_clocks is empty: name the "
        "clocks to skew (realtime, monotonic)");
  if (probe && cfg.faults.clock_skew_mechanism == "uprobe") {
    if (Result<void> uprobes = ProbeClockUprobe(true); !uprobes)
      out.push_back("faults.clock_skew_mechanism is uprobe, and this kernel cannot run it (" +
                    uprobes.error().message() +
                    "): set it to auto or preload and start the engine through `mmchaos exec`");
  }
  return out;
}

std::string ClockSkewNote(const Config& cfg) {
  if (cfg.chaos.clock_skew_ms == 0) return {};
  ClockChoice ch = ChooseClockMechanism(cfg);
  if (ch.mechanism == ClockMechanism::kUprobe)
    return "clock_skew_ms: uprobes on the C library's clock_gettime, filtered by the target "
           "cgroup (dynamically linked glibc engines; gettimeofday() and time() are not "
           "adjusted by this mechanism: faults.clock_skew_mechanism: preload covers them)";
  return "clock_skew_ms: preload fallback (" + ch.why +
         "): the engine must be started through `mmchaos exec -c " +
         (cfg.source.empty() ? std::string("FILE") : cfg.source) +
         " -- CMD [ARGS...]`; engines started otherwise, static binaries and Go programs are not "
         "skewed";
}

std::string PreloadLibraryPath() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  auto dir = exe.parent_path();
  for (const auto& p :
       {dir / "libmmchaos-clock.so", dir / ".." / "lib" / "mmchaos" / "libmmchaos-clock.so"})
    if (std::filesystem::exists(p, ec)) return std::filesystem::weakly_canonical(p, ec).string();
  return {};
}

ClockSkew::ClockSkew(const DataPlane& plane, int cgroup_fd, std::string cgroup,
                     SharedRecord& record)
    : UprobeFault("clock_skew", plane, cgroup_fd, std::move(cgroup), record) {}

ClockSkew::~ClockSkew() { Clear(); }

Result<void> ClockSkew::Apply(const Config& c, const mmc_config& k) {
  if (!c.chaos.enabled || c.chaos.clock_skew_ms == 0) {
    Clear();
    return {};
  }
  if (c.faults.clock_skew_mechanism != mechanism_key_) Clear();
  std::lock_guard<std::mutex> l(mu_);
  std::string why_preload;  // set when the preload is chosen now
  if (!uprobes_ && !preload_) {
    mechanism_key_ = c.faults.clock_skew_mechanism;
    ClockChoice ch = ChooseClockMechanism(c);
    if (ch.mechanism == ClockMechanism::kUprobe) {
      if (auto u = AttachUprobes(); !u) return u;
      Logf(
          "clock_skew: uprobes on clock_gettime, per process of %s (%zu now; a newcomer from its "
          "\"covered by the uprobes\" line, within a loop tick)",
          cgroup_.c_str(), uprobes_->processes());
    } else {
      preload_ = true;
      why_preload = ch.why;
    }
  }
  // The uprobes read mmc_cfg (written by the caller); the preloads read the shared record.
  if (preload_) {
    mmc_clock_view v{};
    FillCommonFields(v, k, c.target.heartbeat_ms);
    v.clocks = k.clock_mask;
    v.skew_ns = k.clock_skew_ns;
    if (auto u = record_.Use(SharedRecord::kClock, [&](ClockState& s) { s.Write(v); }); !u)
      return u;
    // Said once the record exists: `mmchaos exec` started now finds it.
    if (!why_preload.empty())
      Logf("clock_skew: preload fallback through %s (%s): start the engine with `mmchaos exec`",
           record_.path().c_str(), why_preload.c_str());
  }
  return {};
}

void ClockSkew::AddCounts(Counters& c) {
  for (int mode = 0; mode < MMC_MODE_MAX; ++mode)
    c[mmc_injection_slot(MMC_SCN_CLOCK_SKEW, static_cast<mmc_mode>(mode))] +=
        record_.ClockReads(mode);
}

void ClockSkew::Clear() {
  Reset(SharedRecord::kClock, [](ClockState& s) { s.Write({}); });
}

}  // namespace mmchaos
