#pragma once
// Test support: a real cairnd process on 127.0.0.1 on ports from freePort() and its own temporary
// data directory. Readiness is the "ready" line the node prints once its sockets are bound,
// polled for in its log file; nothing sleeps for a fixed time.

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings/cpp/client.h"

namespace cairn::test {

// A client of the nodes at `endpoints` (comma-separated), with the long timeout tests on a busy
// machine want; `local`: reads of each node's own state.
client::Client clientFor(const std::string& endpoints, bool local = false);
// Files as path -> (rev, value), to compare states.
using Files = std::map<std::string, std::pair<std::int64_t, std::string>>;
// Every file matching `glob` at `rev` (the head if absent), read with WALK; throws if it fails.
Files walkFiles(client::Client& c, const std::string& glob,
                std::optional<std::int64_t> rev = std::nullopt);
// Whether the node at `endpoint` has applied `rev` (its own state, read locally) within timeoutMs.
bool awaitRev(const std::string& endpoint, std::int64_t rev, int timeoutMs = 10000);
// One counter from a node's SELF (0 if it has none), -1 when the node does not answer.
std::int64_t counter(const std::string& endpoint, const std::string& name);

// A file's whole contents ("" if it cannot be read).
std::string slurp(const std::string& path);

// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class NodeProcess {
 public:
  // Starts cairnd on `dataDir` with extra flags; throws if it is not ready within 60 s.
  explicit NodeProcess(std::string dataDir, std::vector<std::string> extra = {});
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  const std::string& client() const { return client_; }
  const std::string& events() const { return events_; }
  // HOST:PORT of its web room (started with --http), empty without one.
  const std::string& web() const { return web_; }
  pid_t pid() const { return pid_; }
  const std::string& logPath() const { return log_; }

  // SIGKILL, as a crash: nothing is flushed or closed by the node.
  void kill9();
  // SIGTERM and wait; returns the exit status as from waitpid.
  int terminate();
  // Waits for the process to exit by itself: its exit code, or -1 if it still runs after timeoutMs
  // (or was killed by a signal).
  int awaitExit(int timeoutMs);
  // SIGSTOP / SIGCONT: a process that stalls (a long GC pause, a stuck disk, a laptop lid).
  void pause();
  void resume();

 private:
  void reap(int sig);
  std::string dataDir_;
  std::string log_;
  std::string client_;
  std::string events_;
  std::string web_;
  pid_t pid_ = -1;
};

// A TCP port on 127.0.0.1 that is free now, for every endpoint a test node binds. It comes from
// 20000..29999, below the range the OS hands out for `*` binds and outgoing connections (so a
// restarted node finds its old port still free), and is spread by process id, so parallel tests
// rarely collide.
int freePort();

// A cluster of cairnd processes on 127.0.0.1, each with its own data directory under `dir`.
class Cluster {
 public:
  Cluster(const std::string& dir, int n, std::vector<std::string> extra = {});
  int size() const { return static_cast<int>(nodes_.size()); }
  NodeProcess& node(int id) { return *nodes_.at(static_cast<std::size_t>(id - 1)); }
  bool up(int id) const { return nodes_.at(static_cast<std::size_t>(id - 1)) != nullptr; }
  // The client endpoint of a running node (each start picks a new one).
  std::string client(int id) const { return nodes_.at(static_cast<std::size_t>(id - 1))->client(); }
  std::string peer(int id) const { return peers_.at(static_cast<std::size_t>(id - 1)); }
  // Every running node's client endpoint, comma-separated (for --addr and the client library).
  std::string clients() const;
  void kill9(int id);
  void start(int id);
  // Starts a node that was killed again on the client and feed endpoints it had, as a node
  // restarted by its supervisor would be (clients that know only those endpoints find it again).
  void restart(int id);
  // The id that every running node names as leader, once they agree; 0 if not within timeoutMs.
  int awaitLeader(int timeoutMs = 10000);
  // As awaitLeader, once /ctl also says what a cluster writes there on its own as it starts (the
  // leader, the members, each running node's client and feed endpoints), read linearizably: no
  // more writes of its own follow, and a test may count revs from here.
  int awaitSettled(int timeoutMs = 20000);

 private:
  void launch(int id, std::vector<std::string> args);
  std::string dir_;
  std::string list_;
  std::vector<std::string> peers_;
  std::vector<std::string> extra_;

  std::vector<std::unique_ptr<NodeProcess>> nodes_;
  std::vector<std::pair<std::string, std::string>> lastEndpoints_;  // client, events
};

// Runs a program with arguments and optional stdin, capturing stdout; returns its exit code.
struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
};
RunResult runProgram(const std::vector<std::string>& argv, const std::string& input = "",
                     const std::vector<std::string>& env = {});

// The cairn CLI against one address: cairn({"get", "/a"}) runs `cairn --addr ADDR get /a`.
struct Cli {
  std::string addr;
  RunResult operator()(std::vector<std::string> args, const std::string& input = "") const {
    std::vector<std::string> argv = {CAIRN_BIN, "--addr", addr};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProgram(argv, input);
  }
};

// A program running in the background with its stdout and stderr going to files; killed (SIGTERM,
// then reaped) by the destructor.
class BackgroundProgram {
 public:
  BackgroundProgram(const std::vector<std::string>& argv, const std::string& outFile);
  ~BackgroundProgram();
  BackgroundProgram(const BackgroundProgram&) = delete;
  BackgroundProgram& operator=(const BackgroundProgram&) = delete;
  std::string out() const;
  std::string err() const;
  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits for the program to exit by itself; its exit code, or -1 if it is still running after
  // timeoutMs (or was killed by a signal).
  int wait(int timeoutMs);

 private:
  std::string outFile_;
  pid_t pid_ = -1;
};

// Blocks until pred() is true or the deadline passes, checking every few milliseconds.
template <class Pred>
bool eventually(Pred pred, int timeoutMs = 10000);

}  // namespace cairn::test

#include "tests/support/node_process_inl.h"
