#include "experiment/request_meter.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

namespace mmchaos {

void TickStats::Add(const TickStats& o) {
  requests += o.requests;
  deadline_misses += o.deadline_misses;
  failures += o.failures;
  latency_ms.insert(latency_ms.end(), o.latency_ms.begin(), o.latency_ms.end());
}

void AddRequest(TickStats& t, const mmc_req_event& e, uint64_t deadline_ns) {
  t.requests += 1;
  bool answered = e.outcome == MMC_REQ_ANSWERED || e.outcome == MMC_REQ_HTTP_FAIL;
  if (answered) t.latency_ms.push_back(static_cast<double>(e.latency_ns) / 1e6);
  if (!answered || e.latency_ns > deadline_ns) t.deadline_misses += 1;
  if (e.outcome != MMC_REQ_ANSWERED) t.failures += 1;
}

Result<std::unique_ptr<RequestMeter>> RequestMeter::Open(int ringbuf_fd) {
  std::unique_ptr<RequestMeter> m(new RequestMeter());
  m->rb_ = ring_buffer__new(ringbuf_fd, &RequestMeter::OnEvent, m.get(), nullptr);
  if (!m->rb_) return Fail("ring_buffer__new(mmc_requests)", errno);
  return m;
}

RequestMeter::~RequestMeter() { ring_buffer__free(rb_); }

int RequestMeter::OnEvent(void* ctx, void* data, size_t size) {
  if (size < sizeof(mmc_req_event)) return 0;
  mmc_req_event e;
  std::memcpy(&e, data, sizeof(e));
  static_cast<RequestMeter*>(ctx)->pending_.push_back(e);
  return 0;
}

void RequestMeter::Drain() { ring_buffer__consume(rb_); }

void RequestMeter::Add(const std::vector<mmc_req_event>& events) {
  pending_.insert(pending_.end(), events.begin(), events.end());
}

TickStats RequestMeter::Take(uint64_t end_ns, uint64_t deadline_ns) {
  TickStats t;
  // Events from different CPUs interleave slightly out of order: scan them all.
  std::deque<mmc_req_event> later;
  for (const auto& e : pending_) {
    if (e.ts_ns < end_ns)
      AddRequest(t, e, deadline_ns);
    else
      later.push_back(e);
  }
  pending_.swap(later);
  return t;
}

void RequestMeter::Discard(uint64_t end_ns) { (void)Take(end_ns, 0); }

}  // namespace mmchaos
