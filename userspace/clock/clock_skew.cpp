#include "clock/clock_skew.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "clock.h"
#include "loader/dataplane.h"

namespace mmchaos {

ClockChoice ChooseClockMechanism(const Config& cfg) {
  const std::string& m = cfg.faults.clock_skew_mechanism;
  if (m == "preload") return {ClockMechanism::kPreload, "faults.clock_skew_mechanism is preload"};
  std::string why = ProbeClockUprobe(true);
  if (why.empty()) return {ClockMechanism::kUprobe, ""};
  return {ClockMechanism::kPreload, why};
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
    std::string why = ProbeClockUprobe(true);
    if (!why.empty())
      out.push_back("faults.clock_skew_mechanism is uprobe, and this kernel cannot run it (" + why +
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

ClockSkew::ClockSkew(const DataPlane& plane, int cgroup_fd, std::string cgroup, uint64_t cgroup_id)
    : plane_(plane), cgroup_fd_(cgroup_fd), cgroup_(std::move(cgroup)), cgroup_id_(cgroup_id) {}

ClockSkew::~ClockSkew() { Clear(); }

Result<void> ClockSkew::Apply(const Config& c, const mmc_config& k) {
  if (!c.chaos.enabled || c.chaos.clock_skew_ms == 0) {
    Clear();
    return {};
  }
  if (c.faults.clock_skew_mechanism != mechanism_key_) Clear();
  std::lock_guard<std::mutex> l(mu_);
  if (!uprobes_ && !state_) {
    mechanism_key_ = c.faults.clock_skew_mechanism;
    ClockChoice ch = ChooseClockMechanism(c);
    if (ch.mechanism == ClockMechanism::kUprobe) {
      const std::string libc = LibcPath(cgroup_);
      auto u = ClockUprobes::Attach(plane_, cgroup_fd_, libc);
      if (!u) return std::unexpected(u.error());
      uprobes_ = std::move(*u);
      std::fprintf(stderr, "mmchaos: clock_skew: uprobes on %s:clock_gettime\n", libc.c_str());
    } else {
      auto s = ClockState::Create(cgroup_id_);
      if (!s) return std::unexpected(s.error());
      state_.emplace(std::move(*s));
      std::fprintf(stderr,
                   "mmchaos: clock_skew: preload fallback through %s (%s): start the engine "
                   "with `mmchaos exec`\n",
                   state_->path().c_str(), ch.why.c_str());
    }
  }
  // The uprobes read mmc_cfg (written by the caller); the preloads read the shared record.
  if (state_) {
    mmc_clock_view v{};
    v.armed = k.armed;
    v.dry_run = k.dry_run;
    v.clocks = k.clock_mask;
    v.skew_ns = k.clock_skew_ns;
    v.epoch_ns = k.epoch_ns;
    v.on_ns = k.on_ns;
    v.off_ns = k.off_ns;
    v.rollout_threshold = k.rollout_threshold;
    v.seed = k.seed;
    v.heartbeat_timeout_ns = 2ULL * static_cast<uint64_t>(c.target.heartbeat_ms) * 1000000ULL;
    state_->Write(v);
  }
  return {};
}

void ClockSkew::Beat(uint64_t now_ns) {
  std::lock_guard<std::mutex> l(mu_);
  if (state_) state_->Beat(now_ns);
}

void ClockSkew::AddCounts(Counters& c) {
  std::lock_guard<std::mutex> l(mu_);
  for (int mode = 0; mode < MMC_MODE_MAX; ++mode)
    c[mmc_injection_slot(MMC_SCN_CLOCK_SKEW, static_cast<mmc_mode>(mode))] +=
        carried_[mode] + (state_ ? state_->Reads(mode) : 0);
}

void ClockSkew::Clear() {
  std::lock_guard<std::mutex> l(mu_);
  uprobes_.reset();
  if (state_)
    for (int mode = 0; mode < MMC_MODE_MAX; ++mode) carried_[mode] += state_->Reads(mode);
  state_.reset();
  mechanism_key_.clear();
}

}  // namespace mmchaos
