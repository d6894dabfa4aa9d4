#pragma once
// A command: what the log orders and the store applies. The single-node log and (later) Paxos
// carry commands as opaque bytes encoded here; the store applies them in log order, and only the
// store decides whether one succeeds (a failed compare-and-set consumes no revision).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"
#include "wire/txn.h"

namespace cairn::wire {

struct Command {
  // kGrant makes a lease of `ttl` ms (the store numbers it); kRevoke ends lease `lease` and deletes
  // its files, all at one rev (`value` says why: "revoked" or "expired", for the log's reader). A
  // leader in office first writes kTerm with its `term`; an expiry (a kRevoke with a `term`) takes
  // effect only if no other leader's kTerm came after its proposer's (store/store.h, Lease).
  // kTxn carries `txn` (wire/txn.h): applied at one rev, all or nothing.
  enum class Op : std::uint8_t {
    kNop = 0,
    kSet = 1,
    kDel = 2,
    kGrant = 3,
    kRevoke = 4,
    kTerm = 5,
    kTxn = 6,
  };
  Op op = Op::kNop;
  std::string path;
  std::int64_t rev = -1;  // compare-and-set: -1 clobbers, otherwise rev >= file.rev
  std::string value;
  std::uint64_t lease = 0;  // kSet: the lease the file is kept under (0: none); kRevoke: which
  std::int64_t ttl = 0;     // kGrant: the lease's time to live, in ms
  std::uint64_t term = 0;   // kTerm, and a leader's expiry kRevoke: the leader's ballot (termOf)
  // Exactly-once (PROTOCOL.md §5): the client's session (a lease id) and the write's number in it;
  // 0: none. A write applied once under (session, seq) is never applied again: a retry gets the
  // first reply (store/sessions.h).
  std::uint64_t session = 0;
  std::uint64_t seq = 0;
  // The user the client's key maps to (node/grants.h), stamped by the node that took the request;
  // "" without grants. A lease belongs to the user whose GRANT made it: only that user may write
  // under it as a session, keep files with it or revoke it (store/store.h checks, at apply).
  std::string user = {};
  // kTxn (shared: a command is copied into batches and replies).
  std::shared_ptr<const Txn> txn = nullptr;

  bool operator==(const Command& o) const {
    return op == o.op && path == o.path && rev == o.rev && value == o.value && lease == o.lease &&
           ttl == o.ttl && term == o.term && session == o.session && seq == o.seq &&
           user == o.user && (txn == o.txn || (txn && o.txn && *txn == *o.txn));
  }
};

// The most bytes of a Command's user (node/grants.h: a user name is 1..64 characters).
inline constexpr std::size_t kMaxUser = 64;

// A leader's ballot (round, node id < 2^16) as one number that orders like the ballot.
inline std::uint64_t termOf(std::uint64_t round, std::uint32_t node) {
  return (round << 16) | (node & 0xffff);
}

// msgpack array [op, path, rev, value], or [op, path, rev, value, lease, ttl] when either of the
// last two is not 0, or [op, path, rev, value, lease, ttl, term] when term is not 0 (records
// written before leases existed decode unchanged), or [... term, session, seq] when a session is
// set, or [... session, seq, user] when a user is. A kTxn's value is its encodeTxn bytes.
std::string encodeCommand(const Command& c);
Result<Command> decodeCommand(std::string_view bytes);

// What one consensus slot carries: the commands a node batched together, each with the id its
// origin gave it so that the origin can answer its client when the slot is applied.
struct Batch {
  std::uint32_t origin = 0;       // the node that batched these commands
  std::uint64_t incarnation = 0;  // distinguishes the origin's restarts (ids restart with it)
  struct Item {
    std::uint64_t id = 0;
    Command cmd;
  };
  std::vector<Item> items;
};

// msgpack array [origin, incarnation, [[id, op, path, rev, value (, lease, ttl (, term (, session,
// seq (, user))))], ...]].
std::string encodeBatch(const Batch& b);
Result<Batch> decodeBatch(std::string_view bytes);

}  // namespace cairn::wire
