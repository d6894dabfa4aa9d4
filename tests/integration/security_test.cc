// CURVE, ZAP and per-path grants (PROTOCOL.md §12) on real cairnd processes: who gets in on the
// client socket, the feed and the peer mesh, what each user may read, write, list and watch, a
// client list read again on SIGHUP, a node with no ZAP handler, and key files others could read.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>

#include <catch2/catch.hpp>
#include <zmq.hpp>

#include "bindings/cpp/client.h"
#include "bindings/cpp/watcher.h"
#include "tests/support/node_process.h"
#include "tests/support/node_process_inl.h"
#include "wire/codec.h"
#include "wire/keys.h"

using namespace cairn;

namespace {

using Clock = std::chrono::steady_clock;

// A new key pair in a key file of mode 0600 at `path`.
wire::KeyPair keyFile(const std::string& path) {
  auto k = wire::generateKeyPair();
  REQUIRE(k.isOk());
  std::ofstream(path) << wire::formatKeyFile(*k);
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  return *k;
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// One node under CURVE in a directory of its own: its key file, a key file per user, and a client
// list (`clients`) with a line "<key> <user> <grants>" for each user given grants; a user given
// none ("") has a key and no line: a stranger.
struct SecureNode {
  test::TempDir dir;
  const std::string d = dir.path();
  const wire::KeyPair nodeKey = keyFile(d + "/node.key");
  std::map<std::string, wire::KeyPair> key;
  std::unique_ptr<test::NodeProcess> node;

  explicit SecureNode(std::initializer_list<std::pair<std::string, std::string>> users,
                      std::vector<std::string> flags = {}) {
    std::string list = "# user grants, one line per key\n";
    for (const auto& [user, grants] : users) {
      key[user] = keyFile(d + "/" + user + ".key");
      if (!grants.empty()) list += line(user, grants);
    }
    writeFile(d + "/clients", list);
    flags.insert(flags.begin(), {"--key", d + "/node.key", "--clients", d + "/clients"});
    node = std::make_unique<test::NodeProcess>(d + "/n", flags);
  }
  // A client list's line for `user`.
  std::string line(const std::string& user, const std::string& grants) const {
    return key.at(user).publicKey + " " + user + " " + grants + "\n";
  }
};

client::Options as(const std::optional<wire::KeyPair>& key, const std::string& endpoints) {
  client::Options o;
  o.endpoints = client::splitEndpoints(endpoints);
  o.key = key;
  o.timeout = std::chrono::milliseconds(5000);
  return o;
}

// Asks the node at `endpoint` for a GET as `key` and expects a refusal at the handshake: the
// error's code, and its detail containing `says`, within a second (a refusal that gives no
// reason, as a wrong server key's, is known only when the connect timeout of a second is over:
// it could be a node restarting).
void refusedAtOnce(const std::optional<wire::KeyPair>& key, const std::string& endpoint,
                   const std::string& says, wire::Err code = wire::Err::kPermission) {
  client::Options o = as(key, endpoint);
  o.attempts = 1;
  client::Client c(o);
  const auto t0 = Clock::now();
  auto r = c.get("/a");
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  INFO("endpoint " << endpoint << ": " << r.status().toString());
  REQUIRE_FALSE(r.isOk());
  CHECK(r.status().code() == code);
  CHECK(r.status().detail().find(says) != std::string::npos);
  CHECK(took < (code == wire::Err::kPermission ? 1000 : 1500));
}

// A SUB to a node's feed that subscribes to everything (CURVE as `key`, or plain text), and the
// topics it receives.
struct RawSub {
  zmq::context_t ctx{1};
  zmq::socket_t sub{ctx, zmq::socket_type::sub};
  std::set<std::string> topics;   // each heartbeat's as "!hb", whatever its user's number
  std::set<std::string> beats;    // the heartbeat topics, as they came
  std::set<std::string> claimed;  // prefixes the heartbeats claimed
  std::map<std::string, std::set<std::int64_t>> claims;  // prefix -> the revs claimed for it
  std::map<std::string, std::set<std::string>> prevs;    // event path -> the prefixes it claimed
  std::int64_t beatRev = -1;                             // the latest heartbeat's rev
  bool partial = false;                                  // some heartbeat said partial
  RawSub(const std::string& feed, const std::optional<wire::KeyPair>& key, const std::string& topic,
         bool heartbeats = false) {
    sub.set(zmq::sockopt::linger, 0);
    // Without a key: plain text, even to a node whose endpoint names its key.
    auto target = key ? client::secureSocket(sub, feed, key, "")
                      : wire::Result<std::string>(wire::splitKeyedEndpoint(feed).endpoint);
    REQUIRE(target.isOk());
    sub.set(zmq::sockopt::subscribe, topic);
    if (heartbeats) sub.set(zmq::sockopt::subscribe, std::string(wire::kHeartbeatTopic));
    sub.connect(*target);
  }
  // Collects what arrives for `ms`.
  void collect(int ms) {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < until) {
      zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(50));
      while (item.revents & ZMQ_POLLIN) {
        zmq::message_t topic, body;
        if (!sub.recv(topic, zmq::recv_flags::dontwait)) break;
        if (topic.more()) (void)sub.recv(body, zmq::recv_flags::none);
        if (wire::isHeartbeatTopic(topic.to_string_view())) {
          topics.insert(std::string(wire::kHeartbeatTopic));
          beats.insert(topic.to_string());
          if (auto hb = wire::decodeHeartbeat(body.to_string_view())) {
            beatRev = hb->rev;
            partial = partial || hb->partial;
            for (const auto& c : hb->last) {
              claimed.insert(c.prefix);
              claims[c.prefix].insert(c.rev);
            }
          }
        } else {
          topics.insert(topic.to_string());
          if (auto e = wire::decodeEvent(body.to_string_view())) {
            for (const auto& c : e->prev)
              prevs[e->path].insert(c.prefix);
          }
        }
      }
    }
  }
  bool heard(const std::string& t) const { return topics.count(t) > 0; }
};

}  // namespace

