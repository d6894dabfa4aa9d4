// cairn_fault: a real cluster of cairnd processes under a seeded schedule of faults, a recorded
// workload of colliding reads and writes, watchers, lock holders, lease keepers and a bank of
// transactions, and the checkers of checker.h and bank_checker.h at the end.
//
//   cairn_fault --seed 7 --duration 60                 # 3 nodes, 10 clients, every fault kind
//   cairn_fault --nodes 5 --duration 1800 --seed 42    # a soak (tools/soak.sh)
//   cairn_fault --debug-stale-reads --faults partition --expect-anomaly   # the checker can fail:
//       nodes started with a flag that answers linearizable reads locally must be caught
//
// Faults (--faults, comma-separated; default kill,stop,partition,delay): kill (kill -9 and
// restart, of the leader or a follower), stop (SIGSTOP then SIGCONT), partition (the leader
// isolated, or a random minority, through FaultNet's TCP proxies on every peer link), delay
// (every peer link slowed), member (membership changes through the log: a follower removed and
// replaced by a fresh node, or the leader removed, which hands over and exits, and a fresh node
// joined in its place; each waits until the newcomer is a voter, so the cluster keeps its size).
// Exit 0 when every check passes (or, with --expect-anomaly, when one fails), 1 otherwise, 2 on a
// setup error. The schedule is seeded; process timing is not, so a seed replays the same faults,
// not the same interleaving.
//
// Membership faults need ids, ports and proxies for the nodes that join, set up at the start:
// --member-changes of them (then the member faults stop). The workload's clients know every
// id's endpoint from the start and fail over to whichever answer. A step of a change that does
// not complete within its bound (REMOVE chosen, the newcomer ready, then a voter) fails the run,
// as does --expect-members when a run completed no replace-follower or no remove-leader:
//
//   cairn_fault --seed 5 --duration 40 --faults member,kill,partition --expect-members
//
// Locks and leases (PROTOCOL.md §7), in every run unless --lock-clients 0 --keepers 0:
// --lock-clients holders (3) loop: Lease::grant (--lock-ttl, 2 s), Mutex on /locks/fault, and in
// the critical section a read of /locks/counter written back + 1 by compare-and-set on the rev
// read, unless the lease is no longer alive(); then unlock and revoke. Each section is recorded
// (holder, token, [lock() returned, unlock() called], alive() at the end, the write's outcome);
// errors that faults cause are counted and the holder goes on. --keepers lease keepers (2) hold a
// lease each (--keeper-ttl, 2 s) with a file by it, send KEEPALIVE every third of the ttl and GET
// the file every 200 ms: every answered GRANT or KEEPALIVE sent at t promises the lease until
// t + ttl, and a GET answered before then must find the file. The checkers (checker.h): no two
// alive sections overlap, tokens increase, the counter has every acknowledged increment once, no
// lease ended while promised. --debug-lock-lapse makes the holders let their lease go mid-section
// and write on, claiming they held the lock: the run must fail (with --expect-anomaly):
//
//   cairn_fault --seed 6 --duration 10 --faults delay --debug-lock-lapse --expect-anomaly
//
// The bank (bank.h, bank_checker.h), in every run unless --bank-accounts 0: --bank-accounts
// accounts (5) under /bank/acct created at one rev by a TXN, --bank-clients transfer clients (2)
// moving money between two of them by TXNs with compares, --bank-readers readers (2) reading every
// account at one rev (WALK of the head, WALK at a past rev, a TXN of gets), and --bank-watchers
// watchers (1) following /bank/**, where each transfer is a rev of two changes. The history of
// /bank/** is recorded as the run goes, like /fault's, and replayed rev by rev: the sum never
// changes, each transfer is applied whole at one rev or not at all, every read is the state at
// its rev, and the revs respect real time (strict serializability). --debug-bank-split sends each
// transfer as two SETs and claims them as one: the run must fail (with --expect-anomaly):
//
//   cairn_fault --seed 7 --duration 10 --faults delay --debug-bank-split --expect-anomaly
//
// Exactly-once writes (PROTOCOL.md §5.1) are on in every workload client unless --exactly-once
// off: each client numbers its writes in a session, and one without a definite answer is resent
// until its deadline, applied once. Every kv SET writes a value unique in the run, so the history
// of /fault/** shows any write applied twice (fault::checkOnce): no value in two changes, an
// acknowledged SET's in exactly one at its rev, a refused one's in none. --debug-resend-plain makes
// the kv clients resend a SET that got TIMEOUT once more without a session, claiming its answer:
// the check must fail (with --expect-anomaly; kill and stop lose replies):
//
//   cairn_fault --seed 8 --duration 15 --faults kill,stop --debug-resend-plain --expect-anomaly
//
// Snapshots are off unless --snapshot-every is given. With them on, a node that restarts from a
// snapshot or installs one keeps its history only from there, so the history the checkers need
// is recorded during the run (recorder.h); --ballast makes the snapshots megabytes, so a
// transfer to a follower that fell behind crosses many --snapshot-chunk chunks, and
// --expect-snapshots fails a run in which no node installed one:
//
//   cairn_fault --seed 4 --faults kill,partition --snapshot-every 200 --log-retain 0
//               --snapshot-chunk 65536 --ballast 20000 --expect-snapshots
//
// --curve runs the same schedule with CURVE on (PROTOCOL.md §12): a key pair per node, spares
// included, and one for the harness's clients, made in the run's directory (mode 0600); every node
// starts with --key and --clients (the client's key and every node's, admin of /: a spare asks to
// JOIN as a client with its own key) and a keyed --cluster, --peer and --join; every client the
// harness makes (workload, watchers, locks, leases, bank, recorders, the nemesis's own) holds the
// client key pair (FaultCluster::options). The proxies pass CURVE through unchanged:
//
//   cairn_fault --seed 6 --duration 30 --curve

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bindings/cpp/client.h"
#include "bindings/cpp/lease.h"
#include "bindings/cpp/lock.h"
#include "bindings/cpp/watcher.h"
#include "store/snapshot.h"
#include "tests/fault/bank.h"
#include "tests/fault/checker.h"
#include "tests/fault/faultnet.h"
#include "tests/fault/recorder.h"
#include "tests/support/node_process.h"
#include "wire/cli/flags.h"
#include "wire/keys.h"

using namespace cairn;
using fault::FaultNet;
using fault::Op;
using fault::OpKind;
using fault::Outcome;

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int nodes = 3;
  std::uint64_t seed = 1;
  double duration = 30;
  int clients = 10;
  int keys = 5;
  int watchers = 2;
  std::set<std::string> faults = {"kill", "stop", "partition", "delay"};
  bool staleReads = false;
  bool expectAnomaly = false;
  bool verbose = false;
  // Off unless asked: every node cuts a snapshot at each multiple of this many slots.
  std::int64_t snapshotEvery = 100000000;
  std::int64_t snapshotChunk = 0;  // 0: cairnd's default
  std::int64_t snapshotRate = -1;  // -1: cairnd's default
  std::int64_t logRetain = -1;     // -1: cairnd's default
  int ballast = 0;                 // ~1 KiB files under /ballast written before the workload
  bool expectSnapshots = false;
  int memberChanges = 4;  // --faults member: the most changes a run makes (spare ids set up)
  bool expectMembers = false;
  int recordEveryMs = 200;      // the HistoryRecorder's period
  int lockClients = 3;          // lock holders contending for /locks/fault
  int lockTtlMs = 3000;         // their leases' ttl
  int keepers = 2;              // lease keepers checking KEEPALIVE's promise
  int keeperTtlMs = 2000;       // their leases' ttl (GRANT's least)
  bool debugLockLapse = false;  // holders revoke their lease mid-section and write on regardless
  int bankAccounts = 5;         // accounts under /bank/acct (0: no bank workload)
  int bankClients = 2;          // transfer clients
  int bankReaders = 2;          // readers of every account at one rev
  int bankWatchers = 1;         // watchers following /bank/**
  bool debugBankSplit = false;  // transfers as two SETs, claimed as one TXN
  std::string logsTo;           // a directory to copy the nodes' logs into at the end
  // Every workload client's client::Options::exactlyOnce; --debug-resend-plain: the kv clients
  // go without, and send a SET whose reply was lost once more (runClient).
  bool exactlyOnce = true;
  bool debugResendPlain = false;
  // CURVE on: every node has a key pair (--key, --clients, a keyed --cluster and --join), and
  // every client the harness makes holds the one client key pair (FaultCluster::options).
  bool curve = false;
};

const Clock::time_point kEpoch = Clock::now();
std::int64_t nsAt(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t - kEpoch).count();
}
std::int64_t nowNs() {
  return nsAt(Clock::now());
}

void log(const char* fmt, const std::string& s) {
  std::fprintf(stderr, "[%8.3f] ", static_cast<double>(nowNs()) / 1e9);
  std::fprintf(stderr, fmt, s.c_str());
  std::fputc('\n', stderr);
}

// Writes `text` to `path`, readable and writable by its owner only: cairnd and the client library
// refuse a key file its group or others can read. Throws when it cannot.
void writePrivateFile(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0;  // (in case it was there already)
  for (std::size_t done = 0; ok && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  const int err = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path + ": " + std::strerror(err));
}

// The cluster: nodes reach each other only through FaultNet. Ids 1..o.nodes are the bootstrap
// members; with --faults member, the next `spare` ids are kept for nodes that join later (a
// membership fault gives each joiner a fresh id, as cairnd never reuses one). FaultNet takes its
// links before it starts, so a spare id's peer port, its proxies to and from every other id, and
// its client and feed ports are all set up here, and every node is given --peer-via entries for
// every id from its first start on (cairnd uses an entry once a configuration names that id).
//
// With --curve every id (spares too) has a key pair made here, in `dir` (n<id>.key, mode 0600),
// and so has the harness's one client (client.key); `dir`/clients lets in the client's key and
// every node's (a spare asks to JOIN as a client with its own key), each as admin of /. Every node
// starts with --key and --clients, every peer endpoint in --cluster and --peer names its node's
// key, and so does every client endpoint the harness hands out (clientOf), --join's too; --client
// and --events bind them without the key. The proxies pass CURVE through as they pass plain text.
//
// Thread: the nemesis (main) thread starts, kills, removes and joins nodes; the workers only read
// the client endpoints and the options, which are fixed once the constructor returns.
class FaultCluster {
 public:
  FaultCluster(const std::string& dir, const Options& o, int spare)
      : dir_(dir), o_(o), ids_(o.nodes + spare) {
    if (o.curve) setUpKeys();
    std::vector<int> peerPorts;
    std::string list;
    for (int i = 1; i <= ids_; ++i) {
      peerPorts.push_back(test::freePort());
      if (i <= o.nodes) {
        list += (i > 1 ? "," : "") + std::to_string(i) + "=" +
                keyed(i, "tcp://127.0.0.1:" + std::to_string(peerPorts.back()));
      }
    }
    for (int i = 1; i <= ids_; ++i) {
      std::string via;
      for (int j = 1; j <= ids_; ++j) {
        if (j == i) continue;
        via += (via.empty() ? "" : ",") + std::to_string(j) + "=" +
               net_.addLink(i, j, peerPorts[static_cast<std::size_t>(j - 1)]);
      }
      // A bootstrap member is named by --cluster; a spare binds its own --peer (its restarts
      // too: the data directory knows the id, not where to listen) and joins at its first start.
      std::vector<std::string> args;
      if (i <= o.nodes) {
        args = {"--id", std::to_string(i), "--cluster", list};
      } else {
        args = {"--peer", keyed(i, "tcp://127.0.0.1:" +
                                       std::to_string(peerPorts[static_cast<std::size_t>(i - 1)]))};
        // Fixed ports, so that clients started before it joined find it.
        endpoints_[i] = {"tcp://127.0.0.1:" + std::to_string(test::freePort()),
                         "tcp://127.0.0.1:" + std::to_string(test::freePort())};
      }
      // The history window holds the whole run; a node that restarts from a snapshot, or installs
      // one, keeps its history only from there on (the HistoryRecorder reads it as the run goes).
      args.insert(args.end(), {"--peer-via", via, "--history", "50000000", "--snapshot-every",
                               std::to_string(o.snapshotEvery)});
      if (o.snapshotChunk > 0)
        args.insert(args.end(), {"--snapshot-chunk", std::to_string(o.snapshotChunk)});
      if (o.snapshotRate >= 0)
        args.insert(args.end(), {"--snapshot-rate", std::to_string(o.snapshotRate)});
      if (o.logRetain >= 0) args.insert(args.end(), {"--log-retain", std::to_string(o.logRetain)});
      if (o.staleReads) args.push_back("--debug-stale-reads");
      if (o.curve) args.insert(args.end(), {"--key", keyFile(i), "--clients", dir_ + "/clients"});
      args_.push_back(args);
    }
    net_.start();
    nodes_.resize(static_cast<std::size_t>(ids_));
    for (int i = 1; i <= o.nodes; ++i) {
      members_.push_back(i);
      start(i);
    }
  }

