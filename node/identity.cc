#include "node/identity.h"

#include <sys/stat.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>

#include "store/file.h"
#include "store/snapshot.h"

namespace cairn::node {

using wire::Err;
using wire::Status;

namespace {

const char* kFile = "identity";
const char* kMagic = "cairn identity 1";

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {  // FNV-1a over the 8 bytes of v
  for (int i = 0; i < 8; ++i)
    h = (h ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ull;
  return h;
}

std::map<std::uint32_t, std::string> alone(std::uint32_t id, const std::string& peer) {
  return {{id, peer}};
}

}  // namespace

std::uint64_t clusterIdOf(const std::map<std::uint32_t, std::string>& members) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over "id=endpoint," in id order
  for (const auto& [id, ep] : members) {
    std::string item = std::to_string(id) + "=" + ep + ",";
    for (unsigned char c : item)
      h = (h ^ c) * 1099511628211ull;
  }
  return h;
}

std::string memberList(const std::map<std::uint32_t, std::string>& members) {
  std::string out;
  for (const auto& [id, ep] : members) {
    if (!out.empty()) out += ",";
    out += std::to_string(id) + "=" + (ep.empty() ? "(this node alone)" : ep);
  }
  return out;
}

std::string clusterHex(std::uint64_t cluster) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, cluster);
  return buf;
}

namespace {

// A node must be one of its members.
Status memberOf(const Identity& id) {
  if (id.members.count(id.node)) return Status::ok();
  return Status(Err::kBadRequest, "--id " + std::to_string(id.node) +
                                      " is not a member of --cluster " + memberList(id.members));
}

wire::Result<IdentityDecision> decide(const IdentityRequest& req,
                                      const std::optional<Identity>& onDisk, bool hasData,
                                      std::uint64_t random) {
  IdentityDecision d;
  Identity& id = d.identity;
  const bool multi = req.cluster.size() > 1;
  if (req.joined) {
    if (onDisk || hasData) {
      return Status(Err::kBadRequest,
                    "--join takes an empty --data directory, and this one already holds a "
                    "node's data");
    }
    id = *req.joined;
    d.write = true;
    d.note = "joined cluster " + clusterHex(id.cluster) + " as node " + std::to_string(id.node) +
             " (configuration " + std::to_string(id.joined) + ")";
    return d;
  }
  if (req.restoreDigest) {
    id.node = req.id;
    id.members = req.cluster.empty() ? alone(req.id, req.peerEndpoint) : req.cluster;
    id.cluster = mix(clusterIdOf(id.members), *req.restoreDigest);
    // The identity is written before the snapshot: the same restore again, after a crash
    // between the two or left on a restart's command line, finds its own identity and goes on.
    if (onDisk && *onDisk == id) {
      d.identity = id;
      d.note = hasData ? "member " + std::to_string(id.node) + " of cluster " +
                             clusterHex(id.cluster) + " (restored earlier; --restore ignored)"
                       : "restored into a new cluster " + clusterHex(id.cluster);
      d.restore = !hasData;
      return d;
    }
    if (onDisk || hasData) {
      return Status(Err::kBadRequest,
                    "--restore starts a new cluster in an empty --data directory, and this one "
                    "already holds a node's data");
    }
    if (Status s = memberOf(id); !s.isOk()) return s;
    d.write = true;
    d.restore = true;
    d.note = "restored into a new cluster " + clusterHex(id.cluster);
    return d;
  }
  if (onDisk && req.idGiven && onDisk->node != req.id) {
    return Status(Err::kBadRequest, "this --data directory holds node " +
                                        std::to_string(onDisk->node) + "'s data, not --id " +
                                        std::to_string(req.id) + "'s");
  }
  if (req.forceNewCluster) {
    if (onDisk && onDisk->members.size() == 1) {
      // Already a cluster of one (the flag left on a restart's command line): nothing to force,
      // and a new cluster id on every restart would help nobody.
      d.identity = *onDisk;
      d.note = "member " + std::to_string(onDisk->node) + " of cluster " +
               clusterHex(onDisk->cluster) + " (a cluster of one already; --force-new-cluster " +
               "ignored)";
      return d;
    }
    if (!onDisk && !hasData) {
      return Status(Err::kBadRequest,
                    "--force-new-cluster keeps the data of a member, and this --data directory "
                    "holds none");
    }
    id.node = onDisk ? onDisk->node : req.id;
    std::string peer = req.peerEndpoint;
    if (onDisk && peer.empty()) {
      auto self = onDisk->members.find(id.node);
      if (self != onDisk->members.end()) peer = self->second;
    }
    id.members = alone(id.node, peer);
    id.cluster = random == 0 ? 1 : random;
    d.write = true;
    d.note = "FORCED a new cluster " + clusterHex(id.cluster) + " of this node alone (was " +
             (onDisk ? clusterHex(onDisk->cluster) + ": " + memberList(onDisk->members)
                     : std::string("a cluster this node has no record of")) +
             ")";
    return d;
  }
  if (onDisk) {
    if (!req.cluster.empty() && req.cluster != onDisk->members) {
      return Status(Err::kBadRequest,
                    "this --data directory belongs to cluster " + clusterHex(onDisk->cluster) +
                        " of members " + memberList(onDisk->members) + ", and --cluster names " +
                        memberList(req.cluster) +
                        " (start it without --cluster: a node remembers its cluster)");
    }
    d.identity = *onDisk;
    d.note = "member " + std::to_string(id.node) + " of cluster " + clusterHex(id.cluster);
    // (find, not operator[]: a node that joined is not in the bootstrap members, and must not be
    // put there with no endpoint)
    auto self = d.identity.members.find(d.identity.node);
    if (d.identity.members.size() == 1 && d.identity.joined == 0 &&
        self != d.identity.members.end() && self->second.empty() && !req.peerEndpoint.empty()) {
      // A node that ran alone, now given a peer endpoint: the first configuration gains it, so
      // that nodes can join (nothing chosen names an endpoint for it yet: no node could join).
      self->second = req.peerEndpoint;
      d.write = true;
      d.note += " (peer endpoint " + self->second + " recorded: nodes may join it now)";
    }
    return d;
  }
  id.node = req.id;
  id.members = req.cluster.empty() ? alone(req.id, req.peerEndpoint) : req.cluster;
  d.write = true;
  if (Status s = memberOf(id); !s.isOk()) return s;
  if (hasData && req.cluster.empty()) {
    // Never guess "alone" for data a member may have written: it would lead a cluster of one.
    return Status(Err::kBadRequest,
                  "this --data directory holds data but no identity file (written before "
                  "cairnd 0.2, or the file was lost): start it once with the --id and --cluster "
                  "it ran with, or, if it ran alone, with --force-new-cluster");
  }
  if (hasData) {
    // Data written before identities existed: the id every member computes from the list, as
    // they all did then, so a cluster upgraded one node at a time keeps talking.
    id.cluster = clusterIdOf(id.members);
    d.note = "recorded the identity of existing data: cluster " + clusterHex(id.cluster);
  } else {
    // A bootstrap: every member computes the same id from the same list, without talking; a
    // lone node draws one.
    id.cluster = multi ? clusterIdOf(id.members) : (random == 0 ? 1 : random);
    d.note = "bootstrapped cluster " + clusterHex(id.cluster);
  }
  return d;
}

}  // namespace

