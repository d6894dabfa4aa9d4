#include <catch2/catch.hpp>

#include "node/config.h"
#include "node/log.h"
#include "node/recovery.h"
#include "store/snapshot.h"
#include "tests/support/node_process.h"

using namespace cairn;
using wire::Command;

TEST_CASE("config: flags and their errors", "[unit][node]") {
  auto ok = node::parseArgs({"--data", "/d", "--client=tcp://*:1", "--id", "3", "--verbose"});
  REQUIRE(ok.run);
  CHECK(ok.config.dataDir == "/d");
  CHECK(ok.config.clientEndpoint == "tcp://*:1");
  CHECK(ok.config.id == 3);
  CHECK(ok.config.verbose);
  CHECK(node::parseArgs({}).exitCode == 2);  // --data is required
  auto bad = node::parseArgs({"--data", "/d", "--frob"});
  CHECK(!bad.run);
  CHECK(bad.exitCode == 2);
  CHECK(bad.message.find("--frob") != std::string::npos);
  CHECK(!node::parseArgs({"--data", "/d", "--id", "x"}).run);
  CHECK(!node::parseArgs({"--data", "/d", "--id", "0"}).run);
  CHECK(!node::parseArgs({"--data", "/d", "--max-value"}).run);
  auto help = node::parseArgs({"--help"});
  CHECK(!help.run);
  CHECK(help.exitCode == 0);
  CHECK(help.message.find("--data") != std::string::npos);
}

TEST_CASE("recovery: what the local log made durable comes back with its revs", "[unit][node]") {
  test::TempDir d;
  std::string dump;
  {
    auto rec = node::recover(d.path(), store::Store::Options());
    REQUIRE(rec.isOk());
    node::LocalLog log(std::move(rec->wal));
    store::Store& s = *rec->store;
    for (int batch = 0; batch < 5; ++batch) {
      for (int i = 0; i < 7; ++i) {
        log.propose(Command{Command::Op::kSet, "/k" + std::to_string(i), -1, std::to_string(batch)},
                    1);
      }
      log.propose(Command{Command::Op::kSet, "/k0", 0, "fails"}, 2);
      auto chosen = log.drain();
      REQUIRE(chosen.isOk());
      CHECK(chosen->size() == 8);
      for (auto& c : *chosen)
        (void)s.apply(c.index, c.cmd);
    }
    CHECK(s.rev() == 35);
    CHECK(s.appliedIndex() == 40);
    dump = s.dump();
    // A snapshot midway, then more records.
    REQUIRE(store::writeSnapshot(s.image(), d.path() + "/snap").isOk());
    REQUIRE(log.compact(s.appliedIndex()).isOk());
    log.propose(Command{Command::Op::kDel, "/k3", -1, ""}, 3);
    auto chosen = log.drain();
    REQUIRE(chosen.isOk());
    (void)s.apply((*chosen)[0].index, (*chosen)[0].cmd);
    dump = s.dump();
  }
  auto rec = node::recover(d.path(), store::Store::Options());
  REQUIRE(rec.isOk());
  CHECK(rec->snapshotIndex == 40);
  CHECK(rec->replayed == 1);
  CHECK(rec->store->rev() == 36);
  CHECK(rec->store->dump() == dump);
}
