// The cgroup of what operators name: a systemd unit, a Kubernetes pod, a container. Pure
// functions over a cgroup v2 root (and the kubelet's pod log directory), so they are tested
// against trees laid out the way systemd and the kubelet lay them out.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/error.h"
#include "config/config.h"

namespace mmchaos {

// A systemd unit's cgroup. systemd_answer is systemd's ControlGroup= for it (relative to the
// cgroup2 root, "" when systemd is not asked or does not know the unit); else the directory
// named after the unit anywhere in the tree (system.slice/U, a nested slice, a user manager's
// app.slice). "engine" means "engine.service".
Result<std::string> FindUnitCgroup(const std::string& root, const std::string& unit,
                                   const std::string& systemd_answer);

// systemd's ControlGroup= of a unit, asked with systemctl where systemd runs; "" otherwise.
std::string SystemdControlGroup(const std::string& unit);

// The cgroup of pod "NAMESPACE/NAME": its UID from the kubelet's pod log directories
// (pod_logs/<namespace>_<name>_<uid>, for containerd and CRI-O alike), then the pod's cgroup:
// kubepods/<qos>/pod<uid> (cgroupfs driver) or kubepods-<qos>-pod<uid, '-' as '_'>.slice
// (systemd driver). A name whose old pods left log directories resolves to the one running.
Result<std::string> FindPodCgroup(const std::string& root, const std::string& pod_logs,
                                  const std::string& ns_name);

// A container's cgroup by its id or a unique prefix of at least 12 hex digits: containerd
// (cri-containerd-<id>.scope, or <id> under cgroupfs), CRI-O (crio-<id>.scope, crio-<id>),
// Docker (docker-<id>.scope) and Podman (libpod-<id>.scope). CRI-O's conmon scopes are not
// containers.
Result<std::string> FindContainerCgroup(const std::string& root, const std::string& id);

// `--unit`, `--pod` or `--container` (at most one non-empty) on this host: the cgroup2 mount,
// systemd and /var/log/pods. "" when none is given.
Result<std::string> LocateTarget(const std::string& unit, const std::string& pod,
                                 const std::string& container);

// The target cgroup of a run: --cgroup or --pid when given, else target.unit's cgroup when the
// config names a unit, else target.cgroup; checked by ResolveTargetCgroup.
Result<std::string> ResolveTarget(const Config& cfg, const std::string& flag, pid_t pid);

}  // namespace mmchaos
