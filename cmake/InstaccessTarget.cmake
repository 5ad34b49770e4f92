# Strict warnings for the project's own targets (never for third-party code).
function(instaccess_strict_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough)
  if(INSTACCESS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
