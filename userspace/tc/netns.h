// Entering the engine's network namespace for netlink work, and finding a namespace again by
// its inode after a crash (the path that named it may be gone, e.g. /proc/PID/ns/net).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/fd.h"

namespace mmchaos {

// Moves the calling thread into a network namespace and back on destruction. Only this thread
// moves: the metrics server's threads stay where they are.
class NetnsGuard {
 public:
  // path empty: stay in the current namespace (the guard does nothing).
  static Result<NetnsGuard> Enter(const std::string& path);
  NetnsGuard(NetnsGuard&&) = default;
  NetnsGuard& operator=(NetnsGuard&&) = delete;
  ~NetnsGuard();

 private:
  NetnsGuard() = default;
  UniqueFd home_;
};

// The nsfs inode of a netns file ("" = the caller's).
Result<uint64_t> NetnsInode(const std::string& path);
// A path that opens the network namespace with this inode now (/run/netns/*, /proc/*/ns/net),
// or empty when no process or bind mount holds it any more (then nothing in it survives).
std::string FindNetns(uint64_t inode);
// One path per network namespace that exists now (held by a process or a bind mount), the
// caller's first: /proc/self/ns/net, /run/netns/*, /proc/PID/ns/net.
std::vector<std::string> AllNetns();

// Runs fn in a forked child in a fresh network namespace (a probe's scratch space: everything made
// in it goes with the child). fn's error (call, errno, hint) comes back as this one's.
Result<void> InScratchNetns(const std::function<Result<void>()>& fn);

}  // namespace mmchaos