wire::Result<IdentityDecision> decideIdentity(const IdentityRequest& req,
                                              const std::optional<Identity>& onDisk, bool hasData,
                                              std::uint64_t random) {
  return decide(req, onDisk, hasData, random);
}

bool holdsData(const std::string& dir) {
  auto holds = [](const std::string& sub, const char* prefix, const char* suffix) {
    struct stat st;
    if (::stat(sub.c_str(), &st) != 0) return false;  // not made yet: nothing in it
    auto names = store::listDir(sub, prefix, suffix);
    return !names || !names->empty();  // unreadable counts as holding data: never overwrite it
  };
  return holds(dir + "/snap", "snap-", ".snap") || holds(dir + "/wal", "wal-", ".log");
}

wire::Result<IdentityDecision> prepareDataDir(const std::string& dir, IdentityRequest req,
                                              const std::string& restoreFile,
                                              std::int64_t historyRevs, bool* refused) {
  *refused = false;
  auto onDisk = loadIdentity(dir);
  if (!onDisk) return onDisk.status();
  const bool hasData = holdsData(dir);
  std::optional<store::Store> restored;
  if (!restoreFile.empty()) {
    // The whole file is decoded (checksum and structure) before anything is written.
    store::Store::Options opts;
    opts.historyRevs = historyRevs;
    auto file = store::MappedFile::open(restoreFile);
    if (!file) return Status(Err::kIo, "--restore " + restoreFile + ": " + file.status().detail());
    auto st = store::decodeSnapshot(file->view(), opts);
    if (!st) {
      return Status(Err::kCorrupt, "--restore " + restoreFile +
                                       " is not a whole Cairn snapshot: " + st.status().detail());
    }
    std::uint64_t digest =
        mix(mix(1469598103934665603ull, st->appliedIndex()), static_cast<std::uint64_t>(st->rev()));
    const std::string_view v = file->view();
    for (std::size_t i = v.size() - 4; i < v.size(); ++i)  // the file's CRC-32C
      digest = (digest ^ static_cast<unsigned char>(v[i])) * 1099511628211ull;
    req.restoreDigest = digest;
    restored = std::move(*st);
  }
  auto d = decideIdentity(req, *onDisk, hasData,
                          std::random_device{}() * 0x9e3779b97f4a7c15ull ^ std::random_device{}());
  if (!d) {
    *refused = true;
    return d.status();
  }
  if (d->write) {
    if (Status s = saveIdentity(dir, d->identity); !s.isOk()) return s;
  }
  if (restored && d->restore) {  // after the identity: see decideIdentity
    if (Status s = store::makeDirs(dir + "/snap"); !s.isOk()) return s;
    if (Status s = store::writeSnapshot(restored->image(), dir + "/snap"); !s.isOk()) return s;
    d->note += " from " + restoreFile + " at rev " + std::to_string(restored->rev()) +
               " (log slot " + std::to_string(restored->appliedIndex()) + ")";
  }
  return d;
}

