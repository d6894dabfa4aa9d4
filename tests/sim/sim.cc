// Deterministic simulation of Cairn clusters: real replicas (node::Replica: the consensus core,
// its group commit and its early sends) on in-memory logs (store::MemoryLog) and real stores, on
// a seeded fake network that drops, duplicates, reorders and delays messages, partitions and
// heals, and crashes nodes, which restart from what their logs had synced (and their snapshots)
// only.
//
// Disk faults: a node's next fdatasync may be made to fail. Most often that is a crash inside the
// sync — the messages Replica::drain sent early (a leader's accepts, forwarded batches) are
// already on the network, the records it was syncing are lost or torn, and the node restarts
// later; in some seeds it is an EIO, after which the node stops until the end of the run. Any
// crash keeps a random prefix of the records not yet synced (a torn tail).
//
// Each seed keeps 0, 3 or 20 log slots behind every snapshot (Replica's retain), so restarts find
// a log kept behind their snapshot to serve, and followers catch up from it or by a snapshot.
//
// Membership changes: now and then the leader is asked to add a learner (a fresh node with an
// empty disk, the id the configuration hands out next), promote a learner, or remove a member —
// a follower or itself (it hands over). Nodes a change removed keep running: they must not
// disturb the others.
//
// After every step: at most one value is chosen per slot, every node applies chosen slots in
// order, what a node's log holds as chosen (what it would serve a follower) was chosen, every
// leader leads its own ballot and no two lead the same one, and each chosen configuration is one
// change from the one before, so every majority of the old voters meets every majority of the
// new. At the end of each seed (after healing everything): every acknowledged write is chosen,
// every member of the final configuration has applied the same log, and their stores are equal. A
// failing seed prints itself; `cairn_sim --seed S
// --verbose` replays it exactly.
//
//   cairn_sim [--seeds N] [--start S] [--seed S] [--nodes 3|5] [--steps K] [--verbose]

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "node/applier.h"
#include "node/leases.h"
#include "node/paxos/core.h"
#include "node/replica.h"
#include "node/snapshot_transfer.h"
#include "store/crc32c.h"
#include "store/memory_log.h"
#include "store/snapshot.h"
#include "store/store.h"
#include "wire/cli/flags.h"
#include "wire/command.h"
#include "wire/membership.h"
#include "wire/peer.h"

namespace {

using cairn::node::Replica;
using cairn::paxos::Config;
using cairn::paxos::Core;
using cairn::store::MemoryLog;
using cairn::store::WalRecord;
using cairn::wire::Ballot;
using cairn::wire::Command;
using cairn::wire::Err;
using cairn::wire::NodeMessage;
using cairn::wire::PeerFrame;
using cairn::wire::PeerMessage;
using cairn::wire::Slot;
using cairn::wire::Status;

using cairn::node::ChunkReceiver;
using cairn::node::ChunkSender;
using cairn::node::SnapshotId;

// A receiver's "file": the bytes of the snapshot in progress, kept in memory.
struct MemorySink : cairn::node::ChunkSink {
  std::string bytes;
  Status begin(const SnapshotId&) override {
    bytes.clear();
    return Status::ok();
  }
  Status append(std::string_view b) override {
    bytes.append(b);
    return Status::ok();
  }
  Status finish(const SnapshotId&) override { return Status::ok(); }
};

// A leader's transfer to one peer, as SnapshotSender runs it: the bytes of the snapshot it began
// with (cairnd holds that file open, even after a newer snapshot deletes it).
struct Sending {
  std::string bytes;
  ChunkSender sender;
};

SnapshotId idOf(const std::string& snapshot, std::uint64_t slot) {
  SnapshotId id{slot, snapshot.size(), 0};
  std::memcpy(&id.crc, snapshot.data() + snapshot.size() - 4, 4);
  return id;
}

struct Failure {
  std::string why;
};

// The disk fault armed on a node's log for its next sync.
enum class SyncFault { kNone, kCrash, kEio };

struct SimNode {
  std::uint32_t id = 0;
  bool up = true;
  bool stopped = false;  // its disk failed (EIO): down until the run heals everything
  std::unique_ptr<Replica> replica;
  MemoryLog* log = nullptr;  // the replica's log (the replica owns it)
  SyncFault armed = SyncFault::kNone;
  // The node's disk while it is down: the log records that survived the crash.
  std::vector<WalRecord> disk;
  std::string snapshot;  // the newest durable snapshot of the store (empty: none)
  std::uint64_t snapshotSlot = 0;
  // A snapshot being written: beginCheckpoint(cutSlot) ran; finishCheckpoint waits for a later
  // step, as cairnd's snapshot thread does. A crash loses it.
  std::string cut;
  std::uint64_t cutSlot = 0;
  // The state machine, rebuilt from the snapshot and the log after each restart: the node's own
  // Applier, the only writer of its store.
  std::unique_ptr<cairn::node::Applier> applier;
  const cairn::store::Store& store() const { return applier->store(); }
  // The leader's lease clock (cairnd's Leases room), on simulated time; lost with the process.
  std::unique_ptr<cairn::node::Leases> leases;
  std::uint64_t applied = 0;
  // Snapshot transfers, lost with the process: the ones it leads, and the one it receives.
  std::map<std::uint32_t, Sending> sending;
  ChunkReceiver receiving;
  MemorySink received;
  int group = 0;  // partition side
};

class Sim {
 public:
  Sim(std::uint64_t seed, int n, int steps, bool verbose)
      : seed_(seed), rng_(seed), steps_(steps), verbose_(verbose) {
    // Every seed crashes nodes inside their syncs now and then; every fifth also fails syncs
    // with EIO.
    eio_ = seed % 5 == 0;
    // Snapshots cross in small chunks, so a transfer takes many messages and meets every fault.
    chunkOpts_.chunk = 16 + rnd(240);
    chunkOpts_.window = 1 + rnd(4);
    chunkOpts_.retryAfter = 20;
    chunkOpts_.giveUpAfter = 2000;
    // Drawn apart from rng_, so that the seeds that keep nothing replay as they did before.
    static constexpr std::uint64_t kRetain[] = {0, 3, 20};
    retain_ = kRetain[std::mt19937_64(seed)() % 3];
    for (int i = 1; i <= n; ++i)
      members_.push_back(static_cast<std::uint32_t>(i));
    configs_[0] = cairn::wire::votersOnly(42, members_);
    everNamed_.insert(members_.begin(), members_.end());
    for (std::uint32_t id : members_) {
      auto nd = std::make_unique<SimNode>();
      nd->id = id;
      nodes_[id] = std::move(nd);
      start(*nodes_[id]);
    }
  }

  void run() {
    for (int s = 0; s < steps_; ++s)
      chaosStep();
    stabilize();
    finalChecks();
  }

  std::uint64_t chosenCount() const { return chosen_.size(); }
  std::uint64_t ackedCount() const { return acked_.size(); }

 private:
  void log(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    if (!verbose_) return;
    va_list ap;
    va_start(ap, fmt);
    std::fprintf(stderr, "[%llu] ", static_cast<unsigned long long>(step_));
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
  }

  std::uint64_t rnd(std::uint64_t n) { return rng_() % n; }

  // How many leases any node has seen granted (clients name ids up to one past it).
  std::uint64_t leasesGranted() const {
    std::uint64_t n = 0;
    for (const auto& [id, nd] : nodes_) {
      if (nd->applier) n = std::max(n, nd->store().nextLease() - 1);
    }
    return n;
  }