TEST_CASE(
    "CURVE: a listed key is served, and an unlisted key, a wrong server key and a plain-text "
    "client are refused at once, on requests and on the feed",
    "[integration][security]") {
  SecureNode s({{"alice", "rw /"}, {"eve", ""}});
  const test::NodeProcess& n = *s.node;
  const wire::KeyPair &node = s.nodeKey, &alice = s.key["alice"], &eve = s.key["eve"];
  // The node advertises its endpoints with its key: clients that learn them can check the node.
  REQUIRE(wire::splitKeyedEndpoint(n.client()).key == node.publicKey);
  REQUIRE(wire::splitKeyedEndpoint(n.events()).key == node.publicKey);

  client::Client a(as(alice, n.client()));
  REQUIRE(a.set("/a", "one", -1).isOk());
  REQUIRE(a.get("/a")->value == "one");

  const std::string bare = wire::splitKeyedEndpoint(n.client()).endpoint;
  refusedAtOnce(eve, n.client(), "authentication refused by " + bare);
  refusedAtOnce(alice, wire::keyedEndpoint(bare, eve.publicKey),
                "the security handshake with " + bare + " failed with no reason given",
                wire::Err::kUnavailable);
  {
    // Plain text: libzmq reports the mechanism mismatch, or, when the node hangs up first, a
    // handshake that failed with no reason; either way the client says to give keys.
    client::Options o = as(std::nullopt, bare);
    o.attempts = 1;
    client::Client c(o);
    const auto t0 = Clock::now();
    auto r = c.get("/a");
    INFO(r.status().toString());
    REQUIRE_FALSE(r.isOk());
    CHECK(r.status().detail().find("give --key and --server-key") != std::string::npos);
    CHECK(Clock::now() - t0 < std::chrono::milliseconds(1500));
  }

  // The feed: the listed key hears heartbeats, a plain SUB and an unlisted key nothing, in the
  // same seconds while writes flow.
  RawSub listed(n.events(), alice, "");
  RawSub plain(n.events(), std::nullopt, "");
  RawSub stranger(n.events(), eve, "");
  for (int i = 0; i < 5; ++i)
    REQUIRE(a.set("/f/" + std::to_string(i), "x", -1).isOk());
  for (RawSub* s : {&listed, &plain, &stranger})
    s->collect(1500);
  CHECK(listed.heard(std::string(wire::kHeartbeatTopic)));
  CHECK(plain.topics.empty());
  CHECK(stranger.topics.empty());

  // A watcher with an unlisted key ends with why, rather than waiting for ever.
  client::WatchOptions wo;
  wo.endpoints = {n.client()};
  wo.glob = "/**";
  wo.key = eve;
  client::Watcher w(wo);
  auto got = w.next(std::chrono::milliseconds(5000));
  REQUIRE_FALSE(got.isOk());
  CHECK(got.status().code() == wire::Err::kPermission);
  CHECK(got.status().detail().find("authentication refused") != std::string::npos);
}