  // Starts member `id`, or restarts it on the endpoints it had, so clients find it again.
  void start(int id) { launch(id, {}); }
  // Starts the next spare id as a fresh node (a new data directory) that joins the cluster through
  // member `through`, and returns its id; it is a member from here on. Throws what
  // test::NodeProcess throws (not ready within 20 s, or it exited: a JOIN refused).
  int join(int through) {
    const int id = joined_ + o_.nodes + 1;
    ++joined_;
    launch(id, {"--join", clientOf(through), "--id", std::to_string(id)});
    members_.push_back(id);
    return id;
  }
  // Member `id` left the configuration and its process is gone: it is never picked or restarted.
  void removed(int id) {
    nodes_[static_cast<std::size_t>(id - 1)].reset();
    members_.erase(std::find(members_.begin(), members_.end(), id));
  }
  // Spare ids that have not joined yet.
  int spareLeft() const { return ids_ - o_.nodes - joined_; }
  // The current members, bootstrap members first, then joiners in the order they joined.
  const std::vector<int>& members() const { return members_; }
  // Every id that has had a process (its log exists).
  std::vector<int> started() const {
    std::vector<int> v;
    for (int i = 1; i <= o_.nodes + joined_; ++i)
      v.push_back(i);
    return v;
  }

  void kill9(int id) { nodes_[static_cast<std::size_t>(id - 1)].reset(); }
  bool up(int id) const { return nodes_[static_cast<std::size_t>(id - 1)] != nullptr; }
  test::NodeProcess& node(int id) { return *nodes_[static_cast<std::size_t>(id - 1)]; }
  // The node's log, appended to by each of its runs (test::NodeProcess).
  std::string logOf(int id) const { return dir_ + "/n" + std::to_string(id) + ".log"; }
  // Its client endpoint, naming its key with --curve.
  std::string clientOf(int id) const { return keyed(id, endpoints_.at(id).first); }
  // Every id's client endpoint: the bootstrap members' from the one `rotate` picks on, then the
  // spares' (a spare's before it joins, a removed node's after it left: the client library fails
  // over to the endpoints that answer, so a worker follows the membership without being told).
  std::vector<std::string> clients(int rotate) const {
    std::vector<std::string> v;
    for (int i = 0; i < o_.nodes; ++i)
      v.push_back(clientOf((i + rotate) % o_.nodes + 1));
    for (int i = o_.nodes + 1; i <= ids_; ++i)
      v.push_back(clientOf(i));
    return v;
  }
  // The current members' client endpoints (for membership requests).
  std::vector<std::string> memberClients() const {
    std::vector<std::string> v;
    for (int id : members_)
      v.push_back(clientOf(id));
    return v;
  }
  FaultNet& net() { return net_; }

  // The options every client of the harness starts from: `endpoints`, and with --curve the run's
  // client key pair (the endpoints name the nodes' keys). The one place the client key is set.
  client::Options options(std::vector<std::string> endpoints) const {
    client::Options co;
    co.endpoints = std::move(endpoints);
    co.key = clientKey_;
    return co;
  }
  // With --curve, the intruder's: a key of its own, user "intruder", granted rw /intruder/ only.
  client::Options intruderOptions(std::vector<std::string> endpoints) const {
    client::Options co = options(std::move(endpoints));
    co.key = intruderKey_;
    return co;
  }
  client::WatchOptions watchOptions(std::vector<std::string> endpoints) const {
    client::WatchOptions wo;
    wo.endpoints = std::move(endpoints);
    wo.key = clientKey_;
    return wo;
  }

  // The members whose process ended though the harness did not stop it (a crash, an abort), each
  // with the line of its log that says why when there is one; "" when every member runs. Each is
  // told once: it is down from then on.
  std::string crashed() {
    std::string out;
    for (int id : members_) {
      if (!up(id)) continue;
      const int code = node(id).awaitExit(0);
      if (node(id).pid() > 0) continue;  // still running
      std::ifstream f(logOf(id));
      std::string why, last;
      for (std::string line; std::getline(f, line);) {
        if (why.empty() && (line.find("runtime error") != std::string::npos ||
                            line.find("Sanitizer") != std::string::npos ||
                            line.find("terminate called") != std::string::npos)) {
          why = line;
        }
        if (!line.empty()) last = line;
      }
      out += (out.empty() ? "" : "; ") + std::string("node ") + std::to_string(id) + " exited (" +
             (code >= 0 ? "code " + std::to_string(code) : std::string("a signal")) +
             "), its log " + logOf(id) + ": " + (why.empty() ? last : why);
      kill9(id);  // reaped already: only the slot goes
    }
    return out;
  }

  // The leader every reachable member names, 0 if none.
  int leader() {
    for (int i : members_) {
      if (!up(i)) continue;
      client::Options co = options({clientOf(i)});
      co.timeout = std::chrono::milliseconds(300);
      co.attempts = 1;
      client::Client c(co);
      auto r = c.self();
      if (r && r->leader.value_or(0) != 0 && r->id.value_or(0) == *r->leader) return i;
    }
    return 0;
  }

 private:
  void launch(int id, const std::vector<std::string>& extra) {
    auto& slot = nodes_[static_cast<std::size_t>(id - 1)];
    std::vector<std::string> args = args_[static_cast<std::size_t>(id - 1)];
    args.insert(args.end(), extra.begin(), extra.end());
    if (endpoints_.count(id)) {
      args.insert(args.end(),
                  {"--client", endpoints_[id].first, "--events", endpoints_[id].second});
    }
    slot = std::make_unique<test::NodeProcess>(dir_ + "/n" + std::to_string(id), args);
    if (!endpoints_.count(id)) {
      // As bound: a restart binds them again (clientOf puts the key back in).
      endpoints_[id] = {wire::splitKeyedEndpoint(slot->client()).endpoint,
                        wire::splitKeyedEndpoint(slot->events()).endpoint};
    }
  }

  // --curve: a key pair per id and one for the clients, their files, and the clients file.
  void setUpKeys() {
    std::string clients;
    auto make = [&](const std::string& path, const std::string& user,
                    const std::string& grants = "admin /") {
      auto k = wire::generateKeyPair();
      if (!k) throw std::runtime_error("cannot make a key pair: " + k.status().toString());
      writePrivateFile(path, wire::formatKeyFile(*k));
      clients += k->publicKey + " " + user + " " + grants + "\n";
      return *k;
    };
    clientKey_ = make(dir_ + "/client.key", "harness");
    intruderKey_ = make(dir_ + "/intruder.key", "intruder", "rw /intruder/");
    for (int i = 1; i <= ids_; ++i)
      keys_.push_back(make(keyFile(i), "node" + std::to_string(i)));
    writePrivateFile(dir_ + "/clients", clients);
  }
  std::string keyFile(int id) const { return dir_ + "/n" + std::to_string(id) + ".key"; }
  // `endpoint` naming node `id`'s key with --curve, as it is without.
  std::string keyed(int id, const std::string& endpoint) const {
    if (!o_.curve) return endpoint;
    return wire::keyedEndpoint(endpoint, keys_.at(static_cast<std::size_t>(id - 1)).publicKey);
  }

  std::string dir_;
  Options o_;
  int ids_;         // bootstrap members and spares
  int joined_ = 0;  // spares that have joined
  FaultNet net_;
  std::vector<std::vector<std::string>> args_;             // per id
  std::vector<std::unique_ptr<test::NodeProcess>> nodes_;  // per id: null when down or gone
  std::vector<int> members_;
  std::map<int, std::pair<std::string, std::string>> endpoints_;  // client, events; no keys
  std::vector<wire::KeyPair> keys_;                               // per id, with --curve
  std::optional<wire::KeyPair> clientKey_;                        // with --curve
  std::optional<wire::KeyPair> intruderKey_;                      // with --curve
};

// What the membership faults did: for the log, the summary and --expect-members.
struct MemberLog {
  std::map<std::string, int> done;      // changes completed, by kind
  std::vector<std::int64_t> toVoterMs;  // per join: from its start to "voter" in MEMBERS
  std::vector<std::int64_t> exitMs;     // per removal: from the REMOVE's reply to the exit
  int killed = 0;                       // removed nodes that had not exited within the bound
  int skipped = 0;                      // no leader to remove or to ask
  std::string failure;                  // a change that did not complete: the run fails
};

// The bounds of a membership change's steps. A step past its bound fails the run (a cluster that
// cannot change its members is a finding), except a removed node that does not exit: killed.
constexpr int kLeaderWaitMs = 10000;  // a leader to remove, or to ask
constexpr int kRemoveWaitMs = 30000;  // REMOVE, retried until it is chosen
constexpr int kExitWaitMs = 20000;    // the removed process exits by itself
constexpr int kVoterWaitMs = 60000;   // the joiner caught up and promoted
// cairnd answers a change it could not get chosen within 10 s with TIMEOUT (PROTOCOL.md, JOIN):
// the harness waits a little longer for the reply.
constexpr int kChangeReplyMs = 12000;

std::int64_t msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}
std::string seconds(int ms) {
  return std::to_string(ms / 1000) + " s";
}

// A client for membership requests (sent on to the leader), through the current members.
client::Client memberClient(FaultCluster& cl) {
  client::Options co = cl.options(cl.memberClients());
  co.timeout = std::chrono::milliseconds(kChangeReplyMs);
  co.attempts = 1;
  return client::Client(co);
}

// A removed node takes its history with it, and the members left may hold theirs only from a later
// snapshot: the recorder reads through the head before a REMOVE (every rev after it is on every
// member). Its thread is stopped for that and started again. A range it cannot read any more
// fails the run at the end, as always (HistoryRecorder::failure).
void catchUp(fault::HistoryRecorder& recorder, FaultCluster& cl, const Options& o) {
  client::Options co = cl.options(cl.memberClients());
  co.timeout = std::chrono::milliseconds(2000);
  client::Client c(co);
  auto head = c.rev();
  if (!head) {
    log("  the recorder was not caught up (no REV: %s)", head.status().toString());
    return;
  }
  const auto t0 = Clock::now();
  recorder.stop();
  const bool ok = recorder.finish(*head, Clock::now() + std::chrono::seconds(30));
  recorder.start(std::chrono::milliseconds(o.recordEveryMs));
  log("  %s", "the recorder read through rev " + std::to_string(*head) + " in " +
                  std::to_string(msSince(t0)) + " ms" + (ok ? "" : ": " + recorder.failure()));
}

