// cairn: the command-line client.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bindings/cpp/client.h"
#include "bindings/cpp/lease.h"
#include "bindings/cpp/lock.h"
#include "bindings/cpp/watcher.h"
#include "store/file.h"
#include "store/snapshot.h"
#include "tools/json_text.h"
#include "tools/txn_json.h"
#include "wire/cli/flags.h"
#include "wire/codec.h"
#include "wire/keys.h"
#include "wire/path.h"

namespace {

using cairn::tools::jsonStr;
using cairn::tools::jsonValue;
using cairn::wire::Err;
using cairn::wire::Status;

constexpr int kExitOk = 0;
constexpr int kExitMismatch = 1;
constexpr int kExitError = 2;
constexpr int kExitNoSuchFile = 3;
constexpr int kExitUsage = 127;

// A usage error found after parsing, in the words CLI11's own errors use.
int usage(const std::string& why, const std::string& cmd = "") {
  std::fprintf(stderr, "cairn: %s\n(cairn %s--help %s)\n", why.c_str(),
               cmd.empty() ? "" : (cmd + " ").c_str(),
               cmd.empty() ? "lists the commands and flags" : "describes it");
  return kExitUsage;
}

// SELF's counters as a JSON member: ,"stats":{"name":value,...} (nothing when absent).
std::string statsJson(const cairn::wire::Reply& r) {
  if (!r.stats) return "";
  std::string out = ",\"stats\":{";
  for (std::size_t i = 0; i < r.stats->size(); ++i) {
    const cairn::wire::Counter& c = (*r.stats)[i];
    out += (i ? "," : "") + jsonStr(c.name) + ":" + std::to_string(c.value);
  }
  return out + "}";
}

// SELF's status as JSON members, each only when the node sent it (older nodes do not).
std::string statusJson(const cairn::wire::Reply& r) {
  std::string o;
  if (r.role) o += ",\"role\":" + jsonStr(*r.role);
  if (r.slot) o += ",\"slot\":" + std::to_string(*r.slot);
  if (r.lag) o += ",\"lag\":" + std::to_string(*r.lag);
  if (r.uptimeMs) o += ",\"uptime_ms\":" + std::to_string(*r.uptimeMs);
  if (r.fsyncUs) o += ",\"fsync_us\":" + std::to_string(*r.fsyncUs);
  if (r.maxValue) o += ",\"max_value\":" + std::to_string(*r.maxValue);
  return o;
}

// A duration for people: 42s, 12m05s, 3h04m, 2d03h.
std::string duration(std::int64_t ms) {
  const std::int64_t s = ms / 1000;
  char b[64];
  if (s < 60) {
    std::snprintf(b, sizeof b, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(b, sizeof b, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(b, sizeof b, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(b, sizeof b, "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return b;
}

// Microseconds for people: 87us, 1.25ms; "-" for 0 (SELF's fsync_us before the first sync).
std::string micros(std::int64_t us) {
  if (us <= 0) return "-";
  if (us < 1000) return std::to_string(us) + "us";
  char b[32];
  std::snprintf(b, sizeof b, "%.2fms", static_cast<double>(us) / 1000.0);
  return b;
}

std::string num(std::int64_t v) {
  return std::to_string(v);
}

void out(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

bool readFile(const std::string& path, std::string* v) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      errno = e;
      return n == 0;
    }
    v->append(buf, static_cast<std::size_t>(n));
  }
}

bool readStdin(std::string* v) {
  char buf[65536];
  while (true) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    v->append(buf, static_cast<std::size_t>(n));
  }
}

struct Args {
  std::string addr;
  bool json = false;
  bool local = false;
  std::optional<std::int64_t> rev;
  std::int64_t timeoutMs = 5000;
  std::optional<std::int64_t> until;
  bool progress = false;
  bool verbose = false;
  std::string push, pub;
  bool bind = false;
  std::string cmd;                    // the command
  std::string arg;                    // its PATH or GLOB ("" when an optional one is absent)
  std::optional<std::string> value;   // set, add: the VALUE, when not from stdin
  std::optional<std::int64_t> lease;  // set, add: --lease ID
  std::string ttl = "10s";            // lock, elect: the lease's ttl
  std::string giveUp;                 // lock, elect: --timeout (give up after), "" for never
  std::vector<std::string> command;   // lock: the command to run holding it; elect: [VALUE]
  bool listen = false;                // elect --listen
  bool timeoutSet = false;            // --timeout was given (status has its own default)
  bool recursive = false;             // del -R: the file or the whole subtree, in one TXN
  std::string keyFile;                // --key (or $CAIRN_KEY): this client's key pair
  std::string serverKey;              // --server-key (or $CAIRN_SERVER_KEY): a key file or Z85
};

// CURVE, read once from --key and --server-key: every client this program makes uses it.
cairn::client::ClientKeys gKeys;

void secure(cairn::client::Options& o) {
  o.key = gKeys.pair;
  o.serverKey = gKeys.server;
}
void secure(cairn::client::WatchOptions& o) {
  o.key = gKeys.pair;
  o.serverKey = gKeys.server;
}

// Reads the key files the flags name; false (after saying why) when one will not do.
bool loadKeys(const Args& a) {
  auto k = cairn::client::loadClientKeys(a.keyFile, a.serverKey);
  if (!k) {
    std::fprintf(stderr, "cairn: %s\n", k.status().detail().c_str());
    return false;
  }
  gKeys = std::move(k.value());
  return true;
}

// cairn keygen: a new key pair on stdout (as a key file), its public key alone on stderr. Stdout
// redirected into a file makes that file its owner's alone (mode 0600), as a secret key must be.
int keygen() {
  auto k = cairn::wire::generateKeyPair();
  if (!k) {
    std::fprintf(stderr, "cairn: %s\n", k.status().detail().c_str());
    return 2;
  }
  struct stat st;
  if (::fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
      ::fchmod(STDOUT_FILENO, 0600) != 0) {
    std::fprintf(stderr, "cairn: cannot make the key file its owner's alone: %s\n",
                 std::strerror(errno));
    return 2;
  }
  std::fputs(cairn::wire::formatKeyFile(*k).c_str(), stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", k->publicKey.c_str());
  return 0;
}

// The number that follows `key` in `text` ("file is at rev 7, ..." after "at rev "), or -1.
std::int64_t numberAfter(const std::string& text, const std::string& key) {
  const auto p = text.find(key);
  if (p == std::string::npos) return -1;
  std::int64_t v = -1;
  for (std::size_t i = p + key.size();
       i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i)
    v = (v < 0 ? 0 : v * 10) + (text[i] - '0');
  return v;
}

void replaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (auto p = s->find(from); p != std::string::npos; p = s->find(from, p + to.size()))
    s->replace(p, from.size(), to);
}

// del -R is a TXN of one deltree, and the node names that operation in its errors ("then[0]
// (deltree /a): /a does not exist", "then[0]: / holds /ctl, ..."), which nobody here wrote.
Status withoutTxnOp(const Status& s) {
  const std::string& d = s.detail();
  const auto colon = d.find(": ");
  if (d.rfind("then[0]", 0) != 0 || colon == std::string::npos) return s;
  return Status(s.code(), d.substr(colon + 2));
}

// Whether an error is about one compare or operation of a TXN, as the node names them: the node
// applied none of it.
bool namesTxnPart(const std::string& detail) {
  for (const char* part : {"if[", "then[", "else["}) {
    if (detail.rfind(part, 0) == 0) return true;
  }
  return false;
}

// An error in the CLI's words: what happened, the protocol's code name in parentheses (scripts
// and docs match it), and what to do when there is something to do. The node's details speak the
// protocol (GETDIR, "request has 0", consistency "local"); the command and its PATH say more.
std::string explain(const Args& a, const Status& error) {
  const bool tree = a.cmd == "del" && a.recursive;
  const Status s = tree ? withoutTxnOp(error) : error;
  const std::string code = cairn::wire::errName(s.code());
  const std::string& d = s.detail();
  const std::string& p = a.arg;
  const bool write = a.cmd == "set" || a.cmd == "add" || a.cmd == "del";
  if (tree) {
    switch (s.code()) {
      case Err::kNoEnt:
        return "no such file or directory: " + p + " (NOENT)";
      case Err::kReadonly:
      case Err::kTooLarge:
      case Err::kBadRequest:
        return "cannot delete " + p + ": " + d + " (" + code + ")";
      case Err::kTimeout:
        return d + " (TIMEOUT); read " + p + " (cairn tree " + p + ") before trying again";
      default:
        break;  // REV_MISMATCH and the rest: as del says them
    }
  }
  if (a.cmd == "txn" && namesTxnPart(d)) return d + " (" + code + "); nothing was applied";
  switch (s.code()) {
    case Err::kIsDir:
      if (a.cmd == "get" || write) {
        return p + " is a directory (ISDIR); " +
               (write ? std::string("only files are ") + (a.cmd == "del" ? "deleted" : "written") +
                            "; list it with: cairn ls " + p
                      : "list it with: cairn ls " + p);
      }
      break;
    case Err::kRevMismatch: {
      const std::int64_t at = numberAfter(d, "at rev ");
      if (a.cmd == "add" || (a.cmd == "set" && a.rev == 0)) {
        return p + " already exists" + (at > 0 ? " at rev " + num(at) : "") +
               " (REV_MISMATCH); cairn set " + p + " VALUE replaces it";
      }
      if (write && a.rev) {
        return p + " changed after rev " + num(*a.rev) +
               (at > 0 ? ": it is at rev " + num(at) + " now" : "") + " (REV_MISMATCH); nothing " +
               (a.cmd == "del" ? "deleted" : "written") + ": read it again (cairn stat " + p +
               ") and retry with its rev";
      }
      break;
    }
    case Err::kNoEnt:
      if (a.cmd == "del") return "no such file: " + p + " (NOENT)";
      if (a.cmd == "ls") return "no such directory: " + p + " (NOENT)";
      break;
    case Err::kNotDir:
      if (a.cmd == "ls") return p + " is a file (NOTDIR); print it with: cairn get " + p;
      if (write) {
        return d + ", so " + p +
               (a.cmd == "del" ? " does not exist" : " cannot be created below it") + " (NOTDIR)";
      }
      break;
    case Err::kTimeout:
      if (write) {
        return d + " (TIMEOUT); read " + p + " (cairn get " + p + ") before trying again";
      }
      break;
    default:
      break;
  }
  // Otherwise the node's or the library's detail, with the protocol's words made the CLI's.
  std::string m = d;
  replaceAll(&m, "(use GETDIR)", "(list it with: cairn ls)");
  replaceAll(&m, "use consistency \"local\"", "use --local");
  replaceAll(&m, "rev must be", "--rev must be");
  return m.empty() ? code : m + " (" + code + ")";
}

int fail(const Args& a, const Status& s) {
  std::fprintf(stderr, "cairn: %s\n", explain(a, s).c_str());
  switch (s.code()) {
    case Err::kRevMismatch:
      return kExitMismatch;
    case Err::kNoEnt:
      return kExitNoSuchFile;
    default:
      return kExitError;
  }
}

int noSuchFile(const Args& a, std::int64_t head) {
  if (a.json) out("{\"path\":" + jsonStr(a.arg) + ",\"exists\":false,\"head\":" + num(head) + "}");
  if (!a.json) std::fprintf(stderr, "cairn: no such file: %s\n", a.arg.c_str());
  return kExitNoSuchFile;
}

void printChange(const Args& a, const cairn::client::Change& c) {
  if (a.json) {
    out("{\"rev\":" + num(c.rev) + ",\"path\":" + jsonStr(c.path) + ",\"op\":" + jsonStr(c.op) +
        "," + jsonValue(c.value) + "}");
  } else {
    out(num(c.rev) + " " + c.op + " " + c.path + (c.op == "set" ? " " + c.value : ""));
  }
}

// A glob without ? or * matches one path only, as a file: named after a directory, it matches
// nothing below it and a watch of it stays silent for ever. Says so once, as a hint: when no node
// answers within a second the check is skipped, and the command carries on either way.
void warnIfDirectory(const Args& a) {
  if (a.arg.find_first_of("?*") != std::string::npos) return;
  try {
    cairn::client::Options o;
    secure(o);
    o.endpoints = cairn::client::splitEndpoints(a.addr);
    o.timeout = std::chrono::milliseconds(std::min<std::int64_t>(a.timeoutMs, 1000));
    o.attempts = static_cast<int>(std::max<std::size_t>(o.endpoints.size(), 1));
    o.localReads = true;  // a hint needs no quorum
    cairn::client::Client c(o);
    auto s = c.stat(a.arg);
    if (!s || !s->dir) return;
    std::fprintf(stderr, "cairn: %s matches only the file %s; did you mean '%s'?\n", a.arg.c_str(),
                 a.arg.c_str(), cairn::wire::childPath(a.arg, "**").c_str());
  } catch (const std::exception&) {
    // No hint; the command itself reports what is wrong with the endpoints.
  }
}

// watch and feed: a Watcher, printed or relayed.
int watch(const Args& a, bool relay) {
  std::unique_ptr<zmq::context_t> ctx;
  std::unique_ptr<zmq::socket_t> sink;
  if (relay) {
    if (a.push.empty() == a.pub.empty())
      return usage("feed needs one of --push EP or --pub EP", "feed");
    ctx = std::make_unique<zmq::context_t>(1);
    sink = std::make_unique<zmq::socket_t>(
        *ctx, a.push.empty() ? zmq::socket_type::pub : zmq::socket_type::push);
    sink->set(zmq::sockopt::linger, 5000);  // deliver what was relayed before exiting
    const std::string& ep = a.push.empty() ? a.pub : a.push;
    try {
      if (a.bind) {
        sink->bind(ep);
      } else {
        sink->connect(ep);
      }
    } catch (const zmq::error_t& e) {
      std::fprintf(stderr, "cairn: cannot %s %s: %s\n", a.bind ? "bind" : "connect", ep.c_str(),
                   e.what());
      return kExitError;
    }
  }
  warnIfDirectory(a);
  cairn::client::WatchOptions wo;
  secure(wo);
  wo.endpoints = cairn::client::splitEndpoints(a.addr);
  wo.glob = a.arg;
  wo.fromRev = a.rev;
  wo.timeout = std::chrono::milliseconds(a.timeoutMs);
  cairn::client::Watcher w(wo);
  std::string node;
  std::int64_t shownSwitches = 0, shownGaps = 0;
  bool live = false;
  bool warnedDown = false;       // said once (verbose or not) that no node answers
  std::int64_t beatsBefore = 0;  // heartbeats counted before the node now followed
  while (true) {
    auto n = w.next(std::chrono::milliseconds(1000));
    if (w.node().empty() && n && !*n && !warnedDown) {
      warnedDown = true;  // as the WAIT-based watch did: a wrong --addr must not look like quiet
      std::fprintf(stderr, "cairn: no node answers at %s; retrying\n",
                   a.addr.empty() ? "tcp://127.0.0.1:7101" : a.addr.c_str());
    } else if (!w.node().empty()) {
      warnedDown = false;
    }
    if (a.verbose) {
      const auto& st = w.stats();
      if (!w.node().empty() && (w.node() != node || st.switches != shownSwitches)) {
        node = w.node();
        shownSwitches = st.switches;
        if (st.switches > 0) std::fprintf(stderr, "cairn: %s\n", w.lastSwitch().c_str());
        std::fprintf(stderr, "cairn: following %s\n", node.c_str());
        live = false;
        beatsBefore = st.heartbeats;
      }
      if (!live && !node.empty() && st.heartbeats > beatsBefore) {
        live = true;
        std::fprintf(stderr, "cairn: feed of %s is live\n", node.c_str());
      }
      if (st.gaps != shownGaps) {
        shownGaps = st.gaps;
        std::fprintf(stderr, "cairn: feed lost events (%lld so far); filled from history\n",
                     static_cast<long long>(st.gaps));
      }
    }
    if (!n) return fail(a, n.status());
    if (*n) {
      const auto& notice = **n;
      if (notice.kind == cairn::client::Notice::Kind::kChange) {
        if (sink) {
          cairn::wire::Event e{
              notice.change.rev, notice.change.path, notice.change.op, notice.change.value, {}};
          sink->send(zmq::buffer(e.path), zmq::send_flags::sndmore);
          sink->send(zmq::buffer(cairn::wire::encodeEvent(e)), zmq::send_flags::none);
        } else {
          printChange(a, notice.change);
        }
      } else if (a.progress && !sink) {
        out(a.json ? "{\"complete\":" + num(notice.complete) + "}"
                   : "complete " + num(notice.complete));
      }
    }
    if (a.until && w.complete() >= *a.until) {
      if (a.verbose) {
        const auto& st = w.stats();
        std::fprintf(stderr,
                     "cairn: complete to rev %lld: %lld from the feed, %lld from history, %lld "
                     "duplicates dropped, %lld losses detected, %lld node switches\n",
                     static_cast<long long>(w.complete()), static_cast<long long>(st.fromFeed),
                     static_cast<long long>(st.fromHistory), static_cast<long long>(st.duplicates),
                     static_cast<long long>(st.gaps), static_cast<long long>(st.switches));
      }
      return kExitOk;
    }
  }
}

// status: every node asked directly, since live facts never travel through the log (DESIGN §2).
struct NodeStatus {
  std::string endpoint;
  std::int64_t id = 0;                     // from /ctl, or the node's own answer; 0: unknown
  std::optional<cairn::wire::Reply> self;  // the node's SELF; absent when it did not answer
  std::string error;                       // why it did not
  std::vector<cairn::wire::Entry> ctl;     // kCtlClients as this node sees it
};

constexpr std::int64_t kStatusTimeoutMs = 1000;  // per node, unless --timeout says otherwise
constexpr const char* kCtlClients = "/ctl/nodes/*/client";

// The id in /ctl/nodes/ID/client, or 0.
std::int64_t ctlId(const std::string& path) {
  auto comps = cairn::wire::splitPath(path);
  std::int64_t id = 0;
  if (!comps || comps->size() != 4 || !cairn::cli::parseInt((*comps)[2], 1, INT64_MAX, &id))
    return 0;
  return id;
}

// Asks one node for SELF and, when `discover`, for the client endpoints /ctl lists. One attempt,
// one endpoint: a node that does not answer within `timeout` is down, not retried elsewhere.
void probe(NodeStatus* n, std::chrono::milliseconds timeout, bool discover) {
  try {
    cairn::client::Options o;
    secure(o);
    o.endpoints = {n->endpoint};
    o.timeout = timeout;
    o.connectTimeout = timeout;  // one wait, the one the message quotes
    o.attempts = 1;
    o.localReads = true;  // what this node knows: a cluster without a quorum still has a status
    cairn::client::Client c(o);
    auto r = c.self();
    if (!r) {
      n->error = r.status().code() == Err::kUnavailable
                     ? "no answer within " + std::to_string(timeout.count()) + " ms"
                     : r.status().toString();
      return;
    }
    n->self = std::move(*r);
    if (n->self->id) n->id = *n->self->id;
    if (!discover) return;
    if (auto w = c.walk(kCtlClients)) n->ctl = std::move(*w);
  } catch (const std::exception& e) {  // an endpoint ZeroMQ cannot parse, for one
    n->error = std::string("cannot ask it: ") + e.what();
  }
}

// Probes nodes[from..] at once, one thread and one client each: a dead node costs one timeout,
// however many there are.
void probeAll(std::vector<NodeStatus>& nodes, std::size_t from, std::chrono::milliseconds timeout,
              bool discover) {
  std::vector<std::thread> threads;
  for (std::size_t i = from; i < nodes.size(); ++i)
    threads.emplace_back(probe, &nodes[i], timeout, discover);
  for (auto& t : threads)
    t.join();
}

// Prints rows in columns two spaces apart, each as wide as its widest cell (no trailing blanks).
void printTable(const std::vector<std::vector<std::string>>& table) {
  std::vector<std::size_t> width(table[0].size(), 0);
  for (const auto& row : table) {
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : table) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out(line);
  }
}

std::string roleOf(const NodeStatus& n) {
  return cairn::client::nodeState(n.self ? &*n.self : nullptr);
}

int status(const Args& a) {
  const std::chrono::milliseconds timeout(a.timeoutSet ? a.timeoutMs : kStatusTimeoutMs);
  std::vector<NodeStatus> nodes;
  auto has = [&nodes](const std::string& ep) {
    return std::any_of(nodes.begin(), nodes.end(), [&ep](const NodeStatus& n) {
      // (the same node whether or not either names its key)
      return cairn::wire::sameEndpoint(n.endpoint, ep);
    });
  };
  std::vector<std::string> given = cairn::client::splitEndpoints(a.addr);
  if (given.empty()) given.push_back("tcp://127.0.0.1:7101");  // the client library's default
  for (const std::string& ep : given) {
    if (!has(ep)) nodes.push_back(NodeStatus{ep, 0, std::nullopt, "", {}});
  }
  probeAll(nodes, 0, timeout, true);

  // The members /ctl lists, each at the endpoint written last among every answer (a node that
  // trails may still list an endpoint its member has since left).
  std::map<std::int64_t, std::pair<std::int64_t, std::string>> listed;  // id -> rev, endpoint
  for (const NodeStatus& n : nodes) {
    for (const cairn::wire::Entry& e : n.ctl) {
      const std::int64_t id = ctlId(e.path);
      if (id == 0 || !e.value || e.value->empty()) continue;
      auto it = listed.find(id);
      if (it == listed.end() || e.rev > it->second.first) listed[id] = {e.rev, *e.value};
    }
  }
  // A node given without its key (or with another) that did not answer is asked again at the
  // endpoint /ctl lists, which names its key (under --key).
  using cairn::wire::splitKeyedEndpoint;
  for (const auto& [id, at] : listed) {
    const cairn::wire::KeyedEndpoint listedAt = splitKeyedEndpoint(at.second);
    auto stale = std::find_if(nodes.begin(), nodes.end(), [&](const NodeStatus& n) {
      const cairn::wire::KeyedEndpoint given = splitKeyedEndpoint(n.endpoint);
      return !n.self && given.endpoint == listedAt.endpoint && !listedAt.key.empty() &&
             given.key != listedAt.key;
    });
    if (stale != nodes.end()) nodes.erase(stale);
  }
  const std::size_t first = nodes.size();
  for (const auto& [id, at] : listed) {
    const std::string& ep = at.second;
    auto same = std::find_if(nodes.begin(), nodes.end(),
                             [&ep](const NodeStatus& n) { return n.endpoint == ep; });
    if (same != nodes.end()) {
      if (same->id == 0) same->id = id;
      continue;
    }
    const bool answered = std::any_of(nodes.begin(), nodes.end(), [id = id](const NodeStatus& n) {
      return n.self && n.id == id;  // reached at an address spelled otherwise in --addr
    });
    if (!answered) nodes.push_back(NodeStatus{ep, id, std::nullopt, "", {}});
  }
  probeAll(nodes, first, timeout, false);

  // One row per node: a node that answered under two spellings of its address keeps the first.
  std::vector<NodeStatus> rows;
  for (NodeStatus& n : nodes) {
    const bool dup = n.self && n.id != 0 && std::any_of(rows.begin(), rows.end(), [&n](auto& r) {
                       return r.self && r.id == n.id;
                     });
    if (!dup) rows.push_back(std::move(n));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const NodeStatus& x, const NodeStatus& y) {
    return (x.id == 0 ? INT64_MAX : x.id) < (y.id == 0 ? INT64_MAX : y.id);
  });

  auto dash = [](const std::optional<std::int64_t>& v, std::string (*f)(std::int64_t)) {
    return v ? f(*v) : std::string("-");
  };
  std::vector<std::vector<std::string>> table = {
      {"ENDPOINT", "ID", "ROLE", "LEADER", "REV", "LAG", "UPTIME", "FSYNC"}};
  bool healthy = true;
  for (const NodeStatus& n : rows) {
    const std::string id = n.id ? num(n.id) : "-";
    if (!n.self) {
      healthy = false;
      std::fprintf(stderr, "cairn: %s%s is down: %s\n", n.endpoint.c_str(),
                   n.id ? (" (node " + id + ")").c_str() : "", n.error.c_str());
      if (a.json) {
        out("{\"endpoint\":" + jsonStr(n.endpoint) + ",\"up\":false" +
            (n.id ? ",\"id\":" + id : std::string()) + ",\"error\":" + jsonStr(n.error) + "}");
      }
      table.push_back({n.endpoint, id, "down", "-", "-", "-", "-", "-"});
      continue;
    }
    const cairn::wire::Reply& r = *n.self;
    if (r.halted) {
      healthy = false;
      std::fprintf(
          stderr,
          "cairn: node %s (%s) has halted: %s; fix the cause (see its log) and restart it\n",
          id.c_str(), n.endpoint.c_str(), r.halted->c_str());
    }
    if (a.json) {
      out("{\"endpoint\":" + jsonStr(n.endpoint) + ",\"up\":true,\"id\":" + num(n.id) +
          ",\"leader\":" + num(r.leader.value_or(0)) + ",\"rev\":" + num(r.rev.value_or(0)) +
          statusJson(r) + ",\"client\":" + jsonStr(r.client.value_or("")) + ",\"events\":" +
          jsonStr(r.events.value_or("")) + ",\"version\":" + jsonStr(r.version.value_or("")) +
          (r.halted ? ",\"halted\":" + jsonStr(*r.halted) : std::string()) + "}");
    }
    table.push_back({n.endpoint, id, roleOf(n),
                     r.leader.value_or(0) ? num(*r.leader) : std::string("-"), dash(r.rev, num),
                     dash(r.lag, num), dash(r.uptimeMs, duration), dash(r.fsyncUs, micros)});
  }
  const bool led = std::any_of(rows.begin(), rows.end(), [](const NodeStatus& n) {
    return n.self && !n.self->halted && n.self->role == std::string("leader");
  });
  if (!led) {
    healthy = false;
    std::fprintf(stderr,
                 "cairn: no node leads: writes and linearizable reads wait (is a majority "
                 "of the members up and connected?)\n");
  }
  if (!a.json) printTable(table);
  return healthy ? kExitOk : kExitError;
}

// snapshot save and status: a backup file is a snapshot file (store/FORMAT.md), checked whole.
constexpr int kExitDamaged = 1;  // snapshot status: the file is damaged or truncated

std::string dirOf(const std::string& file) {
  const auto slash = file.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : file.substr(0, slash);
}

std::int64_t countFiles(const cairn::store::Node& n) {
  if (!n.dir) return 1;
  std::int64_t files = 0;
  n.children.forEach([&](const std::string&, const cairn::store::NodeP& c) {
    files += countFiles(*c);
    return true;
  });
  return files;
}

std::int64_t valueBytes(const cairn::store::Node& n) {
  if (!n.dir) return static_cast<std::int64_t>(n.value->size());
  std::int64_t bytes = 0;
  n.children.forEach([&](const std::string&, const cairn::store::NodeP& c) {
    bytes += valueBytes(*c);
    return true;
  });
  return bytes;
}

// Decodes a whole snapshot file: its magic, header, tree and trailing CRC-32C.
cairn::wire::Result<cairn::store::Store> verifySnapshot(const std::string& file) {
  return cairn::store::loadSnapshotFile(file, cairn::store::Store::Options());
}

int snapshotStatus(const Args& a) {
  const std::string& file = a.arg;
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) {
    std::fprintf(stderr, "cairn: cannot read %s: %s\n", file.c_str(), std::strerror(errno));
    return kExitError;
  }
  auto store = verifySnapshot(file);
  if (!store) {
    const Status& s = store.status();
    if (s.code() != Err::kCorrupt) return fail(a, s);
    // The detail starts with the path already.
    std::fprintf(stderr, "cairn: %s is not a whole Cairn snapshot (damaged or truncated): %s\n",
                 file.c_str(),
                 s.detail().rfind(file + ": ", 0) == 0 ? s.detail().substr(file.size() + 2).c_str()
                                                       : s.detail().c_str());
    return kExitDamaged;
  }
  const std::int64_t files = countFiles(*store->root());
  const std::int64_t values = valueBytes(*store->root());
  if (a.json) {
    out("{\"file\":" + jsonStr(file) + ",\"rev\":" + num(store->rev()) +
        ",\"slot\":" + num(static_cast<std::int64_t>(store->appliedIndex())) +
        ",\"files\":" + num(files) + ",\"value_bytes\":" + num(values) +
        ",\"bytes\":" + num(static_cast<std::int64_t>(st.st_size)) + "}");
  } else {
    out(file + ": rev " + num(store->rev()) + " (log slot " +
        num(static_cast<std::int64_t>(store->appliedIndex())) + "), " + num(files) +
        (files == 1 ? " file" : " files") + " holding " + num(values) + " bytes, " +
        num(static_cast<std::int64_t>(st.st_size)) + " bytes in all; checksum ok");
  }
  return kExitOk;
}

