// The one place Asio and Beast are included from.
//
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>, which g++ 12 in
// C++20 mode rejects; including <utility> first here fixes it for every file that uses Asio.
#pragma once

// Include sorting would put <utility> after Boost.
// clang-format off
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

namespace instaccess::ipc {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using UnixSocket = asio::local::stream_protocol::socket;
using UnixStream = beast::basic_stream<asio::local::stream_protocol>;
}  // namespace instaccess::ipc
