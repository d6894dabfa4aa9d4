#pragma once
// Identity: which cluster a data directory belongs to, which member it is and who the members
// are. Chosen when the directory is first used (bootstrap, --restore, --force-new-cluster) and
// kept in DIR/identity (store/FORMAT.md), so a restarted node needs only --data, and a node never
// serves a cluster its data does not belong to. decideIdentity() is pure: the rules,
// unit-tested; loadIdentity() and saveIdentity() are the file; prepareDataDir() puts them
// together before the node opens its directory.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wire/status.h"

namespace cairn::node {

struct Identity {
  std::uint64_t cluster = 0;  // stamped on every peer message; others' messages are dropped
  std::uint32_t node = 0;
  // The cluster's first configuration: id -> peer endpoint ("" for a lone node). Every member's
  // log starts from it, a node that joined later included.
  std::map<std::uint32_t, std::string> members;
  // A node that joined: the configuration version that took it in (0 for a bootstrap member), and
  // the members' peer endpoints then, to reach them before it has learned the log.
  std::uint64_t joined = 0;
  std::map<std::uint32_t, std::string> peers;

  bool operator==(const Identity& o) const {
    return cluster == o.cluster && node == o.node && members == o.members && joined == o.joined &&
           peers == o.peers;
  }
};

// What the command line asks for (node/config.h).
struct IdentityRequest {
  std::uint32_t id = 1;
  bool idGiven = false;                          // --id was on the command line
  std::map<std::uint32_t, std::string> cluster;  // --cluster; empty when absent
  std::string peerEndpoint;                      // --peer (or this node's --cluster entry)
  bool forceNewCluster = false;
  // --restore: a digest of the snapshot file, so members restored from different files are
  // different clusters (they would otherwise diverge, each sure of its own history).
  std::optional<std::uint64_t> restoreDigest;
  // --join: what the cluster answered (node/join.h); the directory must hold no data.
  std::optional<Identity> joined;
};

struct IdentityDecision {
  Identity identity;
  bool write = false;    // a new or changed identity: save it before anything else is written
  bool restore = false;  // --restore: write the snapshot (after the identity)
  std::string note;      // for the ready line: how this identity came about
};

// Why a node must not start with this data directory and these flags (exit code 3).
inline constexpr int kExitWrongData = 3;

// Decides the identity a start runs with. `onDisk`: DIR/identity; `hasData`: DIR holds a WAL or
// a snapshot; `random`: fresh randomness for a new cluster id. An error is a refusal, and nothing
// has been written.
wire::Result<IdentityDecision> decideIdentity(const IdentityRequest& req,
                                              const std::optional<Identity>& onDisk, bool hasData,
                                              std::uint64_t random);

// The cluster id of a bootstrap from this member list (the same on every member, which compute
// it without talking).
std::uint64_t clusterIdOf(const std::map<std::uint32_t, std::string>& members);
// "1=tcp://a:7100,2=tcp://b:7100", as --cluster takes it.
std::string memberList(const std::map<std::uint32_t, std::string>& members);
std::string clusterHex(std::uint64_t cluster);

// Makes ready the data directory a node is about to open, before anything else is written in it:
// decides its identity (decideIdentity), restores `restoreFile` into it if given (a snapshot
// file: `cairn snapshot save`, or a node's own snap/snap-*.snap), and saves the identity. A
// refusal (`*refused` set: exit kExitWrongData) or an unreadable backup leaves the directory as
// it was.
wire::Result<IdentityDecision> prepareDataDir(const std::string& dir, IdentityRequest req,
                                              const std::string& restoreFile,
                                              std::int64_t historyRevs, bool* refused);

// Whether DIR holds a WAL or a snapshot (an unreadable one counts).
bool holdsData(const std::string& dir);

// DIR/identity: nullopt when absent, CORRUPT when it cannot be read.
wire::Result<std::optional<Identity>> loadIdentity(const std::string& dir);
// Writes DIR/identity durably (a temporary file, fsync, rename, fsync of DIR).
wire::Status saveIdentity(const std::string& dir, const Identity& id);

}  // namespace cairn::node
