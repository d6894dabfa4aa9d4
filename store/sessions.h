#pragma once
// Sessions: the exactly-once reply table of the replicated state (PROTOCOL.md §5, "Exactly-once
// writes").
//
// A client's session is a lease it was granted. While the lease lives, the table keeps, for each
// session, the replies of its latest writes by sequence number, so that a write applied under
// (session, seq) is never applied again: a retry gets the first reply — from any node, after a
// leader change, a restart or a snapshot install (the table travels in snapshots). When the
// lease ends, its replies go with it.
//
// Bounded: at most kWindow replies per session (its lowest seq goes first) and kMaxBytes of
// replies in all (the reply kept longest goes first, whichever session holds it). A reply that
// goes raises its session's floor: a write whose seq is below the floor is refused (TOO_LATE),
// never applied again, whether or not an earlier attempt was. Everything at or above the floor
// that was applied is kept, so a seq at or above it that is not kept was never applied.
//
// Owns: the table. Called by: the Store, as it applies commands, in log order; deterministic
// (no clock, no randomness), so every replica holds the same table at the same log index.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "wire/status.h"

namespace cairn::store {

class Sessions {
 public:
  static constexpr std::size_t kWindow = 64;
  static constexpr std::size_t kMaxBytes = 64 << 20;

  struct Kept {
    std::uint64_t age = 0;  // when it was recorded: replies go oldest first across sessions
    std::string reply;      // the reply, as the client protocol encodes it (wire::encodeReply)
  };
  struct Session {
    std::uint64_t floor = 1;  // seqs below it are refused
    // (seq, reply), ascending seq: a new write's seq is almost always above the others, so it is
    // appended, and the window drops from the front, with no search tree to rebalance.
    std::deque<std::pair<std::uint64_t, Kept>> replies;
  };

  enum class Seen { kNew, kApplied, kTooLate };
  // What the table knows of write `seq` of `session`: never applied (kNew), applied (kApplied,
  // *reply is its first reply), or below the floor (kTooLate).
  Seen seen(std::uint64_t session, std::uint64_t seq, const std::string** reply) const;
  // Write `seq` of `session` was applied with `reply`.
  void record(std::uint64_t session, std::uint64_t seq, std::string reply);
  // The session's lease ended.
  void end(std::uint64_t session);

  // A session as a snapshot holds it (replies in any order). CORRUPT when it breaks the bounds or
  // holds a seq twice.
  // After the last one, restored() checks the table as a whole (CORRUPT if two replies share an
  // age).
  wire::Status restore(std::uint64_t session, Session s);
  wire::Status restored();
  void setNextAge(std::uint64_t age) { nextAge_ = std::max(nextAge_, age); }

  const std::unordered_map<std::uint64_t, Session>& all() const { return sessions_; }
  std::vector<std::uint64_t> ids() const;  // every session's id, ascending
  std::uint64_t nextAge() const { return nextAge_; }
  std::size_t bytes() const { return bytes_; }
  // "session:floor[seq@age#crc,...] ..." (tests and the simulation compare replicas with it).
  std::string dump() const;

 private:
  // Drops the kept reply (session, seq) and every reply below it in that session.
  void dropThrough(std::uint64_t session, std::uint64_t seq);

  struct Aged {
    std::uint64_t age, session, seq;
  };
  // Whether the reply `a` names is still kept.
  bool live(const Aged& a) const;
  // Drops the entries of byAge_ whose replies are gone, once they outnumber the live ones.
  void compact();

  // Hashed: a write looks its session up three times (seen, record, the oldest reply's), each a
  // cache miss or two where a search tree's would be several.
  std::unordered_map<std::uint64_t, Session> sessions_;
  // Every kept reply by age, oldest first, for the byte bound. A reply dropped by its session's
  // window or end leaves its entry behind: popped once it is the oldest, swept by compact() when
  // stale ones outnumber the live. Appending and popping cost less, on every write, than a search
  // tree's insert and erase.
  std::deque<Aged> byAge_;
  std::size_t kept_ = 0;  // replies kept (the live entries of byAge_)
  std::uint64_t nextAge_ = 1;
  std::size_t bytes_ = 0;
};

}  // namespace cairn::store
