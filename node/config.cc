#include "node/config.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <memory>

#include "wire/cli/flags.h"

namespace cairn::node {
namespace {

constexpr int kExitUsage = 2;  // cairnd's usage errors, as before CLI11
const char* kHint = "(run cairnd --help for the flags)";

// --http's value: an IP address (IPv6 in brackets) and a port 0..65535. Checked here so that a bad
// one stops cairnd before it touches anything.
CLI::Validator listenAddress() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        const auto colon = v.rfind(':');
        if (colon == std::string::npos || colon == 0) return "want HOST:PORT, e.g. 127.0.0.1:7180";
        std::string host = v.substr(0, colon);
        const std::string port = v.substr(colon + 1);
        char* end = nullptr;
        const long p = std::strtol(port.c_str(), &end, 10);
        if (port.empty() || *end != '\0' || p < 0 || p > 65535)
          return "the port must be a number in 0..65535, got \"" + port + "\"";
        unsigned char buf[16];
        const bool v6 = host.size() > 2 && host.front() == '[' && host.back() == ']';
        if (v6) host = host.substr(1, host.size() - 2);
        if (::inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) != 1)
          return "the host must be an IP address (127.0.0.1, 0.0.0.0, [::1]), got \"" + host + "\"";
        return "";
      },
      "HOST:PORT");
}

const char* kAbout =
    "Runs one Cairn node: a consistent, durable coordination store served over ZeroMQ.";

