// Key files and keyed endpoints (wire/keys.h).

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "bindings/cpp/client.h"
#include "tests/support/node_process.h"
#include "wire/keys.h"

using namespace cairn;

TEST_CASE("keys: a key file round-trips and its public key must be its secret key's",
          "[unit][keys]") {
  auto k = wire::generateKeyPair();
  REQUIRE(k.isOk());
  CHECK(wire::isZ85Key(k->publicKey));
  CHECK(wire::isZ85Key(k->secretKey));
  auto back = wire::parseKeyFile("# mine\n" + wire::formatKeyFile(*k), "k");
  REQUIRE(back.isOk());
  CHECK(back->publicKey == k->publicKey);
  CHECK(back->secretKey == k->secretKey);
  // The secret alone is enough: the public key follows from it.
  auto secretOnly = wire::parseKeyFile("secret: " + k->secretKey + "\n", "k");
  REQUIRE(secretOnly.isOk());
  CHECK(secretOnly->publicKey == k->publicKey);
  // A bare line is a public key.
  auto bare = wire::parseKeyFile(k->publicKey + "\n", "k.pub");
  REQUIRE(bare.isOk());
  CHECK(bare->publicKey == k->publicKey);
  CHECK(bare->secretKey.empty());

  auto other = wire::generateKeyPair();
  auto mismatch =
      wire::parseKeyFile("public: " + other->publicKey + "\nsecret: " + k->secretKey, "k");
  REQUIRE_FALSE(mismatch.isOk());
  CHECK(mismatch.status().detail() == "k: the public key is not the secret key's");
  CHECK_FALSE(wire::parseKeyFile("public: short\n", "k").isOk());
  CHECK_FALSE(wire::parseKeyFile("", "k").isOk());
  CHECK_FALSE(wire::parseKeyFile("hello world\n", "k").isOk());
  CHECK_FALSE(wire::isZ85Key(std::string(39, 'a')));
  CHECK_FALSE(wire::isZ85Key(std::string(39, 'a') + ","));  // not in the Z85 alphabet
}

TEST_CASE("keys: a secret key file others may read is refused", "[unit][keys]") {
  test::TempDir dir;
  const std::string path = dir.path() + "/k.key";
  auto k = wire::generateKeyPair();
  std::ofstream(path) << wire::formatKeyFile(*k);
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    auto r = wire::readSecretKeyFile(path);
    REQUIRE_FALSE(r.isOk());
    CHECK(r.status().code() == wire::Err::kPermission);
    CHECK(r.status().detail().find("chmod 600 " + path) != std::string::npos);
  }
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  REQUIRE(wire::readSecretKeyFile(path).isOk());
  // A public key file will not do where a pair is needed; as a public key it does, any mode.
  const std::string pub = dir.path() + "/k.pub";
  std::ofstream(pub) << k->publicKey << "\n";
  REQUIRE(::chmod(pub.c_str(), 0600) == 0);
  CHECK_FALSE(wire::readSecretKeyFile(pub).isOk());
  REQUIRE(::chmod(pub.c_str(), 0644) == 0);
  CHECK(*wire::readPublicKey(pub) == k->publicKey);
  CHECK(*wire::readPublicKey(path) == k->publicKey);
  CHECK(*wire::readPublicKey(k->publicKey) == k->publicKey);
  CHECK_FALSE(wire::readPublicKey(dir.path() + "/missing").isOk());
}

TEST_CASE("keys: an endpoint names its node's key as user info", "[unit][keys]") {
  const std::string key = "65:lIXA.qyB+@HKN$K>IptxJ}N3vt)Vh[m?Y1*id";  // an @ inside the key
  REQUIRE(wire::isZ85Key(key));
  const std::string keyed = wire::keyedEndpoint("tcp://127.0.0.1:7101", key);
  CHECK(keyed == "tcp://" + key + "@127.0.0.1:7101");
  auto split = wire::splitKeyedEndpoint(keyed);
  CHECK(split.endpoint == "tcp://127.0.0.1:7101");
  CHECK(split.key == key);
  auto plain = wire::splitKeyedEndpoint("tcp://127.0.0.1:7101");
  CHECK(plain.endpoint == "tcp://127.0.0.1:7101");
  CHECK(plain.key.empty());
  CHECK(wire::keyedEndpoint("tcp://127.0.0.1:7101", "") == "tcp://127.0.0.1:7101");
  // Not a key: left alone.
  CHECK(wire::splitKeyedEndpoint("tcp://user@host:1").key.empty());
}

TEST_CASE("keys: an endpoint is read whatever its key holds, ':', '/' and '@' included",
          "[unit][keys]") {
  // "tcp://" and this key's first 34 characters are 40 Z85 characters followed by '@' (its 35th):
  // once read as a key written first (found by a CI run, about one key in 85).
  const std::string key = "U2+AdONBdumUH]YnXfOsb?kM&u:L1fNEs9@@:wUn";
  REQUIRE(wire::isZ85Key(key));
  const std::string keyed = "tcp://" + key + "@127.0.0.1:7101";
  REQUIRE(wire::isZ85Key(keyed.substr(0, 40)));
  REQUIRE(keyed[40] == '@');
  auto n = client::normalizeEndpoint(keyed);
  REQUIRE(n.isOk());
  CHECK(*n == keyed);
  CHECK(wire::splitKeyedEndpoint(*n).key == key);
  // Written key first, without the scheme, and with "://" inside the key.
  const std::string slashes = "ab://cdefghijklmnopqrstuvwxyzABCDEFGHIJK";
  REQUIRE(wire::isZ85Key(slashes));
  for (const std::string& k : {key, slashes}) {
    auto first = client::normalizeEndpoint(k + "@127.0.0.1:7101");
    REQUIRE(first.isOk());
    CHECK(*first == "tcp://" + k + "@127.0.0.1:7101");
  }
  CHECK(*client::normalizeEndpoint("127.0.0.1:7101") == "tcp://127.0.0.1:7101");
  CHECK_FALSE(client::normalizeEndpoint("udp://127.0.0.1:7101").isOk());
}
