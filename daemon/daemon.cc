#include "daemon/daemon.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <thread>
#include <vector>

#include "api/service.h"
#include "common/log_text.h"
#include "common/posix_error.h"
#include "daemon/hardening.h"
#include "daemon/keys_setup.h"
#include "daemon/logging.h"
#include "daemon/peer_threads.h"
#include "daemon/reload.h"
#include "daemon/scheduler.h"
#include "daemon/systemd.h"
#include "ipc/server.h"
#include "keystore/pg_store.h"

namespace instaccess::daemon {

namespace asio = ipc::asio;

namespace {

// The embedded default keeps its state in ./var, readable by the owner only.
Status MakeStateDirectory(const std::string& file_path) {
  std::filesystem::path dir = std::filesystem::path(file_path).parent_path();
  if (dir.empty()) return Status::Ok();
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) {
    if (chmod(dir.c_str(), 0700) != 0) {
      return PosixError(Code::kFailedPrecondition, "cannot chmod " + dir.string(), errno);
    }
  } else if (ec) {
    return FailedPrecondition("cannot create " + dir.string() + ": " + ec.message());
  }
  return Status::Ok();
}

// Hardening first (before any key is in memory), then the embedded default's ./var.
Status PrepareProcess(const Config& config) {
  std::vector<std::string> warnings;
  INSTACCESS_RETURN_IF_ERROR(HardenProcess(&warnings));
  for (const auto& w : warnings) spdlog::warn("{}", w);
  if (!config.embedded) return Status::Ok();
  for (const std::string& path : {config.daemon.socket, config.store.path}) {
    INSTACCESS_RETURN_IF_ERROR(MakeStateDirectory(path));
  }
  return Status::Ok();
}

// The socket systemd passed, or our own (`*own` true: we remove it on exit).
Result<UniqueFd> TakeListeningSocket(const Config& config, bool* own) {
  auto activated = SocketFromSystemd();
  if (!activated) return activated.error();
  *own = !activated->has_value();
  if (!*own) return std::move(**activated);
  auto listener = ipc::ListenUnix(
      {config.daemon.socket, config.daemon.socket_mode, config.daemon.socket_group});
  if (!listener) {
    return Status(listener.error().code(),
                  "cannot listen on " + config.daemon.socket + ": " + listener.error().message());
  }
  return listener;
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

ipc::ServerLimits LimitsFrom(const Config& c, unsigned threads) {
  ipc::ServerLimits l;
  l.max_body = c.limits.max_body;
  l.max_header = c.limits.max_header;
  l.max_connections = c.limits.max_connections;
  l.max_connections_per_uid = c.limits.max_connections_per_uid;
  // Peers without issue or decrypt, all together, get one uid's worth.
  l.max_other_connections = c.limits.max_connections_per_uid;
  l.read_timeout = c.limits.read_timeout;
  l.idle_timeout = c.limits.idle_timeout;
  l.threads = threads;
  return l;
}

// For the log and the STATUS= line: the active kids and the head of the audit trail (its first
// 12 hex digits), which an operator can compare with a record kept elsewhere. Kids may come from
// an import, so they are escaped (LogText): the line never holds a newline or a control byte.
std::string ActiveKids(const keystore::Keyring& keyring) {
  auto set = keyring.Snapshot();
  return "active sig " + (set->active_sig ? LogText(set->active_sig->kid()) : "none") + " enc " +
         (set->active_enc ? LogText(set->active_enc->kid()) : "none") + "; audit head " +
         LogText(set->audit_head.substr(0, 12)) +
         (set->store_reachable ? "" : "; key store unreachable, serving with the keys held");
}

// A failed rotation is retried at least this often: 30 s, or half of tokens.max_lifetime when
// that is shorter, since a longer gap between passes looks like a clock jump to the keyring.
std::chrono::seconds MaxRetry(const Config& c) {
  return std::min(std::chrono::seconds(30), std::chrono::seconds(c.tokens.max_lifetime / 2));
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Everything that lives while the daemon serves, built in this order and torn down in reverse.
// Signals and the watchdog run on the main thread's io_context; requests on the server's loops.
class ServingDaemon {
 public:
  ServingDaemon(Config config, std::string config_path, keystore::StoreKeyring& keyring,
                const Clock& clock, std::string master_key_warning, UniqueFd listener)
      : config_(std::move(config)),
        config_path_(std::move(config_path)),
        keyring_(keyring),
        workers_(WorkerCount(config_.daemon.workers)),
        service_(
            ServiceOptionsFrom(config_), keyring, clock, std::move(master_key_warning),
            {[this] { scheduler_.Kick(); }, [this] { return server_.connections(); },
             [this] { return server_.queued(); },
             [this] { return server_.overloads().connections; },
             [this] { return server_.overloads().queue; }, [this] { return scheduler_.health(); }}),
        policy_(BuildPolicy(config_.access)),
        server_(
            io_, std::move(listener), LimitsFrom(config_, workers_),
            [this](const ipc::Request& req, const ipc::Peer& peer, std::string_view* route) {
              return router_.Dispatch(req, peer, *policy_.load(), route);
            },
            [this](const ipc::Request&, const ipc::Response&, std::string_view route,
                   std::chrono::microseconds us) {
              service_.metrics().ObserveLatency(route, us.count());
            },
            [this](const ipc::Peer& peer) { return policy_.load()->Classify(peer); }),
        scheduler_(
            keyring, clock, MaxRetry(config_), [this](int applied) { OnTransitions(applied); },
            config_.store.backend == "postgresql"
                ? std::function<Status()>([&keyring] { return keyring.Refresh(); })
                : std::function<Status()>(),
            config_.store.poll),
        peers_(config_, keyring, clock, [this] { scheduler_.Kick(); }) {
    service_.AddRoutes(router_);
  }

  // Serves until SIGTERM/SIGINT has drained every connection.
  void Run(const std::string& where) {
    scheduler_.Start();
    if (config_.store.backend == "postgresql") {
      // Other hosts' commits wake the scheduler, which re-reads the keyring at once; the
      // store.poll re-read covers hints lost while not listening.
      Result<std::string> password = LoadPgPassword(config_);
      keystore::PgStoreOptions o;
      o.url = config_.store.url;
      o.password = password ? *password : std::string();
      listener_ =
          std::make_unique<keystore::PgListener>(std::move(o), [this] { scheduler_.Kick(); });
    }
    peers_.Start();
    server_.Start();
    if (WatchdogInterval()) ArmWatchdog();
    signals_.async_wait([this](const auto& ec, int signo) { OnSignal(ec, signo); });
    spdlog::info("instaccessd serving on {} with {} worker threads; {}", LogText(where), workers_,
                 ActiveKids(keyring_));
    NotifyReady("serving on " + LogText(where) + "; " + ActiveKids(keyring_));
    // The main thread handles signals and the watchdog; the server's threads serve. Returns
    // once Drain() has left nothing to do here (the signal set is not re-armed after a stop).
    io_.run();
    server_.Join();
    peers_.Stop();
    listener_.reset();
    scheduler_.Stop();
  }

 private:
  // On the scheduler thread.
  // After transitions, and (applied 0) when the shared store is lost or back.
  void OnTransitions(int applied) {
    for (int i = 0; i < applied; ++i) service_.metrics().CountRotation();
    const std::string kids = ActiveKids(keyring_);
    if (applied > 0) spdlog::info("applied {} key transition(s); {}", applied, kids);
    NotifyStatus("serving; " + kids);
  }

  // WATCHDOG=1 at half of WatchdogSec, from the main thread, and only while every event loop
  // has answered the previous heartbeat: a wedged main thread or event loop stops it.
  void ArmWatchdog() {
    watchdog_.expires_after(*WatchdogInterval());
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
      // cancel() does not reach a wait that has already completed and whose handler is queued:
      // `stopping_` keeps that handler from re-arming, so io_.run() can return.
      if (ec || stopping_) return;
      if (server_.Heartbeat(2 * *WatchdogInterval())) {
        NotifyWatchdog();
      } else {
        spdlog::error(
            "an event loop has not run for {} ms; not telling systemd we are alive",
            std::chrono::duration_cast<std::chrono::milliseconds>(2 * *WatchdogInterval()).count());
      }
      ArmWatchdog();
    });
  }

  void OnSignal(const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      Reload();
      signals_.async_wait([this](const auto& e, int s) { OnSignal(e, s); });
      return;
    }
    spdlog::info("{}: draining {} connection(s) and stopping", strsignal(signo),
                 server_.connections());
    NotifyStopping();
    server_.Drain();
    stopping_ = true;
    watchdog_.cancel();
  }

