// The engine scrape's HTTP GET against a loopback server that answers as told (unit: no
// namespace, no privilege).
#include "experiment/http_get.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/fd.h"

namespace mmchaos {
namespace {

// Accepts one connection, reads the request head, then answers `reply` (or stays silent).
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) : reply_(std::move(reply)) {
    fd_.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    EXPECT_EQ(bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(listen(fd_.get(), 1), 0);
    getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      UniqueFd conn(accept(fd_.get(), nullptr, nullptr));
      if (!conn) return;
      const int c = conn.get();
      char buf[4096];
      ssize_t n = 0;
      while (request_.find("\r\n\r\n") == std::string::npos && (n = read(c, buf, sizeof buf)) > 0)
        request_.append(buf, static_cast<size_t>(n));
      if (reply_.empty())
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      else
        (void)!write(c, reply_.data(), reply_.size());
    });
  }
  ~OneShotServer() {
    shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  const std::string& request() const { return request_; }

 private:
  std::string reply_, request_;
  UniqueFd fd_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST(HttpGet, ReturnsTheBodyOfA200) {
  OneShotServer srv("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nmm_orders 3\n");
  auto body = HttpGet(srv.url("/metrics"), "", 2000);
  ASSERT_TRUE(body.has_value()) << body.error().message();
  EXPECT_EQ(*body, "mm_orders 3\n");
  EXPECT_EQ(srv.request().rfind("GET /metrics HTTP/1.1\r\n", 0), 0u) << srv.request();
}

TEST(HttpGet, AnotherStatusIsAnErrorNamingTheUrl) {
  OneShotServer srv("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  auto body = HttpGet(srv.url("/nope"), "", 2000);
  ASSERT_FALSE(body.has_value());
  EXPECT_NE(body.error().message().find(srv.url("/nope") + ": HTTP 404"), std::string::npos)
      << body.error().message();
}

TEST(HttpGet, ASilentServerTimesOutInTime) {
  OneShotServer srv("");
  const auto t0 = std::chrono::steady_clock::now();
  auto body = HttpGet(srv.url("/metrics"), "", 100);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(body.has_value());
  EXPECT_LT(took, std::chrono::milliseconds(400));
  EXPECT_NE(body.error().message().find("read"), std::string::npos) << body.error().message();
}

TEST(HttpGet, RefusedAndMalformedUrlsAreErrors) {
  EXPECT_FALSE(HttpGet("http://127.0.0.1:1/metrics", "", 1000).has_value());
  EXPECT_FALSE(HttpGet("https://127.0.0.1/metrics", "", 1000).has_value());
  EXPECT_FALSE(HttpGet("http://[::1/metrics", "", 1000).has_value());
  EXPECT_FALSE(HttpGet("http://127.0.0.1:9/x", "/nonexistent/netns", 1000).has_value());
}

}  // namespace
}  // namespace mmchaos
