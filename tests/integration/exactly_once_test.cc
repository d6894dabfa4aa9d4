// Exactly-once writes (PROTOCOL.md 5.1) on real processes: a write resent under its session gets
// its first reply — after the leader's kill -9, from a node restarted on its log, from a node that
// caught up by a snapshot — where a plain resend is applied again; the C++ client resends a write
// whose node stopped answering, and it is applied once; stale and foreign sessions are refused.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "bindings/cpp/client.h"
#include "tests/support/node_process.h"

using namespace cairn;
using namespace std::chrono_literals;
using wire::Err;
using wire::Request;
using wire::Verb;

namespace {

// A client of one node that sends exactly what it is given: no session of its own, no resend.
client::Client rawTo(const std::string& endpoint) {
  client::Options o;
  o.endpoints = {endpoint};
  o.exactlyOnce = false;
  o.attempts = 1;
  o.timeout = 5000ms;
  return client::Client(o);
}

Request setReq(const std::string& path, const std::string& value, std::int64_t rev,
               std::int64_t session, std::int64_t seq) {
  Request q;
  q.verb = Verb::kSet;
  q.path = path;
  q.value = value;
  q.rev = rev;
  q.session = session;
  q.seq = seq;
  return q;
}

Request txnReq(wire::Txn t, std::int64_t session, std::int64_t seq) {
  Request q;
  q.verb = Verb::kTxn;
  q.txn = std::move(t);
  q.session = session;
  q.seq = seq;
  return q;
}

}  // namespace

TEST_CASE(
    "exactly-once: a write resent under its session gets its first reply after the leader's "
    "kill -9, from a restarted node and from one that installed a snapshot",
    "[integration][exactly-once]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3, {"--snapshot-every", "50", "--log-retain", "0"});
  const int leader = c.awaitLeader();
  REQUIRE(leader > 0);
  const int f1 = leader == 1 ? 2 : 1, f2 = 6 - leader - f1;
  auto toLeader = rawTo(c.client(leader));
  Request g;
  g.verb = Verb::kGrant;
  g.ttl = 60000;
  auto granted = toLeader.call(g);
  REQUIRE(granted.isOk());
  const std::int64_t session = *granted->lease;

  // A create-only SET, and a TXN, in the session.
  const Request create = setReq("/eo/x", "first", 0, session, 1);
  auto r1 = toLeader.call(create);
  REQUIRE(r1.isOk());
  const std::int64_t rev1 = *r1->rev;
  // Built whole, then put in the request: GCC's ASan build misjudges an emplace() here.
  const Request txn = txnReq(
      wire::Txn{{}, {wire::TxnOp::set("/eo/a", "t", 0), wire::TxnOp::set("/eo/b", "t", 0)}, {}},
      session, 2);
  auto r2 = toLeader.call(txn);
  REQUIRE(r2.isOk());
  const std::int64_t rev2 = *r2->rev;

  // The leader dies; the same requests through a follower get the first replies, and change
  // nothing. (Sent without the session, the create-only SET is REV_MISMATCH: it was applied.)
  c.kill9(leader);
  REQUIRE(test::eventually([&] { return c.awaitLeader(2000) > 0; }, 20000));
  auto viaF1 = rawTo(c.client(f1));
  auto again = viaF1.call(create);
  REQUIRE(again.isOk());
  CHECK(*again->rev == rev1);
  auto again2 = viaF1.call(txn);
  REQUIRE(again2.isOk());
  CHECK(*again2->rev == rev2);
  CHECK(again2->succeeded == true);
  REQUIRE(again2->results);
  CHECK(again2->results->size() == 2);
  CHECK(test::counter(c.client(f1), "writes_replayed") == 2);  // both answered from the table
  Request plain = create;
  plain.session.reset();
  plain.seq.reset();
  CHECK(viaF1.call(plain).status().code() == Err::kRevMismatch);
  auto x = viaF1.get("/eo/x");
  REQUIRE(x.isOk());
  CHECK(x->rev == rev1);

  // The old leader, restarted on its own log, answers the same.
  c.restart(leader);
  auto viaOld = rawTo(c.client(leader));
  REQUIRE(test::eventually([&] {
    auto r = viaOld.call(create);
    return r.isOk() && *r->rev == rev1;
  }));

  // A follower that missed many writes catches up by a snapshot (no log is kept behind one),
  // and answers from the table the snapshot carried.
  c.kill9(f2);
  auto cl = test::clientFor(c.client(f1));
  for (int i = 0; i < 300; ++i)
    REQUIRE(cl.set("/eo/fill/" + std::to_string(i), "v", -1).isOk());
  c.restart(f2);
  auto viaF2 = rawTo(c.client(f2));
  REQUIRE(test::eventually([&] {
    auto r = viaF2.call(txn);
    return r.isOk() && *r->rev == rev2;
  }));
  CHECK(test::counter(c.client(f2), "snapshots_installed") >= 1);
  std::int64_t complete = 0;
  auto history = cl.changes("/eo/*", 1, &complete);
  REQUIRE(history.isOk());
  CHECK(history->size() == 3);  // /eo/x once, /eo/a and /eo/b once
}

