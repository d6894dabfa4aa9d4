// The data directory's identity: the rules that decide it, and its file.

#include <catch2/catch.hpp>

#include <fstream>

#include "node/identity.h"
#include "store/file.h"
#include "tests/support/node_process.h"

using namespace cairn;
using node::decideIdentity;
using node::Identity;
using node::IdentityRequest;

namespace {

const std::map<std::uint32_t, std::string> kThree = {
    {1, "tcp://h1:7100"}, {2, "tcp://h2:7100"}, {3, "tcp://h3:7100"}};

IdentityRequest boot(std::uint32_t id, std::map<std::uint32_t, std::string> cluster = kThree) {
  IdentityRequest r;
  r.id = id;
  r.idGiven = true;
  r.cluster = std::move(cluster);
  if (r.cluster.count(id)) r.peerEndpoint = r.cluster.at(id);
  return r;
}

}  // namespace

TEST_CASE("identity: every member of a bootstrap computes the same cluster id, and records it",
          "[identity]") {
  auto a = decideIdentity(boot(1), std::nullopt, false, 111);
  auto b = decideIdentity(boot(3), std::nullopt, false, 222);
  REQUIRE(a.isOk());
  REQUIRE(b.isOk());
  CHECK(a->identity.cluster == b->identity.cluster);
  CHECK(a->identity.cluster == node::clusterIdOf(kThree));
  CHECK(a->identity.node == 1);
  CHECK(b->identity.node == 3);
  CHECK(a->identity.members == kThree);
  CHECK(a->write);
  // Another member list is another cluster.
  auto other = decideIdentity(boot(1, {{1, "tcp://h1:7100"}, {2, "tcp://h2:7100"}}), std::nullopt,
                              false, 111);
  REQUIRE(other.isOk());
  CHECK(other->identity.cluster != a->identity.cluster);
}

TEST_CASE("identity: a lone node draws its cluster id and two lone nodes are two clusters",
          "[identity]") {
  IdentityRequest r;
  auto a = decideIdentity(r, std::nullopt, false, 0x1234);
  auto b = decideIdentity(r, std::nullopt, false, 0x5678);
  REQUIRE(a.isOk());
  REQUIRE(b.isOk());
  CHECK(a->identity.cluster == 0x1234);
  CHECK(b->identity.cluster == 0x5678);
  CHECK(a->identity.members == std::map<std::uint32_t, std::string>{{1, ""}});
}

TEST_CASE("identity: a lone node restarted with --peer records the endpoint, and only then",
          "[identity]") {
  IdentityRequest r;
  auto first = decideIdentity(r, std::nullopt, false, 0x1234);
  REQUIRE(first.isOk());
  r.idGiven = false;
  r.peerEndpoint = "tcp://h1:7100";
  auto again = decideIdentity(r, first->identity, true, 0x9999);
  REQUIRE(again.isOk());
  CHECK(again->write);
  CHECK(again->identity.cluster == 0x1234);  // the same cluster, now reachable
  CHECK(again->identity.members == std::map<std::uint32_t, std::string>{{1, "tcp://h1:7100"}});
  // Once recorded, a different --peer does not rewrite it (other nodes may know it by then).
  r.peerEndpoint = "tcp://h9:7100";
  auto later = decideIdentity(r, again->identity, true, 0x9999);
  REQUIRE(later.isOk());
  CHECK(!later->write);
  CHECK(later->identity.members.at(1) == "tcp://h1:7100");
  // A member of a larger cluster is never rewritten this way.
  IdentityRequest member;
  member.peerEndpoint = "tcp://h9:7100";
  Identity three;
  three.cluster = 7;
  three.node = 1;
  three.members = kThree;
  auto m = decideIdentity(member, three, true, 1);
  REQUIRE(m.isOk());
  CHECK(!m->write);
  CHECK(m->identity.members == kThree);
}

TEST_CASE("identity: data from before identities keeps the cluster id its members computed",
          "[identity]") {
  auto d = decideIdentity(boot(2), std::nullopt, true, 999);
  REQUIRE(d.isOk());
  CHECK(d->identity.cluster == node::clusterIdOf(kThree));
  CHECK(d->write);
  // Without --cluster it might be a member's data: never guessed to be a node alone.
  IdentityRequest lone;
  auto l = decideIdentity(lone, std::nullopt, true, 999);
  REQUIRE_FALSE(l.isOk());
  CHECK_THAT(l.status().detail(), Catch::Contains("--force-new-cluster"));
}

TEST_CASE("identity: --id outside --cluster is refused", "[identity]") {
  auto outside = decideIdentity(boot(4), std::nullopt, false, 1);
  REQUIRE_FALSE(outside.isOk());
  CHECK_THAT(outside.status().detail(), Catch::Contains("--id 4 is not a member"));
}

