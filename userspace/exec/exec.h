// `mmchaos exec -c FILE -- CMD [ARGS...]`: start a command where mmchaos targets the engine: in
// target.cgroup (and target.netns, if set), with the clock_skew preload where the kernel cannot
// run the uprobe mechanism; where a controller's uprobes cover the cgroup, once this process is
// covered (uprobe/coverage.h). The command replaces this process, so its exit status is exec's.
#pragma once

#include <string>
#include <vector>

namespace mmchaos {

// Exit codes of exec's own failures, like env(1): 125 mmchaos could not place the command,
// 126 the command cannot be run, 127 it was not found.
inline constexpr int kExecFailed = 125, kExecNotRunnable = 126, kExecNotFound = 127;

// Who the command runs as. Empty: as mmchaos (root). With a user, its primary group and its
// supplementary groups from the group database (initgroups), as a login would; `group`
// overrides the primary group. HOME, USER and LOGNAME follow the user.
struct ExecIdentity {
  std::string user;   // name or numeric uid
  std::string group;  // name or numeric gid
};

// Returns only on failure, with the exit code to use.
int ExecCommand(const std::string& config_path, const std::vector<std::string>& cmd,
                const ExecIdentity& as = {});

}  // namespace mmchaos