TEST_CASE(
    "CURVE: grants per path: a user reads, writes, lists and watches only under its "
    "prefixes, and its feed carries nothing else",
    "[integration][security]") {
  SecureNode s(
      {{"alice", "rw /app/ r /config/  # the app"}, {"carol", "r /app/"}, {"bob", "admin /"}});
  const test::NodeProcess& n = *s.node;
  const wire::KeyPair &alice = s.key["alice"], &carol = s.key["carol"], &bob = s.key["bob"];
  client::Client b(as(bob, n.client()));
  client::Client a(as(alice, n.client()));
  client::Client c(as(carol, n.client()));
  REQUIRE(b.set("/other/secret", "s", -1).isOk());
  REQUIRE(b.set("/config/db", "postgres://db1", -1).isOk());
  REQUIRE(b.set("/app/x", "1", -1).isOk());

  SECTION("requests") {
    REQUIRE(a.set("/app/y", "2", -1).isOk());
    REQUIRE(a.get("/config/db")->value == "postgres://db1");
    auto denied = [](const auto& r, const std::string& says) {
      INFO(r.status().toString());
      REQUIRE_FALSE(r.isOk());
      CHECK(r.status().code() == wire::Err::kPermission);
      CHECK(r.status().detail().find(says) != std::string::npos);
    };
    denied(a.set("/config/x", "no", -1), "alice may not write /config/x");
    denied(a.get("/other/secret"), "alice may not read /other/secret");
    denied(a.del("/other/secret", -1), "may not write /other/secret");
    denied(c.set("/app/x", "no", -1), "carol may not write /app/x");
    REQUIRE(c.get("/app/x")->value == "1");
    // Listings leave out what the user may not read.
    auto root = a.getdir("/");
    REQUIRE(root.isOk());
    std::set<std::string> names;
    for (const auto& e : *root)
      names.insert(e.name);
    CHECK(names == std::set<std::string>{"app", "config"});
    auto all = a.walk("/**");
    REQUIRE(all.isOk());
    std::set<std::string> paths;
    for (const auto& e : *all)
      paths.insert(e.path);
    CHECK(paths == std::set<std::string>{"/app/x", "/app/y", "/config/db"});
    // Page by page, a cursor names only what the user may read (never /ctl, /other).
    for (wire::Verb verb : {wire::Verb::kGetdir, wire::Verb::kWalk}) {
      wire::Request q;
      q.verb = verb;
      q.path = verb == wire::Verb::kGetdir ? "/" : "/**";
      q.limit = 1;
      std::vector<std::string> cursors;
      for (int page = 0; page < 10; ++page) {
        auto r = a.call(q);
        REQUIRE(r.isOk());
        if (!r->next) break;
        cursors.push_back(*r->next);
        q.after = r->next;
      }
      // (the last page has no cursor: nothing visible follows it)
      const std::vector<std::string> expected = verb == wire::Verb::kGetdir
                                                    ? std::vector<std::string>{"app"}
                                                    : std::vector<std::string>{"/app/x", "/app/y"};
      CHECK(cursors == expected);
    }
    // Waiting on or paging through changes must stay within what it may read.
    denied(a.wait("/**", 1, std::chrono::milliseconds(100)), "alice may not watch all of /**");
    std::int64_t complete = 0;
    denied(a.changes("/**", 1, &complete), "may not watch all of /**");
    auto mine = a.changes("/app/**", 1, &complete);
    REQUIRE(mine.isOk());
    CHECK(mine->size() == 2);
    // A transaction is all or nothing, permissions too.
    wire::Txn t;
    wire::TxnOp ok;
    ok.kind = wire::TxnOp::Kind::kSet;
    ok.path = "/app/t";
    ok.value = "t";
    ok.rev = -1;
    wire::TxnOp bad = ok;
    bad.path = "/other/t";
    t.then = {ok, bad};
    denied(a.txn(t), "alice may not write (then[1]) /other/t");
    CHECK(b.get("/app/t")->rev == 0);
    // The cluster's own verbs take admin on /.
    denied(c.backup([](std::int64_t, std::string_view) { return wire::Status::ok(); }),
           "may not download backups");
    wire::Request rm;
    rm.verb = wire::Verb::kRemove;
    rm.id = 1;
    denied(a.leaderCall(rm), "may not change the membership");
  }

  SECTION("the feed") {
    RawSub everything(n.events(), alice, "");
    RawSub other(n.events(), alice, "/other/");
    RawSub bobs(n.events(), bob, "");
    RawSub bobsOther(n.events(), bob, "/other/");  // the control: /other/ is delivered to bob
    // Subscriptions take effect as they arrive: wait for one heartbeat each before writing.
    REQUIRE(test::eventually(
        [&] {
          everything.collect(100);
          other.collect(100);
          bobs.collect(100);
          return everything.heard(std::string(wire::kHeartbeatTopic)) &&
                 bobs.heard(std::string(wire::kHeartbeatTopic));
        },
        5000));
    REQUIRE(b.set("/other/a", "x", -1).isOk());
    REQUIRE(b.set("/app/b", "x", -1).isOk());
    REQUIRE(b.set("/config/c", "x", -1).isOk());
    REQUIRE(b.set("/apple", "x", -1).isOk());
    for (RawSub* s : {&everything, &other, &bobs, &bobsOther})
      s->collect(1000);
    CHECK(everything.topics ==
          std::set<std::string>{std::string(wire::kHeartbeatTopic), "/app/b", "/config/c"});
    CHECK(other.topics.empty());
    CHECK(bobsOther.topics == std::set<std::string>{"/other/a"});
    CHECK(bobs.heard("/other/a"));
    CHECK(bobs.heard("/apple"));
    // Heartbeats are each user's own: one topic per user; bob's claim his /other/, alice's
    // never. She subscribed beyond her grants ("", /other/): hers say partial instead.
    REQUIRE(test::eventually(
        [&] {
          bobs.collect(100);
          return bobs.claimed.count("/other/") > 0;
        },
        5000));
    CHECK(everything.claimed.empty());
    CHECK(everything.partial);
    CHECK_FALSE(bobs.partial);
    CHECK(everything.beats.size() == 1);
    CHECK(bobs.beats.size() == 1);
    CHECK(everything.beats != bobs.beats);

    // Within her grants, her claims carry the revs of her changes, never another's: a change
    // under /other/ (a heartbeat past it seen), then one under /app/.
    RawSub mine(n.events(), alice, "/app/", true);
    // (its prefix is claimed first when its tracking begins, at the head then: before the write)
    REQUIRE(test::eventually(
        [&] {
          mine.collect(100);
          return mine.claimed.count("/app/") > 0;
        },
        5000));
    auto hidden = b.set("/other/hidden", "x", -1);
    REQUIRE(hidden.isOk());
    REQUIRE(test::eventually(
        [&] {
          mine.collect(100);
          return mine.beatRev >= *hidden;
        },
        5000));
    auto seen = b.set("/app/seen", "x", -1);
    REQUIRE(seen.isOk());
    REQUIRE(test::eventually(
        [&] {
          mine.collect(100);
          return mine.claims["/app/"].count(*seen) > 0;
        },
        5000));
    for (const RawSub* r : {&mine, &everything})
      for (const auto& [prefix, revs] : r->claims)
        CHECK(revs.count(*hidden) == 0);
    CHECK(mine.claimed == std::set<std::string>{"/app/"});
    // Her events claim her own prefix only: "" (bob's, and hers beyond her grants), whose
    // previous change may be one she may not read, is left out of what reaches her. Under
    // /other/, which reaches bob alone, his claims stay.
    REQUIRE(test::eventually(
        [&] {
          mine.collect(100);
          return mine.prevs.count("/app/seen") > 0;
        },
        5000));
    for (const RawSub* r : {&mine, &everything})
      for (const auto& [path, prefixes] : r->prevs) {
        INFO(path);
        CHECK(prefixes == std::set<std::string>{"/app/"});
      }
    REQUIRE(test::eventually(
        [&] {
          bobs.collect(100);
          return bobs.prevs.count("/other/hidden") > 0;
        },
        5000));
    CHECK(bobs.prevs["/other/hidden"] == std::set<std::string>{"", "/other/"});

    // A watcher within its prefix follows it; one beyond ends with PERMISSION.
    client::WatchOptions wo;
    wo.endpoints = {n.client()};
    wo.glob = "/app/**";
    wo.key = alice;
    wo.fromRev = *b.rev() + 1;
    client::Watcher w(wo);
    REQUIRE(b.set("/app/w", "watched", -1).isOk());
    std::optional<client::Change> watched;
    REQUIRE(test::eventually(
        [&] {
          auto got = w.next(std::chrono::milliseconds(200));
          REQUIRE(got.isOk());
          if (*got && (*got)->kind == client::Notice::Kind::kChange &&
              (*got)->change.path == "/app/w") {
            watched = (*got)->change;
          }
          return watched.has_value();
        },
        5000));
    wo.glob = "/**";
    wo.fromRev = 1;
    client::Watcher beyond(wo);
    auto got = beyond.next(std::chrono::milliseconds(5000));
    while (got.isOk() && *got)
      got = beyond.next(std::chrono::milliseconds(5000));
    REQUIRE_FALSE(got.isOk());
    CHECK(got.status().code() == wire::Err::kPermission);
  }
}

