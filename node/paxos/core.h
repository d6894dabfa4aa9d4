#pragma once
// The consensus core: Multi-Paxos with a stable leader, as a pure, deterministic state machine.
//
// Inputs: step(peer message), tick() (logical time), propose(value). Output: ready(), which hands
// out what to persist, what to send and what was chosen. The caller MUST make `promised` and
// `accepted` durable before it sends any message of the same Ready (the durability rule), and
// applies `chosen` in order. Nothing here touches sockets, files, clocks or threads; randomness
// comes only from Config::seed. That is what lets tests/sim run thousands of seeded clusters.
//
// Roles. A follower that hears no leader for its election timeout first *probes* (asks whether a
// quorum would promise a higher ballot, persisting nothing: a pre-vote, so a node that was cut off
// cannot depose a healthy leader when it returns), then *prepares* (phase 1) for all slots after
// the ones it knows are chosen. With a quorum of promises it leads: it re-proposes, in its own
// ballot, the highest-ballot value any promiser accepted at each open slot and fills true holes
// with no-ops, then accepts (phase 2) new values one slot each, many slots in flight. A slot is
// chosen when a quorum has accepted it in the leader's ballot; the leader's commit index (its
// chosen prefix) rides on every Accept, and followers that fell behind get Learn messages.
// A leader that hears from no quorum for an election timeout steps down.
//
// Membership. The configuration (wire::Membership: voters and learners) is itself a value in the
// log: one chosen at slot c governs the slots after c. Every other node a configuration names is
// a peer (learners are sent everything, and their acks count for nothing). The rules, and why they
// keep one value per slot (PROTOCOL.md, "Membership changes"):
//  - a slot's quorum is a majority of the voters of the configuration in effect there: the one
//    chosen last before it, or, for a leader, the one it proposed there in its ballot;
//  - a candidate prepares every slot after its chosen prefix; it leads only with a majority of the
//    configuration in effect after that prefix AND of every configuration among the values it must
//    re-propose (the highest-ballot ones its promisers report), so whatever was chosen under any
//    of them is reported to it;
//  - a leader proposes one change at a time, only once what it re-proposed on taking office is
//    chosen, and each change alters one member (wire::checkChange);
//  - only a voter probes or prepares on its own: of the configuration after its chosen prefix, or
//    of one it accepted after that (as Raft uses the newest configuration in its log); a leader
//    that a chosen change leaves out proposes nothing new, and once a voter has learned all it has,
//    hands over to it (kTakeOver: campaign now) and steps down.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "wire/membership.h"
#include "wire/peer.h"

namespace cairn::paxos {

using wire::Ballot;
using wire::PeerMessage;
using wire::Slot;

struct Config {
  std::uint32_t id = 1;
  // The configuration before any change in the log: `bootstrap` when it names members, else the
  // voters `members` (tests and the simulation).
  std::vector<std::uint32_t> members;
  wire::Membership bootstrap;
  std::uint64_t cluster = 0;  // messages for other clusters are dropped
  int electionTicks = 10;     // timeouts are drawn from [electionTicks, 2*electionTicks)
  int heartbeatTicks = 2;
  std::uint64_t seed = 1;
  std::uint64_t window = 4096;       // most slots a leader has in flight (proposed, not chosen)
  std::size_t learnBatch = 256;      // most chosen entries per Learn message
  std::size_t learnBytes = 1 << 20;  // and most value bytes (at least one entry goes)
};

// What a node recovers from its disk at start.
struct Durable {
  Ballot promised;
  std::vector<Slot> accepted;  // every accepted value still kept; the highest ballot per slot wins
  std::uint64_t learned = 0;   // a chosen prefix recorded earlier (may lag the truth)
  std::uint64_t applied = 0;   // slots <= applied are already in the store (snapshot)
  // Chosen values at slots <= applied, kept behind the snapshot so that a peer that far behind
  // learns them from the log, not from a snapshot. Only values known to be chosen belong here
  // (the replica's rules: Replica::open, store/FORMAT.md); an accepted value at a slot this node
  // skipped by installing a snapshot is not one. The core serves the unbroken run of them that
  // ends at `applied`, taking the highest ballot per slot; it never hands them out as chosen
  // again (the store has them).
  std::vector<Slot> retained;
  // The configuration in effect after `applied` (the snapshot's); nullopt: the bootstrap one.
  std::optional<wire::Membership> members;
};

// A confirmed linearizable read point: once every slot up to `index` is applied, the state
// reflects every write acknowledged before the read was asked for.
struct ReadState {
  std::uint64_t ctx = 0;
  std::uint32_t from = 0;  // the node that asked
  std::uint64_t index = 0;
};

struct Ready {
  std::optional<Ballot> promised;        // persist before sending
  std::vector<Slot> accepted;            // persist before sending
  std::optional<std::uint64_t> learned;  // may be persisted lazily (a hint for recovery)
  std::vector<PeerMessage> send;
  std::vector<Slot> chosen;  // newly chosen, contiguous, in slot order: apply these
  // The slots among `chosen` whose configuration took effect (a chosen configuration that does
  // not follow the one in effect changes nothing: apply it as a no-op).
  std::vector<std::uint64_t> configs;
  std::vector<ReadState> reads;      // read points confirmed by a quorum
  std::vector<ReadState> readsLost;  // read points abandoned (this node stopped leading)
  // Peers that need a snapshot: the slots they miss are compacted away here. The caller sends
  // one of its store (at a slot >= the compaction point), then Learn continues after it.
  std::vector<std::uint32_t> snapshotTo;

