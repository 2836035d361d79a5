// Finding what mmchaos has attached on this host from any process, with no state of our own:
// the kernel's link, program and map ids are walked and mmchaos' programs recognised by their
// mmc_ name prefix: cgroup links, and tcx links on interfaces (in any netns: link ids are
// global). Nothing is pinned, so after a crash there is nothing stale to find.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "loader/counters.h"

namespace mmchaos {

struct AttachedLink {
  uint32_t link_id = 0;
  uint32_t prog_id = 0;
  std::string prog_name;
  bool tcx = false;        // a tcx link on an interface, else a cgroup link
  uint64_t cgroup_id = 0;  // cgroup links: 0 once detached
  uint32_t ifindex = 0;    // tcx links: 0 once detached (in the link's own netns)
  uint32_t attach_type = 0;
  bool attached() const { return tcx ? ifindex != 0 : cgroup_id != 0; }
};

// One loaded mmchaos data plane (one controller), keyed by its config map.
struct AttachedDataPlane {
  uint32_t config_map_id = 0;
  uint32_t counters_map_id = 0;
  std::vector<AttachedLink> links;
  std::optional<mmc_config> config;
  std::optional<Counters> counters;
};

// Every cgroup or tcx link whose program is one of ours, grouped by data plane.
Result<std::vector<AttachedDataPlane>> FindAttached();

// Detaches every link of ours (BPF_LINK_DETACH works on links another process owns: the
// controller's fds stay open but the hook is gone at once). Returns how many were detached.
Result<int> DetachAll();

}  // namespace mmchaos