  // SIGHUP: the file is read, checked and parsed, and its access lists resolved, on a thread of
  // the Reloader's; ApplyReload takes the result back on this loop. A SIGHUP while a read is
  // under way is answered by one more read once it is done.
  void Reload() {
    spdlog::info("SIGHUP: re-reading configuration");
    NotifyReloading();
    if (config_path_.empty()) {
      spdlog::info(
          "no configuration file to re-read (embedded default without ./instaccessd.toml)");
      NotifyReady("serving; no configuration file to re-read; " + ActiveKids(keyring_));
      return;
    }
    if (reloading_) {
      reload_again_ = true;
      return;
    }
    reloading_ = true;
    reloader_.Start(config_path_, config_.embedded);
  }

  // On the main thread: the live part of a reload (log level, access lists), a warning naming
  // every changed key that needs a restart, or the error with the running configuration kept.
  // Text from the file reaches the log and the STATUS= line escaped only.
  void ApplyReload(ReloadResult result) {
    reloading_ = false;
    if (stopping_) return;
    if (!result.config) {
      const std::string why = LogText(result.config.error().message(), 1024);
      spdlog::error("reload failed; keeping the running configuration: {}", why);
      NotifyReady("serving with the previous configuration; reload failed: " + why);
    } else {
      for (const auto& p : result.policy_problems) {
        spdlog::warn("{} (the entry grants nothing)", LogText(p, 1024));
      }
      const std::vector<std::string> restart = RestartOnlyChanges(config_, *result.config);
      SetLogLevel(result.config->daemon.log_level);
      config_.daemon.log_level = result.config->daemon.log_level;
      config_.access = result.config->access;
      policy_ = std::move(result.policy);
      if (!restart.empty()) {
        spdlog::warn("configuration changed but needs a restart: {}", Join(restart));
      }
      spdlog::info("configuration reloaded from {}", LogText(config_path_, 1024));
      NotifyReady("serving; configuration reloaded" +
                  (restart.empty() ? std::string() : "; needs a restart: " + Join(restart)) + "; " +
                  ActiveKids(keyring_));
    }
    if (reload_again_) {
      reload_again_ = false;
      Reload();
    }
  }

