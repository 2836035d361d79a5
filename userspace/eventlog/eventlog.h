// The injection log: the data plane's ring buffer drained into JSON lines (one object per
// injection decision: scenario, reason_code, intensity, duration, mode). The kernel rate-limits
// what enters the ring, so a storm of decisions cannot flood the disk.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/fd.h"
#include "mmchaos.h"

struct ring_buffer;

namespace mmchaos {

// Opens the injection log for appending as root: LogPathProblem() first; its directories are
// made if missing (0755); every directory of the resolved path must be owned by root or us and
// not writable by others unless sticky (so nobody can swap a component); the resolved path is
// checked again; the file is opened without following a link (O_NOFOLLOW), created 0640, and
// used only if it is a regular file we own.
Result<UniqueFd> OpenInjectionLog(const std::string& path);

class EventLog {
 public:
  // path: a file (appended to, directories created) or "-" for stderr.
  static Result<std::unique_ptr<EventLog>> Open(int ringbuf_fd, const std::string& path);
  ~EventLog();
  // Owns the ring buffer and the FILE*: a copy would free them twice.
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // An fd that is readable when events are waiting (for the controller's epoll set).
  int epoll_fd() const;
  // Writes every waiting event without blocking; returns how many, or -errno.
  int Consume();
  uint64_t written() const { return written_; }

 private:
  EventLog() = default;
  static int OnEvent(void* ctx, void* data, size_t size);

  ring_buffer* rb_ = nullptr;
  std::FILE* out_ = nullptr;
  bool owns_out_ = false;
  int64_t mono_to_real_ns_ = 0;
  uint64_t written_ = 0;
};

// One event as its JSON line (without the newline); exposed for tests.
std::string EventJson(const mmc_event& e, int64_t mono_to_real_ns);

}  // namespace mmchaos
