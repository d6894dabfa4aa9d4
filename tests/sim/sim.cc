// Deterministic simulation of Cairn clusters: real consensus cores and real stores on a seeded
// fake network that drops, duplicates, reorders and delays messages, partitions and heals, and
// crashes nodes, which restart from what they had persisted only.
//
// After every step: at most one value is chosen per slot, and every node applies chosen slots in
// order. At the end of each seed (after healing everything): every acknowledged write is chosen,
// every node has applied the same log, and all stores are equal. A failing seed prints itself;
// `cairn_sim --seed S --verbose` replays it exactly.
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

#include "cli/flags.h"
#include "node/paxos/core.h"
#include "store/snapshot.h"
#include "store/store.h"
#include "wire/command.h"
#include "wire/peer.h"

namespace {

using cairn::paxos::Config;
using cairn::paxos::Core;
using cairn::paxos::Durable;
using cairn::paxos::Ready;
using cairn::wire::Ballot;
using cairn::wire::Command;
using cairn::wire::PeerMessage;
using cairn::wire::Slot;

struct Failure {
  std::string why;
};

struct SimNode {
  std::uint32_t id = 0;
  bool up = true;
  std::unique_ptr<Core> core;
  // The node's disk: what a crash cannot take (the driver persists before it sends).
  Ballot promised;
  std::map<std::uint64_t, Slot> accepted;
  std::uint64_t learnedHint = 0;
  std::string snapshot;  // the newest durable snapshot of the store (empty: none)
  std::uint64_t snapshotSlot = 0;
  // The state machine, rebuilt from the log after each restart.
  std::unique_ptr<cairn::store::Store> store;
  std::uint64_t applied = 0;
  int group = 0;  // partition side
};

class Sim {
 public:
  Sim(std::uint64_t seed, int n, int steps, bool verbose)
      : seed_(seed), rng_(seed), steps_(steps), verbose_(verbose) {
    for (int i = 1; i <= n; ++i)
      members_.push_back(static_cast<std::uint32_t>(i));
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
    Durable d;
    d.promised = nd.promised;
    for (auto& [slot, s] : nd.accepted)
      d.accepted.push_back(s);
    d.learned = nd.learnedHint;
    d.applied = nd.snapshotSlot;
    nd.core = std::make_unique<Core>(cfg, std::move(d));
    nd.store = std::make_unique<cairn::store::Store>();
    if (!nd.snapshot.empty()) {
      auto st = cairn::store::decodeSnapshot(nd.snapshot, cairn::store::Store::Options());
      if (!st) throw Failure{"own snapshot unreadable"};
      nd.store = std::make_unique<cairn::store::Store>(std::move(st.value()));
    }
    nd.applied = nd.snapshotSlot;
    nd.up = true;
    drain(nd);
  }

  void drain(SimNode& nd) {
    while (nd.core->hasReady()) {
      Ready r = nd.core->ready();
      // 1. persist
      if (r.promised) {
        if (*r.promised < nd.promised) throw Failure{"promise went backwards"};
        nd.promised = *r.promised;
      }
      for (Slot& s : r.accepted) {
        auto it = nd.accepted.find(s.slot);
        if (it == nd.accepted.end() || it->second.ballot <= s.ballot) nd.accepted[s.slot] = s;
      }
      if (r.learned) nd.learnedHint = std::max(nd.learnedHint, *r.learned);
      // 2. send
      for (PeerMessage& m : r.send)
        net_.push_back(std::move(m));
      // 3. apply
      for (Slot& s : r.chosen)
        apply(nd, s);
      // 4. linearizable reads: a read point must cover every write acknowledged before the read
      // was asked for.
      for (const auto& rs : r.reads) {
        auto it = reads_.find(rs.ctx);
        if (it == reads_.end()) throw Failure{"a read point nobody asked for"};
        if (rs.index < it->second) {
          throw Failure{"stale read: read point " + std::to_string(rs.index) +
                        " misses a write acknowledged at slot " + std::to_string(it->second)};
        }
        reads_.erase(it);
        ++readsConfirmed_;
      }
      for (const auto& rs : r.readsLost)
        reads_.erase(rs.ctx);
      // 5. catch-up past a compacted log: send a snapshot of the store, as cairnd does
      for (std::uint32_t to : r.snapshotTo) {
        PeerMessage m;
        m.type = PeerMessage::Type::kSnapshot;
        m.cluster = 42;
        m.from = nd.id;
        m.to = to;
        m.slot = nd.store->appliedIndex();
        m.entries.push_back(
            Slot{m.slot, Ballot{}, cairn::store::encodeSnapshot(nd.store->image())});
        net_.push_back(std::move(m));
      }
    }
  }