// One membership fault, healed before it returns: REMOVE a follower ("replace-follower") or the
// leader ("remove-leader", which hands over first), wait for the removed process to exit by
// itself (or kill it past kExitWaitMs), then JOIN a fresh node (the next spare id, a new data
// directory) through a member, and wait until the leader has promoted it to voter: the cluster
// keeps its size. `pick` chooses the follower and the member joined through, apart from the
// schedule's generator (the leader, which these choices depend on, is a matter of timing).
// `beforeRemove` runs once the node to remove is chosen, right before its REMOVE. False, with
// ml->failure set, when a step did not complete within its bound.
bool changeMembers(FaultCluster& cl, const std::string& kind, std::mt19937_64& pick,
                   const std::function<void()>& beforeRemove, MemberLog* ml) {
  int leader = 0;
  const auto l0 = Clock::now();
  while (leader == 0 && msSince(l0) < kLeaderWaitMs) {
    leader = cl.leader();
    if (leader == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // election
  }
  if (leader == 0) {
    ++ml->skipped;
    log("fault: %s", kind + " skipped: no leader within " + seconds(kLeaderWaitMs));
    return true;
  }
  int victim = leader;
  if (kind == "replace-follower") {
    std::vector<int> followers;
    for (int id : cl.members())
      if (id != leader) followers.push_back(id);
    victim = followers[pick() % followers.size()];
  }
  log("fault: %s",
      kind + " node " + std::to_string(victim) + " (leader " + std::to_string(leader) + ")");

  beforeRemove();
  // REMOVE, asked again while it is not chosen; a TIMEOUT may have been chosen after all, which
  // MEMBERS (or a NOENT to the next try) tells.
  const auto t0 = Clock::now();
  std::string lastError;
  std::int64_t config = 0;
  auto mc = memberClient(cl);
  for (int tries = 0;; ++tries) {
    wire::Request q;
    q.verb = wire::Verb::kRemove;
    q.id = victim;
    auto r = mc.leaderCall(q);
    if (r) {
      config = r->config.value_or(0);
      break;
    }
    lastError = r.status().toString();
    if (tries > 0 && r.status().code() == wire::Err::kNoEnt) break;
    auto m = mc.members();
    if (m && m->members &&
        std::none_of(m->members->begin(), m->members->end(),
                     [&](const wire::MemberInfo& e) { return e.id == victim; })) {
      config = m->config.value_or(0);
      break;
    }
    if (msSince(t0) > kRemoveWaitMs) {
      ml->failure = "REMOVE of node " + std::to_string(victim) + " (" + kind +
                    ") was not chosen within " + seconds(kRemoveWaitMs) +
                    "; last answer: " + lastError;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // between tries
  }
  const auto removedAt = Clock::now();
  const int code = cl.node(victim).awaitExit(kExitWaitMs);
  std::string exit;
  if (code == 0) {
    ml->exitMs.push_back(msSince(removedAt));
    exit = "it exited by itself (0) " + std::to_string(ml->exitMs.back()) + " ms later";
  } else if (cl.node(victim).pid() > 0) {
    ++ml->killed;
    cl.kill9(victim);
    exit = "it had not exited " + seconds(kExitWaitMs) + " later: killed";
  } else {
    ml->failure = "node " + std::to_string(victim) + ", removed (" + kind + "), exited with " +
                  (code > 0 ? "code " + std::to_string(code) : std::string("a signal")) +
                  ", not 0: see " + cl.logOf(victim);
    return false;
  }
  cl.removed(victim);
  log("  %s", "node " + std::to_string(victim) + " removed (configuration " +
                  std::to_string(config) + ") in " + std::to_string(msSince(t0)) + " ms; " + exit +
                  (lastError.empty() ? "" : "; an earlier try: " + lastError));

  // JOIN a fresh node in its place, through any member.
  const auto& ms = cl.members();
  const int through = ms[pick() % ms.size()];
  const auto j0 = Clock::now();
  int id = 0;
  try {
    id = cl.join(through);
  } catch (const std::exception& e) {
    ml->failure = "a fresh node did not join through node " + std::to_string(through) + " (" +
                  kind + "): " + e.what();
    return false;
  }
  const std::int64_t readyMs = msSince(j0);
  std::string roles;
  auto asker = memberClient(cl);
  while (true) {
    auto m = asker.members();
    roles.clear();
    bool voter = false;
    if (m && m->members) {
      for (const auto& e : *m->members) {
        roles += (roles.empty() ? "" : " ") + std::to_string(e.id) + ":" + e.role;
        voter = voter || (e.id == id && e.role == "voter");
      }
    } else if (!m) {
      roles = m.status().toString();
    }
    if (voter) break;
    if (msSince(j0) > kVoterWaitMs) {
      ml->failure = "node " + std::to_string(id) + " joined (" + kind + ", ready in " +
                    std::to_string(readyMs) + " ms) but was not a voter " + seconds(kVoterWaitMs) +
                    " later; MEMBERS: " + roles;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // catch-up poll
  }
  ml->toVoterMs.push_back(msSince(j0));
  ++ml->done[kind];
  log("  %s", "node " + std::to_string(id) + " joined through node " + std::to_string(through) +
                  ": ready in " + std::to_string(readyMs) + " ms, a voter " +
                  std::to_string(ml->toVoterMs.back()) + " ms after it started; members " + roles);
  return true;
}

// One client: random operations on a few keys, every invocation and completion recorded. With
// --debug-resend-plain it is the broken client of that flag: without a session, it sends a SET
// that got TIMEOUT once more as a new write, and records that second answer as the SET's
// (*plainResends counts them).
void runClient(int id, const Options& o, FaultCluster& cl, std::atomic<bool>& stop,
               std::vector<Op>* out, int* plainResends) {
  client::Options co = cl.options(cl.clients(id));
  co.timeout = std::chrono::milliseconds(1000);
  co.attempts = 2;
  co.exactlyOnce = o.exactlyOnce && !o.debugResendPlain;
  client::Client c(co);
  std::mt19937_64 rng(o.seed * 1000003 + static_cast<std::uint64_t>(id));
  std::map<std::string, std::int64_t> seen;  // the last rev this client saw per key (for CAS)
  int n = 0;
  while (!stop) {
    Op op;
    op.client = id;
    op.key = "/fault/k" + std::to_string(rng() % static_cast<std::uint64_t>(o.keys));
    const int dice = static_cast<int>(rng() % 100);
    op.kind = dice < 35   ? OpKind::kGet
              : dice < 40 ? OpKind::kRev
              : dice < 90 ? OpKind::kSet
                          : OpKind::kDel;
    if (op.kind == OpKind::kSet) {
      op.value = "c" + std::to_string(id) + "-" + std::to_string(n++);
      op.cond = dice < 65 ? -1 : dice < 80 ? seen[op.key] : 0;
    } else if (op.kind == OpKind::kDel) {
      op.cond = dice < 95 ? -1 : seen[op.key];
    }
    op.invoke = nowNs();
    wire::Status st;
    if (op.kind == OpKind::kRev) {
      op.key.clear();
      auto r = c.rev();
      st = r.status();
      if (r) op.rev = *r;
    } else if (op.kind == OpKind::kGet) {
      auto r = c.get(op.key);
      st = r.status();
      if (r) {
        op.rev = r->rev;
        op.got = r->value;
        seen[op.key] = r->rev;
      }
    } else {
      auto r = op.kind == OpKind::kSet ? c.set(op.key, op.value, op.cond) : c.del(op.key, op.cond);
      if (o.debugResendPlain && op.kind == OpKind::kSet && !r &&
          r.status().code() == wire::Err::kTimeout) {
        ++*plainResends;
        r = c.set(op.key, op.value, op.cond);
      }
      st = r.status();
      if (r) {
        op.rev = *r;
        seen[op.key] = op.kind == OpKind::kSet ? *r : 0;
      }
    }
    if (st.isOk()) {
      op.outcome = Outcome::kOk;
      op.complete = nowNs();
    } else if (st.code() == wire::Err::kTimeout) {
      op.outcome = Outcome::kUnknown;  // complete stays "never"
    } else {
      op.outcome = Outcome::kFail;
      op.err = wire::errName(st.code());
      op.complete = nowNs();
    }
    out->push_back(std::move(op));
  }
}

// Backups taken during the run (cairn snapshot save's path): each is checked against the history
// of /fault at its rev (fault::checkBackups). Failures under faults are counted, not anomalies.
struct BackupLog {
  std::vector<fault::Backup> taken;
  int failed = 0;
  std::string lastError;
};

void runBackups(int id, const Options& o, FaultCluster& cl, std::atomic<bool>& stop,
                BackupLog* out) {
  client::Options co = cl.options(cl.clients(id));
  co.timeout = std::chrono::milliseconds(2000);
  co.attempts = 2;
  co.exactlyOnce = o.exactlyOnce;  // (it only reads)
  client::Client c(co);
  while (!stop) {
    fault::Backup b;
    b.client = id;
    b.invoke = nowNs();
    std::string bytes;
    auto r = c.backup([&](std::int64_t offset, std::string_view piece) {
      if (offset == 0) bytes.clear();  // started over on another node
      bytes.append(piece);
      return wire::Status::ok();
    });
    b.complete = nowNs();
    auto st = r ? store::decodeSnapshot(bytes, {}) : wire::Result<store::Store>(r.status());
    if (!st) {
      ++out->failed;
      out->lastError = st.status().toString();
    } else {
      b.rev = st->rev();
      auto glob = wire::Glob::compile("/fault/**");
      std::optional<std::string> after;
      do {
        auto page = st->walk(*glob, st->rev(), after, 10000, std::size_t(1) << 30);
        if (!page) break;
        after = page->next;
        for (std::size_t i = 0; i < page->names.size(); ++i)
          b.files[page->names[i]] = {page->nodes[i]->rev, *page->nodes[i]->value};
      } while (after);
      out->taken.push_back(std::move(b));
    }
    // One backup about every 3 s: a workload's pace, polled so the run can end at once.
    for (int t = 0; t < 30 && !stop; ++t)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// What a watcher of `glob` delivered. `got`, `tooLate` and `error` are read after its thread ends.
struct WatchLog {
  std::string glob;
  std::vector<fault::Change> got;
  std::atomic<std::int64_t> complete{0};
  std::atomic<bool> ended{false};
  bool tooLate = false;
  std::string error;
};

void runWatcher(int id, FaultCluster& cl, std::atomic<bool>& stop, WatchLog* out) {
  client::WatchOptions wo = cl.watchOptions(cl.clients(id));
  wo.glob = out->glob;
  wo.fromRev = 1;
  client::Watcher w(wo);
  while (!stop) {
    auto n = w.next(std::chrono::milliseconds(100));
    if (!n) {
      out->tooLate = n.status().code() == wire::Err::kTooLate;
      out->error = n.status().toString();
      break;
    }
    if (*n && (*n)->kind == client::Notice::Kind::kChange) {
      const auto& ch = (*n)->change;
      out->got.push_back(fault::Change{ch.rev, ch.path, ch.op, ch.value});
    }
    out->complete = w.complete();
  }
  out->ended = true;
}

// The lock workload: holders take turns in a Mutex on /locks/fault, each with a Lease of its own,
// and increment /locks/counter inside, by compare-and-set on the rev they read. Every critical
// section is recorded (fault::Section) for checkLocks and checkCounter; the errors faults cause
// (UNAVAILABLE, TIMEOUT, NOENT: a lease that ended while queued) are counted, and the holder backs
// off and goes on. A holder whose lease is not alive() skips its write.
struct LockLog {
  std::vector<fault::Section> sections;
  std::map<std::string, int> errors;  // "step: ERR" -> count
};

constexpr const char* kLockDir = "/locks/fault";
constexpr const char* kCounter = "/locks/counter";

void runLockHolder(int id, const Options& o, FaultCluster& cl, std::atomic<bool>& stop,
                   LockLog* out) {
  client::Options co = cl.options(cl.clients(id));
  co.timeout = std::chrono::milliseconds(1000);
  co.attempts = 2;
  co.exactlyOnce = o.exactlyOnce;  // the Mutex's writes, the counter's, and each Lease's clients
  client::Client c(co);
  std::mt19937_64 rng(o.seed * 9176 + static_cast<std::uint64_t>(id));
  auto nap = [&](int lo, int hi) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo))));
  };
  auto error = [&](const std::string& step, const wire::Status& st) {
    ++out->errors[step + ": " + wire::errName(st.code())];
  };
  while (!stop) {
    auto lease = client::Lease::grant(co, std::chrono::milliseconds(o.lockTtlMs));
    if (!lease) {
      error("grant", lease.status());
      nap(100, 300);  // back off: a fault is on
      continue;
    }
    client::Mutex m(c, **lease, kLockDir);
    auto token = m.lock(std::chrono::milliseconds(5000), [&] { return stop.load(); });
    if (!token) {
      if (!stop) error("lock", token.status());
      if (auto st = m.unlock(); !st.isOk()) error("unlock", st);
      if (auto st = (*lease)->revoke(); !st.isOk()) error("revoke", st);
      nap(100, 300);
      continue;
    }
    fault::Section s;
    s.holder = id;
    s.lease = (*lease)->id();
    s.token = *token;
    s.start = nowNs();
    // The critical section: read the counter, hold it a little, write it back + 1 if the rev is
    // still the one read. With --debug-lock-lapse the holder lets its lease go after the read
    // (the next holder gets the lock), ignores alive() and claims it at the end: a broken client
    // that the checkers must catch.
    if (!(*lease)->alive()) {
      s.why = "lease not alive before the read";
    } else if (auto f = c.get(kCounter); !f) {
      s.why = std::string("GET ") + wire::errName(f.status().code());
    } else {
      const std::int64_t read = f->rev == 0 ? 0 : std::stoll(f->value);
      if (o.debugLockLapse) {
        (void)(*lease)->revoke();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the next one is in
      } else {
        // Hold the lock a while, now and then for long (a fault may come meanwhile): a second
        // holder would overlap.
        if (rng() % 10 == 0) {
          nap(500, 1500);
        } else {
          nap(0, 100);
        }
      }
      if (!o.debugLockLapse && !(*lease)->alive()) {
        s.why = "lease not alive before the write";
      } else {
        s.wrote = read + 1;
        // rev 0 (no counter yet) creates it only if still absent.
        auto w = c.set(kCounter, std::to_string(s.wrote), f->rev);
        if (w) {
          s.write = fault::Guarded::kOk;
        } else if (w.status().code() == wire::Err::kRevMismatch) {
          s.write = fault::Guarded::kMismatch;
        } else if (w.status().code() == wire::Err::kTimeout) {
          s.write = fault::Guarded::kUnknown;
        } else {
          s.write = fault::Guarded::kFailed;
          s.why = wire::errName(w.status().code());
        }
      }
    }
    s.end = nowNs();
    s.alive = o.debugLockLapse || (*lease)->alive();  // the lie of --debug-lock-lapse
    if (o.verbose)
      log("lock: %s", "holder " + std::to_string(id) + " token " + std::to_string(s.token) +
                          (s.alive ? "" : " lapsed"));
    out->sections.push_back(std::move(s));
    if (auto st = m.unlock(); !st.isOk()) error("unlock", st);
    if (auto st = (*lease)->revoke(); !st.isOk()) error("revoke", st);
    nap(0, 50);
  }
}

