// Finding the cgroup v2 hierarchy and the engine's cgroup in it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "cgroup/mounts.h"  // Cgroup2Mount
#include "common/error.h"
#include "common/fd.h"

namespace mmchaos {

// The v2 cgroup directory of a process ("0::/path" in /proc/PID/cgroup).
Result<std::string> CgroupOfPid(pid_t pid);

// Resolves the target: --pid wins over --cgroup, which wins over the config. Refuses the root
// cgroup and anything that is not a directory of the cgroup2 hierarchy.
Result<std::string> ResolveTargetCgroup(const std::string& from_config, const std::string& flag,
                                        pid_t pid);

// The kernel's id of a cgroup (its kernfs inode number), as bpf link info reports it.
Result<uint64_t> CgroupId(const std::string& path);

Result<UniqueFd> OpenCgroup(const std::string& path);

}  // namespace mmchaos