TEST_CASE(
    "CURVE: a subscriber mapped to its grants that leaves does not take another's claims "
    "with it",
    "[integration][security]") {
  SecureNode s({{"alice", "rw /app/"}, {"bob", "admin /"}});
  const test::NodeProcess& n = *s.node;
  const wire::KeyPair &alice = s.key["alice"], &bob = s.key["bob"];
  client::Client b(as(bob, n.client()));
  RawSub bobs(n.events(), bob, "/", true);
  {
    // alice asks for / too, which she gets as /app/: the same topic, two meanings.
    RawSub alices(n.events(), alice, "/", true);
    REQUIRE(test::eventually([&] {
      alices.collect(100);
      bobs.collect(100);
      return alices.heard(std::string(wire::kHeartbeatTopic)) &&
             bobs.heard(std::string(wire::kHeartbeatTopic));
    }));
  }  // alice leaves: libzmq reports her / as unsubscribed
  // bob's subscription to / is still counted: the heartbeats after a write claim it.
  REQUIRE(test::eventually([&] {
    bobs.claimed.clear();
    REQUIRE(b.set("/x", "1", -1).isOk());
    bobs.collect(700);
    return bobs.claimed.count("/") > 0;
  }));
}

TEST_CASE("CURVE: the client list is read again on SIGHUP, and a bad one leaves the old in force",
          "[integration][security]") {
  SecureNode s({{"alice", "rw /"}, {"eve", ""}});
  const test::NodeProcess& n = *s.node;
  const wire::KeyPair &alice = s.key["alice"], &eve = s.key["eve"];
  const std::string& d = s.d;
  client::Client a(as(alice, n.client()));
  REQUIRE(a.set("/a", "1", -1).isOk());
  refusedAtOnce(eve, n.client(), "authentication refused");

  // eve is added: her next connection is let in (each attempt is a new client, a new socket).
  writeFile(d + "/clients", s.line("alice", "rw /") + s.line("eve", "r /"));
  REQUIRE(::kill(n.pid(), SIGHUP) == 0);
  REQUIRE(test::eventually([&] {
    client::Client e(as(eve, n.client()));
    auto r = e.get("/a");
    return r.isOk() && r->value == "1";
  }));

  // A file that does not parse changes nothing.
  writeFile(d + "/clients", "this is not a client list\n");
  REQUIRE(::kill(n.pid(), SIGHUP) == 0);
  REQUIRE(test::eventually(
      [&] { return test::slurp(n.logPath()).find("kept as it was") != std::string::npos; }));
  {
    client::Client e(as(eve, n.client()));
    CHECK(e.get("/a").isOk());
  }

  // alice is removed: her open connection keeps its user, which now may do nothing, and a new
  // connection is refused.
  writeFile(d + "/clients", s.line("eve", "r /"));
  REQUIRE(::kill(n.pid(), SIGHUP) == 0);
  REQUIRE(test::eventually([&] {
    auto r = a.get("/a");
    return !r.isOk() && r.status().code() == wire::Err::kPermission;
  }));
  refusedAtOnce(alice, n.client(), "authentication refused");
}