  bool empty() const {
    return !promised && accepted.empty() && !learned && send.empty() && chosen.empty() &&
           configs.empty() && reads.empty() && readsLost.empty() && snapshotTo.empty();
  }
};

class Core {
 public:
  enum class Role { kFollower, kCandidate, kLeader };

  Core(Config cfg, Durable d);

  void tick();
  void step(const PeerMessage& m);
  // Proposes a non-empty value. Only a leader with room in its window takes it; otherwise false
  // and the caller forwards the value to leader() or retries later.
  bool propose(std::string value);
  // Starts an election now (a single-member cluster need not wait for its timeout).
  void campaign();
  // Asks for a linearizable read point for request `ctx` of node `from` (ReadIndex): the leader
  // takes its chosen prefix (or, fresh in office, the end of what it re-proposed), confirms with a
  // quorum that it still leads by a heartbeat round sent after the request, and then reports it in
  // Ready::reads. False when this node does not lead.
  bool readIndex(std::uint64_t ctx, std::uint32_t from);
  // Proposes the configuration `next` at the next slot and returns that slot; the change takes
  // effect once that slot is chosen with it. NOT_LEADER when this node does not lead; UNAVAILABLE
  // while another change is under way, before this leader's re-proposals are chosen, or with the
  // window full (retry); BAD_REQUEST when `next` is not one change from the configuration now
  // (wire::checkChange).
  wire::Result<std::uint64_t> proposeMembership(const wire::Membership& next);

  Ready ready();
  bool hasReady() const;

  Role role() const { return role_; }
  std::uint32_t id() const { return cfg_.id; }
  std::uint32_t leader() const { return leader_; }  // 0 when unknown
  // This node leads and every value it re-proposed on taking office is chosen: its chosen prefix
  // holds everything chosen before it led.
  bool inOffice() const { return role_ == Role::kLeader && learned_ >= recoveryEnd_; }
  const Ballot& promised() const { return promised_; }
  std::uint64_t learned() const { return learned_; }
  // The highest chosen prefix this node has heard of (its own, or a leader's commit): how far
  // behind the cluster it is, for STATUS. Observation only; nothing is decided by it.
  std::uint64_t chosenHeard() const { return std::max(learned_, heardCommit_); }
  // Chosen values at slots <= compacted() are gone from the log (in a snapshot only): a peer that
  // needs them is sent a snapshot.
  std::uint64_t compacted() const { return compacted_; }
  std::uint64_t dropped() const { return dropped_; }  // messages refused as foreign or malformed
  // The configuration in effect after the chosen prefix.
  const wire::Membership& membership() const { return cfgFor(learned_ + 1).m; }
  // The newest configuration this node knows: a leader's change under way, else membership().
  const wire::Membership& latestMembership() const { return cfgs_.rbegin()->second.m; }
  // Whether a change is under way (proposed by this leader, not yet chosen).
  bool changing() const { return cfgs_.rbegin()->first > learned_; }
  // What this leader last heard of a peer's chosen prefix; nullopt when it has not within an
  // election timeout (or it does not lead).
  std::optional<std::uint64_t> peerLearned(std::uint32_t id) const;
  std::size_t inFlight() const { return pending_.size(); }

