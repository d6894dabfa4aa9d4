#include <catch2/catch.hpp>

#include <filesystem>
#include "node/config.h"
#include "node/replica.h"
#include "store/file.h"
#include "store/snapshot.h"

#include "tests/support/node_process.h"

using namespace cairn;
using wire::Command;

namespace {

paxos::Config solo() {
  paxos::Config c;
  c.id = 1;
  c.members = {1};
  return c;
}

// Applies what a drain chose, as the event loop does.
std::size_t applyDrain(node::Replica& r, store::Store& s) {
  auto d = r.drain();
  REQUIRE(d.isOk());
  for (auto& c : d->chosen)
    (void)s.apply(c.slot, c.cmd);
  return d->chosen.size();
}

}  // namespace

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
  CHECK(node::parseArgs({"--data", "/d"}).config.logRetain == 10000);
  auto retain = node::parseArgs({"--data", "/d", "--log-retain", "0"});
  CHECK((retain.run && retain.config.logRetain == 0));
  CHECK(!node::parseArgs({"--data", "/d", "--log-retain", "-1"}).run);
  CHECK(!node::parseArgs({"--data", "/d", "--log-retain", "100000001"}).run);
  // --http: an IP address and a port, checked before anything starts.
  auto web = node::parseArgs({"--data", "/d", "--http", "127.0.0.1:0"});
  CHECK((web.run && web.config.http == "127.0.0.1:0"));
  CHECK(node::parseArgs({"--data", "/d", "--http", "[::1]:7180"}).run);
  for (const char* bad : {"nonsense", "127.0.0.1:", "127.0.0.1:65536", "example.com:80", ":80"}) {
    auto r = node::parseArgs({"--data", "/d", "--http", bad});
    INFO(bad);
    CHECK(!r.run);
    CHECK(r.exitCode == 2);
    CHECK(r.message.find("--http") != std::string::npos);
  }
  auto help = node::parseArgs({"--help"});
  CHECK(!help.run);
  CHECK(help.exitCode == 0);
  CHECK(help.message.find("--data") != std::string::npos);
}

TEST_CASE("replica: batches, proposal ids and recovery with the original revs", "[unit][node]") {
  test::TempDir d;
  std::string dump;
  {
    auto o = node::Replica::open(solo(), d.path(), store::Store::Options());
    REQUIRE(o.isOk());
    node::Replica& r = *o->replica;
    r.core().campaign();
    for (int batch = 0; batch < 5; ++batch) {
      for (int i = 0; i < 7; ++i) {
        r.propose(Command{Command::Op::kSet, "/k" + std::to_string(i), -1, std::to_string(batch)},
                  static_cast<std::uint64_t>(100 * batch + i));
      }
      r.propose(Command{Command::Op::kSet, "/k0", 0, "fails"}, 9999);
      auto dr = r.drain();
      REQUIRE(dr.isOk());
      REQUIRE(dr->chosen.size() == 8);  // one slot, eight commands
      CHECK(dr->chosen[0].slot == dr->chosen[7].slot);
      CHECK(dr->chosen[3].proposal == static_cast<std::uint64_t>(100 * batch + 3));
      for (auto& c : dr->chosen)
        (void)o->store->apply(c.slot, c.cmd);
    }
    CHECK(o->store->rev() == 35);
    dump = o->store->dump();
  }
  auto o = node::Replica::open(solo(), d.path(), store::Store::Options());
  REQUIRE(o.isOk());
  o->replica->core().campaign();
  CHECK(applyDrain(*o->replica, *o->store) == 40);  // the chosen log comes back
  CHECK(o->store->rev() == 35);
  CHECK(o->store->dump() == dump);
  // Batches proposed by an earlier run are not mistaken for this run's proposals.
  o->replica->propose(Command{Command::Op::kSet, "/new", -1, "x"}, 1);
  auto dr = o->replica->drain();
  REQUIRE(dr.isOk());
  REQUIRE(dr->chosen.size() == 1);
  CHECK(dr->chosen[0].proposal == 1);
}

