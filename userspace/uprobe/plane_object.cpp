#include "uprobe/plane_object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdint>

#include "loader/dataplane.h"

namespace mmchaos {

Result<void> LoadOnDataPlane(bpf_object* obj, const DataPlane& plane,
                             const std::function<int()>& load, const std::string& what,
                             const std::string& refused, bpf_map* cgroup_filter, int cgroup_fd) {
  // Same-named maps become the data plane's: one config, one set of counters, one log.
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    const bpf_map* theirs = bpf_object__find_map_by_name(plane.object(), bpf_map__name(m));
    if (!theirs) continue;
    if (int err = bpf_map__reuse_fd(m, bpf_map__fd(theirs)); err != 0)
      return Fail(std::string("bpf_map__reuse_fd(") + bpf_map__name(m) + ")", err);
  }
  if (int err = load(); err != 0) return Fail(what + "__load (verifier)", err, refused);
  uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(cgroup_filter), &zero, &cgroup_fd, BPF_ANY) != 0)
    return Fail(std::string("bpf_map_update_elem(") + bpf_map__name(cgroup_filter) + ")", errno);
  return {};
}

}  // namespace mmchaos