  // The node's lease clock on simulated time (a step is 10 ms): a leader in office proposes
  // a REVOKE for each lease whose ttl ran out; any other node keeps no time and proposes nothing.
  void runLeaseClock(SimNode& nd) {
    const cairn::node::Leases::Clock::time_point now{std::chrono::milliseconds(10 * step_)};
    const auto& core = nd.replica->core();
    auto ends = nd.leases->step(
        core.inOffice(), cairn::wire::termOf(core.promised().round, core.promised().node), now);
    if (verbose_ && core.inOffice()) {
      log("n%u in office: term %llx, store's %llx", nd.id,
          static_cast<unsigned long long>(
              cairn::wire::termOf(core.promised().round, core.promised().node)),
          static_cast<unsigned long long>(nd.store().term()));
    }
    for (Command& c : ends) {
      // Only the leader in office decides: a TERM or an expiry names the term of the ballot it
      // leads, and an expiry counts only under that term (a replica's clock never ends a lease).
      if (!core.inOffice() || (c.term & 0xffff) != nd.id ||
          c.term != cairn::wire::termOf(core.promised().round, core.promised().node)) {
        throw Failure{"n" + std::to_string(nd.id) + " proposed a lease " +
                      (c.op == Command::Op::kRevoke ? "expiry" : "term") +
                      " while not the leader in office of that term"};
      }
      if (c.op == Command::Op::kRevoke) ++expiriesProposed_;
      if (c.op == Command::Op::kRevoke) {
        log("n%u proposes the end of lease %llu (expired)", nd.id,
            static_cast<unsigned long long>(c.lease));
      } else {
        log("n%u proposes its term %llx, to keep time for leases", nd.id,
            static_cast<unsigned long long>(c.term));
      }
      nd.replica->propose(std::move(c), 0);
    }
    if (!ends.empty()) drain(nd);
  }

  // A store's leases, to compare replicas: "id:ttl:owner:file,file;...".
  static std::string leaseDump(const cairn::store::Store& st) {
    std::string out;
    for (const auto& [id, l] : st.leases()) {
      out += std::to_string(id) + ":" + std::to_string(l.ttl) + ":" + l.owner + ":";
      for (const auto& f : l.files)
        out += f + ",";
      out += ";";
    }
    return out + "next " + std::to_string(st.nextLease()) + " sessions " + st.sessions().dump();
  }

  void start(SimNode& nd) {
    Config cfg;
    cfg.id = nd.id;
    cfg.members = members_;
    cfg.cluster = 42;
    cfg.electionTicks = 10;
    cfg.heartbeatTicks = 2;
    cfg.seed = seed_ * 1000003 + nd.id * 7919 + restarts_;
    cfg.window = 64;
    cfg.learnBatch = 16;
    auto log = std::make_unique<MemoryLog>(std::move(nd.disk));
    nd.disk.clear();
    nd.log = log.get();
    Replica::Recovered r;
    r.records = log->synced();
    r.log = std::move(log);
    r.store = std::make_unique<cairn::store::Store>();
    if (!nd.snapshot.empty()) {
      auto st = cairn::store::decodeSnapshot(nd.snapshot, cairn::store::Store::Options());
      if (!st) throw Failure{"own snapshot unreadable"};
      r.store = std::make_unique<cairn::store::Store>(std::move(st.value()));
    }
    r.incarnation = rng_() | 1;  // seeded, so that a seed replays byte for byte
    r.retain = retain_;
    auto o = Replica::open(cfg, std::move(r));
    if (!o) {
      throw Failure{"node " + std::to_string(nd.id) +
                    " cannot recover its log: " + o.status().toString()};
    }
    nd.replica = std::move(o->replica);
    nd.applier = std::make_unique<cairn::node::Applier>(std::move(o->store));
    cairn::node::Leases::Hooks lh;
    lh.leader = [&nd] { return nd.replica->core().leader(); };
    lh.clientOf = [](std::uint32_t) { return std::string(); };
    nd.leases = std::make_unique<cairn::node::Leases>(nd.id, nd.store(), std::move(lh));
    nd.applied = nd.store().appliedIndex();
    nd.armed = SyncFault::kNone;
    nd.up = true;
    nd.stopped = false;
    drain(nd);
  }

  // A crash: the process dies, its log keeps the synced records and a random prefix of the rest.
  void crash(SimNode& nd) {
    const std::size_t unsynced = nd.log->unsynced().size();
    const std::size_t keep = unsynced == 0 ? 0 : rnd(unsynced + 1);
    nd.disk = nd.log->survivors(keep);
    log("n%u crashed, keeping %zu of %zu unsynced records", nd.id, keep, unsynced);
    nd.up = false;
    nd.log = nullptr;
    nd.replica.reset();
    nd.applier.reset();
    nd.cut.clear();
    nd.cutSlot = 0;
    nd.sending.clear();
    nd.receiving = ChunkReceiver();
    nd.received = MemorySink();
  }

  // A replica reported a failed sync: only the fault this sim armed may cause one. The node must
  // not go on: a later drain fails too, and it is then crashed (EIO: stopped for the run).
  void diskFailed(SimNode& nd, const Status& s) {
    if (nd.armed == SyncFault::kNone) {
      throw Failure{"node " + std::to_string(nd.id) + " failed unprompted: " + s.toString()};
    }
    if (nd.replica->drain().isOk()) {
      throw Failure{"node " + std::to_string(nd.id) + " drained again after a failed sync"};
    }
    const bool eio = nd.armed == SyncFault::kEio;
    log("n%u sync failed (%s)", nd.id, eio ? "EIO: the node stops" : "it crashes inside it");
    crash(nd);
    nd.stopped = eio;
    ++syncFaults_;
  }

  // Arms, now and then, a fault for the node's next sync.
  void maybeArm(SimNode& nd) {
    if (!faults_ || nd.armed != SyncFault::kNone) return;
    if (rnd(kSyncCrashOdds) == 0) {
      nd.armed = SyncFault::kCrash;
      nd.log->failNextSync(Status(Err::kIo, "simulated crash inside fdatasync"));
    } else if (eio_ && rnd(kSyncEioOdds) == 0) {
      nd.armed = SyncFault::kEio;
      nd.log->failNextSync(Status(Err::kIo, "WAL fdatasync: Input/output error (simulated)"));
    }
  }