// Every flag of cairnd, bound to `c`; the lists land in the strings for parseList.
std::unique_ptr<CLI::App> makeApp(Config* c, std::string* cluster, std::string* peerVia) {
  auto app = std::make_unique<CLI::App>(kAbout);
  cli::setUp(app.get(), "cairnd");
  app->add_option("--data", c->dataDir, "where the node keeps its WAL and snapshots")
      ->type_name("DIR")
      ->required()
      ->transform(cli::nonEmpty("a directory"));
  app->add_option("--client", c->clientEndpoint, "ROUTER for client requests")
      ->type_name("ENDPOINT")
      ->capture_default_str();
  app->add_option("--events", c->eventsEndpoint,
                  "PUB for the change feed; a port of * picks a free one\n"
                  "(the ready line says which)")
      ->type_name("ENDPOINT")
      ->capture_default_str();
  app->add_option("--http", c->http,
                  "serve the web viewer, /metrics and /healthz on HOST:PORT\n"
                  "(read-only; 127.0.0.1 keeps it to this machine; port 0 picks\n"
                  "a free one, the ready line says which). Default: no web")
      ->type_name("HOST:PORT")
      ->check(listenAddress());
  app->add_option("--advertise", c->advertiseHost,
                  "host to tell clients when an endpoint binds a wildcard host")
      ->type_name("HOST");
  app->add_option("--id", c->id, "this node's id, 1..65535")
      ->type_name("N")
      ->transform(cli::integer(1, 65535))
      ->capture_default_str();
  app->add_option("--cluster", *cluster,
                  "every member as ID=ENDPOINT, comma-separated, the same on\n"
                  "every node: 1=tcp://10.0.0.1:7100,2=tcp://10.0.0.2:7100,...\n"
                  "(default: this node alone). Needed at bootstrap only: the\n"
                  "data directory remembers its cluster")
      ->type_name("LIST");
  app->add_option("--restore", c->restoreFile,
                  "start a new cluster from this snapshot file (cairn snapshot\n"
                  "save) in an empty --data; with --cluster, every member\n"
                  "restores the same file")
      ->type_name("FILE")
      ->transform(cli::nonEmpty("a file"));
  app->add_flag("--force-new-cluster", c->forceNewCluster,
                "LAST RESORT after losing the quorum for good: this member's\n"
                "data becomes a new cluster of this node alone, every rev\n"
                "kept; writes only the lost members had are gone");
  app->add_option("--join", c->join,
                  "join the running cluster this member's client endpoint belongs\n"
                  "to: an empty --data, with --peer (and --client, --events);\n"
                  "the node gets the next free id (or --id) and starts as a\n"
                  "learner, a voter once it has caught up")
      ->type_name("ENDPOINT")
      ->transform(cli::nonEmpty("an endpoint"));
  app->add_flag("--learner", c->learner,
                "with --join: stay a learner for good (serves reads and the feed,\n"
                "never votes), like a ZooKeeper observer");
  app->add_option("--peer", c->peerEndpoint,
                  "where to bind for peers (default: this node's --cluster entry);\n"
                  "a node alone given one lets nodes --join it from then on")
      ->type_name("ENDPOINT");
  app->add_option("--peer-via", *peerVia,
                  "ID=ENDPOINT,...: reach those nodes through these endpoints\n"
                  "instead of the ones their configuration names (a proxy, a\n"
                  "NAT); an ID may be a node that joins later")
      ->type_name("LIST");
  app->add_option("--history", c->historyRevs, "past revisions kept readable, 1..100000000")
      ->type_name("N")
      ->transform(cli::integer(1, 100000000))
      ->capture_default_str();
  app->add_option("--max-value", c->maxValue, "largest value accepted, 1..67108864")
      ->type_name("BYTES")
      ->transform(cli::integer(1, 64 << 20))
      ->capture_default_str();
  app->add_option("--snapshot-every", c->snapshotEvery,
                  "log records between snapshots, 1..100000000")
      ->type_name("N")
      ->transform(cli::integer(1, 100000000))
      ->capture_default_str();
  app->add_option("--log-retain", c->logRetain,
                  "log slots kept behind each snapshot so a follower that far\n"
                  "behind catches up from the log, not a snapshot, 0..100000000")
      ->type_name("N")
      ->transform(cli::integer(0, 100000000))
      ->capture_default_str();
  app->add_option("--feed-hwm", c->feedHwm,
                  "feed messages queued per subscriber before the node drops\n"
                  "that subscriber's messages, 1..10000000")
      ->type_name("N")
      ->transform(cli::integer(1, 10000000))
      ->capture_default_str();
  app->add_flag("-v,--verbose", c->verbose, "log one line per request");
  app->add_option("--snapshot-chunk", c->snapshotChunk,
                  "bytes per chunk of a snapshot sent to a follower, 4096..8388608\n"
                  "(smaller chunks make tests cross many chunks quickly)")
      ->type_name("BYTES")
      ->transform(cli::integer(4096, 8 << 20))
      ->capture_default_str();
  app->add_option("--snapshot-rate", c->snapshotRate,
                  "most bytes per second one snapshot transfer to a follower\n"
                  "may send, 0 (no limit)..10000000000")
      ->type_name("BYTES")
      ->transform(cli::integer(0, 10000000000))
      ->capture_default_str();
  app->add_option("--key", c->keyFile,
                  "this node's key pair (cairn keygen; readable by its owner\n"
                  "only): CURVE on every socket, and peers, clients and\n"
                  "subscribers must hold listed keys. Default: plain text")
      ->type_name("FILE")
      ->transform(cli::nonEmpty("a file"));
  app->add_option("--clients", c->clientsFile,
                  "with --key: the client keys let in, one per line:\n"
                  "KEY USER PERM PREFIX [PERM PREFIX...], PERM r, rw or admin;\n"
                  "read again on SIGHUP")
      ->type_name("FILE")
      ->transform(cli::nonEmpty("a file"));
  app->add_flag("--debug-no-zap", c->debugNoZap,
                "with --key: run no ZAP handler, so that every connection is\n"
                "refused (proves that no handler means no entry)");
  app->add_flag("--debug-stale-reads", c->debugStaleReads,
                "BREAKS linearizability on purpose (reads skip the read\n"
                "index): for proving the fault harness catches it");
  return app;
}

