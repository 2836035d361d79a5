// Whether this kernel loads a uprobe object that writes user memory (bpf_probe_write_user is
// refused under kernel lockdown, at load time), and the verifier's reason when it does not. Used
// by every scenario that rewrites through uprobes (clock_skew, the TLS status rewrites).
#pragma once

#include <functional>
#include <string>

namespace mmchaos {

// Runs load (a skeleton's open + load; 0 or -errno) with libbpf's warnings captured. "" when it
// loaded, else "the kernel refused <what> (<errno text>): <verifier's line>; kernel lockdown:
// <mode>".
std::string LoadRefusal(const std::string& what, const std::function<int()>& load);

// /sys/kernel/security/lockdown's line ("none [integrity] confidentiality"), "" when unreadable.
std::string KernelLockdown();

}  // namespace mmchaos
