// Real UDP traffic between namespaces (tests, demo): numbered, timestamped probes and a sink that
// records which arrived, so loss can be located in time.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace mmchaos::testing {

// CLOCK_MONOTONIC in nanoseconds: the clock of the data plane's burst schedule.
uint64_t MonoNs();

struct ProbeRecord {
  bool received = false;
  uint64_t sent_ns = 0;  // CLOCK_MONOTONIC at the sender
};

// Sends n probes from the calling process's namespace to ip:port, one every gap_us (paced
// against an absolute schedule so the rate holds). Returns 0, or 1 on a send error other than
// ENOBUFS. Safe to call in a forked child (system calls only).
int SendProbes(const char* ip, uint16_t port, uint32_t n, uint32_t gap_us, int fd = -1);

// Receives probes on ip:port with a UDP socket fd (taken over; made in the namespace of the
// caller's choice).
class ProbeSink {
 public:
  ProbeSink(int fd, const std::string& ip, uint16_t port, uint32_t expected);
  ~ProbeSink();
  // Waits until no probe arrived for quiet_ms, then stops.
  void Drain(int quiet_ms = 300);
  const std::vector<ProbeRecord>& records() const { return records_; }
  uint32_t received() const;

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> last_rx_ns_{0};
  std::vector<ProbeRecord> records_;
  std::thread thread_;
};

// Tells a CountProbes receiver to stop: 100 end markers, so that loss cannot swallow them all.
void SendEnd(const char* ip, uint16_t port, int fd);

// A receiver in a forked child: counts probes on ip:port for `seconds` and writes the count
// to out_fd. System calls only.
int CountProbes(const char* ip, uint16_t port, uint32_t expected, int seconds, int out_fd);

}  // namespace mmchaos::testing