  void apply(SimNode& nd, const Slot& s) {
    if (s.slot != nd.applied + 1) {
      throw Failure{"node " + std::to_string(nd.id) + " got slot " + std::to_string(s.slot) +
                    " after " + std::to_string(nd.applied)};
    }
    auto it = chosen_.find(s.slot);
    if (it == chosen_.end()) {
      chosen_[s.slot] = s.value;
    } else if (it->second != s.value) {
      throw Failure{"two values chosen for slot " + std::to_string(s.slot)};
    }
    nd.applied = s.slot;
    Command cmd;
    if (!s.value.empty()) {
      auto c = cairn::wire::decodeCommand(s.value.substr(8));
      if (!c) throw Failure{"undecodable value"};
      cmd = *c;
    }
    (void)nd.store->apply(s.slot, cmd);
    // The node that proposed a value acknowledges it to its client once it applies it.
    auto p = proposedBy_.find(s.value);
    if (p != proposedBy_.end() && p->second == nd.id && !s.value.empty()) {
      acked_[s.value] = s.slot;
      maxAcked_ = std::max(maxAcked_, s.slot);
    }
    log("n%u applied slot %llu", nd.id, static_cast<unsigned long long>(s.slot));
  }

  std::string newValue() {
    ++seq_;
    Command c;
    std::uint64_t k = rnd(8);
    c.path = "/k" + std::to_string(k);
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
    std::string v(8, '\0');
    std::memcpy(v.data(), &seq_, 8);  // unique, so acknowledgements can be traced
    return v + cairn::wire::encodeCommand(c);
  }

  SimNode* randomNode(bool up) {
    std::vector<SimNode*> c;
    for (auto& [id, nd] : nodes_) {
      if (nd->up == up) c.push_back(nd.get());
    }
    return c.empty() ? nullptr : c[rnd(c.size())];
  }

  void deliver(std::size_t i) {
    PeerMessage m = std::move(net_[i]);
    net_[i] = std::move(net_.back());
    net_.pop_back();
    SimNode& to = *nodes_.at(m.to);
    SimNode& from = *nodes_.at(m.from);
    if (!to.up || to.group != from.group) return;  // lost
    // Every message crosses the real codec, as it would between processes.
    auto decoded = cairn::wire::decodePeer(cairn::wire::encodePeer(m));
    if (!decoded) throw Failure{"peer codec failed: " + decoded.status().toString()};
    log("deliver %s n%u->n%u b=%llu.%u", cairn::wire::peerTypeName(m.type), m.from, m.to,
        static_cast<unsigned long long>(m.ballot.round), m.ballot.node);
    if (decoded->type == PeerMessage::Type::kSnapshot) {
      installSnapshot(to, *decoded);
    } else {
      to.core->step(*decoded);
    }
    drain(to);
  }

  // A node snapshots its store and forgets the log behind it (a checkpoint).
  void compact(SimNode& nd) {
    if (nd.store->appliedIndex() == 0) return;
    nd.snapshot = cairn::store::encodeSnapshot(nd.store->image());
    nd.snapshotSlot = nd.store->appliedIndex();
    nd.accepted.erase(nd.accepted.begin(), nd.accepted.upper_bound(nd.snapshotSlot));
    nd.core->compact(nd.snapshotSlot);
    log("n%u compacted to %llu", nd.id, static_cast<unsigned long long>(nd.snapshotSlot));
  }

  void installSnapshot(SimNode& nd, const PeerMessage& m) {
    if (m.entries.empty() || m.slot <= nd.core->learned()) return;
    auto st = cairn::store::decodeSnapshot(m.entries[0].value, cairn::store::Store::Options());
    if (!st) throw Failure{"snapshot codec failed"};
    for (std::uint64_t s = nd.applied + 1; s <= m.slot; ++s) {
      if (!chosen_.count(s)) throw Failure{"a snapshot covers a slot nobody chose"};
    }
    nd.snapshot = m.entries[0].value;
    nd.snapshotSlot = m.slot;
    nd.accepted.erase(nd.accepted.begin(), nd.accepted.upper_bound(m.slot));
    nd.store = std::make_unique<cairn::store::Store>(std::move(st.value()));
    nd.applied = m.slot;
    nd.core->installSnapshot(m.slot);
    ++snapshotsInstalled_;
    log("n%u installed a snapshot at %llu", nd.id, static_cast<unsigned long long>(m.slot));
  }