  // Runs Replica::drain as cairnd's loop does: early messages go on the network before the
  // fdatasync, the rest after it, then the chosen slots are applied. False when the node stopped.
  bool drain(SimNode& nd) {
    maybeArm(nd);
    auto d = nd.replica->drain(&outbox_);
    if (!d) {
      diskFailed(nd, d.status());
      return false;
    }
    for (PeerMessage& m : d->send)
      net_.push_back(std::move(m));
    for (NodeMessage& m : d->forward)
      net_.push_back(std::move(m));
    std::size_t next = 0;  // into d->chosen, which follows d->slots
    for (const Slot& s : d->slots)
      apply(nd, s, d->chosen, &next);
    // Linearizable reads: a read point must cover every write acknowledged before the read was
    // asked for.
    for (const auto& rs : d->reads) {
      auto it = reads_.find(rs.ctx);
      if (it == reads_.end()) throw Failure{"a read point nobody asked for"};
      if (rs.index < it->second) {
        throw Failure{"stale read: read point " + std::to_string(rs.index) +
                      " misses a write acknowledged at slot " + std::to_string(it->second)};
      }
      reads_.erase(it);
      ++readsConfirmed_;
    }
    for (const auto& rs : d->readsLost)
      reads_.erase(rs.ctx);
    checkLog(nd);
    // Catch-up past a compacted log: send the newest snapshot in chunks, as cairnd does.
    for (std::uint32_t to : d->snapshotTo) {
      if (nd.sending.count(to)) continue;  // under way
      if (nd.snapshot.empty()) throw Failure{"a snapshot asked for, and none was ever taken"};
      nd.sending.emplace(to, Sending{nd.snapshot, ChunkSender(idOf(nd.snapshot, nd.snapshotSlot),
                                                              chunkOpts_, step_)});
      log("n%u begins sending its snapshot at %llu to n%u", nd.id,
          static_cast<unsigned long long>(nd.snapshotSlot), to);
      pump(nd, to);
    }
    return true;
  }

  // Every value the node's log holds in its chosen prefix, the log kept behind its snapshot
  // included, is the value chosen there: it is what a Learn would send.
  void checkLog(const SimNode& nd) {
    const Core& c = nd.replica->core();
    for (const Slot& s : c.acceptedFrom(c.compacted() + 1)) {
      if (s.slot > c.learned()) break;
      auto it = chosen_.find(s.slot);
      if (it == chosen_.end() || it->second != s.value) {
        throw Failure{"node " + std::to_string(nd.id) + " holds as chosen at slot " +
                      std::to_string(s.slot) + " a value that was not chosen there"};
      }
    }
  }

  void apply(SimNode& nd, const Slot& s, const std::vector<cairn::node::Chosen>& cmds,
             std::size_t* next) {
    if (s.slot != nd.applied + 1) {
      throw Failure{"node " + std::to_string(nd.id) + " got slot " + std::to_string(s.slot) +
                    " after " + std::to_string(nd.applied)};
    }
    auto it = chosen_.find(s.slot);
    if (it == chosen_.end()) {
      chosen_[s.slot] = s.value;
      if (cairn::wire::isMembershipValue(s.value)) checkChange(s.slot, s.value);
    } else if (it->second != s.value) {
      throw Failure{"two values chosen for slot " + std::to_string(s.slot)};
    }
    nd.applied = s.slot;
    std::vector<cairn::node::Chosen> slot;
    for (; *next < cmds.size() && cmds[*next].slot == s.slot; ++*next)
      slot.push_back(cmds[*next]);
    if (slot.empty()) slot.push_back(cairn::node::Chosen{s.slot, Command{}, 0, {}});  // a no-op
    // The node that proposed a command acknowledges it to its client once it applies it.
    for (const auto& o : nd.applier->apply(slot).outcomes) {
      auto p = proposedBy_.find(o.proposal);
      if (p == proposedBy_.end() || p->second != nd.id) {
        throw Failure{"node " + std::to_string(nd.id) + " claims proposal " +
                      std::to_string(o.proposal) + " it did not make"};
      }
      acked_[o.proposal] = s.slot;
      maxAcked_ = std::max(maxAcked_, s.slot);
      checkOwner(nd, o);
      checkSession(o.proposal, o);
      if (o.succeeded) ++(*o.succeeded ? txnThen_ : txnElse_);
      if (txnIds_.count(o.proposal) && !o.status.isOk()) ++txnFailed_;
    }
    log("n%u applied slot %llu", nd.id, static_cast<unsigned long long>(s.slot));
  }

  // A client's command; its proposal id (unique in the run) traces its acknowledgement. Half the
  // writes carry a session (a lease granted earlier, perhaps ended since) and the session's next
  // seq; one command in six resends such a write, unchanged, as a client whose reply was lost
  // does: through whichever node, across leader changes, while the first may still be in flight.
  Command newCommand(std::uint64_t* id) {
    if (!sessionCmds_.empty() && rnd(6) == 0) {
      *id = ++seq_;
      Command c = sessionCmds_[rnd(sessionCmds_.size())];
      // One copy in four comes from another user: the write, (session, seq) and all, of a session
      // that is not theirs. It must be refused, never answered with the owner's reply.
      if (rnd(4) == 0) c.user = otherUser(c.user);
      sessionOf_[*id] = {c.session, c.seq};
      if (c.op == Command::Op::kTxn) txnIds_.insert(*id);
      ++resent_;
      noteLeases(*id, c);
      return c;
    }
    Command c = freshCommand(id);
    const bool write = c.op == Command::Op::kSet || c.op == Command::Op::kDel ||
                       c.op == Command::Op::kTxn || c.op == Command::Op::kRevoke;
    if (write && leasesGranted() > 0 && rnd(2) == 0) {
      c.session = 1 + rnd(leasesGranted());
      c.seq = ++sessionSeqs_[c.session];
      c.user = userFor(c.session);
      sessionOf_[*id] = {c.session, c.seq};
      sessionCmds_.push_back(c);
      if (sessionCmds_.size() > 32) sessionCmds_.erase(sessionCmds_.begin());
    }
    noteLeases(*id, c);
    return c;
  }

  // Leases belong to the user whose GRANT made them (Command::user; "" is a user too, as in a
  // cluster without grants). Clients are "", alice or bob; a command that names a lease (its
  // session, the lease a SET keeps its file with, a REVOKE's) is its owner's, or one time in eight
  // another user's.
  static constexpr const char* kUsers[] = {"", "alice", "bob"};
  std::string otherUser(const std::string& u) {
    std::size_t i = 0;
    while (i < 3 && u != kUsers[i])
      ++i;
    return kUsers[(i + 1 + rnd(2)) % 3];
  }
  std::string userFor(std::uint64_t lease) {
    auto it = ownerOf_.find(lease);
    const std::string owner = it != ownerOf_.end() ? it->second : kUsers[rnd(3)];
    return rnd(8) == 0 ? otherUser(owner) : owner;
  }
  void noteLeases(std::uint64_t id, const Command& c) {
    if (c.op == Command::Op::kGrant) grantUser_[id] = c.user;
    LeaseUse u{{}, c.session, c.user};
    if (c.session != 0) u.leases.push_back(c.session);
    if ((c.op == Command::Op::kSet || c.op == Command::Op::kRevoke) && c.lease != 0) {
      u.leases.push_back(c.lease);
    }
    if (c.op == Command::Op::kTxn && c.txn) {
      for (const auto* branch : {&c.txn->then, &c.txn->otherwise}) {
        for (const auto& op : *branch) {
          if (op.lease != 0) u.txnLeases.push_back(op.lease);
        }
      }
    }
    if (!u.leases.empty() || !u.txnLeases.empty()) leaseUse_[id] = std::move(u);
  }

