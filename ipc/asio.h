// The one place Asio and Beast are included from.
//
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>, which g++ 12 in
// C++20 mode rejects; including <utility> first here fixes it for every file that uses Asio.
//
// Boost 1.74 enables co_await under clang only when libc++'s <experimental/coroutine> exists;
// clang 14 (the fuzz build) with libstdc++ has C++20's <coroutine>, which Asio then uses.
#pragma once

#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(BOOST_ASIO_HAS_CO_AWAIT)
#if __has_include(<coroutine>)
#define BOOST_ASIO_HAS_CO_AWAIT 1
#endif
#endif

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
