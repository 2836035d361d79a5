// A keep-alive HTTP/1.1 client for the exchange's REST API. Each request has a deadline that
// covers everything it needs (resolving and connecting when there is no open connection,
// sending, reading the whole response); a request that misses it, or fails, leaves the
// connection closed so the next one opens a fresh one.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "metrics.h"
#include "net.h"
#include "url.h"

namespace refengine {

struct HttpResult {
  enum class Kind { response, timeout, error };
  Kind kind = Kind::error;
  int status = 0;
  std::string body;
  std::optional<std::chrono::milliseconds> retry_after;
  double seconds = 0;  // from the call to the complete response (or the failure)
  std::string error;
  bool fresh_connection = false;  // the request opened a connection

  // The outcome label of mm_requests_total: the status, "timeout" or "error".
  std::string code() const;
};

class RestClient {
 public:
  RestClient(refnet::asio::any_io_executor ex, refcommon::Url base, Metrics& metrics,
             std::chrono::milliseconds resolve_timeout);

  refnet::asio::awaitable<HttpResult> request(refnet::http::verb verb, std::string target,
                                              std::string body, std::chrono::milliseconds deadline);
  void reset();
  bool connected() const { return connected_; }

 private:
  refnet::asio::awaitable<HttpResult> exchange(refnet::http::verb verb, std::string target,
                                               std::string body,
                                               std::chrono::steady_clock::time_point until);

  refnet::asio::any_io_executor ex_;
  refcommon::Url base_;
  Metrics& metrics_;
  std::chrono::milliseconds resolve_timeout_;
  std::optional<refnet::beast::tcp_stream> stream_;
  refnet::beast::flat_buffer buffer_;
  bool connected_ = false;
  bool attempted_ = false;  // a connection was attempted before: the next one is a reconnect
};

}  // namespace refengine