  // An acknowledged command and the owners of the leases it names: a GRANT's lease is its user's
  // on the node that applied it; a command that names another user's lease changed nothing and
  // was answered from no one's reply; PERMISSION goes only to a command that names one.
  void checkOwner(const SimNode& nd, const cairn::node::Applier::Outcome& o) {
    if (auto g = grantUser_.find(o.proposal); g != grantUser_.end() && o.lease != 0) {
      const cairn::store::Lease* l = nd.store().lease(o.lease);
      if (l && l->owner != g->second) {
        throw Failure{"lease " + std::to_string(o.lease) + " granted by \"" + g->second +
                      "\" is owned by \"" + l->owner + "\" on n" + std::to_string(nd.id)};
      }
      ownerOf_[o.lease] = g->second;
      return;
    }
    auto u = leaseUse_.find(o.proposal);
    if (u == leaseUse_.end()) {
      if (o.status.code() == cairn::wire::Err::kPermission) {
        throw Failure{"proposal " + std::to_string(o.proposal) +
                      " names no lease and was refused PERMISSION: " + o.status.detail()};
      }
      return;
    }
    bool stranger = false, unknown = false, intruder = false, txnStranger = false;
    for (std::uint64_t l : u->second.leases) {
      auto it = ownerOf_.find(l);
      if (it == ownerOf_.end()) {
        unknown = true;
      } else if (it->second != u->second.user) {
        stranger = true;
        intruder = intruder || l == u->second.session;
      }
    }
    // (A TXN whose other branch names the stranger's lease may succeed: only PERMISSION is
    // checked against these.)
    for (std::uint64_t l : u->second.txnLeases) {
      auto it = ownerOf_.find(l);
      unknown = unknown || it == ownerOf_.end();
      txnStranger = txnStranger || (it != ownerOf_.end() && it->second != u->second.user);
    }
    // (The owner of a session may be answered from its table, even with a refusal it had for
    // naming another user's lease in a SET.)
    if ((stranger && o.status.isOk()) || (intruder && o.replayed)) {
      throw Failure{"user \"" + u->second.user + "\" wrote under another user's lease (proposal " +
                    std::to_string(o.proposal) + ")" + (o.replayed ? " and got its reply" : "")};
    }
    if (o.status.code() == cairn::wire::Err::kPermission) {
      if (!stranger && !txnStranger && !unknown) {
        throw Failure{"user \"" + u->second.user + "\" was refused its own lease (proposal " +
                      std::to_string(o.proposal) + "): " + o.status.detail()};
      }
      ++refused_;
    }
  }

  // A write's outcome under a session: every copy of (session, seq) is answered with the first
  // reply, or refused TOO_LATE; none is applied a second time (its rev would differ).
  void checkSession(std::uint64_t proposal, const cairn::node::Applier::Outcome& o) {
    auto s = sessionOf_.find(proposal);
    if (s == sessionOf_.end()) return;
    // A copy may find the session ended or its reply let go (TOO_LATE: not applied now); every
    // other answer to copies of one write is the same. (Nodes acknowledge in their own time, so
    // the first acknowledged need not be the first applied.)
    if (o.status.code() == cairn::wire::Err::kTooLate) return;
    // Another user's copy: refused (checkOwner), and not the session's reply.
    if (o.status.code() == cairn::wire::Err::kPermission) return;
    auto [it, first] = sessionReplies_.emplace(s->second, std::make_pair(o.status.code(), o.rev));
    if (first) return;
    const auto [code, rev] = it->second;
    if (code != o.status.code() || rev != o.rev) {
      throw Failure{"a copy of write " + std::to_string(s->second.second) + " of session " +
                    std::to_string(s->second.first) + " was answered " +
                    cairn::wire::errName(o.status.code()) + " at rev " + std::to_string(o.rev) +
                    ", another " + cairn::wire::errName(code) + " at rev " + std::to_string(rev)};
    }
    ++replayed_;
  }

  Command freshCommand(std::uint64_t* id) {
    *id = ++seq_;
    Command c;
    std::uint64_t k = rnd(8);
    c.path = "/k" + std::to_string(k);
    switch (rnd(13)) {
      case 8:  // a transaction over several keys: applied at one rev, or not at all
        c.op = Command::Op::kTxn;
        c.path.clear();
        c.txn = std::make_shared<const cairn::wire::Txn>(newTxn());
        for (const auto* branch : {&c.txn->then, &c.txn->otherwise}) {
          for (const auto& op : *branch) {
            if (op.lease != 0) c.user = userFor(op.lease);  // the last one's owner, mostly
          }
        }
        txnIds_.insert(*id);
        return c;
      case 4:  // a lease, ending (unless revoked first) when a leader's clock says so
        c.op = Command::Op::kGrant;
        c.user = kUsers[rnd(3)];
        c.path.clear();
        c.ttl = cairn::store::kMinLeaseTtl + static_cast<std::int64_t>(rnd(3000));
        return c;
      case 5:
        c.op = Command::Op::kRevoke;
        c.path.clear();
        c.lease = 1 + rnd(leasesGranted() + 1);
        c.user = userFor(c.lease);
        c.value = "revoked";
        return c;
      case 6:
      case 7:  // a file kept by a lease (perhaps one that has ended: NOENT)
        c.op = Command::Op::kSet;
        c.rev = -1;
        c.value = "v" + std::to_string(seq_);
        c.lease = 1 + rnd(leasesGranted() + 1);
        c.user = userFor(c.lease);
        return c;
      default:
        break;
    }
    switch (rnd(4)) {
      case 0:
        c.op = Command::Op::kDel;
        c.rev = -1;
        break;
      case 1:
        c.op = Command::Op::kSet;
        c.rev = static_cast<std::int64_t>(rnd(20));  // a compare-and-set that may fail
        c.value = "v" + std::to_string(seq_);
        break;
      default:
        c.op = Command::Op::kSet;
        c.rev = -1;
        c.value = "v" + std::to_string(seq_);
    }
    return c;
  }

  // A transaction on /k0../k7 and the subtree /d: compares that may or may not hold, and branches
  // of gets, compare-and-set writes (which may fail, failing it all) and subtree deletes.
  cairn::wire::Txn newTxn() {
    using cairn::wire::Compare;
    using cairn::wire::TxnOp;
    auto key = [&] {
      const std::uint64_t k = rnd(8);
      return (k < 4 ? "/k" : "/d/k") + std::to_string(k);
    };
    cairn::wire::Txn t;
    for (std::uint64_t i = rnd(3); i > 0; --i) {
      Compare c;
      c.path = key();
      switch (rnd(3)) {
        case 0:
          c.target = Compare::Target::kRev;
          c.rev = static_cast<std::int64_t>(rnd(40));
          c.cmp = static_cast<Compare::Cmp>(rnd(4));
          break;
        case 1:
          c.target = Compare::Target::kExists;
          c.exists = rnd(2) == 0;
          break;
        default:
          c.target = Compare::Target::kValue;
          c.value = "v" + std::to_string(seq_ - rnd(10));
          c.cmp = static_cast<Compare::Cmp>(rnd(4));
      }
      t.compares.push_back(std::move(c));
    }
    for (auto* branch : {&t.then, &t.otherwise}) {
      std::set<std::string> written;
      for (std::uint64_t i = rnd(4); i > 0; --i) {
        TxnOp op;
        op.path = key();
        switch (rnd(6)) {
          case 0:
            op.kind = TxnOp::Kind::kGet;
            break;
          case 1:
            op.kind = TxnOp::Kind::kDel;
            op.rev = rnd(2) ? -1 : static_cast<std::int64_t>(rnd(40));
            break;
          case 2:
            op.kind = TxnOp::Kind::kDelTree;
            op.path = "/d";
            break;
          default:
            op.kind = TxnOp::Kind::kSet;
            op.rev = rnd(3) ? -1 : static_cast<std::int64_t>(rnd(40));
            op.value = "v" + std::to_string(seq_) + "." + std::to_string(i);
            // A file kept by a lease, one time in four (perhaps another user's: PERMISSION).
            if (rnd(4) == 0) op.lease = 1 + rnd(leasesGranted() + 1);
        }
        if (op.kind != TxnOp::Kind::kGet && !written.insert(op.path).second) continue;
        branch->push_back(std::move(op));
      }
    }
    return t;
  }

