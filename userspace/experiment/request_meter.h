// The engine's REST requests as the kernel saw them, per tick: the data plane writes one event
// per finished request (bpf/request.bpf.h) into the mmc_requests ring buffer while
// mmc_config.req_events is set; this drains it and classifies by the event's own timestamp, so
// when the loop wakes does not change which tick a request lands in.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "common/error.h"
#include "mmchaos.h"

struct ring_buffer;

namespace mmchaos {

struct TickStats {
  int64_t requests = 0;            // finished in the tick
  int64_t deadline_misses = 0;     // answered later than the deadline, reset, or abandoned
  int64_t failures = 0;            // 429/5xx, reset, abandoned (what mm_partial_fail_rate counts)
  std::vector<double> latency_ms;  // answered requests (any status): sent -> first byte

  void Add(const TickStats& o);
};

// One request into a tick's figures.
void AddRequest(TickStats& t, const mmc_req_event& e, uint64_t deadline_ns);

class RequestMeter {
 public:
  static Result<std::unique_ptr<RequestMeter>> Open(int ringbuf_fd);
  RequestMeter(const RequestMeter&) = delete;
  RequestMeter& operator=(const RequestMeter&) = delete;
  ~RequestMeter();

  // Reads what the kernel has written so far (never blocks).
  void Drain();
  // Adds requests accounted elsewhere (the TLS preloads' events, Session::TakeTlsRequests).
  void Add(const std::vector<mmc_req_event>& events);
  // Removes the events that finished before end_ns and returns their figures.
  TickStats Take(uint64_t end_ns, uint64_t deadline_ns);
  // Drops what finished before end_ns (e.g. before the first tick).
  void Discard(uint64_t end_ns);

 private:
  RequestMeter() = default;
  static int OnEvent(void* ctx, void* data, size_t size);

  ring_buffer* rb_ = nullptr;
  std::deque<mmc_req_event> pending_;
};

}  // namespace mmchaos
