// Grants (node/grants.h): the --clients file's lines, and what each user's prefixes allow.

#include <catch2/catch.hpp>

#include "node/grants.h"
#include "wire/keys.h"

using namespace cairn;
using node::Access;

namespace {

std::string key(char c) {
  return std::string(40, c);
}  // a valid Z85 key of one character

}  // namespace

TEST_CASE("grants: a clients file maps keys to users and users to their grants", "[unit][grants]") {
  const std::string text = "# comment line\n\n" + key('a') + " alice rw /app/ r /config/  # app\n" +
                           key('b') + "\tbob admin /\n" + key('c') + " alice r /shared/\n";
  auto l = node::parseClients(text, "clients.acl");
  REQUIRE(l.isOk());
  CHECK(l->userOfKey.size() == 3);
  CHECK(l->userOfKey.at(key('a')) == "alice");
  CHECK(l->userOfKey.at(key('c')) == "alice");
  REQUIRE(l->users.size() == 2);
  // A user's grants are those of all its lines.
  CHECK(l->users.at("alice").describe() == "rw /app/, r /config/, r /shared/");
  CHECK(l->users.at("bob").describe() == "admin /");
}

TEST_CASE("grants: a clients file's mistakes are named with their line", "[unit][grants]") {
  auto bad = [](const std::string& text, const std::string& says) {
    auto l = node::parseClients(text, "f");
    INFO(text);
    REQUIRE_FALSE(l.isOk());
    CHECK(l.status().code() == wire::Err::kBadRequest);
    CHECK(l.status().detail().find(says) != std::string::npos);
  };
  bad("notakey alice r /\n", "f line 1: the first word must be a client's public key");
  bad("\n" + key('a') + " alice\n", "f line 2: want <public key> <user> <perm> <prefix>");
  bad(key('a') + " alice r / rw\n", "want <public key>");
  bad(key('a') + " al:ice r /\n", "a user name is");
  bad(key('a') + " alice write /\n", "a permission is r, rw or admin, got \"write\"");
  bad(key('a') + " alice r app/\n", "a prefix starts with /");
  bad(key('a') + " alice r /\n" + key('a') + " bob r /\n", "f line 2: key");
}

TEST_CASE("grants: prefixes are string prefixes, and listing, watching and writing follow them",
          "[unit][grants]") {
  Access a(
      {{node::Perm::kWrite, "/app/"}, {node::Perm::kRead, "/config/"}, {node::Perm::kRead, "/ap"}});
  CHECK(a.mayRead("/app/x"));
  CHECK(a.mayRead("/apple"));  // "/ap" is a string prefix
  CHECK(a.mayRead("/config/db"));
  CHECK_FALSE(a.mayRead("/other"));
  CHECK(a.mayWrite("/app/x"));
  CHECK_FALSE(a.mayWrite("/apple"));
  CHECK_FALSE(a.mayWrite("/config/db"));
  // Listings: / shows something, /config and /app too, /other nothing.
  CHECK(a.mayReadBelow("/"));
  CHECK(a.mayReadBelow("/config"));
  CHECK(a.mayReadBelow("/app"));
  CHECK_FALSE(a.mayReadBelow("/other"));
  CHECK_FALSE(a.mayReadBelow("/conf"));  // "/conf/" is no prefix of "/config/"
  // Watching: every path under the prefix must be readable.
  CHECK(a.mayReadAll("/app/"));
  CHECK(a.mayReadAll("/config/x/"));
  CHECK_FALSE(a.mayReadAll("/"));
  CHECK_FALSE(a.mayReadAll("/con"));
  CHECK(a.writesSomewhere());
  CHECK_FALSE(a.clusterAdmin());
  // A feed subscription beyond the grants becomes the grants under it.
  CHECK(a.readPrefixesUnder("/") == std::vector<std::string>{"/ap", "/app/", "/config/"});
  CHECK(a.readPrefixesUnder("/c") == std::vector<std::string>{"/config/"});
  CHECK(a.readPrefixesUnder("/x").empty());

  Access none;
  CHECK_FALSE(none.mayRead("/"));
  CHECK_FALSE(none.mayReadBelow("/"));
  CHECK_FALSE(none.writesSomewhere());
  CHECK(none.describe() == "none");

  Access admin({{node::Perm::kAdmin, "/"}});
  CHECK(admin.clusterAdmin());
  CHECK(admin.mayWriteAll("/"));
  Access appAdmin({{node::Perm::kAdmin, "/app/"}});
  CHECK_FALSE(appAdmin.clusterAdmin());  // admin of the cluster is admin on / only
  CHECK(appAdmin.mayWrite("/app/x"));

  CHECK(Access::everything().mayWriteAll("/"));
  CHECK(Access::everything().clusterAdmin());
}

TEST_CASE("grants: the same rights compare equal, whatever the order or repeats of their lines",
          "[unit][grants]") {
  auto parse = [](const std::string& text) {
    auto l = node::parseClients(text, "clients.acl");
    REQUIRE(l.isOk());
    return l.value();
  };
  const auto one = parse(key('a') + " alice rw /app/ r /config/\n");
  // A second key for alice with a grant she has already, the lines in another order, a grant that
  // another covers: the same rights.
  const auto same = parse(key('b') + " alice r /config/ r /app/tmp/\n" + key('a') +
                          " alice r /app/ rw /app/ r /config/\n");
  CHECK(same.users == one.users);
  CHECK(same.users.at("alice").describe() == "rw /app/, r /config/");
  // Less, more, or the same prefix with another permission: not the same.
  CHECK(parse(key('a') + " alice rw /app/\n").users != one.users);
  CHECK(parse(key('a') + " alice rw /app/ r /config/ r /x/\n").users != one.users);
  CHECK(parse(key('a') + " alice r /app/ r /config/\n").users != one.users);
  CHECK(parse(key('a') + " alice rw /app/ rw /config/\n").users != one.users);
  // A narrower grant is kept beside a wider one that is weaker.
  CHECK(Access({{node::Perm::kRead, "/app/"}, {node::Perm::kWrite, "/app/tmp/"}}).describe() ==
        "r /app/, rw /app/tmp/");
}
