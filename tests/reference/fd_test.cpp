// The test helpers' own file descriptors: http_get closes its socket on every path (refused,
// answered, cut off), and a Process child holds its output file only as stdout and stderr.
#include "common/fd.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include "process.h"
#include "scrape.h"

namespace reftest {
namespace {

using namespace std::chrono_literals;
using mmchaos::UniqueFd;

long OpenFds() {
  namespace fs = std::filesystem;
  return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{});
}

// A listener on 127.0.0.1 (a free port), not yet accepting.
struct Listener {
  UniqueFd fd{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  uint16_t port = 0;
  Listener() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (!fd || bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(fd.get(), 4) != 0 ||
        getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      return;
    port = ntohs(addr.sin_port);
  }
};

// Accepts one connection, reads the request and answers `reply` (nothing: closes at once).
std::thread AnswerOnce(const Listener& l, std::string reply) {
  return std::thread([fd = l.fd.get(), reply] {
    const UniqueFd conn(accept4(fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return;
    char buf[4096];
    (void)!recv(conn.get(), buf, sizeof buf, 0);
    if (!reply.empty()) (void)!send(conn.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
  });
}

TEST(HelperFds, HttpGetClosesItsSocketOnEveryPath) {
  const long before = OpenFds();
  uint16_t refused = 0;
  {
    Listener gone;  // a port that was free a moment ago and has no listener now
    refused = gone.port;
  }
  ASSERT_NE(refused, 0);
  EXPECT_EQ(http_get(refused, "/metrics"), "");
  EXPECT_EQ(OpenFds(), before) << "after a refused connect";

  Listener answers;
  ASSERT_NE(answers.port, 0);
  auto t = AnswerOnce(answers, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(http_get(answers.port, "/metrics"), "ok");
  t.join();
  t = AnswerOnce(answers, "");
  EXPECT_EQ(http_get(answers.port, "/metrics"), "");
  t.join();
  const long listener_fd = 1;
  EXPECT_EQ(OpenFds(), before + listener_fd) << "after an answer and a connection cut off";
}

TEST(HelperFds, ProcessChildHoldsItsOutputOnlyAsStdoutAndStderr) {
  TempDir dir;
  const std::string out = dir.file("child.out");
  Process child({"/bin/sh", "-c", "for f in /proc/$$/fd/*; do readlink \"$f\"; done"}, out);
  for (auto until = std::chrono::steady_clock::now() + 10s;
       child.running() && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(child.running());
  const std::string held = std::filesystem::canonical(out);  // as readlink names it
  std::ifstream in(out);
  std::string line;
  int holding = 0;
  std::ostringstream all;
  while (std::getline(in, line)) {
    all << line << "\n";
    if (line == held) ++holding;
  }
  EXPECT_EQ(holding, 2) << "the child's fds:\n" << all.str();
}

}  // namespace
}  // namespace reftest