TEST_CASE(
    "CURVE: a reload that narrows a user's grants ends its feed connections and its parked "
    "WAITs, and it subscribes again under the new ones. One with the same grants ends nothing, one "
    "that removes a key ends the feed's connections",
    "[integration][security]") {
  SecureNode s({{"alice", "r /app/"}, {"bob", "admin /"}, {"spare", ""}});
  const test::NodeProcess& n = *s.node;
  const wire::KeyPair &alice = s.key["alice"], &bob = s.key["bob"];
  client::Client b(as(bob, n.client()));
  // alice follows everything with a plain SUB (which reconnects on its own, subscribing again),
  // and a monitor that tells when its connection ends.
  RawSub alices(n.events(), alice, "", true);
  REQUIRE(zmq_socket_monitor(alices.sub.handle(), "inproc://alices-sub", ZMQ_EVENT_DISCONNECTED) ==
          0);
  zmq::socket_t monitor(alices.ctx, zmq::socket_type::pair);
  monitor.set(zmq::sockopt::linger, 0);
  monitor.connect("inproc://alices-sub");
  REQUIRE(test::eventually([&] {
    alices.collect(100);
    return alices.heard(std::string(wire::kHeartbeatTopic));
  }));
  REQUIRE(b.set("/app/b/0", "x", -1).isOk());
  REQUIRE(b.set("/app/a/0", "x", -1).isOk());  // written last: once heard, all before it was
  REQUIRE(test::eventually([&] {
    alices.collect(100);
    return alices.heard("/app/a/0");
  }));
  CHECK(alices.heard("/app/b/0"));

  // A WAIT of hers on /app/b/, parked: a NOP sent after it on the same connection is answered
  // first.
  zmq::context_t ctx;
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  auto target = client::secureSocket(dealer, n.client(), alice, "");
  REQUIRE(target.isOk());
  dealer.connect(*target);
  auto send = [&](const wire::Request& q) {
    dealer.send(zmq::message_t(), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(wire::encodeRequest(q)), zmq::send_flags::none);
  };
  auto receive = [&](int ms) -> std::optional<wire::Reply> {
    dealer.set(zmq::sockopt::rcvtimeo, ms);
    zmq::message_t empty, body;
    if (!dealer.recv(empty, zmq::recv_flags::none)) return std::nullopt;
    REQUIRE(empty.more());
    REQUIRE(dealer.recv(body, zmq::recv_flags::none));
    auto r = wire::decodeReply(body.to_string_view());
    REQUIRE(r.isOk());
    return *r;
  };
  wire::Request wait;
  wait.verb = wire::Verb::kWait;
  wait.path = "/app/b/**";
  wait.rev = *b.rev() + 1;
  wait.timeoutMs = 60000;
  send(wait);
  wire::Request nop;
  nop.verb = wire::Verb::kNop;
  send(nop);
  auto first = receive(5000);
  REQUIRE(first);
  REQUIRE(first->err == wire::Err::kOk);  // the NOP's: the WAIT is parked

  // And a Watcher of hers on /app/b/, which has delivered a change.
  client::WatchOptions wo;
  wo.endpoints = {n.client()};
  wo.glob = "/app/b/**";
  wo.key = alice;
  wo.fromRev = 1;
  client::Watcher w(wo);
  REQUIRE(test::eventually([&] {
    auto got = w.next(std::chrono::milliseconds(200));
    REQUIRE(got.isOk());
    return *got && (*got)->kind == client::Notice::Kind::kChange;
  }));

  // A reload that grants the same (a second key for alice, whose grant hers covers, hers written
  // twice, the lines in another order) ends nothing: her SUB hears the next change on the
  // connection it had.
  const std::string spare = s.key["spare"].publicKey + " alice r /app/b/\n";
  writeFile(s.d + "/clients",
            s.line("bob", "admin /") + spare + s.line("alice", "r /app/ r /app/"));
  REQUIRE(::kill(n.pid(), SIGHUP) == 0);
  REQUIRE(test::eventually(
      [&] { return test::slurp(n.logPath()).find("grants as they were") != std::string::npos; }));
  REQUIRE(b.set("/app/c/same", "x", -1).isOk());
  REQUIRE(test::eventually([&] {
    alices.collect(100);
    return alices.heard("/app/c/same");
  }));
  zmq::message_t disconnected;
  CHECK_FALSE(monitor.recv(disconnected, zmq::recv_flags::dontwait).has_value());
  CHECK(test::slurp(n.logPath()).find("the feed closed") == std::string::npos);

  // One that removes that key (her grants as they were) ends the feed's connections: the key may
  // have leaked. Her SUB subscribes again, and hears what it did.
  writeFile(s.d + "/clients", s.line("alice", "r /app/") + s.line("bob", "admin /"));
  REQUIRE(::kill(n.pid(), SIGHUP) == 0);
  REQUIRE(test::eventually(
      [&] { return monitor.recv(disconnected, zmq::recv_flags::dontwait).has_value(); }));
  CHECK(test::slurp(n.logPath()).find("a key was removed") != std::string::npos);
  REQUIRE(test::eventually([&] {
    REQUIRE(b.set("/app/c/again", "x", -1).isOk());
    alices.collect(100);
    return alices.heard("/app/c/again");
  }));

  // Her grants shrink to /app/a/.
  alices.topics.clear();
  writeFile(s.d + "/clients", s.line("alice", "r /app/a/") + s.line("bob", "admin /"));
  REQUIRE(::kill(n.pid(), SIGHUP) == 0);
  // Her parked WAIT is answered at once: she may no longer watch /app/b/.
  auto waited = receive(5000);
  REQUIRE(waited);
  CHECK(waited->err == wire::Err::kPermission);
  CHECK(waited->detail.find("alice may not watch all of /app/b/**") != std::string::npos);
  // Her feed connection is closed by the node...
  REQUIRE(test::eventually([&] {
    zmq::message_t event;
    return monitor.recv(event, zmq::recv_flags::dontwait).has_value();
  }));
  // ... and her SUB, subscribed again, gets /app/a/ and nothing else of /app/ from then on.
  int k = 0;
  REQUIRE(test::eventually([&] {
    ++k;
    REQUIRE(b.set("/app/b/" + std::to_string(k), "x", -1).isOk());
    REQUIRE(b.set("/app/a/" + std::to_string(k), "x", -1).isOk());
    alices.collect(100);
    return alices.heard("/app/a/" + std::to_string(k));
  }));
  for (const std::string& t : alices.topics) {
    INFO(t);
    CHECK((t.rfind("/app/a/", 0) == 0 || t == wire::kHeartbeatTopic));
  }
  // The Watcher, cut off, connects again and is refused its fill: it ends with PERMISSION.
  auto got = w.next(std::chrono::milliseconds(10000));
  while (got.isOk() && *got)
    got = w.next(std::chrono::milliseconds(10000));
  REQUIRE_FALSE(got.isOk());
  CHECK(got.status().code() == wire::Err::kPermission);
}