// A lease keeper: grants a lease, keeps a file /leases/k<id>-<lease> by it, and sends KEEPALIVE
// every third of the ttl. Each answered GRANT or KEEPALIVE sent at t is a promise: alive until
// t + ttl. After every keep-alive, answered or not, and every 200 ms between them, a linearizable
// GET of the file checks it (fault::checkLeasePromises: gone while a promise holds is a
// violation; so is a KEEPALIVE, or the file's SET, answered NOENT). After 4-8 s a lease is
// revoked, or (every other one) left to expire: its keep-alives stop and GETs watch for the
// leader's expiry, which must not come before the last promise ends. Then the next lease.
// With --curve, an intruder: a user who may write /intruder/ only, and who tries, all run long, to
// use the other clients' leases (ids are small numbers, easy to guess): writes in their sessions
// (a seq of 1-8, the ones whose replies the sessions keep), files kept with their leases,
// KEEPALIVE, LEASE and REVOKE. Every one must be refused; any answered OK is an anomaly, and so is
// any file under /intruder/ at the end. The lease checks (keepers' promises, exactly-once) must
// hold as they do without it.
struct IntruderLog {
  int tries = 0, refused = 0;          // refused: PERMISSION
  std::map<std::string, int> answers;  // by attempt and answer
  std::vector<std::string> served;     // attempts answered OK: anomalies
};

void runIntruder(const Options& o, FaultCluster& cl, std::atomic<bool>& stop, IntruderLog* out) {
  client::Options co = cl.intruderOptions(cl.clients(0));
  co.timeout = std::chrono::milliseconds(1000);
  co.attempts = 2;
  co.exactlyOnce = false;
  client::Client c(co);
  std::mt19937_64 rng(o.seed * 7919 + 17);
  std::uint64_t highest = 0;  // the highest lease id refused PERMISSION: one that exists
  for (int n = 0; !stop; ++n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 100));
    const std::int64_t lease = static_cast<std::int64_t>(1 + rng() % (highest + 16));
    wire::Request req;
    std::string what;
    switch (n % 5) {
      case 0:  // a write in another's session: its reply, or its seq, is what is after
        req.verb = wire::Verb::kSet;
        req.path = "/intruder/s" + std::to_string(n);
        req.value = "stolen";
        req.rev = -1;
        req.session = lease;
        req.seq = static_cast<std::int64_t>(1 + rng() % 8);
        what = "SET in session";
        break;
      case 1:
        req.verb = wire::Verb::kSet;
        req.path = "/intruder/l" + std::to_string(n);
        req.value = "kept";
        req.rev = -1;
        req.lease = lease;
        what = "SET with lease";
        break;
      case 2:
        req.verb = wire::Verb::kKeepalive;
        req.lease = lease;
        what = "KEEPALIVE";
        break;
      case 3:
        req.verb = wire::Verb::kLease;
        req.lease = lease;
        what = "LEASE";
        break;
      default:
        req.verb = wire::Verb::kRevoke;
        req.lease = lease;
        what = "REVOKE";
    }
    ++out->tries;
    auto r = req.verb == wire::Verb::kKeepalive ? c.leaderCall(req) : c.call(req);
    const wire::Status st = r ? r->status() : r.status();
    ++out->answers[what + ": " + wire::errName(st.code())];
    if (st.code() == wire::Err::kPermission) {
      ++out->refused;
      highest = std::max(highest, static_cast<std::uint64_t>(lease));
    } else if (st.isOk()) {
      out->served.push_back(what + " of lease " + std::to_string(lease) + " was answered OK");
    }
  }
}

struct KeeperLog {
  std::vector<fault::LeaseEvent> events;
  int granted = 0, revoked = 0, expired = 0, lingering = 0, lost = 0;
  std::int64_t maxExpiryLagNs = 0;  // from the last promise's end to the GET that saw it gone
  std::map<std::string, int> errors;
};

void runKeeper(int id, const Options& o, FaultCluster& cl, std::atomic<bool>& stop,
               KeeperLog* out) {
  client::Options co = cl.options(cl.clients(id));
  co.timeout = std::chrono::milliseconds(1000);
  co.attempts = 2;
  co.exactlyOnce = o.exactlyOnce;  // GRANT, the leased file's SET, REVOKE
  client::Client c(co);
  std::mt19937_64 rng(o.seed * 6007 + static_cast<std::uint64_t>(id));
  const std::chrono::milliseconds ttl(o.keeperTtlMs);
  const std::int64_t ttlNs = std::int64_t(o.keeperTtlMs) * 1000000;
  auto error = [&](const std::string& step, const wire::Status& st) {
    ++out->errors[step + ": " + wire::errName(st.code())];
  };
  auto event = [&](std::uint64_t lease, fault::LeaseSeen kind, std::int64_t sent,
                   std::int64_t until, const std::string& what) {
    fault::LeaseEvent e;
    e.keeper = id;
    e.lease = lease;
    e.kind = kind;
    e.sent = sent;
    e.answered = nowNs();
    e.until = until;
    e.what = what;
    out->events.push_back(std::move(e));
  };
  // A linearizable GET of the leased file; false once it is gone.
  auto check = [&](std::uint64_t lease, const std::string& path) {
    const std::int64_t t = nowNs();
    auto f = c.get(path);
    if (!f) {
      error("get", f.status());
      return true;
    }
    event(lease, f->rev != 0 ? fault::LeaseSeen::kPresent : fault::LeaseSeen::kAbsent, t, 0, "GET");
    return f->rev != 0;
  };
  auto sleepUntil = [&](Clock::time_point t) {
    while (!stop && Clock::now() < t)
      std::this_thread::sleep_until(std::min(t, Clock::now() + std::chrono::milliseconds(50)));
  };
  for (int n = 0; !stop; ++n) {
    std::int64_t t = nowNs();
    auto g = c.grant(ttl);
    if (!g) {
      error("grant", g.status());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // back off
      continue;
    }
    const std::uint64_t lease = *g;
    ++out->granted;
    std::int64_t until = t + ttlNs;
    event(lease, fault::LeaseSeen::kPromise, t, until, "GRANT");
    const std::string path = "/leases/k" + std::to_string(id) + "-" + std::to_string(lease);
    t = nowNs();
    auto w = c.set(path, "kept", 0, lease);
    if (!w) {
      if (w.status().code() == wire::Err::kNoEnt) {
        event(lease, fault::LeaseSeen::kAbsent, t, 0, "SET with the lease -> NOENT");
      }
      error("set", w.status());
      if (auto r = c.revoke(lease); !r && r.status().code() != wire::Err::kNoEnt)
        error("revoke", r.status());
      continue;
    }
    const auto lifeEnd =
        Clock::now() + std::chrono::milliseconds(4000 + static_cast<int>(rng() % 4000));
    auto next = Clock::now() + ttl / 3;
    bool gone = false;
    while (!stop && !gone && Clock::now() < lifeEnd) {
      // A GET every 200 ms or so, a KEEPALIVE when one is due.
      sleepUntil(std::min(next, Clock::now() + std::chrono::milliseconds(200)));
      if (stop) break;
      if (Clock::now() < next) {
        gone = !check(lease, path);
        if (gone) ++out->lost;
        continue;
      }
      const auto sentAt = Clock::now();
      t = nsAt(sentAt);
      auto k = c.keepAlive(lease);
      if (k) {
        const std::int64_t promised = t + std::int64_t(k->count()) * 1000000;
        until = std::max(until, promised);
        event(lease, fault::LeaseSeen::kPromise, t, promised, "KEEPALIVE");
        next = sentAt + *k / 3;
      } else if (k.status().code() == wire::Err::kNoEnt) {
        event(lease, fault::LeaseSeen::kAbsent, t, 0, "KEEPALIVE -> NOENT");
        ++out->lost;
        gone = true;
        break;
      } else {
        error("keepalive", k.status());
        next = Clock::now() + std::chrono::milliseconds(100);  // another node, a new leader
      }
      gone = !check(lease, path);
      if (gone) ++out->lost;
    }
    if (gone || stop) continue;
    if (n % 2 == 0) {
      if (auto r = c.revoke(lease); r) {
        ++out->revoked;
      } else if (r.status().code() != wire::Err::kNoEnt) {
        error("revoke", r.status());
      }
      continue;
    }
    // Left to expire: the file must stay until the last promise ends, then go within a while.
    const auto giveUp = Clock::now() + ttl * 5;
    while (!stop && Clock::now() < giveUp) {
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      if (!check(lease, path)) {
        ++out->expired;
        out->maxExpiryLagNs = std::max(out->maxExpiryLagNs, nowNs() - until);
        gone = true;
        break;
      }
    }
    if (!gone && !stop) ++out->lingering;
  }
}

