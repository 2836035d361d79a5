// `mmchaos exec -c FILE -- CMD [ARGS...]`: start a command where mmchaos targets the engine: in
// target.cgroup (and target.netns, if set), with the clock_skew preload where the kernel cannot
// run the uprobe mechanism. The command replaces this process, so its exit status is exec's.
#pragma once

#include <string>
#include <vector>

namespace mmchaos {

// Exit codes of exec's own failures, like env(1): 125 mmchaos could not place the command,
// 126 the command cannot be run, 127 it was not found.
inline constexpr int kExecFailed = 125, kExecNotRunnable = 126, kExecNotFound = 127;

// Returns only on failure, with the exit code to use.
int ExecCommand(const std::string& config_path, const std::vector<std::string>& cmd);

}  // namespace mmchaos