// Downloads a backup into FILE.part, checks it whole, makes it durable, then names it FILE: a
// FILE that exists is always a whole, checked backup.
int snapshotSave(const Args& a, cairn::client::Client& c) {
  const std::string& file = a.arg;
  const std::string part = file + ".part";
  int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "cairn: cannot create %s: %s\n", part.c_str(), std::strerror(errno));
    return kExitError;
  }
  auto abandon = [&](const std::string& why) {
    if (fd >= 0) ::close(fd);
    ::unlink(part.c_str());
    std::fprintf(stderr, "cairn: %s\n", why.c_str());
    return kExitError;
  };
  auto ioError = [&](const std::string& what) {
    return Status(Err::kIo, what + " " + part + ": " + std::strerror(errno));
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t written = 0;
  auto b = c.backup([&](std::int64_t offset, std::string_view bytes) -> Status {
    if (offset == 0 && written > 0) {  // started over on another node
      if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) return ioError("truncate");
      written = 0;
    }
    if (offset != written) {
      return Status(Err::kOther, "bytes at offset " + num(offset) + " came while " + num(written) +
                                     " were written");
    }
    written += static_cast<std::int64_t>(bytes.size());
    return cairn::store::writeAll(fd, bytes);
  });
  if (!b) return abandon(explain(a, b.status()) + "; nothing saved");
  if (b->begun > 1 && a.verbose) {
    std::fprintf(stderr, "cairn: started over on %s after: %s\n", b->endpoint.c_str(),
                 b->why.c_str());
  }
  if (::fsync(fd) != 0) return abandon(ioError("fsync").detail() + "; nothing saved");
  ::close(fd);
  fd = -1;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto store = verifySnapshot(part);
  if (!store) {
    return abandon("the backup from " + b->endpoint +
                   " does not verify: " + store.status().detail() + "; nothing saved");
  }
  if (store->rev() != b->rev || static_cast<std::int64_t>(store->appliedIndex()) != b->slot ||
      written != b->len) {
    return abandon("the backup from " + b->endpoint + " is rev " + num(store->rev()) + " (slot " +
                   num(static_cast<std::int64_t>(store->appliedIndex())) + ", " + num(written) +
                   " bytes), not the rev " + num(b->rev) + " (slot " + num(b->slot) + ", " +
                   num(b->len) + " bytes) the node announced; nothing saved");
  }
  if (::rename(part.c_str(), file.c_str()) != 0) {
    return abandon("cannot rename " + part + " to " + file + ": " + std::strerror(errno) +
                   "; nothing saved");
  }
  if (Status s = cairn::store::syncDir(dirOf(file)); !s.isOk()) {
    std::fprintf(stderr, "cairn: saved %s, but its directory is not durable: %s\n", file.c_str(),
                 s.detail().c_str());
    return kExitError;
  }
  if (a.json) {
    out("{\"file\":" + jsonStr(file) + ",\"rev\":" + num(b->rev) + ",\"slot\":" + num(b->slot) +
        ",\"bytes\":" + num(b->len) + ",\"from\":" + jsonStr(b->endpoint) +
        ",\"begun\":" + num(b->begun) + "}");
  } else {
    out("saved " + file + ": rev " + num(b->rev) + " (log slot " + num(b->slot) + "), " +
        num(b->len) + " bytes, from " + b->endpoint);
  }
  if (a.verbose) {
    char line[128];
    std::snprintf(line, sizeof line, "cairn: downloaded %lld bytes in %.3f s\n",
                  static_cast<long long>(b->len), secs);
    std::fputs(line, stderr);
  }
  return kExitOk;
}

