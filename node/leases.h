#pragma once
// Leases: the leader's clock for the leases of the replicated state (store::Lease).
//
// Owns: each lease's deadline, on the leader only, in memory. A leader in office (its
// re-proposals chosen, so its store holds every lease granted before it led) first writes its term
// into the log (a TERM command, once the cluster has ever granted a lease); once that is applied it
// keeps time: it gives each lease a full ttl
// from then, from each GRANT applied, and from each KEEPALIVE. A lease whose deadline passes is
// ended by proposing a REVOKE that carries the term; every replica applies it at the same point of
// the log, and only if no other leader's TERM came after (store::Store::term): an expiry decided
// by a leader that has been replaced since — a paused process, a partition — changes nothing.
// Followers keep and expire nothing. Losing office forgets every deadline, and the next leader
// starts them afresh, so an election never ends a lease early (etcd's lessor does the same).
//
// A KEEPALIVE's reply may leave only once a quorum confirmed that this node still leads (the node
// hands it to Waiters::confirm): a deposed leader that has not noticed yet renews nothing.
// No clock of its own (the node passes the time), no socket. Thread: the node's event loop.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "wire/command.h"
#include "wire/message.h"

namespace cairn::node {

class Leases {
 public:
  using Clock = std::chrono::steady_clock;
  // An expiry proposed but not applied is proposed again after this long (a proposal can be lost
  // with a leader change, and this leader may keep leading).
  static constexpr std::chrono::milliseconds kRetry{4000};

  struct Hooks {
    std::function<std::uint32_t()> leader;                  // the leader this node follows; 0: none
    std::function<std::string(std::uint32_t id)> clientOf;  // a member's client endpoint
  };
  Leases(std::uint32_t self, const store::Store& store, Hooks hooks)
      : self_(self), store_(store), hooks_(std::move(hooks)) {}

  // KEEPALIVE or LEASE (ClientService checked its shape). Elsewhere than at the leader: NOT_LEADER
  // naming it (a LEASE is answered from this node's state while no leader is known).
  wire::Reply handle(const wire::Request& req, Clock::time_point now);

  // Each turn, after applying. `inOffice`: this node leads and its store holds everything chosen
  // before it took office; `term`: its ballot (wire::termOf). Returns the commands to propose now:
  // its TERM, or the REVOKEs of leases past their deadline.
  std::vector<wire::Command> step(bool inOffice, std::uint64_t term, Clock::time_point now);

  // Writes under these sessions (leases, exactly-once) were applied: on the leader in office, each
  // such lease's ttl starts again, as a KEEPALIVE would (a session in use needs none). To spare
  // every write a re-sort of the deadlines, a lease renewed less than ttl/64 ago is left as it is:
  // it may end up to ttl/64 (under 1 s for a 60 s session) before ttl after its last write.
  void used(const std::vector<std::uint64_t>& sessions, Clock::time_point now);

  // The earliest deadline, for the loop's wake-up; nullopt when not leading or no lease.
  std::optional<Clock::time_point> earliest() const;
  std::size_t tracked() const { return live_.size(); }

 private:
  using Deadlines = std::multimap<Clock::time_point, std::uint64_t>;
  struct Live {
    Deadlines::iterator deadline;  // once ending: when to propose its REVOKE again
    bool ending = false;           // past its deadline: its REVOKE is proposed
  };
  void track(std::uint64_t id, std::int64_t ttl, Clock::time_point now);
  void renew(Live& l, std::uint64_t id, std::int64_t ttl, Clock::time_point now);

  wire::Reply elsewhere(const std::string& what) const;
  // KEEPALIVE in office: the lease's ttl starts again now; the reply ({lease, ttl}) or NOENT for a
  // lease that ended, is ending, or never was.
  wire::Reply keepAlive(std::uint64_t id, Clock::time_point now);
  // LEASE: the lease's ttl and files from this node's state, and the time left if this node leads.
  wire::Reply info(std::uint64_t id, Clock::time_point now) const;

  std::uint32_t self_;
  const store::Store& store_;
  Hooks hooks_;
  bool inOffice_ = false;  // keeping time: in office, its TERM applied
  std::uint64_t term_ = 0;
  std::optional<Clock::time_point> termAsked_;  // when its TERM was proposed
  std::uint64_t seenNext_ = 0;                  // leases with ids below this are tracked (or ended)
  std::map<std::uint64_t, Live> live_;
  Deadlines deadlines_;
};

}  // namespace cairn::node