TEST_CASE("exactly-once: the client resends a write its node did not answer, and it lands once",
          "[integration][exactly-once]") {
  test::TempDir d;
  test::Cluster c(d.path(), 3);
  const int leader = c.awaitLeader();
  REQUIRE(leader > 0);
  const int f1 = leader == 1 ? 2 : 1, f2 = 6 - leader - f1;
  client::Options o;
  o.endpoints = {c.client(f1), c.client(f2)};
  o.preferLeader = false;
  o.timeout = 1000ms;
  client::Client cl(o);
  REQUIRE(cl.set("/once/warm", "x", -1).isOk());  // its session is granted, f1 answered
  REQUIRE(cl.session() != 0);
  const int used = cl.endpoint() == c.client(f1) ? f1 : f2, other = used == f1 ? f2 : f1;
  REQUIRE(cl.endpoint() == c.client(used));
  // The node in use stops: the write waits in its socket, unanswered; the client sends it again
  // to the other node.
  c.node(used).pause();
  auto r = cl.set("/once/k", "only-once", -1);  // a clobber: a second apply would show
  REQUIRE(r.isOk());
  CHECK(cl.endpoint() == c.client(other));
  // It resumes and handles the copy it held: it finds the reply in the table, applying nothing.
  c.node(used).resume();
  REQUIRE(test::eventually([&] { return test::counter(c.client(used), "writes_replayed") == 1; }));
  REQUIRE(cl.nop().isOk());
  std::int64_t complete = 0;
  auto history = cl.changes("/once/k", 1, &complete);
  REQUIRE(history.isOk());
  REQUIRE(history->size() == 1);
  CHECK((*history)[0].rev == *r);
  CHECK((*history)[0].value == "only-once");
}

TEST_CASE("exactly-once: ended, unknown and stale sessions are refused and apply nothing",
          "[integration][exactly-once]") {
  test::TempDir d;
  test::NodeProcess n(d.path() + "/n1");
  auto raw = rawTo(n.client());
  Request g;
  g.verb = Verb::kGrant;
  g.ttl = 60000;
  auto granted = raw.call(g);
  REQUIRE(granted.isOk());
  const std::int64_t s = *granted->lease;
  const auto head = *raw.rev();
  // A lease that never was; seq without session; below 1.
  auto unknown = raw.call(setReq("/s/a", "1", -1, s + 100, 1));
  CHECK(unknown.status().code() == Err::kTooLate);
  CHECK(unknown.status().detail().find("has ended") != std::string::npos);
  Request noSession = setReq("/s/a", "1", -1, s, 1);
  noSession.session.reset();
  CHECK(raw.call(noSession).status().code() == Err::kMissingArg);
  CHECK(raw.call(setReq("/s/a", "1", -1, s, 0)).status().code() == Err::kRange);
  CHECK(*raw.rev() == head);
  // 64 replies are kept per session: after 70 writes, the 5th is refused, the 70th answered.
  std::int64_t rev70 = 0;
  for (int i = 1; i <= 70; ++i) {
    auto r = raw.call(setReq("/s/k", std::to_string(i), -1, s, i));
    REQUIRE(r.isOk());
    rev70 = *r->rev;
  }
  auto stale = raw.call(setReq("/s/k", "5", -1, s, 5));
  CHECK(stale.status().code() == Err::kTooLate);
  CHECK(stale.status().detail().find("no longer keeps the reply of write 5") != std::string::npos);
  auto last = raw.call(setReq("/s/k", "70", -1, s, 70));
  REQUIRE(last.isOk());
  CHECK(*last->rev == rev70);
  CHECK(*raw.rev() == rev70);
  // Revoked, the session's writes are refused, and its replies are gone.
  Request rv;
  rv.verb = Verb::kRevoke;
  rv.lease = s;
  REQUIRE(raw.call(rv).isOk());
  CHECK(raw.call(setReq("/s/k", "70", -1, s, 70)).status().code() == Err::kTooLate);
  CHECK(*raw.rev() == rev70);
}
