// Writes the fuzz targets' seed corpora: a handful of valid inputs per target, made with the
// codecs' own encoders, into DIR/<target>/ (tests/fuzz/corpus/ in the repository). Built only with
// CAIRN_FUZZ:  build-fuzz/tests/fuzz_corpus tests/fuzz/corpus

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "store/crc32c.h"
#include "store/snapshot.h"
#include "store/store.h"
#include "store/wal.h"
#include "wire/codec.h"
#include "wire/command.h"
#include "wire/membership.h"
#include "wire/peer.h"
#include "wire/txn.h"

using namespace cairn;
namespace fs = std::filesystem;

namespace {

std::string root;

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(root + "/" + target);
  std::ofstream f(root + "/" + target + "/" + name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string walRecord(std::uint64_t index, const std::string& payload) {
  char h[store::kWalHeaderBytes];
  const auto len = static_cast<std::uint32_t>(payload.size());
  std::memcpy(h + 4, &len, 4);
  std::memcpy(h + 8, &index, 8);
  const std::uint32_t crc = store::crc32c(payload, store::crc32c(std::string_view(h + 4, 12)));
  std::memcpy(h, &crc, 4);
  return std::string(h, sizeof h) + payload;
}

wire::Txn sampleTxn() {
  wire::Txn t;
  t.compares.push_back(wire::Compare::revIs("/a", 3, wire::Compare::Cmp::kLt));
  t.compares.push_back(wire::Compare::valueIs("/b", "x"));
  t.compares.push_back(wire::Compare::existsIs("/c", false));
  t.then.push_back(wire::TxnOp::set("/a", "1", 0, 2));
  t.then.push_back(wire::TxnOp::get("/b"));
  t.otherwise.push_back(wire::TxnOp::del("/b", 4));
  t.otherwise.push_back(wire::TxnOp::delTree("/d"));
  return t;
}

wire::Batch sampleBatch() {
  wire::Batch b;
  b.origin = 2;
  b.incarnation = 99;
  wire::Command set;
  set.op = wire::Command::Op::kSet;
  set.path = "/config/db";
  set.value = "postgres://db1";
  b.items.push_back({1, set});
  wire::Command grant;
  grant.op = wire::Command::Op::kGrant;
  grant.ttl = 5000;
  grant.session = 3;
  grant.seq = 9;
  b.items.push_back({2, grant});
  wire::Command txn;
  txn.op = wire::Command::Op::kTxn;
  txn.txn = std::make_shared<const wire::Txn>(sampleTxn());
  b.items.push_back({3, txn});
  return b;
}

wire::Membership sampleMembers() {
  wire::Membership m = wire::votersOnly(0xabcdef, {1, 2, 3});
  m.version = 4;
  m.nextId = 5;
  m.members[0].peer = "tcp://127.0.0.1:7100";
  m.members[0].client = "tcp://127.0.0.1:7101";
  m.members[0].events = "tcp://127.0.0.1:7102";
  wire::Member l;
  l.id = 4;
  l.voter = false;
  l.observer = true;
  l.peer = "tcp://127.0.0.1:7400";
  m.members.push_back(l);
  return m;
}

void requests() {
  wire::Request r;
  r.verb = wire::Verb::kTxn;
  r.txn = sampleTxn();
  r.tag = "\x07";
  r.session = 3;
  r.seq = 1;
  put("request", "txn", wire::encodeRequest(r));
  wire::Request j;
  j.verb = wire::Verb::kJoin;
  j.peer = "tcp://127.0.0.1:7400";
  j.client = "tcp://127.0.0.1:7401";
  j.observer = true;
  put("request", "join", wire::encodeRequest(j));
  wire::Reply w;
  w.rev = 12;
  w.entries.emplace();
  wire::Entry e;
  e.path = "/a/b";
  e.rev = 11;
  e.value = "v";
  w.entries->push_back(e);
  w.next = "/a/b";
  w.tag = "\x07";
  put("request", "reply-walk", wire::encodeReply(w));
  wire::Reply self;
  self.id = 1;
  self.role = "leader";
  self.stats = std::vector<wire::Counter>{{"writes", 10}, {"reads", 3}};
  self.members = std::vector<wire::MemberInfo>{{1, "voter", "tcp://a", "tcp://b", "tcp://c", 7}};
  put("request", "reply-self", wire::encodeReply(self));
  put("request", "reply-error",
      wire::encodeReply(wire::Reply::error(wire::Err::kRevMismatch, "rev 3 < 4")));
}

void peers() {
  wire::PeerMessage a;
  a.cluster = 0xabcdef;
  a.from = 1;
  a.to = 2;
  a.type = wire::PeerMessage::Type::kAccept;
  a.ballot = {3, 1};
  a.commit = 10;
  a.entries.push_back(wire::Slot{11, {3, 1}, wire::encodeBatch(sampleBatch())});
  a.entries.push_back(wire::Slot{12, {3, 1}, wire::encodeMembership(sampleMembers())});
  put("peer", "accept", wire::encodePeer(a));
  wire::PeerMessage p = a;
  p.type = wire::PeerMessage::Type::kPromise;
  p.learned = 9;
  p.entries.resize(1);
  put("peer", "promise", wire::encodePeer(p));
  wire::PeerMessage pr = a;
  pr.type = wire::PeerMessage::Type::kPrepare;
  pr.entries.clear();
  put("peer", "prepare", wire::encodePeer(pr));
  wire::NodeMessage f;
  f.cluster = 0xabcdef;
  f.from = 2;
  f.to = 1;
  f.type = wire::NodeMessage::Type::kForward;
  f.value = wire::encodeBatch(sampleBatch());
  put("peer", "forward", wire::encodePeer(f));
  wire::NodeMessage c = f;
  c.type = wire::NodeMessage::Type::kSnapshotChunk;
  c.slot = 40;
  c.size = 1 << 20;
  c.fileCrc = 0x12345678;
  c.commit = 4096;
  c.value = "CAIRNSNP chunk bytes";
  c.crc = store::crc32c(c.value);
  put("peer", "chunk", wire::encodePeer(c));
  wire::NodeMessage k = c;
  k.type = wire::NodeMessage::Type::kSnapshotAck;
  k.value.clear();
  k.crc = 0;
  put("peer", "ack", wire::encodePeer(k));
  wire::NodeMessage ri = f;
  ri.type = wire::NodeMessage::Type::kReadIndexOk;
  ri.value.clear();
  ri.slot = 5;
  ri.commit = 17;
  put("peer", "read-index-ok", wire::encodePeer(ri));
}

void logValues() {
  put("log_value", "batch", wire::encodeBatch(sampleBatch()));
  put("log_value", "txn", wire::encodeTxn(sampleTxn()));
  put("log_value", "members", wire::encodeMembership(sampleMembers()));
  put("log_value", "command", wire::encodeCommand(sampleBatch().items[1].cmd));
  put("log_value", "command-txn", wire::encodeCommand(sampleBatch().items[2].cmd));
  wire::Command owned = sampleBatch().items[1].cmd;
  owned.user = "alice";
  put("log_value", "command-user", wire::encodeCommand(owned));
  put("log_value", "slot", wire::encodeSlot(wire::Slot{7, {2, 3}, "value"}));
}

void wal() {
  std::string seg;
  seg +=
      walRecord(7, "A" + wire::encodeSlot(wire::Slot{5, {1, 1}, wire::encodeBatch(sampleBatch())}));
  seg += walRecord(8, std::string("P") + "\x92\x02\x01");
  seg += walRecord(9, std::string("L") + "\x05");
  seg += walRecord(10, std::string("C") + "\x92\x05\x07");
  // Mode 2: a raw last segment; 6: its first index known; 10: with the preallocated zeros.
  put("wal", "segment", std::string("\x02", 1) + seg);
  put("wal", "segment-zeros", std::string("\x0a", 1) + seg + std::string(48, '\0'));
  put("wal", "torn-tail", std::string("\x06", 1) + seg + walRecord(11, "Atorn").substr(0, 12));
  // Mode 3: records this target checksums itself ([len][flags][payload]), then a raw tail.
  std::string structured("\x03", 1);
  for (const char* p : {"Aone", "P\x92\x01\x01", "Lx"}) {
    structured += static_cast<char>(std::strlen(p));
    structured += '\0';
    structured += p;
  }
  put("wal", "structured", structured);
  // Every kind of record the replica reads (node/wal_records.h): 'I' voids the 'A' before it.
  std::string kinds("\x03", 1);
  for (const std::string& p :
       {std::string("P\x92\x02\x01"), "A" + wire::encodeSlot(wire::Slot{3, {1, 1}, "v"}),
        std::string("I\x04"), std::string("C\x92\x05\x07"), std::string("C\x05"),
        std::string("L\x05")}) {
    kinds += static_cast<char>(p.size());
    kinds += '\0';
    kinds += p;
  }
  put("wal", "record-kinds", kinds);
  put("wal", "structured-torn",
      structured + std::string("\x09\x02"
                               "Aspoiled!",
                               11));
}

void snapshots() {
  store::Store st;
  std::uint64_t index = 1;
  auto cmd = [&](wire::Command c) { (void)st.apply(index++, c); };
  wire::Command set;
  set.op = wire::Command::Op::kSet;
  for (const char* p : {"/a", "/b/c", "/b/d/e", "/config/db/url"}) {
    set.path = p;
    set.value = std::string("value of ") + p;
    cmd(set);
  }
  const std::string v1 = store::encodeSnapshot(st.image());
  st.setMembers(index++, wire::encodeMembership(sampleMembers()));
  const std::string v2 = store::encodeSnapshot(st.image());
  wire::Command grant;
  grant.op = wire::Command::Op::kGrant;
  grant.ttl = 5000;
  cmd(grant);
  set.path = "/locks/x";
  set.lease = 1;
  cmd(set);
  const std::string v3 = store::encodeSnapshot(st.image());
  set.path = "/s";
  set.lease = 0;
  set.session = 1;
  set.seq = 1;
  cmd(set);
  const std::string v4 = store::encodeSnapshot(st.image());
  grant.user = "alice";  // an owned lease: version 5
  cmd(grant);
  const std::string v5 = store::encodeSnapshot(st.image());
  // Mode 1: the bytes between the magic and the checksum; mode 0: the whole file.
  auto body = [](const std::string& f) { return "\x01" + f.substr(8, f.size() - 12); };
  put("snapshot", "v1", body(v1));
  put("snapshot", "v2", body(v2));
  put("snapshot", "v3", body(v3));
  put("snapshot", "v4", body(v4));
  put("snapshot", "v4-file", std::string("\x00", 1) + v4);
  put("snapshot", "v5", body(v5));
  // fuzz_snapshot_transfer: [mode][seed][the file after its magic]. Mode 0x79: chunks of 16 bytes
  // in a drawn order; 0x7f: with damaged chunks and another snapshot's; 0x02: raw chunk frames.
  put("snapshot_transfer", "v1-in-order", std::string("\x79\x01", 2) + body(v1).substr(1));
  put("snapshot_transfer", "v4-damaged", std::string("\x7f\x05", 2) + body(v4).substr(1));
  std::string frames("\x02\x00", 2);
  for (std::uint64_t off = 0; off < v1.size(); off += 40) {
    wire::NodeMessage m;
    m.cluster = 7;
    m.from = 1;
    m.to = 2;
    m.type = wire::NodeMessage::Type::kSnapshotChunk;
    m.slot = 40;
    m.size = v1.size();
    std::memcpy(&m.fileCrc, v1.data() + v1.size() - 4, 4);
    m.commit = off;
    m.value = v1.substr(off, 40);
    const std::string f = wire::encodePeer(m);
    frames += static_cast<char>(f.size());
    frames += f;
  }
  put("snapshot_transfer", "v1-frames", frames);
}

void feed() {
  wire::Event e;
  e.rev = 12;
  e.path = "/config/db";
  e.op = "set";
  e.value = "postgres://db1";
  e.prev = {{"/", 11}, {"/config/", 9}};
  auto frame = [](const std::string& topic, const std::string& body) {
    return std::string(1, static_cast<char>(topic.size())) + topic + body;
  };
  put("feed", "event", frame(e.path, wire::encodeEvent(e)));
  e.op = "del";
  e.value.clear();
  e.i = 1;
  e.n = 3;
  e.prev.clear();
  put("feed", "event-of-three", frame(e.path, wire::encodeEvent(e)));
  wire::Heartbeat h;
  h.rev = 12;
  h.id = 1;
  h.boot = 777;
  h.seq = 4;
  h.leader = 1;
  h.last = {{"/config/", 12}};
  put("feed", "heartbeat", frame(std::string(wire::kHeartbeatTopic), wire::encodeHeartbeat(h)));
  h.partial = true;
  h.last.clear();
  put("feed", "heartbeat-partial",
      frame(std::string(wire::kHeartbeatTopic), wire::encodeHeartbeat(h)));
}

void viewer() {
  put("viewer", "getdir", R"({"id":1,"op":"getdir","path":"/config","limit":50})");
  put("viewer", "walk", R"({"id":2,"op":"walk","glob":"/config/**","after":"/config/a"})");
  put("viewer", "get", R"({"id":3,"op":"get","path":"/config/db/url"})");
  put("viewer", "history", R"({"id":4,"op":"history","path":"/a","limit":200})");
  put("viewer", "bad-op", R"({"id":5,"op":"set","path":"/a","value":"\u00e9\ud83d\ude00"})");
  put("viewer", "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_corpus DIR\n");
    return 2;
  }
  root = argv[1];
  requests();
  peers();
  logValues();
  wal();
  snapshots();
  feed();
  viewer();
  return 0;
}