  void chaosStep() {
    ++step_;
    std::uint64_t r = rnd(100);
    if (r < 55) {
      if (!net_.empty()) deliver(rnd(net_.size()));
    } else if (r < 75) {
      if (SimNode* nd = randomNode(true)) {
        nd->core->tick();
        drain(*nd);
      }
    } else if (r < 78) {  // a linearizable read at a random node
      if (SimNode* nd = randomNode(true)) {
        std::uint64_t ctx = ++readCtx_;
        reads_[ctx] = maxAcked_;
        if (nd->core->readIndex(ctx, nd->id)) {
          drain(*nd);
        } else {
          reads_.erase(ctx);
        }
      }
    } else if (r < 90) {  // a client write at a random node
      if (SimNode* nd = randomNode(true)) {
        std::string v = newValue();
        if (nd->core->propose(v)) {
          proposedBy_[v] = nd->id;
          log("n%u proposed", nd->id);
          drain(*nd);
        }
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
        nd->up = false;
        nd->core.reset();
        nd->store.reset();
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
  }

  // Heal everything, restart every node, and require progress: a final write gets chosen and
  // every node applies the whole log.
  void stabilize() {
    log("stabilize");
    for (auto& [id, nd] : nodes_) {
      nd->group = 0;
      if (!nd->up) {
        ++restarts_;
        start(*nd);
      }
    }
    std::string last;
    int lastAt = 0;
    for (int round = 0; round < 4000; ++round) {
      // A proposal can be lost when leadership changes: the client tries again.
      if (!last.empty() && !acked_.count(last) && round - lastAt > 100) last.clear();
      ++step_;
      std::vector<PeerMessage> batch;
      batch.swap(net_);
      while (!batch.empty()) {  // deliver everything in flight, in a random order
        std::size_t i = rnd(batch.size());
        net_.push_back(std::move(batch[i]));
        batch[i] = std::move(batch.back());
        batch.pop_back();
        deliver(net_.size() - 1);
      }
      for (auto& [id, nd] : nodes_) {
        nd->core->tick();
        drain(*nd);
      }
      if (last.empty()) {
        for (auto& [id, nd] : nodes_) {
          if (nd->core->role() != Core::Role::kLeader) continue;
          std::string v = newValue();
          if (nd->core->propose(v)) {
            proposedBy_[v] = nd->id;
            last = v;
            lastAt = round;
            drain(*nd);
          }
          break;
        }
      }
      if (!last.empty() && acked_.count(last)) {
        std::uint64_t want = acked_[last];
        bool all = true;
        for (auto& [id, nd] : nodes_)
          all = all && nd->applied >= want;
        if (all) return;
      }
    }
    std::string state;
    for (auto& [id, nd] : nodes_) {
      state += " n" + std::to_string(id) +
               "{role=" + std::to_string(static_cast<int>(nd->core->role())) +
               " learned=" + std::to_string(nd->core->learned()) +
               " applied=" + std::to_string(nd->applied) +
               " inflight=" + std::to_string(nd->core->inFlight()) + "}";
    }
    throw Failure{"no progress after healing: the cluster did not converge:" + state};
  }

  void finalChecks() {
    for (auto& [v, slot] : acked_) {
      auto it = chosen_.find(slot);
      if (it == chosen_.end() || it->second != v) {
        throw Failure{"acknowledged write at slot " + std::to_string(slot) + " lost"};
      }
    }
    // Equal stores at equal applied slots.
    std::uint64_t lo = UINT64_MAX;
    for (auto& [id, nd] : nodes_)
      lo = std::min(lo, nd->applied);
    const SimNode* ref = nullptr;
    for (auto& [id, nd] : nodes_) {
      if (nd->applied != lo) continue;
      if (!ref) {
        ref = nd.get();
      } else if (nd->store->dump() != ref->store->dump() || nd->store->rev() != ref->store->rev()) {
        throw Failure{"stores differ at slot " + std::to_string(lo)};
      }
    }
    // Replaying the chosen log from scratch gives the same store.
    cairn::store::Store replay;
    for (std::uint64_t s = 1; s <= lo; ++s) {
      Command cmd;
      const std::string& v = chosen_.at(s);
      if (!v.empty()) cmd = *cairn::wire::decodeCommand(v.substr(8));
      (void)replay.apply(s, cmd);
    }
    if (ref && replay.dump() != ref->store->dump()) throw Failure{"store differs from its log"};
  }

  std::uint64_t seed_;
  std::mt19937_64 rng_;
  int steps_;
  bool verbose_;
  std::vector<std::uint32_t> members_;
  std::map<std::uint32_t, std::unique_ptr<SimNode>> nodes_;
  std::vector<PeerMessage> net_;
  std::map<std::uint64_t, std::string> chosen_;
  std::map<std::string, std::uint32_t> proposedBy_;
  std::map<std::string, std::uint64_t> acked_;
  std::uint64_t seq_ = 0;
  std::uint64_t step_ = 0;
  std::map<std::uint64_t, std::uint64_t> reads_;  // ctx -> highest acknowledged slot when asked
  std::uint64_t readCtx_ = 0;
  std::uint64_t maxAcked_ = 0;
  std::uint64_t readsConfirmed_ = 0;
  std::uint64_t snapshotsInstalled_ = 0;

 public:
  std::uint64_t readsConfirmed() const { return readsConfirmed_; }
  std::uint64_t snapshotsInstalled() const { return snapshotsInstalled_; }

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
  std::uint64_t passed = 0, failed = 0, chosen = 0, acked = 0, reads = 0, snaps = 0;
  for (std::uint64_t s = start; s < start + seeds; ++s) {
    try {
      Sim sim(s, nodes, steps, verbose);
      sim.run();
      chosen += sim.chosenCount();
      acked += sim.ackedCount();
      reads += sim.readsConfirmed();
      snaps += sim.snapshotsInstalled();
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
      "linearizable read points checked, %llu snapshots installed\n",
      nodes, static_cast<unsigned long long>(start),
      static_cast<unsigned long long>(start + seeds - 1), static_cast<unsigned long long>(chosen),
      static_cast<unsigned long long>(acked), static_cast<unsigned long long>(reads),
      static_cast<unsigned long long>(snaps));
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(passed),
              static_cast<unsigned long long>(failed));
  return failed == 0 ? 0 : 1;
}