  // The configuration in effect after slot `slot` of the chosen log.
  const cairn::wire::Membership& configAfter(std::uint64_t slot) const {
    auto it = configs_.upper_bound(slot);
    --it;  // configs_[0] is the bootstrap configuration
    return it->second;
  }

  // A configuration was chosen at `slot`: it must be one change from the one in effect there, and
  // every majority of the old voters must meet every majority of the new.
  void checkChange(std::uint64_t slot, const std::string& value) {
    auto next = cairn::wire::decodeMembership(value);
    if (!next) throw Failure{"a configuration chosen at " + std::to_string(slot) + " is corrupt"};
    const cairn::wire::Membership& cur = configAfter(slot - 1);
    if (!cairn::wire::follows(cur, *next)) {
      ++staleChanges_;  // proposed against an older configuration: changes nothing
      return;
    }
    if (Status s = cairn::wire::checkChange(cur, *next); !s.isOk()) {
      throw Failure{"the configuration chosen at " + std::to_string(slot) +
                    " is not one change: " + s.toString()};
    }
    std::set<std::uint32_t> all;
    for (std::uint32_t v : cur.voters())
      all.insert(v);
    for (std::uint32_t v : next->voters())
      all.insert(v);
    if (cur.quorum() + next->quorum() <= all.size()) {
      throw Failure{"the configuration chosen at " + std::to_string(slot) +
                    " has majorities that miss the old ones"};
    }
    configs_[slot] = *next;
    for (const auto& m : next->members)
      everNamed_.insert(m.id);
    ++changesChosen_;
    log("configuration chosen at %llu: %zu members, %zu voters",
        static_cast<unsigned long long>(slot), next->members.size(), next->voters().size());
  }

  // Leaders lead their own ballots (a ballot names its node), so no two lead the same one.
  void checkLeaders() {
    for (auto& [id, nd] : nodes_) {
      if (!nd->up || nd->replica->core().role() != Core::Role::kLeader) continue;
      if (nd->replica->core().promised().node != id) {
        throw Failure{"node " + std::to_string(id) + " leads another's ballot"};
      }
    }
  }

  // Asks the leader, if there is one, for a random membership change.
  void changeMembership() {
    SimNode* leader = nullptr;
    for (auto& [id, nd] : nodes_) {
      if (nd->up && nd->replica->core().role() == Core::Role::kLeader) leader = nd.get();
    }
    if (!leader) return;
    const cairn::wire::Membership& cur = leader->replica->core().membership();
    cairn::wire::Membership next = cur;
    next.version = cur.version + 1;
    std::vector<std::uint32_t> learners;
    for (const auto& m : cur.members) {
      if (!m.voter) learners.push_back(m.id);
    }
    const std::uint64_t r = rnd(3);
    if (r == 0 && cur.members.size() < 7) {
      const std::uint32_t id = cur.nextId;
      // An id handed out by a change that was never chosen belongs to a node that never joined:
      // a fresh one takes it.
      if (everNamed_.count(id)) return;
      next.members.push_back(cairn::wire::Member{id, false, {}, {}, {}, false});
      next.nextId = id + 1;
      auto nd = std::make_unique<SimNode>();
      nd->id = id;
      nodes_[id] = std::move(nd);
      start(*nodes_[id]);
      log("n%u joins (fresh)", id);
    } else if (r == 1 && !learners.empty()) {
      const std::uint32_t id = learners[rnd(learners.size())];
      for (auto& m : next.members) {
        if (m.id == id) m.voter = true;
      }
    } else if (cur.voters().size() > 2) {
      const std::uint32_t id = cur.members[rnd(cur.members.size())].id;
      next.members.erase(std::remove_if(next.members.begin(), next.members.end(),
                                        [&](const auto& m) { return m.id == id; }),
                         next.members.end());
    } else {
      return;
    }
    auto slot = leader->replica->core().proposeMembership(next);
    log("n%u proposes a configuration of %zu members: %s", leader->id, next.members.size(),
        slot ? ("slot " + std::to_string(*slot)).c_str() : slot.status().toString().c_str());
    if (slot) ++changesProposed_;
    drain(*leader);
  }

  SimNode* randomNode(bool up) {
    std::vector<SimNode*> c;
    for (auto& [id, nd] : nodes_) {
      if (nd->up == up && !nd->stopped) c.push_back(nd.get());
    }
    return c.empty() ? nullptr : c[rnd(c.size())];
  }

  void deliver(std::size_t i) {
    PeerFrame f = std::move(net_[i]);
    net_[i] = std::move(net_.back());
    net_.pop_back();
    const cairn::wire::PeerHeader& h = cairn::wire::headerOf(f);
    if (!nodes_.count(h.to)) return;  // a node that does not exist (yet)
    SimNode& to = *nodes_.at(h.to);
    SimNode& from = *nodes_.at(h.from);
    if (!to.up || to.group != from.group) return;  // lost
    // Every message crosses the real codec, as it would between processes.
    auto decoded = cairn::wire::decodePeer(
        std::visit([](const auto& m) { return cairn::wire::encodePeer(m); }, f));
    if (!decoded) throw Failure{"peer codec failed: " + decoded.status().toString()};
    if (auto* m = std::get_if<PeerMessage>(&*decoded)) {
      log("deliver %s n%u->n%u b=%llu.%u", cairn::wire::peerTypeName(m->type), m->from, m->to,
          static_cast<unsigned long long>(m->ballot.round), m->ballot.node);
      to.replica->step(*m);
    } else {
      NodeMessage& n = std::get<NodeMessage>(*decoded);
      log("deliver %s n%u->n%u slot=%llu commit=%llu", cairn::wire::peerTypeName(n.type), n.from,
          n.to, static_cast<unsigned long long>(n.slot), static_cast<unsigned long long>(n.commit));
      if (n.type == NodeMessage::Type::kSnapshotChunk) {
        if (!receiveChunk(to, n)) return;
      } else if (n.type == NodeMessage::Type::kSnapshotAck) {
        auto it = to.sending.find(n.from);
        if (it != to.sending.end()) {
          ChunkSender& tx = it->second.sender;
          const bool greeted = tx.greeted();
          tx.acked(cairn::node::idOf(n), n.commit, step_);
          if (!greeted && tx.greeted() && tx.resumedAt() > 0 && !tx.done()) ++transfersResumed_;
          if (it->second.sender.done()) {
            log("n%u finished sending a snapshot to n%u", to.id, n.from);
            to.sending.erase(it);
          } else {
            pump(to, n.from);
          }
        }
      } else if (n.type == NodeMessage::Type::kForward) {
        if (!to.replica->proposeForwarded(std::move(n.value)))
          throw Failure{"a forwarded batch does not decode"};
      }
    }
    drain(to);
  }

