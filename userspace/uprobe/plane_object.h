// How a uprobe scenario's BPF object joins the data plane (clock_skew's and the TLS rewrites'):
// its maps named as the data plane's become those maps (one config, one set of counters, one
// event log), it is loaded, and its cgroup filter map points at the target cgroup. One sequence
// for every scenario that rewrites through uprobes.
#pragma once

#include <functional>
#include <string>

#include "common/error.h"

struct bpf_object;
struct bpf_map;

namespace mmchaos {

class DataPlane;

// obj: the opened (not loaded) object; load: its skeleton's load (0 or a negative errno);
// what: the object in the message ("mmchaos_tls_bpf"); refused: the hint when the verifier
// refuses it (why and what to use instead); cgroup_filter: the object's one-entry array of the
// target cgroup (bpf_current_task_under_cgroup), set to cgroup_fd once loaded.
Result<void> LoadOnDataPlane(bpf_object* obj, const DataPlane& plane,
                             const std::function<int()>& load, const std::string& what,
                             const std::string& refused, bpf_map* cgroup_filter, int cgroup_fd);

}  // namespace mmchaos