  Config config_;
  const std::string config_path_;
  keystore::Keyring& keyring_;
  const unsigned workers_;
  asio::io_context io_;
  api::Service service_;
  ipc::Router router_;
  // Swapped whole on SIGHUP; each request reads the policy current when it arrived.
  std::atomic<std::shared_ptr<const ipc::AccessPolicy>> policy_;
  ipc::Server server_;
  Scheduler scheduler_;
  std::unique_ptr<keystore::PgListener> listener_;  // a fleet's change hints; kicks scheduler_
  // After the scheduler: a peer's change kicks it.
  PeerThreads peers_;
  asio::steady_timer watchdog_{io_};
  asio::signal_set signals_{io_, SIGTERM, SIGINT, SIGHUP};
  bool stopping_ = false;      // the signal and watchdog handlers both run on the main thread
  bool reloading_ = false;     // a Reloader read is under way; main thread only
  bool reload_again_ = false;  // a SIGHUP came during it; main thread only
  // Declared last: destroyed first, so no result is posted to io_ once teardown has begun.
  Reloader reloader_{[this](ReloadResult r) {
    asio::post(io_, [this, r = std::move(r)]() mutable { ApplyReload(std::move(r)); });
  }};
};

}  // namespace

int RunDaemon(Config config, std::string config_path) {
  if (Status s = PrepareProcess(config); !s.ok()) {
    spdlog::critical("{}", s.message());
    return kExitFailure;
  }

  // The store before the socket: a daemon that cannot serve tokens must not take the socket.
  SystemClock clock;
  auto opened = OpenKeyring(config, clock);
  if (!opened) {
    spdlog::critical("cannot open the key store {}: {}", config.store.path,
                     opened.error().message());
    return kExitKeys;
  }
  spdlog::info("key store {} open (master key from {})",
               config.store.backend == "postgresql" ? keystore::RedactedUrl(config.store.url)
                                                    : config.store.path,
               opened->master_key_source);
  if (config.rotation_enc.alg == "RSA1_5") {
    spdlog::warn(
        "rotation.enc.alg is RSA1_5, which is deprecated (RFC 8725): move gateways to "
        "RSA-OAEP");
  }

  bool own_socket = false;
  auto listener = TakeListeningSocket(config, &own_socket);
  if (!listener) {
    spdlog::critical("{}", listener.error().message());
    return kExitFailure;
  }
  const std::string socket_path = config.daemon.socket;
  {
    ServingDaemon serving(std::move(config), std::move(config_path), *opened->keyring, clock,
                          opened->master_key_warning, std::move(*listener));
    serving.Run(own_socket ? socket_path : "the socket systemd passed");
  }
  if (own_socket) unlink(socket_path.c_str());
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace instaccess::daemon