TEST_CASE("CURVE: with no ZAP handler every connection is refused, listed keys too",
          "[integration][security]") {
  SecureNode s({{"alice", "admin /"}}, {"--debug-no-zap"});
  const test::NodeProcess& n = *s.node;
  const wire::KeyPair& alice = s.key["alice"];
  refusedAtOnce(alice, n.client(), "the security handshake", wire::Err::kUnavailable);
  RawSub feed(n.events(), alice, "");
  feed.collect(1500);
  CHECK(feed.topics.empty());
}

TEST_CASE("CURVE: key files that others may read are refused, by cairnd and by cairn",
          "[integration][security]") {
  test::TempDir dir;
  const std::string d = dir.path();
  const wire::KeyPair node = keyFile(d + "/node.key");
  const wire::KeyPair alice = keyFile(d + "/alice.key");
  REQUIRE(::chmod((d + "/node.key").c_str(), 0644) == 0);
  auto r = test::runProgram({CAIRND_BIN, "--data", d + "/n", "--key", d + "/node.key"});
  CHECK(r.code == 1);
  CHECK(r.err.find("is open to others (mode 0644)") != std::string::npos);
  CHECK(r.err.find("chmod 600") != std::string::npos);
  REQUIRE(::chmod((d + "/node.key").c_str(), 0600) == 0);

  REQUIRE(::chmod((d + "/alice.key").c_str(), 0640) == 0);
  r = test::runProgram({CAIRN_BIN, "--key", d + "/alice.key", "--server-key", node.publicKey,
                        "--addr", "127.0.0.1:1", "get", "/a"});
  CHECK(r.code == 2);
  CHECK(r.err.find("is open to others (mode 0640)") != std::string::npos);

  // A client list with a mistake names its line (a key a character too long: one a character
  // short could start with '#', which Z85 uses, and make the line a comment).
  writeFile(d + "/clients",
            alice.publicKey + " alice rw /a/\n" + "A" + alice.publicKey + " bob r /\n");
  r = test::runProgram(
      {CAIRND_BIN, "--data", d + "/n", "--key", d + "/node.key", "--clients", d + "/clients"});
  CHECK(r.code == 1);
  CHECK(r.err.find(d + "/clients line 2") != std::string::npos);

  // cairn keygen makes the file it writes its owner's alone.
  r = test::runProgram(
      {"/bin/sh", "-c", std::string(CAIRN_BIN) + " keygen > " + d + "/k.key 2> " + d + "/k.pub"});
  REQUIRE(r.code == 0);
  struct stat st;
  REQUIRE(::stat((d + "/k.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto pair = wire::readSecretKeyFile(d + "/k.key");
  REQUIRE(pair.isOk());
  CHECK(*wire::readPublicKey(d + "/k.pub") == pair->publicKey);
}

TEST_CASE(
    "CURVE: a 3-node cluster runs encrypted, and a stranger's key or a plain-text node cannot "
    "join its mesh or disturb it",
    "[integration][security]") {
  test::TempDir dir;
  const std::string d = dir.path();
  std::vector<wire::KeyPair> keys;
  std::vector<std::string> peers;
  std::string list;
  for (int i = 1; i <= 3; ++i) {
    keys.push_back(keyFile(d + "/n" + std::to_string(i) + ".key"));
    peers.push_back("tcp://127.0.0.1:" + std::to_string(test::freePort()));
    list += (i > 1 ? "," : "") + std::to_string(i) + "=" +
            wire::keyedEndpoint(peers.back(), keys.back().publicKey);
  }
  const wire::KeyPair bob = keyFile(d + "/bob.key");
  writeFile(d + "/clients", bob.publicKey + " bob admin /\n");
  // Node `i` on data directory `name`, with key file `key` ("": plain text).
  auto start = [&](int i, const std::string& name, const std::string& key,
                   const std::string& cluster) {
    std::vector<std::string> args = {"--id", std::to_string(i), "--cluster", cluster};
    if (!key.empty()) args.insert(args.end(), {"--key", key, "--clients", d + "/clients"});
    return std::make_unique<test::NodeProcess>(d + "/" + name, args);
  };
  std::vector<std::unique_ptr<test::NodeProcess>> nodes;
  for (int i = 1; i <= 3; ++i) {
    const std::string n = "n" + std::to_string(i);
    nodes.push_back(start(i, n, d + "/" + n + ".key", list));
  }
  const std::string all = nodes[0]->client() + "," + nodes[1]->client() + "," + nodes[2]->client();
  client::Client b(as(bob, all));
  REQUIRE(test::eventually([&] { return b.set("/a", "1", -1).isOk(); }));
  auto revAt = [&](test::NodeProcess& n, const std::optional<wire::KeyPair>& key) {
    client::Options o = as(key, n.client());
    o.localReads = true;
    o.attempts = 1;
    client::Client c(o);
    auto r = c.rev();
    return r.isOk() ? *r : -1;
  };
  const std::int64_t head = *b.rev();
  for (auto& n : nodes)
    REQUIRE(test::eventually([&] { return revAt(*n, bob) >= head; }));

  // A stranger on node 3's peer endpoint, with a key of its own: nodes 1 and 2 refuse its
  // connections, and their connections to it fail (it cannot prove node 3's key).
  nodes[2].reset();
  const wire::KeyPair stranger = keyFile(d + "/stranger.key");
  std::string forged =
      list.substr(0, list.find(",3=")) + ",3=" + wire::keyedEndpoint(peers[2], stranger.publicKey);
  auto s = start(3, "stranger", d + "/stranger.key", forged);
  for (int i = 0; i < 5; ++i)
    REQUIRE(b.set("/b/" + std::to_string(i), "x", -1).isOk());
  REQUIRE(test::eventually([&] {
    return test::slurp(nodes[0]->logPath()).find("in cairn-peer: key of no member") !=
           std::string::npos;
  }));
  CHECK(revAt(*s, stranger) == 0);  // its own key lets it ask itself: it learned nothing
  s.reset();

  // A node in plain text on the same endpoint: refused before any ZAP question.
  std::string plain;
  for (int i = 1; i <= 3; ++i)
    plain += (i > 1 ? "," : "") + std::to_string(i) + "=" + peers[static_cast<std::size_t>(i - 1)];
  auto p = start(3, "plain", "", plain);
  for (int i = 0; i < 5; ++i)
    REQUIRE(b.set("/c/" + std::to_string(i), "x", -1).isOk());
  CHECK(revAt(*p, std::nullopt) == 0);
  p.reset();

  // Node 3 itself comes back and catches up.
  nodes[2] = start(3, "n3", d + "/n3.key", list);
  const std::int64_t now = *b.rev();
  REQUIRE(test::eventually([&] { return revAt(*nodes[2], bob) >= now; }, 15000));
}

TEST_CASE(
    "CURVE: a lease is its granter's: another user can neither write in its session, read its "
    "replies, keep files with it, keep it alive nor revoke it",
    "[integration][security]") {
  SecureNode s({{"alice", "rw /app/"}, {"mallory", "rw /app/"}});
  const test::NodeProcess& n = *s.node;
  const wire::KeyPair &alice = s.key["alice"], &mallory = s.key["mallory"];
  const std::string& d = s.d;
  client::Client a(as(alice, n.client()));
  client::Client m(as(mallory, n.client()));

  auto lease = a.grant(std::chrono::seconds(30));
  INFO(lease.status().toString());
  REQUIRE(lease.isOk());
  const auto id = static_cast<std::int64_t>(*lease);
  REQUIRE(a.set("/app/alice", "kept", -1, *lease).isOk());
  // Alice's write 1 in her session (a lease she granted), with a TXN get whose reply the
  // session keeps.
  wire::Request w;
  w.verb = wire::Verb::kTxn;
  wire::Txn t;
  t.then = {wire::TxnOp::set("/app/one", "1"), wire::TxnOp::get("/app/alice")};
  w.txn = t;
  w.session = id;
  w.seq = 1;
  auto first = a.call(w);
  REQUIRE(first.isOk());
  REQUIRE(first->status().isOk());

  auto refused = [&](wire::Request q, const std::string& says) {
    auto r = m.call(q);  // (an error reply comes back as the Result's status)
    const wire::Status st = r ? r->status() : r.status();
    INFO(says);
    INFO(st.toString());
    CHECK(st.code() == wire::Err::kPermission);
    CHECK(st.detail().find(says) != std::string::npos);
    if (r) CHECK_FALSE(r->results);  // no TXN results: nothing of alice's reply
  };
  // Mallory resends write 1 (to be answered with alice's reply) and sends write 2 first (to have
  // alice's own write 2 answered unapplied).
  refused(w, "mallory may not write in session lease " + std::to_string(id));
  wire::Request w2;
  w2.verb = wire::Verb::kSet;
  w2.path = "/app/two";
  w2.value = "mallory";
  w2.rev = -1;
  w2.session = id;
  w2.seq = 2;
  refused(w2, "may not write in session");
  wire::Request keep;
  keep.verb = wire::Verb::kSet;
  keep.path = "/app/mallory";
  keep.value = "x";
  keep.rev = -1;
  keep.lease = id;
  refused(keep, "may not keep files with lease");
  wire::Request txn;
  txn.verb = wire::Verb::kTxn;
  wire::Txn kt;
  kt.then = {wire::TxnOp::set("/app/mallory", "x", -1, *lease)};
  txn.txn = kt;
  refused(txn, "may not keep files with lease");
  for (wire::Verb v : {wire::Verb::kKeepalive, wire::Verb::kLease, wire::Verb::kRevoke}) {
    wire::Request q;
    q.verb = v;
    q.lease = id;
    refused(q, "lease " + std::to_string(id) + ": another user's GRANT made it");
  }

  // Alice's session and lease are as she left them: write 2 is applied now, the lease keeps only
  // her file, and she keeps it alive and revokes it.
  w2.value = "alice";
  auto second = a.call(w2);
  REQUIRE(second.isOk());
  REQUIRE(second->status().isOk());
  CHECK(a.get("/app/two")->value == "alice");
  CHECK(a.get("/app/mallory")->rev == 0);
  auto info = a.lease(*lease);
  REQUIRE(info.isOk());
  REQUIRE(info->entries);
  REQUIRE(info->entries->size() == 1);
  CHECK(info->entries->at(0).path == "/app/alice");
  // The CLI says so at once, and does not retry (its keep-alive loop once took PERMISSION for a
  // node that could not answer, and asked until the lease expired).
  const std::string mkey = d + "/mallory.key";
  for (const char* verb : {"keepalive", "show", "revoke"}) {
    auto r = test::runProgram({CAIRN_BIN, "--key", mkey, "--addr", n.client(), "--timeout", "2000",
                               "lease", verb, std::to_string(id)});
    INFO(verb << ": " << r.err);
    CHECK(r.code != 0);
    CHECK(r.err.find("another user's GRANT made it (PERMISSION)") != std::string::npos);
  }
  CHECK(a.keepAlive(*lease).isOk());
  CHECK(a.revoke(*lease).isOk());
  CHECK(a.get("/app/alice")->rev == 0);
}
