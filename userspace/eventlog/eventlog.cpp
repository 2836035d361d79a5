#include "eventlog/eventlog.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/safe_file.h"
#include "common/scenarios.h"
#include "config/config.h"
#include "mmchaos.h"

namespace mmchaos {
namespace {

int64_t ClockNs(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

const char* ReasonCode(uint32_t r) {
  switch (r) {
    case MMC_REASON_PROBABILITY:
      return "probability";
    case MMC_REASON_STORM:
      return "storm_burst";
    case MMC_REASON_ACTION_FAILED:
      return "action_failed";
    default:
      return "unknown";
  }
}

}  // namespace

Result<UniqueFd> OpenInjectionLog(const std::string& path) {
  const std::string hint =
      "set log.injections to a *.jsonl file in a directory root owns, or \"-\"";
  if (std::string why = LogPathProblem(path); !why.empty())
    return Fail("log.injections " + path, EINVAL, why);
  const size_t slash = path.rfind('/');
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i < dir.size() && dir[i] != '/') continue;
    std::string part = dir.substr(0, i);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
      return Fail("mkdir(" + part + ")", errno, hint);
  }
  char real[PATH_MAX];
  if (!::realpath(dir.c_str(), real)) return Fail("realpath(" + dir + ")", errno, hint);
  const std::string file =
      std::string(real) + (std::string_view(real) == "/" ? "" : "/") + path.substr(slash + 1);
  if (std::string why = LogPathProblem(file); !why.empty())
    return Fail("log.injections " + path + " resolves to " + file, EINVAL, why);
  std::string walk = real;
  for (;;) {
    struct stat st {};
    if (::stat(walk.c_str(), &st) != 0) return Fail("stat(" + walk + ")", errno);
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
      return Fail(
          "log.injections " + path + ": " + walk + " is owned by uid " + std::to_string(st.st_uid),
          EPERM, hint);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
      return Fail("log.injections " + path + ": " + walk + " is writable by others", EPERM, hint);
    if (walk == "/") break;
    size_t up = walk.rfind('/');
    walk = up == 0 ? "/" : walk.substr(0, up);
  }
  return OpenOwnedFile(file, O_WRONLY | O_APPEND, 0640);
}

std::string EventJson(const mmc_event& e, int64_t mono_to_real_ns) {
  int64_t real_ns = static_cast<int64_t>(e.ts_ns) + mono_to_real_ns;
  nlohmann::ordered_json j;
  j["ts_unix_ns"] = real_ns;
  j["scenario"] = std::string(ScenarioLabel(e.scenario));
  j["reason_code"] = ReasonCode(e.reason);
  j["mode"] = std::string(ModeLabel(e.mode));
  j["direction"] = e.direction == MMC_DIR_INGRESS ? "ingress" : "egress";
  j["intensity"] = static_cast<double>(e.intensity) / static_cast<double>(MMC_P_ONE);
  // Always-on schedules have no end: report null rather than a huge number.
  if (e.duration_ns == ~0ULL)
    j["duration_ms"] = nullptr;
  else
    j["duration_ms"] = static_cast<double>(e.duration_ns) / 1e6;
  j["flow"] = e.flow;
  return j.dump();
}

Result<std::unique_ptr<EventLog>> EventLog::Open(int ringbuf_fd, const std::string& path) {
  std::unique_ptr<EventLog> log(new EventLog());
  if (path == "-") {
    log->out_ = stderr;
  } else {
    auto fd = OpenInjectionLog(path);
    if (!fd) return std::unexpected(fd.error());
    log->out_ = ::fdopen(fd->get(), "ae");
    if (!log->out_) return Fail("fdopen(" + path + ")", errno);
    fd->release();
    log->owns_out_ = true;
  }
  log->mono_to_real_ns_ = ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_MONOTONIC);
  log->rb_ = ring_buffer__new(ringbuf_fd, &EventLog::OnEvent, log.get(), nullptr);
  if (!log->rb_) return Fail("ring_buffer__new(mmc_events)", errno);
  return log;
}

EventLog::~EventLog() {
  if (rb_) {
    ring_buffer__consume(rb_);  // what the kernel logged before rollback still lands
    ring_buffer__free(rb_);
  }
  if (owns_out_ && out_) std::fclose(out_);
}

int EventLog::OnEvent(void* ctx, void* data, size_t size) {
  auto* self = static_cast<EventLog*>(ctx);
  if (size < sizeof(mmc_event)) return 0;
  std::string line = EventJson(*static_cast<const mmc_event*>(data), self->mono_to_real_ns_);
  std::fputs(line.c_str(), self->out_);
  std::fputc('\n', self->out_);
  ++self->written_;
  return 0;
}

int EventLog::epoll_fd() const { return ring_buffer__epoll_fd(rb_); }

int EventLog::Consume() {
  int n = ring_buffer__consume(rb_);
  std::fflush(out_);
  return n;
}

}  // namespace mmchaos