  // A node snapshots its store and lets the log behind it go (a checkpoint): at once, or begun
  // now and finished at its next compaction step, as cairnd's snapshot thread does.
  void compact(SimNode& nd) {
    if (nd.cutSlot != 0) {  // the snapshot begun earlier is durable now
      nd.snapshot = std::move(nd.cut);
      nd.snapshotSlot = nd.cutSlot;
      nd.cut.clear();
      nd.cutSlot = 0;
      log("n%u finished a checkpoint at %llu", nd.id,
          static_cast<unsigned long long>(nd.snapshotSlot));
      if (Status s = nd.replica->finishCheckpoint(nd.snapshotSlot); !s.isOk()) diskFailed(nd, s);
      return;
    }
    if (nd.store().appliedIndex() == 0) return;
    const std::uint64_t slot = nd.store().appliedIndex();
    std::string snap = cairn::store::encodeSnapshot(nd.store().image());
    if (rnd(2) == 0) {
      nd.cut = std::move(snap);
      nd.cutSlot = slot;
      log("n%u began a checkpoint at %llu", nd.id, static_cast<unsigned long long>(slot));
      if (Status s = nd.replica->beginCheckpoint(slot); !s.isOk()) diskFailed(nd, s);
      return;
    }
    nd.snapshot = std::move(snap);  // durable before the log lets go of what it covers
    nd.snapshotSlot = slot;
    log("n%u compacted to %llu", nd.id, static_cast<unsigned long long>(slot));
    if (Status s = nd.replica->checkpoint(slot); !s.isOk()) diskFailed(nd, s);
  }

  static cairn::wire::PeerHeader header(const SimNode& nd) {
    return cairn::wire::PeerHeader{42, nd.id, 0};
  }

  // Puts the chunks a transfer has due on the network.
  void pump(SimNode& nd, std::uint32_t to) {
    Sending& t = nd.sending.at(to);
    const SnapshotId& id = t.sender.id();
    for (const ChunkSender::Chunk& c : t.sender.due()) {
      NodeMessage m =
          cairn::node::transferMessage(NodeMessage::Type::kSnapshotChunk, header(nd), to, id);
      m.commit = c.offset;
      m.value = t.bytes.substr(c.offset, c.length);
      m.crc = cairn::store::crc32c(m.value);
      net_.push_back(std::move(m));
    }
  }

  // Resends what timed out; ends transfers whose peer went silent, and all of them once the node
  // stops leading (as cairnd's SnapshotSender does).
  void tickTransfers(SimNode& nd) {
    if (nd.replica->core().role() != Core::Role::kLeader) nd.sending.clear();
    for (auto it = nd.sending.begin(); it != nd.sending.end();) {
      if (it->second.sender.abandoned(step_)) {
        log("n%u gives up sending a snapshot to n%u", nd.id, it->first);
        it = nd.sending.erase(it);
        continue;
      }
      it->second.sender.tick(step_);
      pump(nd, it->first);
      ++it;
    }
  }

  // A chunk arrives, filtered as SnapshotReceiver does, then through the real ChunkReceiver. False
  // when the node stopped.
  bool receiveChunk(SimNode& nd, const NodeMessage& m) {
    const SnapshotId id = cairn::node::idOf(m);
    NodeMessage ack =
        cairn::node::transferMessage(NodeMessage::Type::kSnapshotAck, header(nd), m.from, id);
    const Core& core = nd.replica->core();
    if (m.slot <= core.learned()) {
      ack.commit = m.size;
      net_.push_back(ack);
      return true;
    }
    if (core.leader() != 0 && m.from != core.leader()) return true;
    auto o = nd.receiving.receive(id, m.commit, m.value, m.crc, nd.received);
    if (!o.error.isOk()) throw Failure{"a snapshot chunk was refused: " + o.error.toString()};
    if (o.ack) {
      ack.commit = *o.ack;
      net_.push_back(ack);
    }
    if (!o.complete) return true;
    return installSnapshot(nd, m.slot, std::move(nd.received.bytes));
  }

  // A snapshot received whole: durable first, then the store and the log move to it. False when
  // the node stopped.
  bool installSnapshot(SimNode& nd, std::uint64_t slot, std::string bytes) {
    if (slot <= nd.replica->core().learned()) return true;
    auto st = cairn::store::decodeSnapshot(bytes, cairn::store::Store::Options());
    if (!st) throw Failure{"a snapshot that arrived whole does not decode"};
    if (st->appliedIndex() != slot) throw Failure{"a snapshot's file name lies about its slot"};
    for (std::uint64_t s = nd.applied + 1; s <= slot; ++s) {
      if (!chosen_.count(s)) throw Failure{"a snapshot covers a slot nobody chose"};
    }
    nd.snapshot = std::move(bytes);  // durable before the replica is told
    nd.snapshotSlot = slot;
    nd.cut.clear();
    nd.cutSlot = 0;
    nd.applier->install(std::move(st.value()));
    nd.applied = slot;
    ++snapshotsInstalled_;
    log("n%u installed a snapshot at %llu", nd.id, static_cast<unsigned long long>(slot));
    if (Status s = nd.replica->installSnapshot(slot, nd.store().members()); !s.isOk()) {
      diskFailed(nd, s);
      return false;
    }
    return true;
  }

  void chaosStep() {
    ++step_;
    if (rnd(kChangeOdds) == 0) changeMembership();
    std::uint64_t r = rnd(100);
    if (r < 55) {
      if (!net_.empty()) deliver(rnd(net_.size()));
    } else if (r < 75) {
      if (SimNode* nd = randomNode(true)) {
        nd->replica->tick();
        if (drain(*nd)) tickTransfers(*nd);
        runLeaseClock(*nd);
      }
    } else if (r < 78) {  // a linearizable read at a random node
      if (SimNode* nd = randomNode(true)) {
        std::uint64_t ctx = ++readCtx_;
        reads_[ctx] = maxAcked_;
        if (nd->replica->core().readIndex(ctx, nd->id)) {
          drain(*nd);
        } else {
          reads_.erase(ctx);
        }
      }
    } else if (r < 90) {  // a client write at a random node (a follower forwards it)
      if (SimNode* nd = randomNode(true)) {
        std::uint64_t id = 0;
        Command c = newCommand(&id);
        proposedBy_[id] = nd->id;
        nd->replica->propose(std::move(c), id);
        log("n%u proposed %llu", nd->id, static_cast<unsigned long long>(id));
        drain(*nd);
      }
    } else if (r < 93) {
      if (!net_.empty()) {  // drop
        std::size_t i = rnd(net_.size());
        net_[i] = std::move(net_.back());
        net_.pop_back();
      }
    } else if (r < 96) {
      if (!net_.empty()) net_.push_back(net_[rnd(net_.size())]);  // duplicate
    } else if (r < 97 && rnd(2) == 0) {                           // a snapshot and log compaction
      if (SimNode* nd = randomNode(true)) compact(*nd);
    } else if (r < 97) {
      if (SimNode* nd = randomNode(true)) {
        log("crash n%u", nd->id);
        crash(*nd);
      }
    } else if (r < 98) {
      if (SimNode* nd = randomNode(false)) {
        log("restart n%u", nd->id);
        ++restarts_;
        start(*nd);
      }
    } else if (r < 99) {
      for (auto& [id, nd] : nodes_)
        nd->group = static_cast<int>(rnd(2));
      log("partition");
    } else {
      for (auto& [id, nd] : nodes_)
        nd->group = 0;
      log("heal");
    }
    if (net_.size() > 20000) net_.erase(net_.begin(), net_.begin() + 10000);  // a lossy network
    checkLeaders();
  }

