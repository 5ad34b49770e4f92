#include "daemon/daemon.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include "api/service.h"
#include "daemon/hardening.h"
#include "daemon/keys_setup.h"
#include "daemon/logging.h"
#include "daemon/scheduler.h"
#include "daemon/systemd.h"
#include "ipc/server.h"

namespace instaccess::daemon {

namespace asio = ipc::asio;

namespace {

// The embedded default keeps its state in ./var, readable by the owner only.
Status MakeStateDirectory(const std::string& socket_path) {
  std::filesystem::path dir = std::filesystem::path(socket_path).parent_path();
  if (dir.empty()) return Status::Ok();
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) {
    if (chmod(dir.c_str(), 0700) != 0) {
      return FailedPrecondition("cannot chmod " + dir.string() + ": " + std::strerror(errno));
    }
  } else if (ec) {
    return FailedPrecondition("cannot create " + dir.string() + ": " + ec.message());
  }
  return Status::Ok();
}

unsigned WorkerCount(int configured) {
  if (configured > 0) return static_cast<unsigned>(configured);
  return std::max(1u, std::thread::hardware_concurrency());
}

std::shared_ptr<const ipc::AccessPolicy> BuildPolicy(const Config::Access& a) {
  std::vector<std::string> problems;
  auto policy = std::make_shared<const ipc::AccessPolicy>(
      ipc::AccessPolicy::Build({a.issue, a.decrypt, a.admin, a.read}, geteuid(), &problems));
  for (const auto& p : problems) spdlog::warn("{} (the entry grants nothing)", p);
  return policy;
}

ipc::ServerLimits LimitsFrom(const Config& c) {
  ipc::ServerLimits l;
  l.max_body = c.limits.max_body;
  l.max_header = c.limits.max_header;
  l.max_connections = c.limits.max_connections;
  l.read_timeout = c.limits.read_timeout;
  l.idle_timeout = c.limits.idle_timeout;
  return l;
}

}  // namespace