// "10s", "1500ms", "2m", "1h", or a number of seconds: milliseconds, or -1 if it is none of these.
std::int64_t parseTtl(const std::string& s) {
  std::size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits])))
    ++digits;
  if (digits == 0 || digits > 12) return -1;
  const std::int64_t n = std::stoll(s.substr(0, digits));
  const std::string unit = s.substr(digits);
  if (unit == "ms") return n;
  if (unit.empty() || unit == "s") return n * 1000;
  if (unit == "m") return n * 60 * 1000;
  if (unit == "h") return n * 3600 * 1000;
  return -1;
}

std::optional<std::uint64_t> parseLeaseId(const std::string& s) {
  try {
    std::size_t used = 0;
    const std::int64_t id = std::stoll(s, &used);
    if (used == s.size() && id >= 1) return static_cast<std::uint64_t>(id);
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// cairn lease grant TTL | keepalive ID | revoke ID | show ID.
int lease(Args& a, cairn::client::Client& c) {
  if (a.cmd == "lease grant") {
    const std::int64_t ttl = parseTtl(a.arg);
    if (ttl < 0) return usage("a ttl is like 10s, 1500ms, 2m or 1h, not \"" + a.arg + "\"", a.cmd);
    auto id = c.grant(std::chrono::milliseconds(ttl));
    if (!id) return fail(a, id.status());
    out(a.json
            ? "{\"lease\":" + num(static_cast<std::int64_t>(*id)) + ",\"ttl_ms\":" + num(ttl) + "}"
            : num(static_cast<std::int64_t>(*id)));
    return kExitOk;
  }
  const auto id = parseLeaseId(a.arg);
  if (!id) return usage("a lease id is a number >= 1, not \"" + a.arg + "\"", a.cmd);
  const std::string name = "lease " + a.arg;
  if (a.cmd == "lease revoke") {
    auto r = c.revoke(*id);
    if (!r) return fail(a, r.status());
    out(a.json ? "{\"lease\":" + a.arg + ",\"revoked\":true,\"rev\":" + num(*r) + "}"
               : name + " revoked at rev " + num(*r));
    return kExitOk;
  }
  if (a.cmd == "lease show") {
    auto r = c.lease(*id);
    if (!r) return fail(a, r.status());
    std::vector<std::string> files;
    for (const auto& e : r->entries.value_or(std::vector<cairn::wire::Entry>{}))
      files.push_back(e.path);
    if (a.json) {
      std::string list;
      for (const auto& f : files)
        list += (list.empty() ? "" : ",") + jsonStr(f);
      out("{\"lease\":" + a.arg + ",\"ttl_ms\":" + num(r->ttl.value_or(0)) +
          (r->remaining ? ",\"remaining_ms\":" + num(*r->remaining) : std::string()) +
          ",\"files\":[" + list + "]}");
      return kExitOk;
    }
    out(name + ": ttl " + num(r->ttl.value_or(0)) + " ms" +
        (r->remaining ? ", " + num(*r->remaining) + " ms left" : std::string()) + ", " +
        num(static_cast<std::int64_t>(files.size())) + " file" + (files.size() == 1 ? "" : "s"));
    for (const auto& f : files)
      out(f);
    return kExitOk;
  }
  // keepalive: until the lease ends or Ctrl-C. A keep-alive every third of the ttl; the lease is
  // surely alive until the send time of the last one answered plus the ttl (PROTOCOL.md §7,
  // Leases), less 10% for the clocks' drift.
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> aliveUntil;
  while (true) {
    const auto sent = Clock::now();
    auto ttl = c.keepAlive(*id);
    if (!ttl) {
      // Only a node that cannot answer now (no leader, a leader change, a node down) is worth
      // asking again; any other answer, NOENT or PERMISSION (another user's lease) say, is final.
      const Err e = ttl.status().code();
      if (!cairn::client::noConsensus(e) && e != Err::kNotLeader) {
        return fail(a, ttl.status());
      }
      if (aliveUntil && Clock::now() >= *aliveUntil) {
        std::fprintf(stderr,
                     "cairn: %s may have expired: no keep-alive answered within its ttl (%s)\n",
                     name.c_str(), explain(a, ttl.status()).c_str());
        return kExitError;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // another node, or a new leader
      continue;
    }
    aliveUntil = sent + *ttl * 9 / 10;
    out(a.json ? "{\"lease\":" + a.arg + ",\"ttl_ms\":" + num(ttl->count()) + "}"
               : name + " kept alive, ttl " + num(ttl->count()) + " ms");
    std::fflush(stdout);
    std::this_thread::sleep_until(sent + *ttl / 3);
  }
}

// cairn members [promote|remove ID]: the configuration, or one change to it (the leader's).
int members(Args& a, cairn::client::Client& c) {
  if (a.cmd != "members") {
    std::int64_t id = 0;
    try {
      std::size_t used = 0;
      id = std::stoll(a.arg, &used);
      if (used != a.arg.size() || id < 1) throw std::invalid_argument("");
    } catch (const std::exception&) {
      return usage("a member id is a number >= 1, not \"" + a.arg + "\"", a.cmd);
    }
    cairn::wire::Request q;
    q.verb = a.cmd == "members promote" ? cairn::wire::Verb::kPromote : cairn::wire::Verb::kRemove;
    q.id = id;
    auto r = c.leaderCall(q);
    if (!r) return fail(a, r.status());
    const bool promote = a.cmd == "members promote";
    if (a.json) {
      out("{\"id\":" + num(id) + ",\"" + (promote ? "promoted" : "removed") +
          "\":true,\"config\":" + num(r->config.value_or(0)) + "}");
    } else {
      out("node " + num(id) + " " + (promote ? "promoted to voter" : "removed") +
          " (configuration " + num(r->config.value_or(0)) + ")");
    }
    return kExitOk;
  }
  auto r = c.members();
  if (!r) return fail(a, r.status());
  const std::int64_t leader = r->leader.value_or(0);
  const std::vector<cairn::wire::MemberInfo> list =
      r->members.value_or(std::vector<cairn::wire::MemberInfo>{});
  std::int64_t head = 0;
  for (const auto& m : list) {
    if (m.id == leader && m.learned) head = *m.learned;
  }
  std::vector<std::vector<std::string>> table = {
      {"ID", "ROLE", "LEADER", "PEER", "CLIENT", "EVENTS", "LEARNED", "LAG"}};
  for (const auto& m : list) {
    const std::string learned = m.learned ? num(*m.learned) : "-";
    const std::string lag = m.learned && head > 0 ? num(head - *m.learned) : "-";
    if (a.json) {
      out("{\"id\":" + num(m.id) + ",\"role\":" + jsonStr(m.role) +
          ",\"leader\":" + (m.id == leader ? "true" : "false") + ",\"peer\":" + jsonStr(m.peer) +
          ",\"client\":" + jsonStr(m.client) + ",\"events\":" + jsonStr(m.events) +
          (m.learned ? ",\"learned\":" + num(*m.learned) + ",\"lag\":" + lag : std::string()) +
          ",\"config\":" + num(r->config.value_or(0)) + "}");
    }
    table.push_back({num(m.id), m.role, m.id == leader ? "*" : "", m.peer.empty() ? "-" : m.peer,
                     m.client.empty() ? "-" : m.client, m.events.empty() ? "-" : m.events, learned,
                     lag});
  }
  if (!a.json) {
    printTable(table);
    out("configuration " + num(r->config.value_or(0)) + " of cluster " + r->cluster.value_or("?") +
        (leader ? "" : "; no leader known now: LEARNED and LAG are the leader's to tell"));
  }
  return kExitOk;
}

volatile std::sig_atomic_t gSignal = 0;  // lock, elect: SIGINT or SIGTERM arrived

// cairn lock NAME -- COMMAND and cairn elect NAME VALUE: a lease of their own (kept alive on a
// thread), a place in the queue, then the command run holding the lock (CAIRN_LOCK_TOKEN: the
// fencing token), or leadership held until Ctrl-C. Both leave the queue and revoke their lease on
// the way out, also on SIGINT and SIGTERM.
int recipe(Args& a, const cairn::client::Options& opts) {
  using cairn::client::Lease;
  const std::int64_t ttl = parseTtl(a.ttl);
  if (ttl < 0) return usage("a ttl is like 10s, 1500ms, 2m or 1h, not \"" + a.ttl + "\"", a.cmd);
  std::int64_t giveUp = 365LL * 24 * 3600 * 1000;
  if (!a.giveUp.empty() && (giveUp = parseTtl(a.giveUp)) < 0) {
    return usage("--timeout is like 30s, 1500ms, 2m or 1h, not \"" + a.giveUp + "\"", a.cmd);
  }
  if (auto comps = cairn::wire::splitPath(a.arg); !comps || comps->empty()) {
    return usage("NAME is the lock's or election's directory, a path like /locks/deploy, not \"" +
                     a.arg + "\"",
                 a.cmd);
  }
  if (a.cmd == "lock" && a.command.empty()) return usage("lock needs a command to run", a.cmd);
  if (a.cmd == "elect" && !a.listen && a.command.size() != 1) {
    return usage("elect needs NAME and VALUE (or --listen NAME)", a.cmd);
  }
  for (int sig : {SIGINT, SIGTERM})
    std::signal(sig, [](int s) { gSignal = s; });
  auto stop = [] { return gSignal != 0; };
  cairn::client::Client c(opts);
  if (a.listen) {  // elect --listen: each new leader's value
    std::string shown;
    std::int64_t from = 0;
    while (!gSignal) {
      auto l = cairn::client::leaderOf(c, a.arg);
      if (l && l->key != shown) {
        shown = l->key;
        out(a.json ? "{\"leader\":" + jsonStr(l->key) + ",\"rev\":" + num(l->rev) + "," +
                         jsonValue(l->value) + "}"
                   : l->value);
        std::fflush(stdout);
      }
      if (!l && l.status().code() != Err::kNoEnt) return fail(a, l.status());
      auto head = c.rev();
      if (!head) return fail(a, head.status());
      from = std::max(from, *head + 1);
      auto w = c.wait(a.arg + "/*", from, std::chrono::milliseconds(500));
      if (w && !w->empty()) from = w->back().rev + 1;
    }
    return kExitOk;
  }
  auto lease = Lease::grant(opts, std::chrono::milliseconds(ttl));
  if (!lease) return fail(a, lease.status());
  cairn::client::Mutex m(c, **lease, a.arg);
  cairn::client::Election e(c, **lease, a.arg);
  auto token = a.cmd == "lock" ? m.lock(std::chrono::milliseconds(giveUp), stop)
                               : e.campaign(a.command[0], std::chrono::milliseconds(giveUp), stop);
  if (!token) {
    if (gSignal) return 128 + gSignal;
    return fail(a, token.status());
  }
  auto leave = [&] {
    (void)(a.cmd == "lock" ? m.unlock() : e.resign());
    (void)(*lease)->revoke();
  };
  if (a.cmd == "elect") {
    out(a.json ? "{\"leader\":" +
                     jsonStr(a.arg + "/" + num(static_cast<std::int64_t>((*lease)->id()))) +
                     ",\"rev\":" + num(*token) + "}"
               : "leading " + a.arg + " (term " + num(*token) + ")");
    std::fflush(stdout);
    while (!gSignal && (*lease)->alive())
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const bool lost = !gSignal;
    leave();
    if (lost) {
      std::fprintf(stderr, "cairn: lost the leadership of %s: %s\n", a.arg.c_str(),
                   (*lease)->lost().isOk() ? "its lease's keep-alives went unanswered"
                                           : (*lease)->lost().toString().c_str());
      return kExitError;
    }
    return kExitOk;
  }
  // lock: run the command holding it.
  const std::string tokenEnv = "CAIRN_LOCK_TOKEN=" + num(*token);
  const std::string keyEnv = "CAIRN_LOCK_KEY=" + m.key();
  const pid_t child = ::fork();
  if (child == 0) {
    ::putenv(const_cast<char*>(tokenEnv.c_str()));
    ::putenv(const_cast<char*>(keyEnv.c_str()));
    std::vector<char*> argv;
    for (auto& s : a.command)
      argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "cairn: cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  if (child < 0) {
    leave();
    std::fprintf(stderr, "cairn: fork: %s\n", std::strerror(errno));
    return kExitError;
  }
  bool lost = false, told = false;
  int st = 0;
  while (::waitpid(child, &st, WNOHANG) == 0) {
    if (!told && (gSignal || !(*lease)->alive())) {
      lost = !gSignal;
      ::kill(child, SIGTERM);  // holding no more, or asked to stop: the command ends first
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  leave();
  if (lost) {
    std::fprintf(stderr,
                 "cairn: lost the lock %s while the command ran (its lease ended); the "
                 "command was sent SIGTERM\n",
                 a.arg.c_str());
    return kExitError;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// cairn txn [FILE]: one transaction, as JSON in TXN's wire form (tools/txn_json.h), from FILE or
// standard input; its outcome as one JSON object.
int txn(const Args& a, cairn::client::Client& c) {
  const bool fromStdin = a.arg.empty() || a.arg == "-";
  std::string text;
  if (fromStdin) {
    if (::isatty(0)) {
      std::fprintf(stderr,
                   "cairn: reading the transaction (JSON) from standard input; end it with Ctrl-D "
                   "at the start of a line (Ctrl-C cancels)\n");
    }
    if (!readStdin(&text)) {
      std::fprintf(stderr, "cairn: reading stdin: %s\n", std::strerror(errno));
      return kExitError;
    }
  } else if (!readFile(a.arg, &text)) {
    std::fprintf(stderr, "cairn: cannot read %s: %s\n", a.arg.c_str(), std::strerror(errno));
    return kExitError;
  }
  auto t = cairn::tools::parseTxnJson(text);
  if (!t) return usage((fromStdin ? "stdin" : a.arg) + ": " + t.status().detail(), "txn");
  auto r = c.txn(*t);
  if (!r) return fail(a, r.status());
  out(cairn::tools::txnReplyJson(*r));
  return kExitOk;
}

// cairn del -R PATH: the file, or every file below the directory, deleted at one rev by a TXN of
// one deltree (--rev R: only if PATH is at rev <= R). The node refuses / (READONLY: it holds /ctl)
// and a subtree of more files than one rev may change (TOO_LARGE).
int delTree(const Args& a, cairn::client::Client& c) {
  cairn::wire::Txn t;
  t.then.push_back(cairn::wire::TxnOp::delTree(a.arg, a.rev.value_or(-1)));
  auto r = c.txn(t);
  if (!r) return fail(a, r.status());
  if (r->results.size() != 1 || !r->results[0].len) {
    return fail(a, Status(Err::kOther,
                          "the node's answer to a deltree has no count of the files "
                          "it deleted"));
  }
  const std::int64_t files = *r->results[0].len;
  out(a.json ? "{\"path\":" + jsonStr(a.arg) + ",\"rev\":" + num(r->rev) +
                   ",\"deleted\":" + num(files) + "}"
             : "deleted " + a.arg + ": rev " + num(r->rev) + ", " + num(files) +
                   (files == 1 ? " file" : " files"));
  return kExitOk;
}

int run(Args& a) {
  if (a.cmd == "keygen") return keygen();                    // no node
  if (a.cmd == "snapshot status") return snapshotStatus(a);  // a local file: no node
  if (!loadKeys(a)) return kExitError;
  if (a.cmd == "status") return status(a);  // one client per node, not this one
  cairn::client::Options opts;
  secure(opts);
  opts.endpoints = cairn::client::splitEndpoints(a.addr);
  opts.timeout = std::chrono::milliseconds(a.timeoutMs);
  opts.localReads = a.local;
  if (a.cmd == "lock" || a.cmd == "elect") return recipe(a, opts);
  cairn::client::Client c(opts);
  const std::string& cmd = a.cmd;

  if (cmd == "get") {
    auto f = c.get(a.arg, a.rev);
    if (!f) return fail(a, f.status());
    if (f->rev == 0) return noSuchFile(a, f->head);  // the node's answer for a missing file
    if (a.json) {
      out("{\"path\":" + jsonStr(a.arg) + ",\"exists\":true,\"rev\":" + num(f->rev) + "," +
          jsonValue(f->value) + ",\"head\":" + num(f->head) + "}");
    } else {
      std::fwrite(f->value.data(), 1, f->value.size(), stdout);
      // Exactly the bytes for scripts and pipes; on a terminal the prompt starts on its own line.
      if (::isatty(1) && (f->value.empty() || f->value.back() != '\n')) std::fputc('\n', stdout);
    }
    return kExitOk;
  }
  if (cmd == "set" || cmd == "add") {
    std::string value;
    if (!a.value && ::isatty(0)) {  // not a pipe: someone is about to type, maybe unawares
      std::fprintf(stderr,
                   "cairn: reading the value of %s from standard input; end it with Ctrl-D at the "
                   "start of a line (Ctrl-C cancels)\n",
                   a.arg.c_str());
    }
    if (a.value) {
      value = *a.value;
    } else if (!readStdin(&value)) {
      std::fprintf(stderr, "cairn: reading stdin: %s\n", std::strerror(errno));
      return kExitError;
    }
    std::int64_t rev = cmd == "add" ? 0 : a.rev.value_or(-1);
    auto r = c.set(a.arg, value, rev, static_cast<std::uint64_t>(a.lease.value_or(0)));
    if (!r) return fail(a, r.status());
    out(a.json ? "{\"path\":" + jsonStr(a.arg) + ",\"rev\":" + num(*r) + "}" : num(*r));
    return kExitOk;
  }
  if (cmd == "del" && a.recursive) return delTree(a, c);
  if (cmd == "del") {
    auto r = c.del(a.arg, a.rev.value_or(-1));
    if (!r) return fail(a, r.status());
    out(a.json ? "{\"path\":" + jsonStr(a.arg) + ",\"rev\":" + num(*r) + "}" : num(*r));
    return kExitOk;
  }
  if (cmd == "ls") {
    auto es = c.getdir(a.arg.empty() ? "/" : a.arg, a.rev);
    if (!es) return fail(a, es.status());
    for (const auto& e : *es) {
      const bool dir = e.dir.value_or(false);
      out(a.json ? "{\"name\":" + jsonStr(e.name) + ",\"rev\":" + num(e.rev) +
                       ",\"dir\":" + (dir ? "true" : "false") + "}"
                 : e.name + (dir ? "/" : ""));
    }
    return kExitOk;
  }
  if (cmd == "find") {
    auto es = c.walk(a.arg, a.rev);
    if (!es) return fail(a, es.status());
    for (const auto& e : *es) {
      out(a.json ? "{\"path\":" + jsonStr(e.path) + ",\"rev\":" + num(e.rev) + "," +
                       jsonValue(e.value.value_or("")) + "}"
                 : e.path);
    }
    return kExitOk;
  }
  if (cmd == "tree") {
    std::string root = a.arg.empty() ? "/" : a.arg;
    while (root.size() > 1 && root.back() == '/')  // a trailing / is forgiven here
      root.pop_back();
    auto es = c.walk(cairn::wire::childPath(root, "**"), a.rev);
    if (!es) return fail(a, es.status());
    auto base = cairn::wire::splitPath(root);  // valid: the node accepted the glob
    if (!base) return fail(a, base.status());
    out(root);
    std::vector<std::string> prev;  // components of the previous path below root
    for (const auto& e : *es) {
      auto all = cairn::wire::splitPath(e.path);
      if (!all) return fail(a, all.status());
      if (all->size() <= base->size()) continue;  // not below root: "/a/**" never yields one
      std::vector<std::string> comps(all->begin() + static_cast<std::ptrdiff_t>(base->size()),
                                     all->end());
      std::size_t same = 0;
      while (same < prev.size() && same + 1 < comps.size() && prev[same] == comps[same])
        ++same;
      for (std::size_t d = same; d < comps.size(); ++d) {
        const bool file = d + 1 == comps.size();
        std::string line(2 * (d + 1), ' ');
        line += comps[d];
        if (!file) line += "/";
        if (file && a.json) line += "  (rev " + num(e.rev) + ")";
        if (file && !a.json) line += "  @" + num(e.rev);
        out(line);
      }
      comps.pop_back();
      prev = comps;
    }
    return kExitOk;
  }
  if (cmd == "stat") {
    auto s = c.stat(a.arg, a.rev);
    if (!s) return fail(a, s.status());
    if (s->rev == 0 && !s->dir) return noSuchFile(a, s->head);
    if (a.json) {
      out("{\"path\":" + jsonStr(a.arg) + ",\"exists\":true,\"rev\":" + num(s->rev) +
          ",\"len\":" + num(s->len) + ",\"dir\":" + (s->dir ? "true" : "false") +
          ",\"head\":" + num(s->head) + "}");
    } else {
      out(std::string(s->dir ? "dir" : "file") + " rev=" + num(s->rev) + " len=" + num(s->len));
    }
    return kExitOk;
  }
  if (cmd == "rev") {
    auto r = c.rev();
    if (!r) return fail(a, r.status());
    out(a.json ? "{\"rev\":" + num(*r) + "}" : num(*r));
    return kExitOk;
  }
  if (cmd == "self") {
    auto r = c.self();
    if (!r) return fail(a, r.status());
    if (a.json) {
      out("{\"id\":" + num(r->id.value_or(0)) + ",\"leader\":" + num(r->leader.value_or(0)) +
          ",\"client\":" + jsonStr(r->client.value_or("")) + ",\"events\":" +
          jsonStr(r->events.value_or("")) + ",\"version\":" + jsonStr(r->version.value_or("")) +
          ",\"rev\":" + num(r->rev.value_or(0)) + statusJson(*r) +
          (r->halted ? ",\"halted\":" + jsonStr(*r->halted) : std::string()) + statsJson(*r) + "}");
    } else {
      std::string text = "id " + num(r->id.value_or(0)) + "\nleader " + num(r->leader.value_or(0)) +
                         "\nclient " + r->client.value_or("") + "\nevents " +
                         r->events.value_or("") + "\nversion " + r->version.value_or("") +
                         "\nrev " + num(r->rev.value_or(0));
      if (r->role) text += "\nrole " + *r->role;
      if (r->slot) text += "\nslot " + num(*r->slot);
      if (r->lag) text += "\nlag " + num(*r->lag);
      if (r->uptimeMs) text += "\nuptime " + duration(*r->uptimeMs);
      if (r->fsyncUs) text += "\nfsync " + micros(*r->fsyncUs);
      if (r->maxValue) text += "\nmax_value " + num(*r->maxValue);
      if (r->halted) text += "\nhalted " + *r->halted;
      out(text);
    }
    return kExitOk;
  }
  if (cmd == "wait") {
    warnIfDirectory(a);
    std::int64_t from;
    if (a.rev) {
      from = *a.rev;
    } else {
      auto r = c.rev();
      if (!r) return fail(a, r.status());
      from = *r + 1;
    }
    while (true) {
      auto ch = c.wait(a.arg, from, std::chrono::milliseconds(2000));
      if (!ch) {
        Err e = ch.status().code();
        if (e == Err::kTimeout || e == Err::kUnavailable) continue;  // ask again, same rev
        return fail(a, ch.status());
      }
      for (const auto& one : *ch)
        printChange(a, one);
      return kExitOk;
    }
  }
  if (cmd == "watch" || cmd == "feed") {
    return watch(a, cmd == "feed");
  }
  if (cmd == "txn") return txn(a, c);
  if (cmd == "snapshot save") return snapshotSave(a, c);
  if (cmd.rfind("members", 0) == 0) return members(a, c);
  if (cmd.rfind("lease ", 0) == 0) return lease(a, c);
  return usage("unknown command \"" + cmd + "\"");
}

// The main help lists each command with its arguments ("set PATH [VALUE]"), as `cairn help` did.
class Formatter : public CLI::Formatter {
 public:
  std::string make_subcommand(const CLI::App* sub) const override {
    std::string name = sub->get_name();
    const CLI::App* args = sub;
    if (auto subs = sub->get_subcommands({}); !subs.empty()) {  // snapshot save|status FILE
      std::string names;
      for (const CLI::App* s : subs)
        names += (names.empty() ? "" : "|") + s->get_name();
      name += " " + names;
      args = subs.front();
    }
    for (const CLI::Option* o :
         args->get_options([](const CLI::Option* o) { return o->get_positional(); }))
      name += " " + make_option_usage(o);
    std::stringstream out;
    CLI::detail::format_help(out, name, sub->get_description(), get_column_width());
    return out.str();
  }
};

// Which of the shared flags a command reads (--addr and --timeout: all of them).
enum Flag : unsigned {
  kRev = 1,
  kJson = 2,
  kLocal = 4,
  kUntil = 8,
  kProgress = 16,
  kVerbose = 32,
  kRelay = 64,
  kLease = 128,
  kGiveUp = 256,  // --timeout means "give up after" (lock, elect), not the per-request timeout
  kRecursive = 512,
};

// The flags in `which`, on `app`, all writing into `a`. The main app has every flag, so that a
// flag may come before the command as well as after it; `revWhat` says what --rev means here.
void addFlags(CLI::App* app, Args* a, unsigned which, const std::string& revWhat) {
  app->add_option("--addr", a->addr,
                  "comma-separated client endpoints, tried in turn when one does\n"
                  "not answer (default $CAIRN_ADDR, else tcp://127.0.0.1:7101);\n"
                  "tcp://KEY@HOST:PORT names the node's public key")
      ->type_name("ENDPOINTS")
      ->transform(cairn::cli::nonEmpty("ENDPOINTS"));
  app->add_option("--key", a->keyFile,
                  "this client's key pair (cairn keygen; its owner's alone): CURVE\n"
                  "to nodes started with --key (default $CAIRN_KEY)")
      ->type_name("FILE")
      ->transform(cairn::cli::nonEmpty("a file"));
  app->add_option("--server-key", a->serverKey,
                  "the nodes' public key: a key file or the 40-character key, for\n"
                  "endpoints that do not name theirs (default $CAIRN_SERVER_KEY)")
      ->type_name("KEY")
      ->transform(cairn::cli::nonEmpty("a key file or a key"));
  if (which & kGiveUp) {
    app->add_option("--timeout", a->giveUp,
                    "give up after this long (30s, 1500ms, 2m, 1h; default: never),\n"
                    "leaving the queue")
        ->type_name("DURATION");
    app->add_option("--ttl", a->ttl,
                    "the lease's ttl (default 10s): how long a holder that died or\n"
                    "stalled keeps the others waiting")
        ->type_name("DURATION");
  } else {
    app->add_option("--timeout", a->timeoutMs,
                    "per-request timeout in milliseconds (status: per node, default\n" +
                        std::to_string(kStatusTimeoutMs) + ")")
        ->type_name("MS")
        ->transform(cairn::cli::integer(1, INT64_MAX))
        ->each([a](const std::string&) { a->timeoutSet = true; })
        ->default_str(std::to_string(a->timeoutMs));
  }
  if (which & kRev) {
    app->add_option_function<std::int64_t>(
           "-r,--rev", [a](std::int64_t r) { a->rev = r; }, revWhat)
        ->type_name("R")
        ->transform(cairn::cli::integer(INT64_MIN, INT64_MAX));
  }
  if (which & kJson) app->add_flag("--json", a->json, "one JSON object per line");
  if (which & kRecursive) {
    app->add_flag("-R,--recursive", a->recursive,
                  "delete the file, or every file below the directory PATH, at one\n"
                  "rev (one TXN); --rev R: only if PATH is at rev <= R");
  }
  if (which & kLease) {
    app->add_option_function<std::int64_t>(
           "--lease", [a](std::int64_t l) { a->lease = l; },
           "keep the file under lease ID: it is deleted when the lease ends\n"
           "(cairn lease grant)")
        ->type_name("ID")
        ->transform(cairn::cli::integer(1, INT64_MAX));
  }
  if (which & kLocal) {
    app->add_flag("--local", a->local,
                  "read this node's own state (fast, may trail the cluster);\n"
                  "reads are linearizable by default");
  }
  if (which & kUntil) {
    app->add_option_function<std::int64_t>(
           "--until", [a](std::int64_t r) { a->until = r; },
           "exit 0 once every change up to rev R was delivered")
        ->type_name("R")
        ->transform(cairn::cli::integer(INT64_MIN, INT64_MAX));
  }
  if (which & kProgress) {
    app->add_flag("--progress", a->progress,
                  "also print the rev up to which the watch is complete, as it\n"
                  "moves (\"complete R\", or {\"complete\":R})");
  }
  if (which & kVerbose) {
    app->add_flag("-v,--verbose", a->verbose, "report node switches and catch-ups on stderr");
  }
  if (which & kRelay) {
    app->add_option("--push", a->push, "PUSH each change to a PULL stage at EP")
        ->type_name("EP")
        ->transform(cairn::cli::nonEmpty("an ENDPOINT"));
    app->add_option("--pub", a->pub, "re-publish each change on a PUB at EP")
        ->type_name("EP")
        ->transform(cairn::cli::nonEmpty("an ENDPOINT"));
    app->add_flag("--bind", a->bind, "bind EP instead of connecting to it");
  }
}

struct Command {
  const char* name;
  const char* args;  // P: PATH, p: [PATH], G: GLOB, V: PATH [VALUE], C: [COMMAND], F: [FILE]
  unsigned flags;
  const char* about;
  const char* rev;  // what --rev means for it
};

constexpr const char* kRevRead = "read as of revision R";
constexpr const char* kRevWrite = "only if the file is at rev <= R (compare-and-set)";
constexpr const char* kRevFrom = "from revision R (default: the next one)";

const Command kCommands[] = {
    {"get", "P", kRev | kJson | kLocal,
     "print a file's value (--rev: as of revision R), and a newline\n"
     "after it on a terminal; exit 3 if there is no such file",
     kRevRead},
    {"set", "V", kRev | kJson | kLease,
     "write a file (VALUE or stdin); --rev R: only if the file is at rev <= R", kRevWrite},
    {"add", "V", kJson | kLease, "create a file that must not exist yet", ""},
    {"del", "P", kRev | kJson | kRecursive,
     "delete a file; --rev R: only if the file is at rev <= R; -R: a\n"
     "directory's whole subtree at one rev (prints the rev and the count)",
     kRevWrite},
    {"ls", "p", kRev | kJson | kLocal, "list a directory (default /)", kRevRead},
    {"find", "G", kRev | kJson | kLocal,
     "list files matching a glob (? * within a component, ** across)", kRevRead},
    {"tree", "p", kRev | kJson | kLocal, "print the tree below PATH (default /)", kRevRead},
    {"stat", "P", kRev | kJson | kLocal,
     "print a file's or directory's rev and length; exit 3 if there is\n"
     "no such file",
     kRevRead},
    {"rev", "", kJson | kLocal, "print the current revision", ""},
    {"wait", "G", kRev | kJson,
     "wait for the first change matching GLOB at or after --rev (default:\n"
     "the next one) and print it",
     kRevFrom},
    {"watch", "G", kRev | kJson | kUntil | kProgress | kVerbose,
     "print every change matching GLOB from --rev (default: the next one)\n"
     "in rev order, each once, never skipping one; follows the nodes'\n"
     "feeds, fails over between --addr endpoints; ends only with\n"
     "TOO_LATE (history compacted past the rev wanted), or at --until",
     kRevFrom},
    {"feed", "G", kRev | kUntil | kVerbose | kRelay,
     "the same watch, relayed into a ZeroMQ pipeline as [path][event]\n"
     "messages: --push EP to a PULL stage, or --pub EP re-published on a\n"
     "PUB; connects to EP, or binds it with --bind",
     kRevFrom},
    {"self", "", kJson,
     "print the node's id, endpoints, version, role, applied slot, lag,\n"
     "uptime, last fsync and value limit",
     ""},
    {"status", "", kJson,
     "ask every node (each of --addr, and every member /ctl lists) for\n"
     "its role, leader, rev, lag, uptime and last fsync: one row per\n"
     "node, \"down\" for one that does not answer within --timeout;\n"
     "exit 0 when every node answered, none has halted and one leads,\n"
     "else 2",
     ""},
    {"txn", "F", kJson,
     "apply a transaction read as JSON from FILE (or stdin): compares,\n"
     "then one of two lists of get, set, del and deltree, at one rev,\n"
     "all or nothing; print its outcome as one JSON object",
     ""},
    {"keygen", "", 0,
     "make a CURVE key pair: the key file (public: and secret: lines) on\n"
     "stdout, made its owner's alone when redirected into a file, and the\n"
     "public key alone on stderr: cairn keygen > me.key 2> me.pub",
     ""},
    {"help", "C", 0, "print the help of COMMAND, or this list", ""},
};

// cairn help txn: the form of a transaction.
constexpr const char* kTxnForm =
    "A transaction is one JSON object, in the TXN request's form:\n"
    "  {\"if\":   [{\"path\":\"/a\", \"rev\":7, \"cmp\":\"=\"}, ...],\n"
    "   \"then\": [{\"op\":\"set\", \"path\":\"/a\", \"rev\":7, \"value\":\"text\"}, ...],\n"
    "   \"else\": [{\"op\":\"get\", \"path\":\"/a\"}, ...]}\n"
    "A compare has a path and one of \"rev\" (0: missing), \"value\" (text),\n"
    "\"value_b64\" (any bytes, base64) or \"exists\" (true, false; \"=\" only);\n"
    "\"cmp\" is \"=\" (the default), \"!=\", \"<\" or \">\". An operation is get,\n"
    "set, del or deltree (a file, or every file below a directory): set and\n"
    "del need \"rev\" (-1: whatever is there, 0: create only, R: only if the\n"
    "file is at rev <= R), set needs \"value\" or \"value_b64\" and may have a\n"
    "\"lease\"; a deltree may have \"rev\" (the directory's).\n"
    "If every compare holds \"then\" runs, else \"else\": all of it at one rev,\n"
    "or nothing if one operation fails (exit 1: a rev mismatch, 3: no such\n"
    "file, 2: other errors, 127: the JSON is not a transaction).\n"
    "Prints {\"succeeded\":B,\"rev\":R,\"results\":[...]}: rev is the one the\n"
    "writes share (the head rev if none ran); one result per operation that\n"
    "ran: op, path, rev, and a get's value (none for a missing file: rev 0)\n"
    "or a deltree's len, the files it deleted.";

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (const char* env = std::getenv("CAIRN_ADDR")) a.addr = env;
  if (const char* env = std::getenv("CAIRN_KEY")) a.keyFile = env;
  if (const char* env = std::getenv("CAIRN_SERVER_KEY")) a.serverKey = env;
  CLI::App app("cairn: the command-line client of a Cairn cluster.");
  cairn::cli::setUp(&app, "cairn");
  app.formatter(std::make_shared<Formatter>());
  app.get_formatter()->column_width(30);
  app.footer(
      "'cairn help COMMAND' or 'cairn COMMAND --help' describes one command.\n"
      "exit codes: 0 ok, 1 rev mismatch (snapshot status: a damaged file),\n"
      "2 other errors (status: a node down or halted), 3 no such file,\n"
      "127 usage");
  addFlags(&app, &a, ~unsigned{kGiveUp},
           "revision R: reads as of R; set and del only if the file is at\n"
           "rev <= R; wait, watch and feed from R");
  app.require_subcommand(1);
  app.fallthrough();  // a flag after the command that only the main app knows still counts
  std::string helpOf;
  for (const Command& cmd : kCommands) {
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.about);
    sub->callback([&a, name = std::string(cmd.name)] { a.cmd = name; });
    addFlags(sub, &a, cmd.flags, cmd.rev);
    const std::string args = cmd.args;
    const char* pathWhat = "a path: / or /NAME/NAME..., names of A-Z a-z 0-9 . _ -";
    if (args == "P" || args == "V")
      sub->add_option("PATH", a.arg, pathWhat)->type_name("")->required();
    if (args == "p") sub->add_option("PATH", a.arg, pathWhat)->type_name("");
    if (args == "G") {
      sub->add_option("GLOB", a.arg,
                      "a path whose names may use ? (one character) and * (any run),\n"
                      "or be ** (any number of names)")
          ->type_name("")
          ->required();
    }
    if (args == "V") {
      sub->add_option_function<std::string>(
             "VALUE", [&a](const std::string& v) { a.value = v; },
             "the bytes to write (default: standard input, to its end)")
          ->type_name("");
    }
    if (args == "C") sub->add_option("COMMAND", helpOf, "a command")->type_name("");
    if (args == "F") {
      sub->add_option("FILE", a.arg, "the transaction, as JSON (default, or -: standard input)")
          ->type_name("");
      sub->footer(std::string(kTxnForm) + "\n\n" + app.get_footer());
    }
  }
  // snapshot save|status FILE: two commands under one name.
  CLI::App* snapshot =
      app.add_subcommand("snapshot",
                         "save FILE: download a consistent backup of one node's state (a\n"
                         "snapshot file, checked by its CRC-32C) into FILE, atomically;\n"
                         "status FILE: check a backup file and print its rev, log slot,\n"
                         "files and bytes; exit 1 if it is damaged or truncated");
  snapshot->require_subcommand(1);
  const std::pair<const char*, const char*> kSnapshotCommands[] = {
      {"save",
       "download a consistent backup of one node's state into FILE: written\n"
       "to FILE.part, checked whole (magic, header, tree, CRC-32C), synced,\n"
       "then renamed to FILE; keeps to one node, and starts over once on\n"
       "another if that node goes away mid-download"},
      {"status",
       "check a backup file whole and print its rev, log slot, number of\n"
       "files and bytes; exit 1 if it is damaged or truncated"},
  };
  for (const auto& [name, about] : kSnapshotCommands) {
    CLI::App* sub = snapshot->add_subcommand(name, about);
    sub->callback([&a, cmd = std::string("snapshot ") + name] { a.cmd = cmd; });
    addFlags(sub, &a, std::string(name) == "save" ? kJson | kVerbose : unsigned{kJson}, "");
    sub->add_option("FILE", a.arg, "the backup file")->type_name("")->required();
  }
  // lock NAME -- COMMAND; elect NAME VALUE | elect --listen NAME.
  CLI::App* lockCmd =
      app.add_subcommand("lock",
                         "wait for the lock NAME (first come, first served), run COMMAND\n"
                         "holding it with CAIRN_LOCK_TOKEN set to its fencing token (larger\n"
                         "than every earlier holder's), release it when COMMAND exits (also\n"
                         "on Ctrl-C or SIGTERM); exit with COMMAND's code; 2 if the lock was\n"
                         "lost meanwhile (COMMAND is sent SIGTERM) or not taken in time");
  lockCmd->callback([&a] { a.cmd = "lock"; });
  addFlags(lockCmd, &a, kGiveUp, "");
  lockCmd->add_option("NAME", a.arg, "the lock: a directory, e.g. /locks/deploy")
      ->type_name("")
      ->required();
  lockCmd->add_option("COMMAND", a.command, "the command and its arguments (after --)")
      ->type_name("");
  CLI::App* electCmd =
      app.add_subcommand("elect",
                         "campaign in election NAME with VALUE: print when this one leads,\n"
                         "hold until Ctrl-C or SIGTERM, then resign; exit 2 if the leadership\n"
                         "was lost (its lease ended). --listen: print each new leader's value");
  electCmd->callback([&a] { a.cmd = "elect"; });
  addFlags(electCmd, &a, kGiveUp | kJson, "");
  electCmd->add_flag("--listen", a.listen, "print each new leader's value, do not campaign");
  electCmd->add_option("NAME", a.arg, "the election: a directory, e.g. /election/db")
      ->type_name("")
      ->required();
  electCmd->add_option("VALUE", a.command, "what the leader publishes (its address, ...)")
      ->type_name("");
  // lease grant TTL | keepalive ID | revoke ID | show ID.
  CLI::App* leaseCmd =
      app.add_subcommand("lease",
                         "grant TTL: a new lease (prints its id); keepalive ID: keep it alive\n"
                         "until Ctrl-C; revoke ID: end it now, deleting its files at one rev;\n"
                         "show ID: its ttl, time left and files (set --lease ID PATH keeps a\n"
                         "file under it)");
  leaseCmd->require_subcommand(1);
  const std::array<std::array<const char*, 4>, 4> kLeaseCommands = {{
      {"grant", "TTL", "a ttl: 10s, 1500ms, 2m, 1h (from 2 s to 24 h)",
       "grant a lease with a time to live and print its id; it ends TTL\n"
       "after the last keep-alive the leader received"},
      {"keepalive", "ID", "the lease's id",
       "keep lease ID alive (a keep-alive each third of its ttl) until\n"
       "Ctrl-C; exit 3 if it ended, 2 if no node answered within its ttl"},
      {"revoke", "ID", "the lease's id",
       "end lease ID now: every file it keeps is deleted at one rev"},
      {"show", "ID", "the lease's id",
       "print lease ID's ttl, the time it has left (as the leader counts\n"
       "it) and its files"},
  }};
  for (const auto& [name, arg, argAbout, about] : kLeaseCommands) {
    CLI::App* sub = leaseCmd->add_subcommand(name, about);
    sub->callback([&a, cmd = std::string("lease ") + name] { a.cmd = cmd; });
    addFlags(sub, &a, kJson, "");
    sub->add_option(arg, a.arg, argAbout)->type_name("")->required();
  }
  // members [promote|remove ID]: the list, or one change to it.
  CLI::App* membersCmd =
      app.add_subcommand("members",
                         "list the members: id, role (voter, learner, observer), the leader,\n"
                         "peer, client and feed endpoints, and how far each has learned;\n"
                         "promote ID: make a learner a voter; remove ID: retire a member\n"
                         "(the leader too: it hands over first)");
  membersCmd->require_subcommand(0, 1);
  membersCmd->callback([&a] {
    if (a.cmd.empty()) a.cmd = "members";
  });
  addFlags(membersCmd, &a, kJson, "");
  const std::pair<const char*, const char*> kMemberCommands[] = {
      {"promote",
       "make learner ID a voter (the leader does so by itself once a\n"
       "learner has caught up, unless it joined with --learner)"},
      {"remove",
       "retire member ID: it stops voting and serving, and exits; the\n"
       "leader hands over first when it is the one removed"},
  };
  for (const auto& [name, about] : kMemberCommands) {
    CLI::App* sub = membersCmd->add_subcommand(name, about);
    sub->callback([&a, cmd = std::string("members ") + name] { a.cmd = cmd; });
    addFlags(sub, &a, kJson, "");
    sub->add_option("ID", a.arg, "the member's id")->type_name("")->required();
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  cairn::cli::Outcome o = cairn::cli::parse(&app, args, kExitUsage, "");
  if (!o.run && o.code == kExitUsage) {
    auto chosen = app.get_subcommands();
    std::string why = o.error;
    std::string hint = "(cairn --help lists the commands and flags)";
    if (!chosen.empty()) {
      std::string name = chosen[0]->get_name();
      if (auto inner = chosen[0]->get_subcommands(); !inner.empty()) {
        name += " " + inner[0]->get_name();  // snapshot save
      } else if (name == "snapshot" && why.find("subcommand") != std::string::npos) {
        auto rest = chosen[0]->remaining();
        if (rest.empty()) rest = app.remaining();
        why = rest.empty() || rest[0].rfind("-", 0) == 0
                  ? "snapshot needs a command: save FILE or status FILE"
                  : "unknown snapshot command \"" + rest[0] + "\" (save FILE or status FILE)";
      }
      hint = "(cairn " + name + " --help describes it)";
    } else if (auto rest = app.remaining(); !rest.empty() && rest[0].rfind("-", 0) != 0) {
      why = "unknown command \"" + rest[0] + "\"";
    } else if (rest.empty()) {
      why = "no command given";
    }
    o.err = "cairn: " + why + "\n" + hint + "\n";
  }
  if (int code = cairn::cli::finish(o); code >= 0) return code;
  if (a.cmd == "help") {
    if (helpOf.empty()) {
      std::fputs(app.get_formatter()->make_help(&app, "cairn", CLI::AppFormatMode::Normal).c_str(),
                 stdout);
      return kExitOk;
    }
    auto subs = app.get_subcommands([&](const CLI::App* s) { return s->get_name() == helpOf; });
    if (subs.empty()) return usage("unknown command \"" + helpOf + "\"");
    std::string text = subs[0]->help("cairn");
    if (text.empty() || text.back() != '\n') text += '\n';
    std::fputs(text.c_str(), stdout);
    return kExitOk;
  }
  try {
    return run(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cairn: %s\n", e.what());
    return kExitError;
  }
}