  // The members of the newest configuration chosen: the nodes that must converge.
  std::vector<SimNode*> finalMembers() {
    std::vector<SimNode*> out;
    for (const auto& m : configs_.rbegin()->second.members)
      out.push_back(nodes_.at(m.id).get());
    return out;
  }

  // Heal everything, restart every node (its disk repaired), and require progress: a final
  // write gets chosen and every node applies the whole log.
  void stabilize() {
    log("stabilize");
    faults_ = false;
    for (auto& [id, nd] : nodes_) {
      nd->group = 0;
      if (nd->up && nd->armed != SyncFault::kNone) {  // disarm what never fired
        nd->log->cancelSyncFailure();
        nd->armed = SyncFault::kNone;
      }
      if (!nd->up) {
        ++restarts_;
        start(*nd);
      }
    }
    std::uint64_t last = 0;
    int lastAt = 0;
    for (int round = 0; round < 4000; ++round) {
      // A proposal can be lost when leadership changes: the client tries again.
      if (last != 0 && !acked_.count(last) && round - lastAt > 100) last = 0;
      ++step_;
      std::vector<PeerFrame> batch;
      batch.swap(net_);
      while (!batch.empty()) {  // deliver everything in flight, in a random order
        std::size_t i = rnd(batch.size());
        net_.push_back(std::move(batch[i]));
        batch[i] = std::move(batch.back());
        batch.pop_back();
        deliver(net_.size() - 1);
      }
      for (auto& [id, nd] : nodes_) {
        nd->replica->tick();
        if (drain(*nd)) tickTransfers(*nd);
      }
      if (last == 0) {
        for (auto& [id, nd] : nodes_) {
          if (nd->replica->core().role() != Core::Role::kLeader) continue;
          std::uint64_t pid = 0;
          Command c = newCommand(&pid);
          proposedBy_[pid] = nd->id;
          nd->replica->propose(std::move(c), pid);
          last = pid;
          lastAt = round;
          drain(*nd);
          break;
        }
      }
      if (last != 0 && acked_.count(last)) {
        std::uint64_t want = acked_[last];
        bool all = true;
        for (SimNode* nd : finalMembers())
          all = all && nd->applied >= want;
        // A change chosen meanwhile may have named other members: one more write, which they
        // must apply too.
        if (all && configs_.rbegin()->first < want) return;
        if (all) last = 0;
      }
      checkLeaders();
    }
    std::string state;
    for (auto& [id, nd] : nodes_) {
      const Core& c = nd->replica->core();
      state += " n" + std::to_string(id) + "{role=" + std::to_string(static_cast<int>(c.role())) +
               " learned=" + std::to_string(c.learned()) +
               " applied=" + std::to_string(nd->applied) +
               " inflight=" + std::to_string(c.inFlight()) +
               " config=" + std::to_string(c.membership().version) +
               (c.membership().isVoter(id) ? " voter" : " non-voter") +
               " compacted=" + std::to_string(c.compacted()) + "}";
    }
    throw Failure{"no progress after healing: the cluster did not converge:" + state};
  }

  void finalChecks() {
    for (auto& [id, slot] : acked_) {
      auto it = chosen_.find(slot);
      bool found = false;
      if (it != chosen_.end() && !it->second.empty()) {
        auto b = cairn::wire::decodeBatch(it->second);
        if (!b) throw Failure{"undecodable batch at slot " + std::to_string(slot)};
        for (const auto& item : b->items)
          found = found || (item.id == id && b->origin == proposedBy_.at(id));
      }
      if (!found) {
        throw Failure{"acknowledged write at slot " + std::to_string(slot) + " lost"};
      }
    }
    // Equal stores at equal applied slots.
    std::uint64_t lo = UINT64_MAX;
    for (SimNode* nd : finalMembers())
      lo = std::min(lo, nd->applied);
    const SimNode* ref = nullptr;
    for (SimNode* nd : finalMembers()) {
      if (nd->applied != lo) continue;
      if (!ref) {
        ref = nd;
      } else if (nd->store().dump() != ref->store().dump() ||
                 nd->store().rev() != ref->store().rev()) {
        throw Failure{"stores differ at slot " + std::to_string(lo) + ": n" +
                      std::to_string(nd->id) + " " + nd->store().dump() + " | n" +
                      std::to_string(ref->id) + " " + ref->store().dump()};
      } else if (leaseDump(nd->store()) != leaseDump(ref->store())) {
        throw Failure{"leases differ at slot " + std::to_string(lo) + ": " +
                      leaseDump(nd->store()) + " vs " + leaseDump(ref->store())};
      }
    }
    // Replaying the chosen log from scratch gives the same store.
    cairn::store::Store replay;
    for (std::uint64_t s = 1; s <= lo; ++s) {
      const std::string& v = chosen_.at(s);
      bool any = false;
      if (!v.empty() && !cairn::wire::isMembershipValue(v)) {
        auto b = cairn::wire::decodeBatch(v);
        if (!b) throw Failure{"undecodable batch at slot " + std::to_string(s)};
        for (const auto& item : b->items) {
          (void)replay.apply(s, item.cmd);
          any = true;
        }
      }
      if (!any) (void)replay.apply(s, Command{});
    }
    if (ref && replay.dump() != ref->store().dump()) throw Failure{"store differs from its log"};
    if (ref && leaseDump(replay) != leaseDump(ref->store())) {
      throw Failure{"leases differ from the log's"};
    }
  }

  // One sync in kSyncCrashOdds (drawn per drain) dies with the node inside it; in EIO seeds one
  // in kSyncEioOdds fails and stops the node.
  static constexpr std::uint64_t kSyncCrashOdds = 200;
  static constexpr std::uint64_t kSyncEioOdds = 1000;
  // One step in kChangeOdds asks the leader for a membership change.
  static constexpr std::uint64_t kChangeOdds = 150;