TEST_CASE("replica: a checkpoint after a snapshot drops old WAL segments and keeps the promise",
          "[unit][node]") {
  test::TempDir d;
  std::string dump;
  wire::Ballot promised;
  {
    // Nothing kept behind the snapshot: the checkpoint restates no chosen value.
    auto o = node::Replica::open(solo(), d.path(), store::Store::Options(), 0);
    REQUIRE(o.isOk());
    node::Replica& r = *o->replica;
    r.core().campaign();
    const std::string big(100000, 'v');  // enough records to fill several WAL segments
    for (int i = 0; i < 1500; ++i) {
      r.propose(Command{Command::Op::kSet, "/k" + std::to_string(i % 10), -1, big}, 1);
      applyDrain(r, *o->store);
    }
    auto before = store::listDir(d.path() + "/wal", "wal-", ".log");
    REQUIRE(before->size() > 1);
    REQUIRE(store::writeSnapshot(o->store->image(), d.path() + "/snap").isOk());
    REQUIRE(r.checkpoint(o->store->appliedIndex()).isOk());
    r.finishDeletions();
    auto after = store::listDir(d.path() + "/wal", "wal-", ".log");
    CHECK(after->size() == 1);
    r.propose(Command{Command::Op::kDel, "/k3", -1, ""}, 2);
    applyDrain(r, *o->store);
    dump = o->store->dump();
    promised = r.core().promised();
  }
  auto o = node::Replica::open(solo(), d.path(), store::Store::Options());
  REQUIRE(o.isOk());
  CHECK(o->replica->core().promised() == promised);
  CHECK(applyDrain(*o->replica, *o->store) == 1);  // only what came after the snapshot
  CHECK(o->store->dump() == dump);
  CHECK(o->store->rev() == 1501);
}

TEST_CASE("replica: a checkpoint begun before the snapshot keeps the writes made while it ran",
          "[unit][node]") {
  test::TempDir d;
  std::string dump;
  const std::string big(100000, 'v');
  {
    auto o = node::Replica::open(solo(), d.path(), store::Store::Options(), 0);
    REQUIRE(o.isOk());
    node::Replica& r = *o->replica;
    r.core().campaign();
    for (int i = 0; i < 1500; ++i) {
      r.propose(Command{Command::Op::kSet, "/k" + std::to_string(i % 10), -1, big}, 1);
      applyDrain(r, *o->store);
    }
    const std::uint64_t at = o->store->appliedIndex();
    store::Image img = o->store->image();
    REQUIRE(r.beginCheckpoint(at).isOk());
    // Writes go on while the snapshot is being written: they must survive the checkpoint.
    for (int i = 0; i < 5; ++i) {
      r.propose(Command{Command::Op::kSet, "/late" + std::to_string(i), -1, "x"}, 2);
      applyDrain(r, *o->store);
    }
    REQUIRE(store::writeSnapshot(img, d.path() + "/snap").isOk());
    REQUIRE(r.finishCheckpoint(at).isOk());
    r.finishDeletions();
    auto after = store::listDir(d.path() + "/wal", "wal-", ".log");
    CHECK(after->size() == 1);
    dump = o->store->dump();
  }
  auto o = node::Replica::open(solo(), d.path(), store::Store::Options());
  REQUIRE(o.isOk());
  CHECK(applyDrain(*o->replica, *o->store) == 5);  // the writes made while the snapshot ran
  CHECK(o->store->dump() == dump);
  CHECK(o->store->rev() == 1505);
}

TEST_CASE("replica: a WAL that starts late without a checkpoint refuses to open", "[unit][node]") {
  test::TempDir d;
  {
    // Records 1..4 in one segment, 5 in the next; then the first segment is lost, and nothing
    // (no checkpoint record) says that was planned.
    std::vector<store::WalRecord> recs;
    std::string rep;
    auto w = store::Wal::open(d.path() + "/wal", store::Wal::Options(), &recs, &rep);
    REQUIRE(w.isOk());
    for (std::uint64_t i = 1; i <= 4; ++i)
      (*w)->append(i, std::string("L") + '\x01');
    REQUIRE((*w)->sync().isOk());
    REQUIRE((*w)->rotate().isOk());
    (*w)->append(5, std::string("L") + '\x02');
    REQUIRE((*w)->sync().isOk());
    REQUIRE((*w)->dropBefore(5).isOk());
  }
  auto o = node::Replica::open(solo(), d.path(), store::Store::Options());
  CHECK(o.status().code() == wire::Err::kCorrupt);
}
