// Files a privileged process reads and writes where a local user may have planted something:
// never follow a link, never block on a FIFO, never read a device forever, never create a file
// someone else already made, and keep records in a directory we own with a mode we set.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "common/error.h"
#include "common/fd.h"

namespace mmchaos {

// The whole of a regular file of at most `max_bytes`. FIFOs, devices, directories and sockets
// are refused without reading (opened O_NONBLOCK, so a FIFO without a writer does not block).
// With follow_links false, a symlink as the last component is refused (ELOOP).
Result<std::string> ReadRegularFile(const std::string& path, size_t max_bytes,
                                    bool follow_links = true);

// `dir` exists, is a directory (not a link to one), is owned by this process's euid and is not
// writable by group or others; created with `mode` if missing (parents as for mkdir -p, each
// new one with `mode`).
Result<void> EnsurePrivateDir(const std::string& dir, mode_t mode);

// Opens (creating with `mode` if missing) `path` without following a symlink, and refuses
// anything but a regular file owned by this process's euid. flags: O_RDWR / O_WRONLY|O_APPEND...
Result<UniqueFd> OpenOwnedFile(const std::string& path, int flags, mode_t mode);

// Replaces `path` with `content`: written to a fresh temporary file in the same directory
// (O_EXCL | O_NOFOLLOW: a name planted there fails the write instead of being followed), then
// renamed over it.
Result<void> WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode);

}  // namespace mmchaos
