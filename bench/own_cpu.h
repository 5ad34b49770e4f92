// The benchmarks' own CPU time, shared by bench/jose and bench/daemon.
#pragma once

#include <sys/resource.h>
#include <sys/time.h>

namespace instaccess::bench {

// User + system CPU seconds of this process (not of children such as `openssl speed`).
inline double OwnCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

}  // namespace instaccess::bench
