// Real UDP traffic between namespaces (tests, demo): numbered, timestamped probes and a sink that
// records which arrived, so loss can be located in time.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.h"

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
  ProbeSink(UniqueFd fd, const std::string& ip, uint16_t port, uint32_t expected);
  ~ProbeSink();
  // Waits until no probe arrived for quiet_ms, then stops.
  void Drain(int quiet_ms = 300);
  const std::vector<ProbeRecord>& records() const { return records_; }
  uint32_t received() const;

 private:
  UniqueFd fd_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> last_rx_ns_{0};
  std::vector<ProbeRecord> records_;
  std::thread thread_;
};

// When each probe was sent, as a window: exact for a received probe; for a lost one, between
// the stamps of the nearest received probes before and after it (0 / UINT64_MAX at the ends).
// Reconstructing lost probes' times from the schedule would be wrong whenever the sender falls
// behind it (as under emulation).
struct SendWindow {
  uint64_t lo, hi;
};
std::vector<SendWindow> SendWindows(const std::vector<ProbeRecord>& records);

// Tells a CountProbes receiver to stop: 100 end markers, so that loss cannot swallow them all.
void SendEnd(const char* ip, uint16_t port, int fd);

// A receiver in a forked child: counts probes on ip:port for `seconds` and writes the count
// to out_fd. System calls only.
int CountProbes(const char* ip, uint16_t port, uint32_t expected, int seconds, int out_fd);

}  // namespace mmchaos::testing

namespace mmchaos::testing {

// A timestamped record passed from a forked client to the test through a pipe.
struct TimedSample {
  uint64_t sent_ns;   // CLOCK_MONOTONIC when the request/message was sent
  uint64_t value_ns;  // round trip (RttClient) or one-way latency (TickClient)
};

// Echoes whatever its clients send (a REST-like request/response peer). Takes the listening
// socket (bound and listening, made in the namespace of the caller's choice).
class TcpEchoServer {
 public:
  explicit TcpEchoServer(UniqueFd listen_fd);
  ~TcpEchoServer();
  // Bytes received so far (what "reached the exchange").
  uint64_t bytes_received() const { return received_; }

 private:
  UniqueFd fd_;
  std::atomic<uint64_t> received_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Pushes a timestamped 16-byte message every interval_us to each client (a WebSocket-like
// market-data stream).
class TickServer {
 public:
  TickServer(UniqueFd listen_fd, uint32_t interval_us);
  ~TickServer();

 private:
  UniqueFd fd_;
  uint32_t interval_us_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A listening TCP socket on ip:port (empty on failure), from an unbound TCP socket.
UniqueFd ListenOn(UniqueFd fd, const char* ip, uint16_t port);

// Forked-child clients (system calls only): one request every gap_us for count requests, each
// sample written to out_fd; TickClient reads messages for duration_ms.
int RttClient(const char* ip, uint16_t port, uint32_t count, uint32_t gap_us, int out_fd);
int TickClient(const char* ip, uint16_t port, uint32_t duration_ms, int out_fd);
// A stream on one connection to an echo server: a timestamped 16-byte message every
// interval_us for duration_ms, sent without waiting for the echoes; each echo's round trip is a
// sample (an HTTP/2-like flow of requests, or a WebSocket's sends).
int StreamClient(const char* ip, uint16_t port, uint32_t duration_ms, uint32_t interval_us,
                 int out_fd);

// Reads every sample a client wrote until EOF.
std::vector<TimedSample> ReadSamples(int fd);

}  // namespace mmchaos::testing
