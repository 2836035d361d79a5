#include "eventlog/eventlog.h"

#include <bpf/libbpf.h>
#include <time.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/scenarios.h"
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
    std::error_code ec;
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    log->out_ = std::fopen(path.c_str(), "ae");
    if (!log->out_)
      return Fail("fopen(" + path + ")", errno, "set log.injections to a writable path or \"-\"");
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
