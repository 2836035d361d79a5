// clock_skew_ms in the controller: which mechanism runs it here (the uprobes where the kernel
// allows bpf_probe_write_user, else the preload of `mmchaos exec`), keeping it in step with the
// config, its heartbeat, and its share of mm_chaos_injections_total.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "clock/clock_uprobe.h"
#include "clock/shared_record.h"
#include "config/config.h"
#include "loader/counters.h"
#include "mmchaos.h"
#include "uprobe/uprobe_fault.h"

namespace mmchaos {

enum class ClockMechanism { kUprobe, kPreload };

struct ClockChoice {
  ClockMechanism mechanism = ClockMechanism::kPreload;
  std::string why;  // why not the uprobes (empty when they are used)
};

// faults.clock_skew_mechanism resolved on this kernel: auto tries to load the uprobe programs.
ClockChoice ChooseClockMechanism(const Config& cfg);

// faults.clock_skew_clocks as a MMC_CLOCK_* mask.
uint32_t ClockMask(const Config& cfg);

// What `validate` and `run` say about clock_skew_ms (empty when it is 0): refusals (the
// uprobes are required and this kernel refuses them) and the note on the mechanism in use.
// probe: whether the kernel may be tried (BPF loads) for a required uprobe mechanism.
std::vector<std::string> CheckClockSkew(const Config& cfg, bool probe = true);
std::string ClockSkewNote(const Config& cfg);

// The preload library `mmchaos exec` loads into the engine: next to the mmchaos binary, or in
// ../lib/mmchaos/ from it. Empty when not found.
std::string PreloadLibraryPath();

// Sync(): the uprobes follow the target cgroup's processes (every loop tick).
class ClockSkew : public UprobeFault<ClockUprobes> {
 public:
  ClockSkew(const DataPlane& plane, int cgroup_fd, std::string cgroup, SharedRecord& record);
  ~ClockSkew();  // Clear()

  // Makes the mechanism match the config (k: the kernel record with the burst schedule).
  // Nothing runs while chaos.enabled is false or clock_skew_ms is 0.
  Result<void> Apply(const Config& c, const mmc_config& k);
  // Adds the preloads' counts to the data plane's (the uprobes count in the maps already).
  void AddCounts(Counters& c);
  // Detaches the uprobes, disarms clock_skew's part of the shared record (idempotent).
  void Clear();
};

}  // namespace mmchaos