  std::uint64_t seed_;
  std::mt19937_64 rng_;
  int steps_;
  bool verbose_;
  bool eio_ = false;
  ChunkSender::Options chunkOpts_;
  std::uint64_t retain_ = 0;  // log slots kept behind each snapshot
  bool faults_ = true;        // disk faults are armed until stabilize()
  std::vector<std::uint32_t> members_;
  std::map<std::uint32_t, std::unique_ptr<SimNode>> nodes_;
  // What a drain sends before its fdatasync goes on the network at once.
  struct Early : cairn::node::Outbox {
    explicit Early(std::vector<PeerFrame>* net) : net(net) {}
    void send(const PeerMessage& m) override { net->push_back(m); }
    void send(const NodeMessage& m) override { net->push_back(m); }
    std::vector<PeerFrame>* net;
  };
  std::vector<PeerFrame> net_;
  Early outbox_{&net_};
  std::map<std::uint64_t, std::string> chosen_;
  std::map<std::uint64_t, std::uint32_t> proposedBy_;  // proposal id -> the node it was given to
  std::map<std::uint64_t, std::uint64_t> acked_;       // proposal id -> its slot
  std::uint64_t seq_ = 0;
  std::uint64_t step_ = 0;
  std::map<std::uint64_t, std::uint64_t> reads_;  // ctx -> highest acknowledged slot when asked
  std::uint64_t readCtx_ = 0;
  std::uint64_t maxAcked_ = 0;
  std::uint64_t readsConfirmed_ = 0;
  std::uint64_t snapshotsInstalled_ = 0;
  std::uint64_t transfersResumed_ = 0;  // begun where an earlier transfer (any sender's) stopped
  std::uint64_t syncFaults_ = 0;
  // Chosen configurations by the slot that holds them; 0: the bootstrap one.
  std::map<std::uint64_t, cairn::wire::Membership> configs_;
  std::set<std::uint32_t> everNamed_;  // every id a chosen configuration named
  std::uint64_t changesProposed_ = 0;
  std::uint64_t changesChosen_ = 0;
  std::uint64_t expiriesProposed_ = 0;
  std::set<std::uint64_t> txnIds_;  // proposals that are transactions
  // Exactly-once: proposal -> (session, seq); the writes that may be resent; each session's last
  // seq; the first outcome of each (session, seq) acknowledged; copies answered from the table.
  std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> sessionOf_;
  std::vector<Command> sessionCmds_;
  std::map<std::uint64_t, std::uint64_t> sessionSeqs_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::pair<cairn::wire::Err, std::int64_t>>
      sessionReplies_;
  std::uint64_t resent_ = 0, replayed_ = 0;
  // Owners (checkOwner): GRANT proposal -> its user; lease -> its owner, from acknowledged GRANTs;
  // proposal -> the leases it names and its user; commands refused PERMISSION.
  std::map<std::uint64_t, std::string> grantUser_;
  std::map<std::uint64_t, std::string> ownerOf_;
  struct LeaseUse {
    std::vector<std::uint64_t> leases;  // the session's, the SET's or REVOKE's
    std::uint64_t session = 0;
    std::string user;
    std::vector<std::uint64_t> txnLeases = {};  // a TXN's sets' (either branch)
  };
  std::map<std::uint64_t, LeaseUse> leaseUse_;
  std::uint64_t refused_ = 0;
  // Transactions acknowledged: the "then" branch applied, the "else" one, or neither (an
  // operation failed, so nothing was written).
  std::uint64_t txnThen_ = 0, txnElse_ = 0, txnFailed_ = 0;
  std::uint64_t staleChanges_ = 0;  // chosen, but proposed against a replaced configuration

 public:
  std::uint64_t changesProposed() const { return changesProposed_; }
  std::uint64_t expiriesProposed() const { return expiriesProposed_; }
  std::uint64_t txnThen() const { return txnThen_; }
  std::uint64_t resent() const { return resent_; }
  std::uint64_t replayed() const { return replayed_; }
  std::uint64_t refused() const { return refused_; }
  std::uint64_t txnElse() const { return txnElse_; }
  std::uint64_t txnFailed() const { return txnFailed_; }
  std::uint64_t changesChosen() const { return changesChosen_; }
  std::uint64_t readsConfirmed() const { return readsConfirmed_; }
  std::uint64_t snapshotsInstalled() const { return snapshotsInstalled_; }
  std::uint64_t transfersResumed() const { return transfersResumed_; }
  std::uint64_t syncFaults() const { return syncFaults_; }

 private:
  std::uint64_t restarts_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t seeds = 100, start = 1, seed = 0;
  int nodes = 3, steps = 5000;
  bool verbose = false;
  CLI::App app("cairn_sim: deterministic simulation of Cairn clusters, one run per seed");
  cairn::cli::setUp(&app, "cairn_sim");
  app.add_option("--seeds", seeds, "how many seeds to run")
      ->transform(cairn::cli::integer(0, INT64_MAX))
      ->capture_default_str();
  app.add_option("--start", start, "the first seed")
      ->transform(cairn::cli::integer(0, INT64_MAX))
      ->capture_default_str();
  CLI::Option* one = app.add_option("--seed", seed, "run this one seed (replays a failure)")
                         ->transform(cairn::cli::integer(0, INT64_MAX));
  app.add_option("--nodes", nodes, "cluster size (3 or 5)")
      ->transform(cairn::cli::integer(1, 64))
      ->capture_default_str();
  app.add_option("--steps", steps, "steps per seed")
      ->transform(cairn::cli::integer(0, INT32_MAX))
      ->capture_default_str();
  app.add_flag("--verbose", verbose, "trace every step");
  std::vector<std::string> args(argv + 1, argv + argc);
  if (int code = cairn::cli::finish(
          cairn::cli::parse(&app, args, 127, "(run cairn_sim --help for the flags)"));
      code >= 0) {
    return code;
  }
  if (one->count() > 0) {
    start = seed;
    seeds = 1;
  }
  std::uint64_t passed = 0, failed = 0, chosen = 0, acked = 0, reads = 0, snaps = 0, resumed = 0,
                changes = 0, changesAsked = 0, expiries = 0, txnThen = 0, txnElse = 0,
                txnFailed = 0, resent = 0, replayed = 0, refused = 0;
  for (std::uint64_t s = start; s < start + seeds; ++s) {
    try {
      Sim sim(s, nodes, steps, verbose);
      sim.run();
      chosen += sim.chosenCount();
      acked += sim.ackedCount();
      reads += sim.readsConfirmed();
      snaps += sim.snapshotsInstalled();
      resumed += sim.transfersResumed();
      changes += sim.changesChosen();
      changesAsked += sim.changesProposed();
      expiries += sim.expiriesProposed();
      txnThen += sim.txnThen();
      txnElse += sim.txnElse();
      txnFailed += sim.txnFailed();
      resent += sim.resent();
      replayed += sim.replayed();
      refused += sim.refused();
      ++passed;
    } catch (const Failure& f) {
      ++failed;
      std::printf(
          "seed %llu FAILED: %s\n  replay: cairn_sim --seed %llu --nodes %d --steps %d "
          "--verbose\n",
          static_cast<unsigned long long>(s), f.why.c_str(), static_cast<unsigned long long>(s),
          nodes, steps);
      if (failed >= 5) break;
    }
  }
  std::printf(
      "sim: %d nodes, seeds %llu..%llu, %llu slots chosen, %llu writes acknowledged, %llu "
      "linearizable read points checked, %llu snapshots installed (%llu transfers resumed), "
      "%llu membership changes chosen of %llu proposed, %llu lease expiries proposed by "
      "leaders, transactions acknowledged: %llu then, %llu else, %llu failed; %llu session "
      "writes resent, %llu answered from the reply table; %llu commands refused another user's "
      "lease\n",
      nodes, static_cast<unsigned long long>(start),
      static_cast<unsigned long long>(start + seeds - 1), static_cast<unsigned long long>(chosen),
      static_cast<unsigned long long>(acked), static_cast<unsigned long long>(reads),
      static_cast<unsigned long long>(snaps), static_cast<unsigned long long>(resumed),
      static_cast<unsigned long long>(changes), static_cast<unsigned long long>(changesAsked),
      static_cast<unsigned long long>(expiries), static_cast<unsigned long long>(txnThen),
      static_cast<unsigned long long>(txnElse), static_cast<unsigned long long>(txnFailed),
      static_cast<unsigned long long>(resent), static_cast<unsigned long long>(replayed),
      static_cast<unsigned long long>(refused));
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(passed),
              static_cast<unsigned long long>(failed));
  return failed == 0 ? 0 : 1;
}
