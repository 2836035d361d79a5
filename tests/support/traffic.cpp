#include "traffic.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mmchaos::testing {
namespace {

struct Wire {
  uint32_t seq;
  uint32_t pad;
  uint64_t sent_ns;
};

sockaddr_in Addr(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

constexpr uint32_t kEndMarker = ~0u;

}  // namespace

void SendEnd(const char* ip, uint16_t port, int fd) {
  sockaddr_in dst = Addr(ip, port);
  for (int i = 0; i < 100; ++i) {
    Wire w{kEndMarker, 0, MonoNs()};
    sendto(fd, &w, sizeof(w), 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst));
    usleep(1000);
  }
}

int SendProbes(const char* ip, uint16_t port, uint32_t n, uint32_t gap_us, int fd) {
  if (fd < 0) fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 1;
  sockaddr_in dst = Addr(ip, port);
  timespec next{};
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (uint32_t i = 0; i < n; ++i) {
    Wire w{i, 0, MonoNs()};
    if (sendto(fd, &w, sizeof(w), 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) < 0 &&
        errno != ENOBUFS)
      return 1;
    next.tv_nsec += static_cast<long>(gap_us) * 1000;
    while (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec++;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
  }
  return 0;
}

uint64_t MonoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

ProbeSink::ProbeSink(int fd, const std::string& ip, uint16_t port, uint32_t expected)
    : fd_(fd), records_(expected) {
  int buf = 8 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
  sockaddr_in a = Addr(ip.c_str(), port);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
    throw std::runtime_error("bind " + ip + ":" + std::to_string(port) + ": " + strerror(errno));
  last_rx_ns_ = MonoNs();
  thread_ = std::thread([this] {
    pollfd p{fd_, POLLIN, 0};
    while (!stop_) {
      if (poll(&p, 1, 20) <= 0) continue;
      Wire w{};
      while (recv(fd_, &w, sizeof(w), MSG_DONTWAIT) == sizeof(w)) {
        if (w.seq < records_.size()) records_[w.seq] = {true, w.sent_ns};
        last_rx_ns_ = MonoNs();
      }
    }
  });
}

ProbeSink::~ProbeSink() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) close(fd_);
}

void ProbeSink::Drain(int quiet_ms) {
  while (MonoNs() - last_rx_ns_ < static_cast<uint64_t>(quiet_ms) * 1000000ULL)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

uint32_t ProbeSink::received() const {
  uint32_t n = 0;
  for (const auto& r : records_) n += r.received;
  return n;
}

int CountProbes(const char* ip, uint16_t port, uint32_t expected, int seconds, int out_fd) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int buf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
  sockaddr_in a = Addr(ip, port);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return 1;
  uint32_t count = 0;
  // Tell the parent we are bound before it starts sending.
  uint32_t ready = ~0u;
  if (write(out_fd, &ready, sizeof(ready)) != sizeof(ready)) return 1;
  uint64_t until = MonoNs() + static_cast<uint64_t>(seconds) * 1000000000ULL;
  pollfd p{fd, POLLIN, 0};
  while (MonoNs() < until && count < expected) {
    if (poll(&p, 1, 50) <= 0) continue;
    Wire w{};
    while (recv(fd, &w, sizeof(w), MSG_DONTWAIT) == sizeof(w)) {
      if (w.seq == kEndMarker)
        until = 0;
      else
        ++count;
    }
  }
  return write(out_fd, &count, sizeof(count)) == sizeof(count) ? 0 : 1;
}

}  // namespace mmchaos::testing