wire::Result<std::optional<Identity>> loadIdentity(const std::string& dir) {
  const std::string path = dir + "/" + kFile;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<Identity>();
    return Status(Err::kIo, "cannot read " + path + ": " + std::strerror(errno));
  }
  auto text = store::readFile(path);
  if (!text) return text.status();
  auto bad = [&](const std::string& why) {
    return Status(Err::kCorrupt, path + ": " + why +
                                     " (the file names the cluster this data "
                                     "belongs to; restore it from a backup of "
                                     "the directory)");
  };
  std::istringstream in(*text);
  std::string line;
  if (!std::getline(in, line) || line != kMagic) return bad("not a Cairn identity file");
  Identity id;
  bool haveCluster = false, haveNode = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    if (key == "cluster") {
      std::string hex;
      ls >> hex;
      if (hex.size() != 16 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return bad("a cluster id is 16 hex digits, not \"" + hex + "\"");
      }
      id.cluster = std::stoull(hex, nullptr, 16);
      haveCluster = true;
    } else if (key == "node" || key == "member") {
      long long n = 0;
      if (!(ls >> n) || n < 1 || n > 65535) return bad("a member id is 1..65535: \"" + line + "\"");
      if (key == "node") {
        id.node = static_cast<std::uint32_t>(n);
        haveNode = true;
      } else {
        std::string ep;
        ls >> ep;
        if (ep.empty()) return bad("a member line is \"member ID ENDPOINT\": \"" + line + "\"");
        id.members[static_cast<std::uint32_t>(n)] = ep == "-" ? "" : ep;
      }
    } else if (key == "joined") {
      if (!(ls >> id.joined)) return bad("a joined line is \"joined VERSION\": \"" + line + "\"");
    } else if (key == "peer") {
      long long n = 0;
      std::string ep;
      if (!(ls >> n >> ep) || n < 1 || n > 0xffffffffLL) {
        return bad("a peer line is \"peer ID ENDPOINT\": \"" + line + "\"");
      }
      id.peers[static_cast<std::uint32_t>(n)] = ep;
    } else {
      return bad("unknown line \"" + line + "\"");
    }
  }
  if (!haveCluster || !haveNode || id.members.empty())
    return bad("cluster, node or members missing");
  if (id.joined == 0 && !id.members.count(id.node)) {
    return bad("node " + std::to_string(id.node) + " is no member");
  }
  return std::optional<Identity>(std::move(id));
}

Status saveIdentity(const std::string& dir, const Identity& id) {
  std::string text = std::string(kMagic) + "\n";
  text += "# Which cluster this data directory belongs to (store/FORMAT.md). Do not edit.\n";
  text += "cluster " + clusterHex(id.cluster) + "\n";
  text += "node " + std::to_string(id.node) + "\n";
  for (const auto& [n, ep] : id.members)
    text += "member " + std::to_string(n) + " " + (ep.empty() ? "-" : ep) + "\n";
  if (id.joined != 0) text += "joined " + std::to_string(id.joined) + "\n";
  for (const auto& [n, ep] : id.peers)
    text += "peer " + std::to_string(n) + " " + ep + "\n";
  return store::writeFileAtomic(dir, kFile, text);
}

}  // namespace cairn::node
