// Asio/Beast in one place. Boost 1.74's awaitable.hpp uses std::exchange without including
// <utility>, so that header must come first.
#pragma once

// clang-format off
#include <utility>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
// clang-format on

namespace refnet {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
// The coroutine vocabulary the servers and clients here share.
using boost::asio::awaitable;
using boost::asio::redirect_error;
using boost::asio::use_awaitable;
}  // namespace refnet