// "1=tcp://...,2=tcp://..." into `list`; an error message, or "" when it is well formed.
std::string parseList(const std::string& flag, const std::string& value,
                      std::map<std::uint32_t, std::string>* list) {
  list->clear();
  std::size_t i0 = 0;
  while (i0 <= value.size()) {
    std::size_t j = value.find(',', i0);
    if (j == std::string::npos) j = value.size();
    std::string item = value.substr(i0, j - i0);
    i0 = j + 1;
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::int64_t id = 0;
    if (eq == std::string::npos || !cli::parseInt(item.substr(0, eq), 1, 65535, &id) ||
        eq + 1 == item.size()) {
      return flag + " entries look like 1=tcp://127.0.0.1:7100, not \"" + item + "\"";
    }
    if (!list->emplace(static_cast<std::uint32_t>(id), item.substr(eq + 1)).second) {
      return flag + " names member " + std::to_string(id) + " twice";
    }
  }
  return "";
}

}  // namespace

const char* usageText() {
  static const std::string text = [] {
    Config c;
    std::string cluster, peerVia;
    return makeApp(&c, &cluster, &peerVia)->help();
  }();
  return text.c_str();
}

ParseOutcome parseArgs(const std::vector<std::string>& args) {
  ParseOutcome out;
  Config& c = out.config;
  std::string cluster, peerVia;
  auto app = makeApp(&c, &cluster, &peerVia);
  cli::Outcome o = cli::parse(app.get(), args, kExitUsage, kHint);
  out.exitCode = o.code;
  out.message = o.out + o.err;
  if (!o.run) return out;
  auto fail = [&](const std::string& msg) {
    out.run = false;
    out.exitCode = kExitUsage;
    out.message = "cairnd: " + msg + "\n" + kHint + "\n";
    return out;
  };
  c.idGiven = app->get_option("--id")->count() > 0;
  if (auto e = parseList("--cluster", cluster, &c.cluster); !e.empty()) return fail(e);
  if (c.forceNewCluster && !c.cluster.empty()) {
    return fail("--force-new-cluster makes a cluster of this node alone; drop --cluster");
  }
  if (c.forceNewCluster && !c.restoreFile.empty()) {
    return fail("--restore and --force-new-cluster do not go together");
  }
  if (!c.join.empty()) {
    if (!c.cluster.empty()) return fail("--join asks the cluster for its members; drop --cluster");
    if (!c.restoreFile.empty() || c.forceNewCluster) {
      return fail("--join does not go with --restore or --force-new-cluster");
    }
    if (c.peerEndpoint.empty()) {
      return fail("--join needs --peer: the endpoint the other members reach this node at");
    }
  }
  if (c.learner && c.join.empty()) return fail("--learner goes with --join");
  if (c.keyFile.empty() && (!c.clientsFile.empty() || c.debugNoZap)) {
    return fail("--clients and --debug-no-zap go with --key (a key pair: cairn keygen)");
  }
  if (!c.keyFile.empty() && !c.http.empty()) {
    // The viewer, /metrics and /healthz have no login of their own: with keys they stay on this
    // machine (README: securing a cluster).
    const std::string host = c.http.substr(0, c.http.rfind(':'));
    if (host != "127.0.0.1" && host != "[::1]") {
      return fail("--http " + c.http +
                  ": with --key the web viewer and /metrics bind loopback only (127.0.0.1 or "
                  "[::1]), for they have no authentication of their own");
    }
  }
  if (auto e = parseList("--peer-via", peerVia, &c.peerVia); !e.empty()) return fail(e);
  if (!c.cluster.empty() && c.idGiven) {  // without --id, the data directory's id decides
    auto self = c.cluster.find(static_cast<std::uint32_t>(c.id));
    if (self == c.cluster.end()) {
      return fail("--id " + std::to_string(c.id) + " is not a member of --cluster");
    }
    if (c.peerEndpoint.empty()) c.peerEndpoint = self->second;
  }
  out.run = true;
  return out;
}

}  // namespace cairn::node
