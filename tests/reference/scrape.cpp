#include "scrape.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "common/fd.h"

namespace reftest {

std::string http_get(uint16_t port, const std::string& path) {
  const mmchaos::UniqueFd sock(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return {};
  const int fd = sock.get();
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      for (int i = 0; i < 4096; ++i) {  // bounded: at most 256 MiB
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
      }
    }
  }
  auto body = out.find("\r\n\r\n");
  if (out.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) return {};
  std::string b = out.substr(body + 4);
  // civetweb may answer chunked: strip chunk-size lines (hex digits alone on a line).
  if (out.substr(0, body).find("chunked") != std::string::npos) {
    std::string plain;
    size_t pos = 0;
    while (pos < b.size()) {
      auto eol = b.find("\r\n", pos);
      if (eol == std::string::npos) break;
      const size_t len = std::strtoul(b.substr(pos, eol - pos).c_str(), nullptr, 16);
      if (len == 0) break;
      plain += b.substr(eol + 2, len);
      pos = eol + 2 + len + 2;
    }
    b = plain;
  }
  return b;
}

double metric_sum(const std::string& exposition, const std::string& name,
                  const std::map<std::string, std::string>& labels) {
  double sum = 0;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto name_end = line.find_first_of("{ ");
    if (name_end == std::string::npos || line.substr(0, name_end) != name) continue;
    std::string label_text;
    size_t value_pos = name_end;
    if (line[name_end] == '{') {
      const auto close = line.find('}', name_end);
      if (close == std::string::npos) continue;
      label_text = line.substr(name_end + 1, close - name_end - 1);
      value_pos = close + 1;
    }
    bool match = true;
    for (const auto& [k, v] : labels)
      if (label_text.find(k + "=\"" + v + "\"") == std::string::npos) match = false;
    if (match) sum += std::strtod(line.c_str() + value_pos, nullptr);
  }
  return sum;
}

}  // namespace reftest