  // Forgets chosen entries at slots <= upTo (they are in a durable snapshot).
  void compact(std::uint64_t upTo);
  // Every slot <= `slot` is in a snapshot this node has just installed (and made durable): it
  // counts them as learned, and asks its leader for what follows.
  // `members`: the configuration in effect after `slot` (the snapshot's; nullopt: the bootstrap
  // one, no change having been chosen).
  void installSnapshot(std::uint64_t slot, const std::optional<wire::Membership>& members);
  // Every value this acceptor holds at slots >= from, with its ballot (what a checkpoint of the
  // durable state must keep).
  std::vector<Slot> acceptedFrom(std::uint64_t from) const;

 private:
  struct Entry {
    Ballot ballot;
    std::string value;
    bool chosen = false;
  };
  struct Pending {
    std::set<std::uint32_t> acks;
    std::uint64_t sentTick = 0;
  };

  // A configuration with what quorums need of it at hand.
  struct Cfg {
    wire::Membership m;
    std::vector<std::uint32_t> voters;  // ascending
    std::size_t quorum = 1;
    bool votes(std::uint32_t id) const {
      return std::binary_search(voters.begin(), voters.end(), id);
    }
    // Whether the ids in [begin, end) hold a majority of the voters.
    template <typename It>
    bool majority(It begin, It end) const {
      std::size_t n = 0;
      for (It i = begin; i != end; ++i)
        n += votes(*i) ? 1 : 0;
      return n >= quorum;
    }
  };
  static Cfg makeCfg(wire::Membership m);
  // The configuration in effect at `slot`: the newest one at a slot before it.
  const Cfg& cfgFor(std::uint64_t slot) const;
  // The configurations in effect at the slots after the chosen prefix (one, or two while a change
  // is under way): a leader's quorum to confirm reads is a majority of each.
  bool majorityOfEach(const std::function<bool(std::uint32_t)>& acked) const;
  // Notes a configuration at `slot` (chosen, or proposed there by this leader).
  // Whether it took effect (wire::takesEffect).
  bool noteMembership(std::uint64_t slot, const std::string& value);
  // What follows a change of configuration, once the handler that caused it is done: forgets
  // configurations behind the chosen prefix, brings peers_ in line, and a leader that the chosen
  // configuration leaves out hands over.
  void settle();
  // Whether this node leads, and the configuration in effect leaves it out.
  bool handingOver() const;
  // Whether this node may probe or prepare on its own (see the definition).
  bool mayCampaign() const;
  // Hands leadership to a caught-up voter, once there is one (see the rules above).
  void handOver();
  bool promisedEnough();
  void send(PeerMessage m);
  // Sends a copy of `proto` to every other member.
  void broadcast(const PeerMessage& proto);
  void reply(const PeerMessage& to, PeerMessage::Type t, Ballot b);
  void persistPromise(const Ballot& b);
  void acceptLocal(std::uint64_t slot, const Ballot& b, std::string value);
  void markChosen(std::uint64_t slot);
  void advanceLearned();
  void resetElectionTimer();
  bool hasLiveLeader() const;
  Ballot nextBallot() const;

  void becomeFollower(std::uint32_t leader);
  void startProbe();
  void startPrepare();
  void becomeLeader();
  void proposeAt(std::uint64_t slot, std::string value);
  void heartbeat();
  void sendLearn(std::uint32_t to, std::uint64_t after);
  // A Learn of the chosen values after `after` (as many as one Learn carries).
  PeerMessage learnFrom(std::uint32_t to, std::uint64_t after) const;
  void flushAccepts();

  void onProbe(const PeerMessage& m);
  void onProbeOk(const PeerMessage& m);
  void onPrepare(const PeerMessage& m);
  void onPromise(const PeerMessage& m);
  void onAccept(const PeerMessage& m);
  void onAccepted(const PeerMessage& m);
  void onLearn(const PeerMessage& m);
  void onTakeOver(const PeerMessage& m);
  // Every slot up to `commit` whose value we accepted in `ballot` is chosen (the leader of
  // `ballot` says so).
  void learnCommit(const Ballot& ballot, std::uint64_t commit);

  Config cfg_;
  std::mt19937_64 rng_;
  Ready out_;
  std::vector<Slot> outAccepts_;  // accepts proposed since the last ready(), sent as one batch

