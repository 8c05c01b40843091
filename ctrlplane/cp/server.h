// The control socket of spectre-cp: a unix stream socket (mode 0600, or 0660
// with a group), one thread per client (at most max_clients), the protocol of
// commands.h. The peer's credentials (SO_PEERCRED) go with every command.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ctrlplane/cp/controller.h"

namespace spectre::cp {

struct ServerOptions {
  std::string path;
  gid_t group = gid_t(-1);   // set: socket mode 0660 and this group, else 0600
  size_t max_clients = 32;   // bounds threads and memory; more are refused
};

// Resolves a group name (or a number) to a gid.
bool lookup_group(const std::string& name, gid_t& gid, std::string& err);

class ControlServer {
 public:
  explicit ControlServer(Controller& c) : ctl_(c) {}
  ~ControlServer();
  // Creates the socket (and its directory, 0750). A stale socket file is
  // replaced; one that a running spectre-cp answers on is an error.
  bool listen(const ServerOptions& o, std::string& err);
  // Accepts and serves until stop() is called; joins every client thread.
  void run();
  void stop();
  // Removes the socket file if it is still the one we created.
  void close();

  static bool peer_of(int fd, Peer& p);

 private:
  struct Client {
    int fd = -1;
    std::thread th;
    std::atomic<bool> done{false};
  };
  void serve(Client* c);
  void reap(bool all);

  Controller& ctl_;
  ServerOptions opt_;
  int lfd_ = -1;
  int wake_[2] = {-1, -1};
  ino_t ino_ = 0;
  dev_t dev_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::list<std::unique_ptr<Client>> clients_;
};

}  // namespace spectre::cp
