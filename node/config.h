#pragma once
// cairnd's command line: every flag, its default, and the parser that turns argv into a Config.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cairn::node {

struct Config {
  std::string dataDir;
  std::string clientEndpoint = "tcp://127.0.0.1:7101";
  std::string eventsEndpoint = "tcp://127.0.0.1:7102";
  std::string advertiseHost;  // replaces a wildcard host (*, 0.0.0.0) in advertised endpoints
  std::string http;           // --http HOST:PORT: the web room (node/web); empty: none
  std::int64_t id = 1;
  bool idGiven = false;  // --id was on the command line (a data directory remembers its own)
  std::int64_t historyRevs = 10000;
  std::int64_t maxValue = 1 << 20;
  std::int64_t snapshotEvery = 10000;    // log records between snapshots
  std::int64_t snapshotChunk = 1 << 20;  // bytes per chunk of a snapshot sent to a follower
  std::int64_t snapshotRate = 0;         // bytes per second per snapshot transfer; 0: no limit
  // Chosen log slots kept behind each snapshot (Replica::kRetain), so a follower that far behind
  // catches up from the log rather than by a snapshot.
  std::int64_t logRetain = 10000;
  // Messages queued per feed subscriber before the PUB drops that subscriber's messages.
  std::int64_t feedHwm = 10000;
  bool verbose = false;
  // Deliberately wrong, for the fault harness to prove it catches it: "linearizable" reads are
  // answered from this node's own state, as a stale follower would.
  bool debugStaleReads = false;
  // The cluster: every member's id and peer endpoint, the same list on every node. Empty: this
  // node alone.
  std::map<std::uint32_t, std::string> cluster;
  std::string peerEndpoint;  // where this node binds its peer ROUTER (default: its cluster entry)
  // Where to connect to a node, if not where its configuration says (it may join later).
  std::map<std::uint32_t, std::string> peerVia;
  std::string restoreFile;       // --restore: a new cluster from this snapshot file
  bool forceNewCluster = false;  // --force-new-cluster: this member's data as a cluster of one
  std::string join;              // --join: a member's client endpoint; this node asks to join
  bool learner = false;          // --learner: join as a learner for good (an observer)
  // --key: this node's CURVE key pair (a key file, owner-only); empty: plain text. --clients: the
  // client keys and their grants (node/grants.h). --debug-no-zap: CURVE with no ZAP handler, for
  // proving that then nobody gets in.
  std::string keyFile;
  std::string clientsFile;
  bool debugNoZap = false;
};

// What the parser decided: run with a config, or exit with a code after printing `message`
// (usage text for --help on stdout, an error on stderr).
struct ParseOutcome {
  bool run = false;
  int exitCode = 0;
  std::string message;
  Config config;
};

// Parses cairnd's arguments (without the program name). --help and --version end with code 0,
// a usage error with code 2.
ParseOutcome parseArgs(const std::vector<std::string>& args);
// The text of --help.
const char* usageText();

}  // namespace cairn::node
