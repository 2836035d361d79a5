// Where this host mounts the cgroup v2 hierarchy, and whether a path is one of its roots: the
// only host probing config parsing needs (target.cgroup may not be a root), kept out of config/
// so that parsing itself stays pure.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace mmchaos {

// Every cgroup2 mount point in /proc/self/mountinfo, in its order (mountinfo's \ooo escapes
// decoded).
Result<std::vector<std::string>> Cgroup2MountPoints();

// The cgroup2 mount point, read from /proc/self/mountinfo (/sys/fs/cgroup on unified hosts,
// /sys/fs/cgroup/unified on hybrid ones): never hard-coded. The first when there are several.
Result<std::string> Cgroup2Mount();

// True if `path` names a cgroup v2 hierarchy root (or "/"): by name (the well-known roots and
// this host's mount points, lexically normalized), then by inode (symlinks, bind mounts,
// relative paths).
bool IsRootCgroup(const std::string& path);

}  // namespace mmchaos
