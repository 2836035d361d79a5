// A keep-alive HTTP/1.1 client for the exchange's REST API, over TCP or TLS (https://: the
// exchange's certificate verified, as an engine meets a real exchange). Each request has a deadline
// that covers everything it needs (resolving and connecting when there is no open connection,
// sending, reading the whole response); a request that misses it, or fails, leaves the
// connection closed so the next one opens a fresh one.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "metrics.h"
#include "net.h"
#include "tls.h"
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
  // tls: the context for an https:// base (outlives the client); nullptr for http://.
  RestClient(refnet::asio::any_io_executor ex, refcommon::Url base, Metrics& metrics,
             std::chrono::milliseconds resolve_timeout, refnet::ssl::context* tls = nullptr);

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
  refnet::beast::tcp_stream& tcp();
  // The request and its response over whichever stream is open.
  template <class Stream>
  refnet::asio::awaitable<void> round_trip(
      Stream& stream, refnet::http::request<refnet::http::string_body>& req,
      refnet::http::response_parser<refnet::http::string_body>& parser, refnet::error_code& ec);

  refnet::ssl::context* tls_;
  // One of them while connected: plaintext or TLS.
  std::optional<refnet::beast::tcp_stream> plain_;
  std::optional<refnet::TlsStream> tls_stream_;
  refnet::beast::flat_buffer buffer_;
  bool connected_ = false;
  bool attempted_ = false;  // a connection was attempted before: the next one is a reconnect
};

}  // namespace refengine