  // Acceptor and learner.
  Ballot promised_;
  std::map<std::uint64_t, Entry> log_;
  std::uint64_t learned_ = 0;
  std::uint64_t heardCommit_ = 0;
  std::uint64_t compacted_ = 0;
  std::uint64_t maxRound_ = 0;

  // Roles and time.
  Role role_ = Role::kFollower;
  std::uint32_t leader_ = 0;
  std::uint64_t now_ = 0;  // ticks since start
  int electionElapsed_ = 0;
  int electionTimeout_ = 0;
  int heartbeatElapsed_ = 0;
  std::uint64_t dropped_ = 0;

  // Probing (pre-vote) and preparing.
  bool probing_ = false;
  Ballot probeBallot_;
  std::set<std::uint32_t> probeOks_;
  std::uint64_t from_ = 0;
  std::map<std::uint32_t, std::vector<Slot>> promises_;

  // Leading.
  std::uint64_t nextSlot_ = 1;
  std::map<std::uint64_t, Pending> pending_;
  // What this node, as leader, knows of one other member. What describes the peer's log outlives
  // our terms; what describes our term with it is reset when we take office (becomeLeader) or
  // step down (becomeFollower), field by field as commented.
  struct Peer {
    // The chosen prefix it last reported (Accepted.learned, Promise.learned): the latest, not the
    // highest (a peer that restarted may have learned less than before). Kept across terms: it
    // is a fact about the peer's log, not about our ballot.
    std::uint64_t learned = 0;
    // Whether `learned` was reported at all since this node started: until then it is unknown,
    // not 0, and the peer is sent neither learns nor a snapshot (after a full restart every peer
    // would otherwise look as far behind as can be).
    bool known = false;
    // The tick of the last Learn sent to it (or of the snapshot asked for); heartbeats add a
    // Learn to the catch-up under way only when it has gone quiet this long (see heartbeat()).
    std::uint64_t learnSentAt = 0;
    // The latest Learn of the catch-up under way: the slot it began after and its last slot.
    // Learns are flow-controlled: an ack sends the slots after the last ones sent (not the same
    // ones again) once the peer has learned everything before the latest Learn, so at most two
    // are in flight; silence for an election timeout starts over from what it has learned.
    std::uint64_t learnBase = 0;
    std::uint64_t learnSent = 0;
    // The tick we last asked the caller to send it a snapshot; none yet if empty. Kept across
    // terms, so a snapshot (costly) goes to a peer at most once per two election timeouts.
    std::optional<std::uint64_t> snapshotSentAt;
    // The tick of its last Accepted in our ballot. Set to the tick we take office (a promise is
    // a sign of life).
    std::uint64_t lastAck = 0;
    // The last read round it acknowledged in our ballot (see reads_). Zero when we take office.
    std::uint64_t round = 0;
    // It is being sent Learns (or a snapshot): answer each of its acks with the next batch until
    // it has learned our chosen prefix. False when we step down.
    bool catchingUp = false;
  };
  std::map<std::uint32_t, Peer> peers_;  // every other node a configuration names, in id order
  // Configurations by the slot that holds them (each governs the slots after it): the one in
  // effect after the chosen prefix, and while leading the one proposed after it, if any.
  std::map<std::uint64_t, Cfg> cfgs_;
  bool cfgChanged_ = false;  // settle() has work to do
  // Peers a chosen configuration left out, kept a while (to the tick given) so that they hear
  // of it.
  std::map<std::uint32_t, std::uint64_t> leaving_;
  std::uint64_t learnedAtHeartbeat_ = 0;
  std::uint64_t commitSent_ = 0;   // the highest commit index sent to the followers
  std::uint64_t recoveryEnd_ = 0;  // the last slot re-proposed on taking office

  // Read points: each waits for a heartbeat round (numbered, carried in Accept.slot and echoed
  // in Accepted.slot) that started after it was asked for and that a quorum acknowledged.
  struct PendingRead {
    ReadState state;
    std::uint64_t round = 0;
  };
  std::vector<PendingRead> reads_;
  std::uint64_t readRound_ = 0;  // the last round sent
  std::uint64_t roundDone_ = 0;  // the last round a quorum acknowledged
  void startReadRound();
  void confirmReads();
  void dropReads();
};

}  // namespace cairn::paxos
