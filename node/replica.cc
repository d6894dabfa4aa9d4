#include "node/replica.h"

#include <algorithm>
#include <random>

#include "node/wal_records.h"
#include "store/file.h"
#include "store/snapshot.h"

namespace cairn::node {

using wire::Err;
using wire::Status;

namespace {

constexpr std::size_t kLazyHintBytes = 64 << 10;

}  // namespace

wire::Result<Replica::Opened> Replica::open(const paxos::Config& cfg, const std::string& dataDir,
                                            store::Store::Options storeOpts, std::uint64_t retain) {
  if (Status s = store::makeDirs(dataDir + "/snap"); !s.isOk()) return s;
  auto snap = store::loadSnapshot(dataDir + "/snap", storeOpts);
  if (!snap) return snap.status();
  Recovered r;
  r.retain = retain;
  r.store = snap->has_value() ? std::make_unique<store::Store>(std::move(**snap))
                              : std::make_unique<store::Store>(storeOpts);
  std::string repaired;
  auto log = store::DiskLog::open(dataDir + "/wal", store::Wal::Options(), &r.records, &repaired);
  if (!log) return log.status();
  r.log = std::move(log.value());
  auto out = open(cfg, std::move(r));
  if (out && !repaired.empty()) out->note += "; " + repaired;
  return out;
}

wire::Result<Replica::Opened> Replica::open(const paxos::Config& cfg, Recovered r) {
  if (!r.log) return Status(Err::kOther, "Replica::open without a log");
  Opened out;
  out.store = r.store ? std::move(r.store) : std::make_unique<store::Store>();
  const std::uint64_t applied = out.store->appliedIndex();
  const std::vector<store::WalRecord>& records = r.records;
  WalScan scan;
  for (const auto& rec : records) {
    if (Status s = readWalRecord(rec, &scan); !s.isOk()) return s;
  }
  const std::uint64_t checkpoint = scan.checkpoint;
  // A log that does not begin at its first record must have been cut at a checkpoint.
  if (!records.empty() && records.front().index > 1 && checkpoint == 0) {
    return Status(Err::kCorrupt, "the WAL begins at record " +
                                     std::to_string(records.front().index) +
                                     " without a checkpoint: earlier records are missing");
  }
  if (checkpoint > applied) {
    return Status(Err::kCorrupt, "the WAL was checkpointed after a snapshot at slot " +
                                     std::to_string(checkpoint) + ", but the newest snapshot " +
                                     "holds slot " + std::to_string(applied));
  }
  paxos::Durable d;
  d.promised = scan.promised;
  d.applied = applied;
  d.learned = scan.maxLearned;
  if (!out.store->members().empty()) {
    auto m = wire::decodeMembership(out.store->members());
    if (!m) return Status(Err::kCorrupt, "the snapshot's membership: " + m.status().detail());
    d.members = std::move(m.value());
  }
  // Values after the snapshot are the acceptor's state. Values behind it are kept to serve
  // lagging peers (paxos::Durable::retained) only where the log recorded them as chosen: at a
  // slot up to the highest chosen prefix it wrote ('L'), the highest-ballot value this node holds
  // is the chosen one (it learned the slot through an Accept in the ballot that chose it, a
  // Learn, or its own leading, and each wrote that value before the slot was handed out; a value
  // accepted at a higher ballot at a chosen slot is the same value). A snapshot installed from
  // the leader is the exception, and its 'I' voids what came before it; its own 'L' follows the
  // 'I', so it never vouches for slots the node skipped. What this run's `retain` does not ask
  // for is let go.
  const std::uint64_t trusted = std::min(applied, scan.maxLearned);
  const std::uint64_t keepAfter = applied > r.retain ? applied - r.retain : 0;
  for (wire::Slot& v : scan.values) {
    if (v.slot > applied) {
      d.accepted.push_back(std::move(v));
    } else if (v.slot <= trusted && v.slot > keepAfter) {
      d.retained.push_back(std::move(v));
    }
  }
  std::uint64_t last = records.empty() ? r.log->lastIndex() : records.back().index;
  out.replica.reset(new Replica(cfg, std::move(d), std::move(r.log), r.incarnation, r.retain));
  out.replica->seq_ = last;
  // A snapshot beyond the chosen prefix the log recorded came from the leader, and its 'I' was
  // lost in a crash (or the prefix hint lagged): the values this node holds behind it are not
  // vouched for. Record that now, so that no later 'L' (written after this, in log order) can
  // vouch for them at a later restart.
  if (applied > scan.maxLearned) out.replica->append('I', packU64(applied));
  // The checkpoints whose segments survive, so that later ones know what they may let go.
  const std::uint64_t first = records.empty() ? last + 1 : records.front().index;
  for (const auto& k : scan.kept) {
    if (k.second >= first) out.replica->kept_.push_back(k);
  }
  const paxos::Core& core = out.replica->core();
  out.note = "snapshot at slot " + std::to_string(applied) + ", " + std::to_string(records.size()) +
             " WAL records, " + std::to_string(applied - core.compacted()) +
             " log slots kept behind the snapshot";
  return out;
}

Replica::Replica(const paxos::Config& cfg, paxos::Durable d, std::unique_ptr<store::Log> log,
                 std::uint64_t incarnation, std::uint64_t retain)
    : core_(cfg, std::move(d)), log_(std::move(log)), cluster_(cfg.cluster), retain_(retain) {
  batch_.origin = cfg.id;
  // Proposal ids restart with the process: the incarnation tells this run's batches from those
  // of an earlier run that may still be chosen later.
  if (incarnation == 0) {
    std::random_device rd;
    incarnation = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }
  batch_.incarnation = incarnation;
}

Status Replica::sync() {
  if (!failed_.isOk()) return failed_;
  if (Status s = log_->sync(); !s.isOk()) failed_ = s;
  return failed_;
}

void Replica::propose(wire::Command cmd, std::uint64_t proposal) {
  batch_.items.push_back(wire::Batch::Item{proposal, std::move(cmd)});
}

bool Replica::withdraw(std::uint64_t proposal) {
  auto& items = batch_.items;
  for (auto it = items.begin(); it != items.end(); ++it) {
    if (it->id == proposal) {
      items.erase(it);
      return true;
    }
  }
  return false;
}

bool Replica::queued(std::uint64_t proposal) const {
  for (const auto& it : batch_.items) {
    if (it.id == proposal) return true;
  }
  return false;
}

bool Replica::proposeForwarded(std::string batch) {
  // Checked before it is proposed: a batch that does not decode would be chosen, then refused by
  // every node's drain, and stop the whole cluster.
  if (!wire::decodeBatch(batch)) return false;
  if (core_.role() == paxos::Core::Role::kLeader) (void)core_.propose(std::move(batch));
  return true;
}

void Replica::append(char type, const std::string& body) {
  std::string rec(1, type);
  rec += body;
  log_->append(++seq_, rec);
}

wire::Result<Replica::Drained> Replica::drain(Outbox* early) {
  if (!failed_.isOk()) return failed_;
  Drained out;
  if (!batch_.items.empty()) {
    if (core_.role() == paxos::Core::Role::kLeader) {
      if (!core_.propose(wire::encodeBatch(batch_))) {
        for (const auto& it : batch_.items)
          out.refused.push_back(it.id);  // window full
      }
      batch_.items.clear();
    } else if (core_.leader() != 0) {
      wire::NodeMessage f;
      f.type = wire::NodeMessage::Type::kForward;
      f.cluster = cluster_;
      f.from = batch_.origin;
      f.to = core_.leader();
      f.value = wire::encodeBatch(batch_);
      out.forward.push_back(std::move(f));
      batch_.items.clear();
    }
    // With no leader known the batch waits here, until a leader appears or the node withdraws
    // commands whose clients have waited long enough.
  }
  std::vector<paxos::Ready> readies;
  while (core_.hasReady())
    readies.push_back(core_.ready());
  bool write = false;
  for (const paxos::Ready& r : readies) {
    if (r.promised) append('P', packBallot(*r.promised));
    for (const wire::Slot& s : r.accepted)
      append('A', wire::encodeSlot(s));
    if (r.learned) append('L', packU64(*r.learned));
    write = write || r.promised || !r.accepted.empty();
  }
  // A learned index alone is a recovery hint (paxos::Ready): it reaches the disk with the next
  // sync, so it never holds back an apply or a reply. (Bounded: a node that only learns still
  // writes its hints out now and then.)
  write = write || log_->buffered() > kLazyHintBytes;
  if (early) {
    for (paxos::Ready& r : readies) {
      auto later = std::stable_partition(r.send.begin(), r.send.end(), [](const auto& m) {
        return m.type == wire::PeerMessage::Type::kAccept;
      });
      for (auto it = r.send.begin(); it != later; ++it)
        early->send(*it);
      r.send.erase(r.send.begin(), later);
    }
    for (const auto& m : out.forward)
      early->send(m);
    out.forward.clear();
  }
  // The durability rule: everything above is on disk before any other message of these Readies
  // leaves.
  if (write) {
    const auto t0 = std::chrono::steady_clock::now();
    if (Status s = sync(); !s.isOk()) return s;
    out.synced = std::chrono::steady_clock::now() - t0;
  }
  for (paxos::Ready& r : readies) {
    for (auto& m : r.send)
      out.send.push_back(std::move(m));
    out.reads.insert(out.reads.end(), r.reads.begin(), r.reads.end());
    out.readsLost.insert(out.readsLost.end(), r.readsLost.begin(), r.readsLost.end());
    out.snapshotTo.insert(out.snapshotTo.end(), r.snapshotTo.begin(), r.snapshotTo.end());
    for (wire::Slot& s : r.chosen) {
      if (wire::isMembershipValue(s.value)) {
        // A configuration: the store keeps it for its snapshots, if it took effect (the core
        // says: otherwise a no-op).
        Chosen c{s.slot, wire::Command{}, 0, {}};
        if (std::find(r.configs.begin(), r.configs.end(), s.slot) != r.configs.end()) {
          c.members = s.value;
        }
        out.chosen.push_back(std::move(c));
      } else if (!s.value.empty()) {  // else a no-op filled a hole
        auto b = wire::decodeBatch(s.value);
        if (!b)
          return Status(Err::kCorrupt,
                        "chosen slot " + std::to_string(s.slot) + ": " + b.status().detail());
        const bool mine = b->origin == batch_.origin && b->incarnation == batch_.incarnation;
        for (auto& it : b->items) {
          out.chosen.push_back(Chosen{s.slot, std::move(it.cmd), mine ? it.id : 0, {}});
        }
      }
      out.slots.push_back(std::move(s));
    }
  }
  return out;
}

Status Replica::installSnapshot(std::uint64_t slot, const std::string& members) {
  if (!failed_.isOk()) return failed_;
  std::optional<wire::Membership> m;
  if (!members.empty()) {
    auto d = wire::decodeMembership(members);
    if (!d) return Status(Err::kCorrupt, "the snapshot's membership: " + d.status().detail());
    m = std::move(d.value());
  }
  core_.installSnapshot(slot, m);
  cutSlot_ = 0;
  if (Status s = log_->rotate(); !s.isOk()) return s;
  cutFirst_ = seq_ + 1;
  append('I', packU64(slot));  // voids what this node accepted at the slots it skipped
  restate(slot);
  kept_.clear();  // nothing behind an installed snapshot is kept
  cutSlot_ = slot;
  return finishCheckpoint(slot);
}

void Replica::restate(std::uint64_t slot) {
  if (!core_.promised().isZero()) append('P', packBallot(core_.promised()));
  for (const wire::Slot& s : core_.acceptedFrom(slot + 1))
    append('A', wire::encodeSlot(s));
  append('L', packU64(core_.learned()));
}

Status Replica::beginCheckpoint(std::uint64_t slot) {
  if (!failed_.isOk()) return failed_;
  cutSlot_ = 0;
  if (Status s = log_->rotate(); !s.isOk()) return s;
  cutFirst_ = seq_ + 1;
  restate(slot);  // durable with the next sync, and surely by finishCheckpoint's
  cutSlot_ = slot;
  return Status::ok();
}

Status Replica::finishCheckpoint(std::uint64_t slot) {
  if (cutSlot_ != slot) return checkpoint(slot);  // another checkpoint came between
  cutSlot_ = 0;
  append('C', packCheckpoint(slot, cutFirst_));
  if (Status s = sync(); !s.isOk()) return s;
  // The log behind this snapshot is kept back to the newest checkpoint at or before
  // slot - retain: its segments hold every value after that checkpoint's slot. Older segments go
  // (with retain 0, all but this checkpoint's own).
  kept_.emplace_back(slot, cutFirst_);
  const std::uint64_t keep = keepAfter(slot);
  for (std::size_t i = kept_.size(); i-- > 0;) {
    if (kept_[i].first > keep) continue;
    reap(log_->detachBefore(kept_[i].second));
    kept_.erase(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(i));
    break;
  }
  core_.compact(keep);
  return Status::ok();
}

Status Replica::checkpoint(std::uint64_t slot) {
  if (Status s = beginCheckpoint(slot); !s.isOk()) return s;
  return finishCheckpoint(slot);
}

void Replica::reap(std::vector<std::string> paths) {
  unreaped_.insert(unreaped_.end(), paths.begin(), paths.end());
  if (reaping_.load(std::memory_order_acquire) || unreaped_.empty()) return;
  if (reaper_.joinable()) reaper_.join();
  reaping_.store(true, std::memory_order_release);
  reaper_ = std::thread([this, files = std::move(unreaped_), log = log_.get()] {
    // A failure leaves files behind (disk space, not data: they hold only older records, and
    // a restart reads them harmlessly). The log outlives this thread: ~Replica joins it.
    (void)log->removeFiles(files);
    reaping_.store(false, std::memory_order_release);
  });
  unreaped_.clear();
}

void Replica::finishDeletions() {
  if (reaper_.joinable()) reaper_.join();
  if (!unreaped_.empty()) {
    reap({});
    if (reaper_.joinable()) reaper_.join();
  }
}

Replica::~Replica() {
  if (reaper_.joinable()) reaper_.join();
}

}  // namespace cairn::node