// The ballast: `o.ballast` files /ballast/<i> of 1 KiB each, outside /fault (the checkers ignore
// them), written before the workload so that every snapshot is megabytes and a transfer crosses
// many chunks. Many clients write at once, so the leader batches their writes into few slots.
// False when a write still failed after retries.
bool writeBallast(const Options& o, FaultCluster& cl) {
  const int threads = std::min(o.ballast, 32);
  zmq::context_t ctx(1);
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string why;
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&, t] {
      client::Options co = cl.options(cl.clients(t));
      co.timeout = std::chrono::milliseconds(3000);
      co.exactlyOnce = o.exactlyOnce;
      client::Client c(co, ctx);
      std::mt19937_64 rng(o.seed * 7919 + static_cast<std::uint64_t>(t));
      std::string value(1024, ' ');
      for (int i = next++; i < o.ballast && !failed; i = next++) {
        for (auto& ch : value)
          ch = static_cast<char>('a' + rng() % 26);
        const std::string path = "/ballast/" + std::to_string(i);
        wire::Status st;
        for (int tries = 0; tries < 10; ++tries) {  // clobbers: a retry is harmless
          st = c.set(path, value, -1).status();
          if (st.isOk()) break;
        }
        if (!st.isOk()) {
          std::lock_guard<std::mutex> g(mu);
          why = path + ": " + st.toString();
          failed = true;
        }
      }
    });
  }
  for (auto& w : writers)
    w.join();
  if (failed) std::fprintf(stderr, "cairn_fault: cannot write the ballast: %s\n", why.c_str());
  return !failed;
}

