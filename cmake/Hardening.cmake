# Debian's hardening flags (dpkg-buildflags hardening=+all), for the optimised builds that get
# installed: the buffer-overflow checks of _FORTIFY_SOURCE (it needs optimisation, so never for
# Debug), stack canaries, stack clash protection, control-flow protection where the target has
# it (x86 CET), position-independent executables (ASLR for the whole binary) and a read-only
# GOT resolved at start (full RELRO). `hardening-check` passes on the packaged binaries
# (tests/package) but for control-flow integrity: the linker marks a program CET-ready only
# when every object is, and Debian 12's C start files (crt1.o) are built without it, so no
# program linked on Debian 12 is (/usr/bin/ls neither). Our code carries the instructions
# all the same, for toolchains that build the rest with them.
if(INSTACCESS_HARDENING AND CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo|MinSizeRel)$")
  set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  include(CheckPIESupported)
  check_pie_supported()
  add_compile_options(-D_FORTIFY_SOURCE=2 -fstack-protector-strong)
  include(CheckCXXCompilerFlag)
  foreach(flag -fstack-clash-protection -fcf-protection)
    string(MAKE_C_IDENTIFIER "INSTACCESS_HAS${flag}" has_flag)
    check_cxx_compiler_flag(${flag} ${has_flag})
    if(${has_flag})
      add_compile_options(${flag})
    endif()
  endforeach()
  add_link_options(LINKER:-z,relro LINKER:-z,now)
endif()
