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
  UniqueFd own;  // the socket made here when the caller gave none
  if (fd < 0) {
    own.reset(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    fd = own.get();
  }
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

ProbeSink::ProbeSink(UniqueFd fd, const std::string& ip, uint16_t port, uint32_t expected)
    : fd_(std::move(fd)), records_(expected) {
  int buf = 8 << 20;
  setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
  sockaddr_in a = Addr(ip.c_str(), port);
  if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
    throw std::runtime_error("bind " + ip + ":" + std::to_string(port) + ": " + strerror(errno));
  last_rx_ns_ = MonoNs();
  thread_ = std::thread([this] {
    pollfd p{fd_.get(), POLLIN, 0};
    while (!stop_) {
      if (poll(&p, 1, 20) <= 0) continue;
      Wire w{};
      while (recv(fd_.get(), &w, sizeof(w), MSG_DONTWAIT) == sizeof(w)) {
        if (w.seq < records_.size()) records_[w.seq] = {true, w.sent_ns};
        last_rx_ns_ = MonoNs();
      }
    }
  });
}

ProbeSink::~ProbeSink() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ProbeSink::Drain(int quiet_ms) {
  while (MonoNs() - last_rx_ns_ < static_cast<uint64_t>(quiet_ms) * 1000000ULL)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<SendWindow> SendWindows(const std::vector<ProbeRecord>& records) {
  const size_t n = records.size();
  std::vector<SendWindow> w(n, SendWindow{0, UINT64_MAX});
  uint64_t last = 0;
  for (size_t i = 0; i < n; ++i) {
    if (records[i].received) last = records[i].sent_ns;
    w[i].lo = last;
  }
  uint64_t next = UINT64_MAX;
  for (size_t i = n; i-- > 0;) {
    if (records[i].received) next = records[i].sent_ns;
    w[i].hi = next;
  }
  return w;
}

uint32_t ProbeSink::received() const {
  uint32_t n = 0;
  for (const auto& r : records_) n += r.received;
  return n;
}

int CountProbes(const char* ip, uint16_t port, uint32_t expected, int seconds, int out_fd) {
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  int buf = 8 << 20;
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
  sockaddr_in a = Addr(ip, port);
  if (!fd || bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return 1;
  uint32_t count = 0;
  // Tell the parent we are bound before it starts sending.
  uint32_t ready = ~0u;
  if (write(out_fd, &ready, sizeof(ready)) != sizeof(ready)) return 1;
  uint64_t until = MonoNs() + static_cast<uint64_t>(seconds) * 1000000000ULL;
  pollfd p{fd.get(), POLLIN, 0};
  while (MonoNs() < until && count < expected) {
    if (poll(&p, 1, 50) <= 0) continue;
    Wire w{};
    while (recv(fd.get(), &w, sizeof(w), MSG_DONTWAIT) == sizeof(w)) {
      if (w.seq == kEndMarker)
        until = 0;
      else
        ++count;
    }
  }
  return write(out_fd, &count, sizeof(count)) == sizeof(count) ? 0 : 1;
}

}  // namespace mmchaos::testing

#include <netinet/tcp.h>

#include <functional>

namespace mmchaos::testing {
namespace {

bool WriteAll(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w <= 0) return false;
    c += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadAll(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r <= 0) return false;
    c += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

UniqueFd Connect(const char* ip, uint16_t port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in a = Addr(ip, port);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return {};
  return fd;
}

void SleepUntil(uint64_t mono_ns) {
  timespec ts{static_cast<time_t>(mono_ns / 1000000000ULL),
              static_cast<long>(mono_ns % 1000000000ULL)};
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

// Accepts connections on listen_fd until stop, running serve(conn) on a thread per connection
// (its owner closes it when serve returns); joins them all before returning.
void AcceptLoop(int listen_fd, const std::atomic<bool>& stop,
                const std::function<void(int)>& serve) {
  std::vector<std::thread> conns;
  pollfd p{listen_fd, POLLIN, 0};
  while (!stop) {
    if (poll(&p, 1, 50) <= 0) continue;
    UniqueFd c(accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) continue;
    int one = 1;
    setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conns.emplace_back([c = std::move(c), &serve] { serve(c.get()); });
  }
  for (auto& t : conns) t.join();
}

}  // namespace

UniqueFd ListenOn(UniqueFd fd, const char* ip, uint16_t port) {
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = Addr(ip, port);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd.get(), 16) != 0)
    return {};
  return fd;
}

TcpEchoServer::TcpEchoServer(UniqueFd listen_fd) : fd_(std::move(listen_fd)) {
  thread_ = std::thread([this] {
    AcceptLoop(fd_.get(), stop_, [this](int c) {
      char buf[4096];
      pollfd cp{c, POLLIN, 0};
      while (!stop_) {
        if (poll(&cp, 1, 50) <= 0) continue;
        ssize_t n = read(c, buf, sizeof(buf));
        if (n > 0) received_ += static_cast<uint64_t>(n);
        if (n <= 0 || !WriteAll(c, buf, static_cast<size_t>(n))) break;
      }
    });
  });
}

TcpEchoServer::~TcpEchoServer() {
  stop_ = true;
  thread_.join();
}

TickServer::TickServer(UniqueFd listen_fd, uint32_t interval_us)
    : fd_(std::move(listen_fd)), interval_us_(interval_us) {
  thread_ = std::thread([this] {
    AcceptLoop(fd_.get(), stop_, [this](int c) {
      uint64_t next = MonoNs();
      for (uint64_t seq = 0; !stop_; ++seq) {
        uint64_t msg[2] = {seq, MonoNs()};
        if (!WriteAll(c, msg, sizeof(msg))) break;
        next += static_cast<uint64_t>(interval_us_) * 1000ULL;
        SleepUntil(next);
      }
    });
  });
}

TickServer::~TickServer() {
  stop_ = true;
  thread_.join();
}

int RttClient(const char* ip, uint16_t port, uint32_t count, uint32_t gap_us, int out_fd) {
  UniqueFd conn = Connect(ip, port);
  if (!conn) return 1;
  const int fd = conn.get();
  uint64_t next = MonoNs();
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t msg[2] = {i, MonoNs()}, echo[2];
    if (!WriteAll(fd, msg, sizeof(msg)) || !ReadAll(fd, echo, sizeof(echo))) return 1;
    TimedSample s{msg[1], MonoNs() - msg[1]};
    if (!WriteAll(out_fd, &s, sizeof(s))) return 1;
    next += static_cast<uint64_t>(gap_us) * 1000ULL;
    SleepUntil(next);
  }
  return 0;
}

int TickClient(const char* ip, uint16_t port, uint32_t duration_ms, int out_fd) {
  UniqueFd conn = Connect(ip, port);
  if (!conn) return 1;
  const int fd = conn.get();
  uint64_t until = MonoNs() + static_cast<uint64_t>(duration_ms) * 1000000ULL;
  while (MonoNs() < until) {
    uint64_t msg[2];
    if (!ReadAll(fd, msg, sizeof(msg))) return 1;
    TimedSample s{msg[1], MonoNs() - msg[1]};
    if (!WriteAll(out_fd, &s, sizeof(s))) return 1;
  }
  return 0;
}

int StreamClient(const char* ip, uint16_t port, uint32_t duration_ms, uint32_t interval_us,
                 int out_fd) {
  UniqueFd conn = Connect(ip, port);
  if (!conn) return 1;
  const int fd = conn.get();
  const uint64_t interval = static_cast<uint64_t>(interval_us) * 1000ULL;
  const uint64_t end = MonoNs() + static_cast<uint64_t>(duration_ms) * 1000000ULL;
  const uint64_t give_up = end + 10'000'000'000ULL;  // every echo back within 10 s of the end
  uint64_t next = MonoNs(), sent = 0, echoed = 0;
  char buf[4096];
  size_t have = 0;
  while (next < end || echoed < sent) {
    uint64_t now = MonoNs();
    if (now > give_up) return 1;
    if (next < end && now >= next) {
      uint64_t msg[2] = {sent++, now};
      if (!WriteAll(fd, msg, sizeof(msg))) return 1;
      next += interval;
      continue;
    }
    int wait_ms = next < end ? static_cast<int>((next - now) / 1000000ULL) : 100;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, wait_ms) <= 0) continue;
    ssize_t n = read(fd, buf + have, sizeof(buf) - have);
    if (n <= 0) return 1;
    have += static_cast<size_t>(n);
    size_t off = 0;
    for (; have - off >= 16; off += 16, ++echoed) {
      uint64_t msg[2];
      std::memcpy(msg, buf + off, sizeof(msg));
      TimedSample s{msg[1], MonoNs() - msg[1]};
      if (!WriteAll(out_fd, &s, sizeof(s))) return 1;
    }
    std::memmove(buf, buf + off, have - off);
    have -= off;
  }
  return 0;
}

std::vector<TimedSample> ReadSamples(int fd) {
  std::vector<TimedSample> out;
  TimedSample s{};
  while (ReadAll(fd, &s, sizeof(s))) out.push_back(s);
  return out;
}

}  // namespace mmchaos::testing