int RunDaemon(Config config, std::string config_path) {
  std::vector<std::string> warnings;
  if (Status s = HardenProcess(&warnings); !s.ok()) {
    spdlog::critical("{}", s.message());
    return kExitFailure;
  }
  for (const auto& w : warnings) spdlog::warn("{}", w);

  if (config.embedded) {
    for (const std::string& path : {config.daemon.socket, config.store.path}) {
      if (Status s = MakeStateDirectory(path); !s.ok()) {
        spdlog::critical("{}", s.message());
        return kExitFailure;
      }
    }
  }

  // The store before the socket: a daemon that cannot serve tokens must not take the socket.
  SystemClock clock;
  auto opened = OpenKeyring(config, clock);
  if (!opened) {
    spdlog::critical("cannot open the key store {}: {}", config.store.path,
                     opened.error().message());
    return kExitKeys;
  }
  keystore::Keyring& keyring = *opened->keyring;
  spdlog::info("key store {} open (master key from {})", config.store.path,
               opened->master_key_source);
  if (config.rotation_enc.alg == "RSA1_5") {
    spdlog::warn(
        "rotation.enc.alg is RSA1_5, which is deprecated (RFC 8725): move gateways to "
        "RSA-OAEP");
  }

  // Socket activation first; otherwise our own socket, which we also remove on exit.
  auto activated = SocketFromSystemd();
  if (!activated) {
    spdlog::critical("{}", activated.error().message());
    return kExitFailure;
  }
  const bool own_socket = !activated->has_value();
  UniqueFd listen_fd;
  if (own_socket) {
    auto listener = ipc::ListenUnix(
        {config.daemon.socket, config.daemon.socket_mode, config.daemon.socket_group});
    if (!listener) {
      spdlog::critical("cannot listen on {}: {}", config.daemon.socket, listener.error().message());
      return kExitFailure;
    }
    listen_fd = std::move(*listener);
  } else {
    listen_fd = std::move(**activated);
  }

  const unsigned workers = WorkerCount(config.daemon.workers);
  ipc::ServerLimits limits = LimitsFrom(config);
  limits.threads = workers;
  asio::io_context io;
  ipc::Server* server_ptr = nullptr;
  Scheduler* scheduler_ptr = nullptr;
  api::Service service(ServiceOptionsFrom(config), keyring, clock, opened->master_key_warning,
                       {[&] {
                          if (scheduler_ptr) scheduler_ptr->Kick();
                        },
                        [&] { return server_ptr ? server_ptr->connections() : 0; },
                        [&] { return server_ptr ? server_ptr->queued() : 0; }});
  ipc::Router router;
  service.AddRoutes(router);
  // Swapped whole on SIGHUP; each request reads the policy current when it arrived.
  std::atomic<std::shared_ptr<const ipc::AccessPolicy>> policy = BuildPolicy(config.access);
  api::Metrics& metrics = service.metrics();
  ipc::Server server(
      io, std::move(listen_fd), limits,
      [&](const ipc::Request& req, const ipc::Peer& peer) {
        return router.Dispatch(req, peer, *policy.load());
      },
      [&metrics](const ipc::Request&, const ipc::Response& res, std::chrono::microseconds us) {
        metrics.ObserveLatency(us.count());
        if (res.status == 503) metrics.CountOverloaded();
      });
  server_ptr = &server;

  Scheduler scheduler(keyring, clock, [&](int applied) {
    for (int i = 0; i < applied; ++i) metrics.CountRotation();
    auto set = keyring.Snapshot();
    std::string sig = set->active_sig ? set->active_sig->kid() : "none";
    std::string enc = set->active_enc ? set->active_enc->kid() : "none";
    spdlog::info("applied {} key transition(s); active sig {} enc {}", applied, sig, enc);
    NotifyStatus("serving; active sig " + sig + " enc " + enc);
  });
  scheduler_ptr = &scheduler;
  scheduler.Start();
  server.Start();

  // WATCHDOG=1 at half of WatchdogSec, from the main thread, and only while every event loop
  // has answered the previous heartbeat: a wedged main thread or event loop stops it.
  asio::steady_timer watchdog(io);
  // Set by SIGTERM/SIGINT. cancel() does not reach a wait that has already completed and whose
  // handler is queued: that handler would re-arm the timer, and io.run() would never return.
  bool stopping = false;  // the signal and watchdog handlers both run on this thread
  std::function<void(const boost::system::error_code&)> on_watchdog =
      [&](const boost::system::error_code& ec) {
        if (ec || stopping) return;
        if (server.Heartbeat(2 * *WatchdogInterval())) {
          NotifyWatchdog();
        } else {
          spdlog::error(
              "an event loop has not run for {} ms; not telling systemd we are alive",
              std::chrono::duration_cast<std::chrono::milliseconds>(2 * *WatchdogInterval())
                  .count());
        }
        watchdog.expires_after(*WatchdogInterval());
        watchdog.async_wait(on_watchdog);
      };
  if (WatchdogInterval()) {
    watchdog.expires_after(*WatchdogInterval());
    watchdog.async_wait(on_watchdog);
  }

  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
          spdlog::info("SIGHUP: re-reading configuration");
          NotifyReloading();
          if (!config_path.empty()) {
            auto fresh = LoadConfigFile(config_path, config.embedded);
            if (!fresh) {
              spdlog::error("keeping the running configuration: {}", fresh.error().message());
            } else {
              SetLogLevel(fresh->daemon.log_level);
              config.daemon.log_level = fresh->daemon.log_level;
              config.access = fresh->access;
              policy = BuildPolicy(config.access);
              spdlog::info("configuration reloaded from {}", config_path);
            }
          }
          NotifyReloaded();
          signals.async_wait(on_signal);
          return;
        }
        spdlog::info("{}: draining {} connection(s) and stopping", strsignal(signo),
                     server.connections());
        NotifyStopping();
        server.Drain();
        stopping = true;
        watchdog.cancel();
      };
  signals.async_wait(on_signal);

  const std::string where = own_socket ? config.daemon.socket : "the socket systemd passed";
  auto set = keyring.Snapshot();
  spdlog::info("instaccessd serving on {} with {} worker threads; active sig {} enc {}", where,
               workers, set->active_sig->kid(), set->active_enc->kid());
  NotifyReady("serving on " + where);
  // The main thread accepts and handles signals and the watchdog; the server's threads serve.
  // Runs until Drain() has left nothing to do here; the signal set is not re-armed after a stop.
  io.run();
  server.Join();
  scheduler.Stop();

  if (own_socket) unlink(config.daemon.socket.c_str());
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace instaccess::daemon