TEST_CASE("identity: a restart needs only --data, and a wrong --id or --cluster is refused",
          "[identity]") {
  Identity disk;
  disk.cluster = 0xabc;
  disk.node = 2;
  disk.members = kThree;
  IdentityRequest bare;  // no --id, no --cluster
  auto d = decideIdentity(bare, disk, true, 1);
  REQUIRE(d.isOk());
  CHECK(d->identity == disk);
  CHECK_FALSE(d->write);
  // The same flags as at bootstrap are fine.
  auto same = decideIdentity(boot(2), disk, true, 1);
  REQUIRE(same.isOk());
  CHECK(same->identity == disk);

  auto wrongId = decideIdentity(boot(3), disk, true, 1);
  REQUIRE_FALSE(wrongId.isOk());
  CHECK_THAT(wrongId.status().detail(), Catch::Contains("node 2's data, not --id 3's"));

  auto wrongCluster =
      decideIdentity(boot(2, {{1, "tcp://h1:7100"}, {2, "tcp://h2:7100"}}), disk, true, 1);
  REQUIRE_FALSE(wrongCluster.isOk());
  CHECK_THAT(wrongCluster.status().detail(), Catch::Contains("0000000000000abc"));
  CHECK_THAT(wrongCluster.status().detail(), Catch::Contains("start it without --cluster"));
}

TEST_CASE("identity: --force-new-cluster keeps the member, alone, under a new cluster id",
          "[identity]") {
  Identity disk;
  disk.cluster = 0xabc;
  disk.node = 2;
  disk.members = kThree;
  IdentityRequest f;
  f.forceNewCluster = true;
  auto d = decideIdentity(f, disk, true, 0x777);
  REQUIRE(d.isOk());
  CHECK(d->identity.node == 2);
  CHECK(d->identity.cluster == 0x777);
  CHECK(d->identity.members == std::map<std::uint32_t, std::string>{{2, "tcp://h2:7100"}});
  CHECK(d->write);
  CHECK_THAT(d->note, Catch::Contains("FORCED"));
  // Left on the command line of the next restart, it changes nothing.
  auto again = decideIdentity(f, d->identity, true, 0x888);
  REQUIRE(again.isOk());
  CHECK(again->identity == d->identity);
  CHECK_FALSE(again->write);
  // Nothing to keep: refused.
  auto empty = decideIdentity(f, std::nullopt, false, 0x777);
  REQUIRE_FALSE(empty.isOk());
  CHECK_THAT(empty.status().detail(), Catch::Contains("holds none"));
}

TEST_CASE("identity: --restore needs an empty directory and the file's digest makes the id",
          "[identity]") {
  IdentityRequest r = boot(1);
  r.restoreDigest = 42;
  auto a = decideIdentity(r, std::nullopt, false, 5);
  REQUIRE(a.isOk());
  r.restoreDigest = 43;
  auto b = decideIdentity(r, std::nullopt, false, 5);
  REQUIRE(b.isOk());
  CHECK(a->identity.cluster != b->identity.cluster);  // other file, other cluster
  CHECK(a->identity.cluster != node::clusterIdOf(kThree));
  CHECK(a->identity.members == kThree);
  auto full = decideIdentity(r, std::nullopt, true, 5);
  REQUIRE_FALSE(full.isOk());
  CHECK_THAT(full.status().detail(), Catch::Contains("empty --data"));
  // A crash after the identity was written and before the snapshot: the same restore goes on,
  // another one (or another file) does not.
  auto again = decideIdentity(r, b->identity, false, 5);
  REQUIRE(again.isOk());
  CHECK(again->identity == b->identity);
  CHECK(again->restore);
  // ... and once restored, --restore left on the command line is a plain restart.
  auto later = decideIdentity(r, b->identity, true, 5);
  REQUIRE(later.isOk());
  CHECK_FALSE(later->restore);
  CHECK_FALSE(later->write);
  r.restoreDigest = 42;
  auto other = decideIdentity(r, b->identity, false, 5);
  REQUIRE_FALSE(other.isOk());
}

TEST_CASE("identity: the file round-trips, and a damaged one is CORRUPT, not ignored",
          "[identity]") {
  test::TempDir d;
  auto none = node::loadIdentity(d.path());
  REQUIRE(none.isOk());
  CHECK_FALSE(none->has_value());

  Identity id;
  id.cluster = 0xfedcba9876543210ull;
  id.node = 1;
  id.members = {{1, ""}, {7, "tcp://h7:7100"}};
  REQUIRE(node::saveIdentity(d.path(), id).isOk());
  auto back = node::loadIdentity(d.path());
  REQUIRE(back.isOk());
  REQUIRE(back->has_value());
  CHECK(**back == id);

  for (const char* text : {"garbage\n", "cairn identity 1\ncluster 12\nnode 1\nmember 1 -\n",
                           "cairn identity 1\ncluster 0000000000000001\nnode 2\nmember 1 -\n",
                           "cairn identity 1\ncluster 0000000000000001\nnode 1\nmember x y\n",
                           "cairn identity 1\ncluster 0000000000000001\nnode 1\n"}) {
    INFO(text);
    REQUIRE(store::writeFileAtomic(d.path(), "identity", std::string_view(text)).isOk());
    auto bad = node::loadIdentity(d.path());
    REQUIRE_FALSE(bad.isOk());
    CHECK(bad.status().code() == wire::Err::kCorrupt);
  }
}
