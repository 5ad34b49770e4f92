# Strict warnings for the project's own targets (never for third-party code).
function(instaccess_strict_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough)
  if(INSTACCESS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Boost 1.74's Asio uses std::exchange in awaitable.hpp without including <utility>;
# g++ 12 in C++20 mode then fails. Targets that include Asio get <utility> first.
function(instaccess_uses_asio target)
  target_compile_options(${target} PRIVATE -include utility)
endfunction()