// How many lines of a node's log (every run of it) contain `what`.
int countInLog(const std::string& path, const std::string& what) {
  std::ifstream f(path);
  int n = 0;
  for (std::string line; std::getline(f, line);)
    n += line.find(what) != std::string::npos;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("cairn_fault: a real cluster under a seeded schedule of faults, checked at the end");
  cli::setUp(&app, "cairn_fault");
  app.add_option("--nodes", o.nodes, "cluster size")
      ->transform(cli::integer(3, 64))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "the seed of the fault schedule")
      ->transform(cli::integer(0, INT64_MAX))
      ->capture_default_str();
  app.add_option("--duration", o.duration, "seconds of workload and faults")
      ->transform(cli::real(0, HUGE_VAL, true))
      ->capture_default_str();
  app.add_option("--clients", o.clients, "clients running the recorded workload")
      ->transform(cli::integer(1, 1000))
      ->capture_default_str();
  app.add_option("--keys", o.keys, "colliding keys the clients share")
      ->transform(cli::integer(1, 1000000))
      ->capture_default_str();
  app.add_option("--watchers", o.watchers, "watchers following /fault/**")
      ->transform(cli::integer(0, 1000))
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--faults",
         [&](const std::string& v) {
           auto list = client::splitEndpoints(v);  // a comma-separated list, empties dropped
           o.faults = std::set<std::string>(list.begin(), list.end());
         },
         "comma-separated: kill, stop, partition, delay, member, none\n"
         "(default: kill,stop,partition,delay)")
      ->type_name("LIST");
  app.add_flag("--debug-stale-reads", o.staleReads,
               "start the nodes with --debug-stale-reads (linearizability broken)");
  app.add_flag("--expect-anomaly", o.expectAnomaly, "exit 0 only if a check fails");
  app.add_flag("--verbose", o.verbose, "log every operation");
  app.add_option("--snapshot-every", o.snapshotEvery,
                 "the nodes' --snapshot-every (default: snapshots off)")
      ->type_name("N")
      ->transform(cli::integer(1, 100000000))
      ->capture_default_str();
  app.add_option("--snapshot-chunk", o.snapshotChunk,
                 "the nodes' --snapshot-chunk, bytes per chunk of a transfer\n"
                 "(default: cairnd's)")
      ->type_name("BYTES")
      ->transform(cli::integer(4096, 8 << 20));
  app.add_option("--snapshot-rate", o.snapshotRate,
                 "the nodes' --snapshot-rate, bytes per second of one transfer\n"
                 "(default: cairnd's)")
      ->type_name("BYTES")
      ->transform(cli::integer(0, 10000000000));
  app.add_option("--log-retain", o.logRetain,
                 "the nodes' --log-retain, log slots kept behind each snapshot\n"
                 "(default: cairnd's; 0 makes any follower that falls behind a\n"
                 "snapshot catch up by a transfer)")
      ->type_name("N")
      ->transform(cli::integer(0, 100000000));
  app.add_option("--ballast", o.ballast,
                 "files of 1 KiB written under /ballast before the workload,\n"
                 "so that snapshots are large")
      ->type_name("N")
      ->transform(cli::integer(0, 10000000))
      ->capture_default_str();
  app.add_option("--record-every", o.recordEveryMs,
                 "milliseconds between the history recorder's reads (a long\n"
                 "period shows that a lost stretch of history fails the run)")
      ->type_name("MS")
      ->transform(cli::integer(1, 3600000))
      ->capture_default_str();
  app.add_option("--logs", o.logsTo, "copy the nodes' logs into this directory at the end")
      ->type_name("DIR");
  app.add_flag("--expect-snapshots", o.expectSnapshots,
               "fail unless some node installed a snapshot from another during the run");
  app.add_option("--member-changes", o.memberChanges,
                 "with --faults member: the most membership changes in a run,\n"
                 "each a fresh id whose ports and proxies are set up at the start")
      ->type_name("N")
      ->transform(cli::integer(1, 64))
      ->capture_default_str();
  app.add_option("--lock-clients", o.lockClients,
                 "lock holders taking turns in a Mutex on /locks/fault, each\n"
                 "incrementing a guarded counter (0: no lock workload)")
      ->transform(cli::integer(0, 100))
      ->capture_default_str();
  app.add_option("--lock-ttl", o.lockTtlMs, "the lock holders' lease ttl")
      ->type_name("MS")
      ->transform(cli::integer(2000, 86400000))
      ->capture_default_str();
  app.add_option("--keepers", o.keepers,
                 "lease keepers checking that no lease ends while a\n"
                 "KEEPALIVE's answer promises it (0: none)")
      ->transform(cli::integer(0, 100))
      ->capture_default_str();
  app.add_option("--keeper-ttl", o.keeperTtlMs, "the keepers' lease ttl")
      ->type_name("MS")
      ->transform(cli::integer(2000, 86400000))
      ->capture_default_str();
  app.add_flag("--debug-lock-lapse", o.debugLockLapse,
               "lock holders revoke their lease mid-section and write on as\n"
               "if they held the lock (mutual exclusion broken: use with\n"
               "--expect-anomaly)");
  app.add_option("--bank-accounts", o.bankAccounts,
                 "accounts under /bank/acct that transfer clients move money\n"
                 "between by TXNs (0: no bank workload)")
      ->transform(cli::integer(0, 100))
      ->capture_default_str();
  app.add_option("--bank-clients", o.bankClients, "bank transfer clients")
      ->transform(cli::integer(0, 100))
      ->capture_default_str();
  app.add_option("--bank-readers", o.bankReaders,
                 "bank readers of every account at one rev (WALK, TXN)")
      ->transform(cli::integer(0, 100))
      ->capture_default_str();
  app.add_option("--bank-watchers", o.bankWatchers,
                 "watchers following /bank/** (revs of several changes)")
      ->transform(cli::integer(0, 100))
      ->capture_default_str();
  app.add_flag("--debug-bank-split", o.debugBankSplit,
               "bank transfers as two SETs instead of one TXN, claimed as\n"
               "one (atomicity broken: use with --expect-anomaly)");
  app.add_option_function<std::string>(
         "--exactly-once",
         [&](const std::string& v) {
           if (v != "on" && v != "off")
             throw CLI::ValidationError("--exactly-once", "must be on or off, not " + v);
           o.exactlyOnce = v == "on";
         },
         "on: every workload client (kv, bank, locks, leases) numbers\n"
         "its writes in a session and resends one without a definite\n"
         "answer (client::Options::exactlyOnce); off: a write that got\n"
         "no answer is unknown at once, never resent (default: on)")
      ->type_name("on|off");
  app.add_flag("--debug-resend-plain", o.debugResendPlain,
               "kv clients without exactly-once send a SET that got TIMEOUT\n"
               "once more as a new write, and claim its answer (a write\n"
               "applied twice: use with --expect-anomaly and kill or stop)");
  app.add_flag("--curve", o.curve,
               "CURVE on: a key pair per node and one for the harness's\n"
               "clients, made in the run's directory; the nodes start with\n"
               "--key, --clients (the client's and every node's key, admin\n"
               "of /) and keyed --cluster and --join endpoints");
  app.add_flag("--expect-members", o.expectMembers,
               "fail unless both membership faults (replace-follower and\n"
               "remove-leader) completed during the run");
  if (int code = cli::finish(cli::parse(&app, std::vector<std::string>(argv + 1, argv + argc), 2,
                                        "(run cairn_fault --help for the flags)"));
      code >= 0) {
    return code;
  }
  for (const auto& f : o.faults) {
    if (f != "kill" && f != "stop" && f != "partition" && f != "delay" && f != "member" &&
        f != "none") {
      std::fprintf(stderr, "cairn_fault: unknown fault %s\n", f.c_str());
      return 2;
    }
  }
  if (o.nodes < 3 || o.clients < 1 || o.keys < 1 || o.duration <= 0) {
    std::fprintf(stderr, "cairn_fault: bad options\n");
    return 2;
  }
  if (o.debugLockLapse && o.lockClients < 2) {
    std::fprintf(stderr, "cairn_fault: --debug-lock-lapse needs --lock-clients 2 or more\n");
    return 2;
  }
  if (o.debugBankSplit && (o.bankAccounts < 2 || o.bankClients < 1)) {
    std::fprintf(stderr,
                 "cairn_fault: --debug-bank-split needs --bank-accounts 2 or more and "
                 "--bank-clients 1 or more\n");
    return 2;
  }
  if (o.bankAccounts == 1) {
    std::fprintf(stderr, "cairn_fault: --bank-accounts must be 0 (off) or 2 or more\n");
    return 2;
  }
  if (o.expectMembers && !o.faults.count("member")) {
    std::fprintf(stderr, "cairn_fault: --expect-members needs --faults member\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &nofile);
  }

  test::TempDir dir;
  std::unique_ptr<FaultCluster> cl;
  try {
    cl = std::make_unique<FaultCluster>(dir.path(), o,
                                        o.faults.count("member") ? o.memberChanges : 0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cairn_fault: cannot start the cluster: %s\n", e.what());
    return 2;
  }
  log("cluster of %s nodes up", std::to_string(o.nodes));
  for (int t = 0; t < 200 && cl->leader() == 0; ++t)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // readiness poll
  if (o.ballast > 0) {
    const auto t0 = Clock::now();
    if (!writeBallast(o, *cl)) return 2;
    log("%s",
        "ballast: " + std::to_string(o.ballast) + " files of 1 KiB in " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()) +
            " ms");
  }

  // The history of /fault, read as the run goes: a node that restarts from a snapshot, or
  // installs one, no longer holds the changes before it.
  fault::HistoryRecorder recorder(cl->clients(0), "/fault/**", cl->options({}));
  recorder.start(std::chrono::milliseconds(o.recordEveryMs));

  // The bank: its accounts created at one rev before any transfer, its history recorded as
  // /fault's is.
  fault::BankOptions bank;
  bank.accounts = fault::bankAccounts(o.bankAccounts);
  bank.split = o.debugBankSplit;
  bank.exactlyOnce = o.exactlyOnce;
  bank.seed = o.seed;
  bank.now = nowNs;
  std::int64_t bankSetupRev = 0;
  std::unique_ptr<fault::HistoryRecorder> bankRecorder;
  if (o.bankAccounts > 0) {
    client::Options bo = cl->options(cl->clients(0));
    bo.timeout = std::chrono::milliseconds(2000);
    bo.attempts = 1;
    bo.exactlyOnce = o.exactlyOnce;
    client::Client bc(bo);
    auto setup = fault::bankSetUp(bc, bank, 50);
    if (!setup) {
      std::fprintf(stderr, "cairn_fault: cannot create the bank's accounts: %s\n",
                   setup.status().toString().c_str());
      return 2;
    }
    bankSetupRev = *setup;
    log("bank: %s", std::to_string(o.bankAccounts) + " accounts of " +
                        std::to_string(bank.initial) + " created at rev " +
                        std::to_string(bankSetupRev));
    bankRecorder =
        std::make_unique<fault::HistoryRecorder>(cl->clients(0), "/bank/**", cl->options({}));
    bankRecorder->start(std::chrono::milliseconds(o.recordEveryMs));
  }

  std::atomic<bool> stopClients{false}, stopWatchers{false};
  std::vector<std::vector<Op>> histories(static_cast<std::size_t>(o.clients));
  std::vector<int> plainResends(static_cast<std::size_t>(o.clients), 0);
  const int bankWatchers = o.bankAccounts > 0 ? o.bankWatchers : 0;
  std::vector<WatchLog> watchLogs(static_cast<std::size_t>(o.watchers + bankWatchers));
  for (std::size_t w = 0; w < watchLogs.size(); ++w)
    watchLogs[w].glob = static_cast<int>(w) < o.watchers ? "/fault/**" : "/bank/**";
  std::vector<std::thread> threads;
  for (int w = 0; w < o.watchers + bankWatchers; ++w) {
    threads.emplace_back(runWatcher, w, std::ref(*cl), std::ref(stopWatchers),
                         &watchLogs[static_cast<std::size_t>(w)]);
  }
  // With --curve, a watcher of /intruder/**, where nothing may ever change: it sees a write the
  // intruder did not hear answered, and a file that a lease's end deleted since.
  WatchLog intruderWatch;
  intruderWatch.glob = "/intruder/**";
  if (o.curve) {
    threads.emplace_back(runWatcher, 0, std::ref(*cl), std::ref(stopWatchers), &intruderWatch);
  }
  std::vector<std::thread> clientThreads;
  for (int c = 0; c < o.clients; ++c) {
    clientThreads.emplace_back(runClient, c, std::cref(o), std::ref(*cl), std::ref(stopClients),
                               &histories[static_cast<std::size_t>(c)],
                               &plainResends[static_cast<std::size_t>(c)]);
  }
  BackupLog backups;
  clientThreads.emplace_back(runBackups, o.clients, std::cref(o), std::ref(*cl),
                             std::ref(stopClients), &backups);
  // Lock holders and lease keepers, each on its own rotation of the endpoints.
  std::vector<LockLog> lockLogs(static_cast<std::size_t>(o.lockClients));
  for (int h = 0; h < o.lockClients; ++h) {
    clientThreads.emplace_back(runLockHolder, h, std::cref(o), std::ref(*cl), std::ref(stopClients),
                               &lockLogs[static_cast<std::size_t>(h)]);
  }
  IntruderLog intruder;
  if (o.curve) {
    clientThreads.emplace_back(runIntruder, std::cref(o), std::ref(*cl), std::ref(stopClients),
                               &intruder);
  }
  std::vector<KeeperLog> keeperLogs(static_cast<std::size_t>(o.keepers));
  for (int k = 0; k < o.keepers; ++k) {
    clientThreads.emplace_back(runKeeper, k, std::cref(o), std::ref(*cl), std::ref(stopClients),
                               &keeperLogs[static_cast<std::size_t>(k)]);
  }
  // The bank's transfer clients and readers.
  const int bankThreads = o.bankAccounts > 0 ? o.bankClients + o.bankReaders : 0;
  std::vector<fault::BankLog> bankLogs(static_cast<std::size_t>(bankThreads));
  for (int b = 0; b < bankThreads; ++b) {
    client::Options bo = cl->options(cl->clients(b));
    bo.timeout = std::chrono::milliseconds(2000);
    bo.attempts = 2;  // the transfer clients take 1 without exactly-once (bank.h)
    bo.exactlyOnce = o.exactlyOnce;
    fault::BankLog* out = &bankLogs[static_cast<std::size_t>(b)];
    if (b < o.bankClients) {
      clientThreads.emplace_back(fault::runBankTransfers, b, bo, std::cref(bank),
                                 std::ref(stopClients), out);
    } else {
      clientThreads.emplace_back(fault::runBankReader, b, bo, std::cref(bank), bankSetupRev,
                                 std::ref(stopClients), out);
    }
  }

  // The nemesis: a seeded schedule of faults, each healed before the next.
  std::mt19937_64 rng(o.seed);
  std::vector<std::string> kinds;
  for (const auto& f : o.faults) {
    if (f == "kill") kinds.insert(kinds.end(), {"kill-leader", "kill-follower"});
    if (f == "stop") kinds.insert(kinds.end(), {"stop-leader", "stop-follower"});
    if (f == "partition") kinds.insert(kinds.end(), {"isolate-leader", "partition-minority"});
    if (f == "delay") kinds.push_back("delay");
    if (f == "member") kinds.insert(kinds.end(), {"replace-follower", "remove-leader"});
  }
  // The membership faults' own choices, so that the schedule's draws do not depend on them.
  std::mt19937_64 memberPick(o.seed * 2654435761u + 17);
  MemberLog memberLog;
  std::map<std::string, int> injected;
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o.duration));
  auto pause = [&](int lo, int hi) {
    auto d =
        std::chrono::milliseconds(lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo)));
    std::this_thread::sleep_until(std::min(end, Clock::now() + d));  // the schedule's own clock
  };
  while (Clock::now() < end) {
    pause(500, 2000);
    if (o.faults.count("member") && cl->spareLeft() == 0 &&
        std::find(kinds.begin(), kinds.end(), "remove-leader") != kinds.end()) {
      kinds.erase(std::remove_if(kinds.begin(), kinds.end(),
                                 [](const std::string& k) {
                                   return k == "replace-follower" || k == "remove-leader";
                                 }),
                  kinds.end());
      log("%s", "membership faults end: every spare id (--member-changes " +
                    std::to_string(o.memberChanges) + ") has joined");
    }
    if (kinds.empty() || Clock::now() >= end) continue;
    const std::string kind = kinds[rng() % kinds.size()];
    if (kind == "replace-follower" || kind == "remove-leader") {
      ++injected[kind];
      if (!changeMembers(
              *cl, kind, memberPick,
              [&] {
                catchUp(recorder, *cl, o);
                if (bankRecorder) catchUp(*bankRecorder, *cl, o);
              },
              &memberLog)) {
        if (std::string dead = cl->crashed(); !dead.empty()) memberLog.failure += "; " + dead;
        log("membership change failed: %s", memberLog.failure);
        break;  // the workload stops and is checked; the run fails
      }
      log("healed: %s", kind);
      continue;
    }
    const int leader = cl->leader();
    const std::vector<int>& ms = cl->members();
    const int size = static_cast<int>(ms.size());
    int victim = leader;
    if (kind.find("follower") != std::string::npos || kind == "partition-minority" || victim == 0) {
      do {
        victim = ms[rng() % static_cast<unsigned>(size)];
      } while (kind.find("follower") != std::string::npos && victim == leader && size > 1);
    }
    std::vector<int> minority = {victim};
    if (kind == "partition-minority" && o.nodes == 5) {
      // 2 of 5: the member after the victim
      const auto at = std::find(ms.begin(), ms.end(), victim) - ms.begin();
      minority.push_back(ms[static_cast<std::size_t>(at + 1) % ms.size()]);
    }
    log("fault: %s",
        kind + " node " + std::to_string(victim) +
            (kind == "partition-minority" && minority.size() > 1 ? "+" + std::to_string(minority[1])
                                                                 : ""));
    ++injected[kind];
    if (kind.rfind("kill", 0) == 0) {
      // With --expect-snapshots the victim stays down until the others have applied five snapshot
      // intervals past its slot (at most 30 s more): their logs are then compacted past it, and it
      // comes back by a snapshot transfer, also where a slow build (the sanitizers) applies few
      // slots in the usual 0.5-3 s.
      auto slotOf = [&](int node) -> std::int64_t {
        client::Options so = cl->options({cl->clientOf(node)});
        so.timeout = std::chrono::milliseconds(1000);
        client::Client sc(so);
        auto r = sc.self();
        return r && r->slot ? *r->slot : -1;
      };
      const std::int64_t victimSlot = o.expectSnapshots ? slotOf(victim) : -1;
      cl->kill9(victim);
      pause(500, 3000);
      if (victimSlot >= 0) {
        const auto by = Clock::now() + std::chrono::seconds(30);
        auto othersPast = [&] {
          for (int m : cl->members()) {
            if (m != victim && slotOf(m) >= victimSlot + 5 * o.snapshotEvery) return true;
          }
          return false;
        };
        while (Clock::now() < by && !othersPast())
          std::this_thread::sleep_for(std::chrono::milliseconds(100));  // poll the survivors
      }
      try {
        cl->start(victim);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "cairn_fault: node %d did not restart: %s\n", victim, e.what());
        return 2;
      }
    } else if (kind.rfind("stop", 0) == 0) {
      cl->node(victim).pause();
      pause(500, 3000);
      cl->node(victim).resume();
    } else if (kind == "delay") {
      cl->net().delayAll(20 + static_cast<int>(rng() % 80));
      pause(1000, 4000);
      cl->net().healAll();
    } else {
      for (int m : minority) {
        for (int j : cl->members()) {
          if (std::find(minority.begin(), minority.end(), j) == minority.end()) {
            cl->net().cut(m, j, true);
          }
        }
      }
      pause(1000, 4000);
      cl->net().healAll();
    }
    log("healed: %s", kind);
  }
  stopClients = true;
  for (auto& t : clientThreads)
    t.join();
  cl->net().healAll();

  // The final state: a barrier through the log, then the whole history of /fault.
  client::Options co = cl->options(cl->clients(0));
  co.timeout = std::chrono::milliseconds(2000);
  client::Client c(co);
  std::int64_t head = 0;
  for (int t = 0; t < 60 && head == 0; ++t) {
    auto r = c.nop();
    if (r) head = *r;
  }
  if (head == 0) {
    const std::string dead = cl->crashed();
    std::fprintf(stderr, "cairn_fault: the healed cluster does not serve writes%s\n",
                 dead.empty() ? "" : ("; " + dead).c_str());
    if (!memberLog.failure.empty())
      std::fprintf(stderr, "cairn_fault: membership: %s\n", memberLog.failure.c_str());
    stopWatchers = true;  // a thread still joinable at the return would abort the harness
    for (auto& t : threads)
      t.join();
    return 1;
  }
  // A snapshot transfer still under way when the faults ended (a node killed late, restarted,
  // and receiving one: slow under the sanitizers) is let finish, bounded, before the run counts
  // installs.
  if (o.expectSnapshots) {
    auto inLogs = [&](const std::string& what) {
      int n = 0;
      for (int i : cl->started())
        n += countInLog(cl->logOf(i), what);
      return n;
    };
    const auto installBy = Clock::now() + std::chrono::seconds(90);
    bool waited = false;
    while (inLogs("cairnd: installed the snapshot") == 0 &&
           inLogs("cairnd: receiving the snapshot") > 0 && Clock::now() < installBy) {
      if (!waited)
        log("%s", "a snapshot transfer is under way: waiting (up to 90 s) for its install");
      waited = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // poll the nodes' logs
    }
  }
  // The guarded counter's final value: a linearizable read after every holder stopped.
  std::int64_t counter = -1;
  std::string counterError;
  if (o.lockClients > 0) {
    for (int t = 0; t < 10 && counter < 0; ++t) {
      auto r = c.get(kCounter);
      if (r) {
        counter = r->rev == 0 ? 0 : std::stoll(r->value);
      } else {
        counterError = r.status().toString();
      }
    }
  }
  // The intruder's writes: none may have been applied.
  std::string intruded;
  if (o.curve) {
    auto w = c.walk("/intruder/**");
    if (!w) {
      intruded = "/intruder/** could not be read: " + w.status().toString();
    } else if (!w->empty()) {
      intruded = std::to_string(w->size()) + " files under /intruder/, the first " + w->at(0).path;
    }
  }
  // The rest of the history, through the barrier; a range no node holds any more fails the run.
  recorder.stop();
  const bool recorded = recorder.finish(head, Clock::now() + std::chrono::seconds(30));
  std::vector<fault::Change> history;
  for (const auto& ch : recorder.history()) {
    if (ch.rev <= head) history.push_back(ch);
  }
  std::vector<fault::Change> bankHistory;
  bool bankRecorded = true;
  if (bankRecorder) {
    bankRecorder->stop();
    bankRecorded = bankRecorder->finish(head, Clock::now() + std::chrono::seconds(30));
    for (const auto& ch : bankRecorder->history()) {
      if (ch.rev <= head) bankHistory.push_back(ch);
    }
  }
  // Watchers catch up to the head (bounded), then stop.
  const auto watchBy = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < watchBy) {
    bool all = true;
    for (const auto& w : watchLogs)
      all = all && (w.complete >= head || w.ended);
    all = all && (!o.curve || intruderWatch.complete >= head || intruderWatch.ended);
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // catch-up poll
  }
  stopWatchers = true;
  for (auto& t : threads)
    t.join();

  // Checks.
  std::vector<Op> all;
  std::map<std::string, int> outcomes;
  for (auto& h : histories) {
    for (auto& op : h) {
      ++outcomes[op.outcome == Outcome::kOk     ? "ok"
                 : op.outcome == Outcome::kFail ? "failed (" + op.err + ")"
                                                : "unknown"];
      all.push_back(std::move(op));
    }
  }
  int anomalies = 0;
  auto lin = fault::checkLinearizable(all);
  if (!lin.ok) {
    ++anomalies;
    std::printf("ANOMALY linearizability:\n%s", lin.report.c_str());
  }
  auto revs = fault::checkRevs(all);
  if (!revs.ok) {
    ++anomalies;
    std::printf("ANOMALY REV:\n%s", revs.report.c_str());
  }
  // Without the whole history the other checks cannot be exact: the run fails, loudly.
  fault::OnceResult once;
  if (!recorded) {
    std::printf("HARNESS FAILURE: %s\n(the writes and watchers were not checked)\n",
                recorder.failure().c_str());
  } else {
    auto writes = fault::checkWrites(history, all);
    if (!writes.ok) {
      ++anomalies;
      std::printf("ANOMALY writes:\n%s", writes.report.c_str());
    }
    once = fault::checkOnce(history, all);
    if (!once.ok) {
      ++anomalies;
      std::printf(
          "ANOMALY exactly once (%zu applied twice or more, %zu acknowledged not once at "
          "their rev, %zu failed definitely yet applied):\n%s",
          once.duplicated, once.ackedMissing, once.failedApplied, once.report.c_str());
    }
  }
  bool backupsOk = true;
  if (recorded) {
    // Backups whose rev is past the barrier hold writes of unknown outcome applied after it: the
    // history stops at the barrier, so they are left out.
    std::vector<fault::Backup> checked;
    for (auto& b : backups.taken) {
      if (b.rev <= head) checked.push_back(std::move(b));
    }
    auto bk = fault::checkBackups(history, all, checked);
    if (!bk.ok) {
      backupsOk = false;
      ++anomalies;
      std::printf("ANOMALY backups:\n%s", bk.report.c_str());
    }
    std::printf("backups: %zu checked, %d failed under faults%s\n", checked.size(), backups.failed,
                backups.lastError.empty() ? "" : (" (last: " + backups.lastError + ")").c_str());
  }
  if (!bankRecorded) {
    std::printf("HARNESS FAILURE: %s\n(the bank and its watchers were not checked)\n",
                bankRecorder->failure().c_str());
  }
  int tooLate = 0;
  for (std::size_t w = 0; w < watchLogs.size(); ++w) {
    auto& wl = watchLogs[w];
    const bool ofBank = wl.glob == "/bank/**";
    if (!(ofBank ? bankRecorded : recorded)) continue;
    // Writes whose outcome was unknown may be applied after the barrier: compare up to it.
    while (!wl.got.empty() && wl.got.back().rev > head)
      wl.got.pop_back();
    wl.complete = std::min(wl.complete.load(), head);
    tooLate += wl.tooLate;
    // A watcher vouched for every change through complete(), even one that then ended with
    // TOO_LATE (every node it reached had compacted its history past the next rev it wanted):
    // what it delivered must be exactly the history up to there.
    auto f = fault::checkFeed(ofBank ? bankHistory : history, 1, wl.got, wl.complete, false);
    if (!f.ok || (!wl.tooLate && wl.complete < head)) {
      ++anomalies;
      std::printf("ANOMALY watcher %zu of %s (complete to %lld of %lld%s): %s\n", w,
                  wl.glob.c_str(), static_cast<long long>(wl.complete),
                  static_cast<long long>(head), wl.error.empty() ? "" : (", " + wl.error).c_str(),
                  f.report.c_str());
    }
  }

  // Locks: mutual exclusion and fencing among the sections whose lease was alive at their end,
  // the guarded counter, and the keepers' promises.
  std::vector<fault::Section> sections;
  std::map<std::string, int> lockErrors;
  for (auto& l : lockLogs) {
    sections.insert(sections.end(), l.sections.begin(), l.sections.end());
    for (const auto& [k, v] : l.errors)
      lockErrors[k] += v;
  }
  fault::LockResult locks = fault::checkLocks(sections);
  fault::FeedResult guarded;
  std::map<fault::Guarded, int> writes;
  for (const auto& s : sections)
    ++writes[s.write];
  if (o.lockClients > 0) {
    if (!locks.ok) {
      ++anomalies;
      std::printf("ANOMALY locks (%zu overlapping pairs, %zu token inversions):\n%s",
                  locks.overlaps, locks.inversions, locks.report.c_str());
    }
    if (counter < 0) {
      guarded.ok = false;
      guarded.report = "the final value could not be read: " + counterError + "\n";
    } else {
      guarded = fault::checkCounter(sections, counter);
    }
    if (!guarded.ok) {
      ++anomalies;
      std::printf("ANOMALY guarded counter:\n%s", guarded.report.c_str());
    }
  }
  std::vector<fault::LeaseEvent> leaseEvents;
  std::map<std::string, int> keeperErrors;
  KeeperLog keepers;  // the sums
  for (auto& k : keeperLogs) {
    leaseEvents.insert(leaseEvents.end(), k.events.begin(), k.events.end());
    for (const auto& [e, v] : k.errors)
      keeperErrors[e] += v;
    keepers.granted += k.granted;
    keepers.revoked += k.revoked;
    keepers.expired += k.expired;
    keepers.lingering += k.lingering;
    keepers.lost += k.lost;
    keepers.maxExpiryLagNs = std::max(keepers.maxExpiryLagNs, k.maxExpiryLagNs);
  }
  if (o.curve) {
    if (!intruderWatch.got.empty()) {
      intruded += std::string(intruded.empty() ? "" : "; ") + "the feed of /intruder/** had " +
                  std::to_string(intruderWatch.got.size()) + " changes, the first " +
                  intruderWatch.got[0].path;
    } else if (!intruderWatch.tooLate && intruderWatch.complete < head) {
      intruded += std::string(intruded.empty() ? "" : "; ") +
                  "the watcher of /intruder/** vouched only to rev " +
                  std::to_string(intruderWatch.complete.load()) + ": " + intruderWatch.error;
    }
    // (Refusals need leases to refuse: the keepers' and the exactly-once sessions.)
    const bool leases = o.keepers > 0 || o.exactlyOnce;
    if (!intruder.served.empty() || !intruded.empty() || (leases && intruder.refused == 0)) {
      ++anomalies;
      std::printf("ANOMALY intruder (%zu served%s%s):\n", intruder.served.size(),
                  intruded.empty() ? "" : "; ", intruded.c_str());
      for (const auto& s : intruder.served)
        std::printf("  %s\n", s.c_str());
      if (leases && intruder.refused == 0)
        std::printf("  no attempt was refused PERMISSION: none was tried\n");
    }
  }
  fault::LeaseResult promises = fault::checkLeasePromises(leaseEvents);
  if (!promises.ok) {
    ++anomalies;
    std::printf("ANOMALY leases (%zu ended while promised):\n%s", promises.violations,
                promises.report.c_str());
  }

  // The bank: the history of /bank/** replayed rev by rev against every transfer and read.
  std::vector<fault::BankTransfer> transfers;
  std::vector<fault::BankRead> bankReads;
  std::map<std::string, int> bankErrors;
  for (auto& b : bankLogs) {
    transfers.insert(transfers.end(), b.transfers.begin(), b.transfers.end());
    bankReads.insert(bankReads.end(), b.reads.begin(), b.reads.end());
    for (const auto& [e, v] : b.errors)
      bankErrors[e] += v;
  }
  fault::BankResult bankResult;
  if (o.bankAccounts > 0 && bankRecorded) {
    bankResult = fault::checkBank(bankHistory, head, bank.accounts, bank.initial * o.bankAccounts,
                                  transfers, bankReads);
    if (!bankResult.ok) {
      ++anomalies;
      std::printf("ANOMALY bank (%zu):\n%s", bankResult.anomalies, bankResult.report.c_str());
    }
  }

  // Snapshot transfers: the live nodes' counters (each starts from 0 when its node restarts), and
  // the whole run's from the nodes' logs (every run of a node appends to one).
  std::map<std::string, std::int64_t> counters;
  int live = 0;
  for (int i : cl->members()) {
    client::Options so = cl->options({cl->clientOf(i)});
    so.timeout = std::chrono::milliseconds(1000);
    client::Client sc(so);
    auto r = sc.self();
    if (!r) continue;
    ++live;
    for (const auto& counter : r->stats.value_or(std::vector<wire::Counter>{}))
      counters[counter.name] += counter.value;
  }
  int installed = 0, sent = 0, resumed = 0;
  for (int i : cl->started()) {
    installed += countInLog(cl->logOf(i), "cairnd: installed the snapshot");
    sent += countInLog(cl->logOf(i), "cairnd: sent the snapshot");
    resumed += countInLog(cl->logOf(i), "cairnd: resuming the snapshot");
  }
  const bool snapshotsMissing = o.expectSnapshots && installed == 0;
  if (!o.logsTo.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.logsTo, ec);
    for (int i : cl->started()) {
      if (ec) break;
      std::filesystem::copy_file(cl->logOf(i), o.logsTo + "/n" + std::to_string(i) + ".log",
                                 std::filesystem::copy_options::overwrite_existing, ec);
    }
    if (ec) std::fprintf(stderr, "cairn_fault: copying the logs: %s\n", ec.message().c_str());
  }

  std::printf(
      "cairn_fault: seed %llu, %d nodes, %.0f s, %d clients on %d keys, %d watchers of /fault/**, "
      "%d of /bank/**, exactly-once %s%s, CURVE %s\n",
      static_cast<unsigned long long>(o.seed), o.nodes, o.duration, o.clients, o.keys, o.watchers,
      bankWatchers, o.exactlyOnce ? "on" : "off",
      o.debugResendPlain ? " (kv clients off: --debug-resend-plain)" : "", o.curve ? "on" : "off");
  std::printf("operations: %zu (", all.size());
  bool first = true;
  for (const auto& [k, v] : outcomes) {
    std::printf("%s%s %d", first ? "" : ", ", k.c_str(), v);
    first = false;
  }
  std::printf("); %zu checked for linearizability; history %zu changes to rev %lld\n",
              lin.opsChecked, history.size(), static_cast<long long>(head));
  // The kv writes' outcomes. How many attempts the library made is not told by client::Client
  // (a resend keeps its seq): only the resends of --debug-resend-plain are counted.
  {
    int ok = 0, failed = 0, unknown = 0, resent = 0;
    std::map<std::string, int> why;
    for (const auto& op : all) {
      if (op.kind != OpKind::kSet && op.kind != OpKind::kDel) continue;
      ok += op.outcome == Outcome::kOk;
      unknown += op.outcome == Outcome::kUnknown;
      if (op.outcome == Outcome::kFail) {
        ++failed;
        ++why[op.err];
      }
    }
    for (int n : plainResends)
      resent += n;
    std::string whys;
    for (const auto& [k, v] : why)
      whys += (whys.empty() ? "" : ", ") + k + " " + std::to_string(v);
    std::printf(
        "kv writes (SET, DEL): %d; ok %d, failed definitely %d%s, unknown %d; SETs %zu, of "
        "unknown outcome %zu (%zu of them applied), applied twice %zu, acknowledged not once at "
        "their rev %zu, failed yet applied %zu%s\n",
        ok + failed + unknown, ok, failed, whys.empty() ? "" : (" (" + whys + ")").c_str(), unknown,
        once.sets, once.unknown, once.unknownApplied, once.duplicated, once.ackedMissing,
        once.failedApplied,
        o.debugResendPlain
            ? ("; resent without a session (--debug-resend-plain): " + std::to_string(resent))
                  .c_str()
            : "");
  }
  std::printf("history recorder: %s\n", recorder.summary().c_str());
  std::printf("watchers:");
  for (const auto& wl : watchLogs)
    std::printf(" %zu changes to rev %lld%s;", wl.got.size(), static_cast<long long>(wl.complete),
                wl.tooLate ? " (TOO_LATE)" : "");
  std::printf("\nwatchers ended TOO_LATE: %d of %zu\n", tooLate, watchLogs.size());
  for (std::size_t w = 0; w < watchLogs.size(); ++w) {
    if (watchLogs[w].tooLate)
      std::printf("  watcher %zu, checked through rev %lld: %s\n", w,
                  static_cast<long long>(watchLogs[w].complete), watchLogs[w].error.c_str());
  }
  std::printf(
      "snapshots (SELF, summed over the %d live nodes): snapshots_sent %lld, "
      "snapshots_installed %lld, snapshots_resumed %lld, snapshot_bytes_received %lld, "
      "snapshots_abandoned %lld\n",
      live, static_cast<long long>(counters["snapshots_sent"]),
      static_cast<long long>(counters["snapshots_installed"]),
      static_cast<long long>(counters["snapshots_resumed"]),
      static_cast<long long>(counters["snapshot_bytes_received"]),
      static_cast<long long>(counters["snapshots_abandoned"]));
  std::printf("snapshots over the whole run (the nodes' logs): %d installed, %d sent, %d resumed\n",
              installed, sent, resumed);
  auto errorList = [](const std::map<std::string, int>& errors) {
    std::string out;
    for (const auto& [k, v] : errors)
      out += (out.empty() ? "" : ", ") + k + " " + std::to_string(v);
    return out.empty() ? std::string("none") : out;
  };
  if (o.lockClients > 0) {
    std::printf(
        "locks: %zu acquisitions by %d holders, %zu checked (lease alive at the end), %zu lapsed "
        "(%zu of them overlapping another section), %zu overlapping pairs, %zu token inversions; "
        "guarded writes: ok %d, unknown %d, REV_MISMATCH %d, failed %d, skipped %d; counter %lld; "
        "errors: %s\n",
        locks.sections, o.lockClients, locks.alive, locks.lapsed, locks.lapsedOverlaps,
        locks.overlaps, locks.inversions, writes[fault::Guarded::kOk],
        writes[fault::Guarded::kUnknown], writes[fault::Guarded::kMismatch],
        writes[fault::Guarded::kFailed], writes[fault::Guarded::kSkipped],
        static_cast<long long>(counter), errorList(lockErrors).c_str());
    if (locks.lapsedOverlaps > 0)
      std::printf("lapsed sections overlapping another (not anomalies):\n%s",
                  locks.lapsedReport.c_str());
  }
  if (o.curve) {
    std::printf(
        "intruder: %d attempts on other users' leases, %d refused PERMISSION, %zu served; "
        "answers: %s\n",
        intruder.tries, intruder.refused, intruder.served.size(),
        errorList(intruder.answers).c_str());
  }
  if (o.keepers > 0) {
    std::printf(
        "leases: %zu leases, %zu promises (GRANT, KEEPALIVE), %zu observations checked under a "
        "promise, %zu violations; keepers: %d granted, %d revoked, %d expired as left (latest %lld "
        "ms after the last promise), %d still there %d ms after, %d ended early (keep-alives "
        "unanswered); errors: %s\n",
        promises.leases, promises.promises, promises.checked, promises.violations, keepers.granted,
        keepers.revoked, keepers.expired, static_cast<long long>(keepers.maxExpiryLagNs / 1000000),
        keepers.lingering, 5 * o.keeperTtlMs, keepers.lost, errorList(keeperErrors).c_str());
  }
  if (o.bankAccounts > 0) {
    std::map<std::string, int> readsBy;
    for (const auto& r : bankReads)
      ++readsBy[r.how.substr(0, r.how.find(" of transfer"))];
    std::string how;
    for (const auto& [k, v] : readsBy)
      how += (how.empty() ? "" : ", ") + k + " " + std::to_string(v);
    int doomed = 0, doomedFailed = 0;  // doomed: failed whole (REV_MISMATCH), or took "else"
    for (const auto& t : transfers) {
      doomed += t.doomed;
      doomedFailed += t.doomed && t.outcome == Outcome::kFail && t.err == "REV_MISMATCH";
    }
    std::printf(
        "bank: %d accounts, total %lld, created at rev %lld%s; transfers %zu by %d clients: then "
        "%zu, else %zu, failed %zu, unknown %zu (%zu of them applied); doomed %d (%d failed whole "
        "with REV_MISMATCH); reads checked %zu (%s; and the gets of %zu else replies); revs "
        "replayed %zu; anomalies %zu; errors: %s\n",
        o.bankAccounts, static_cast<long long>(bank.initial * o.bankAccounts),
        static_cast<long long>(bankSetupRev), o.debugBankSplit ? " (SPLIT: two SETs each)" : "",
        transfers.size(), o.bankClients, bankResult.transfersThen, bankResult.transfersElse,
        bankResult.transfersFailed, bankResult.transfersUnknown, bankResult.unknownApplied, doomed,
        doomedFailed, bankResult.readsChecked, how.empty() ? "none" : how.c_str(),
        bankResult.transfersElse, bankResult.revsReplayed, bankResult.anomalies,
        errorList(bankErrors).c_str());
    if (bankRecorder) std::printf("bank history recorder: %s\n", bankRecorder->summary().c_str());
  }
  std::printf("faults:");
  for (const auto& [k, v] : injected)
    std::printf(" %s %d;", k.c_str(), v);
  std::printf("\n");
  const bool membersMissing = o.expectMembers && (memberLog.done["replace-follower"] == 0 ||
                                                  memberLog.done["remove-leader"] == 0);
  if (o.faults.count("member")) {
    std::string voter, exits, now;
    for (auto ms : memberLog.toVoterMs)
      voter += (voter.empty() ? "" : ", ") + std::to_string(ms);
    for (auto ms : memberLog.exitMs)
      exits += (exits.empty() ? "" : ", ") + std::to_string(ms);
    for (int id : cl->members())
      now += (now.empty() ? "" : " ") + std::to_string(id);
    std::printf(
        "membership changes: %d replace-follower, %d remove-leader done, %d skipped (no leader); "
        "join to voter (ms): %s; removed node exits (ms after REMOVE): %s; killed after %s: %d; "
        "members at the end: %s\n",
        memberLog.done["replace-follower"], memberLog.done["remove-leader"], memberLog.skipped,
        voter.empty() ? "none" : voter.c_str(), exits.empty() ? "none" : exits.c_str(),
        seconds(kExitWaitMs).c_str(), memberLog.killed, now.c_str());
  }
  std::printf("anomalies: %d%s\n", anomalies, o.expectAnomaly ? " (expected at least one)" : "");
  if (!memberLog.failure.empty())
    std::printf("FAILED: membership: %s\n", memberLog.failure.c_str());
  if (membersMissing) {
    std::printf(
        "FAILED: --expect-members, but a membership fault (replace-follower, remove-leader) never "
        "completed\n");
  }
  if (snapshotsMissing) {
    std::printf("FAILED: --expect-snapshots, but no node installed a snapshot during the run\n");
  }
  if (!recorded || !bankRecorded)
    std::printf("FAILED: the history could not be recorded (see above)\n");
  std::fflush(stdout);
  if (!recorded || !bankRecorded || snapshotsMissing || membersMissing ||
      !memberLog.failure.empty())
    return 1;
  // --expect-anomaly: the broken build must be caught by the linearizability checker, and only
  // by the read checks (REV and a backup's fence are reads too; the feed does not depend on how
  // reads are served).
  // The lock and lease checks rest on reads too (a Mutex's GETDIR, the counter's GET, a keeper's
  // GET), so stale reads may trip them. With --debug-lock-lapse, the lock checks must fail and
  // nothing else may.
  if (o.expectAnomaly && o.debugLockLapse) {
    return !locks.ok && anomalies == 1 + (guarded.ok ? 0 : 1) ? 0 : 1;
  }
  // With --debug-bank-split, the bank check must fail and nothing else may (the feed of /bank
  // carries whatever revs the history has).
  if (o.expectAnomaly && o.debugBankSplit) return !bankResult.ok && anomalies == 1 ? 0 : 1;
  // With --debug-resend-plain, the exactly-once check must fail; a read of the first copy of a
  // write whose claimed rev is its second's may fail linearizability too; nothing else may fail.
  if (o.expectAnomaly && o.debugResendPlain) {
    return !once.ok && anomalies == 1 + (lin.ok ? 0 : 1) ? 0 : 1;
  }
  if (o.expectAnomaly) {
    return !lin.ok && anomalies == 1 + (revs.ok ? 0 : 1) + (backupsOk ? 0 : 1) +
                                       (locks.ok ? 0 : 1) + (guarded.ok ? 0 : 1) +
                                       (promises.ok ? 0 : 1) + (bankResult.ok ? 0 : 1)
               ? 0
               : 1;
  }
  return anomalies == 0 ? 0 : 1;
}
