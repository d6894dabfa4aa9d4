#pragma once
// Ctl: keeps /ctl describing the cluster — the leader, the members' peer endpoints (the
// configuration the log has chosen: /ctl/members mirrors it after each change), each node's
// client and feed endpoints — by proposing writes through the log like any client, never by
// writing the store. Clients cannot write under /ctl (wire::isCtlPath). Only changes are written
// (a leader checks its own record every 2 s, in case a write of it was lost):
// ordinary traffic writes nothing here. Live facts (applied rev, lag, fsync latency) are each
// node's own, answered by SELF, never sent through the log.
//
// Owns: when to report what. Reads the store, proposes through the Replica.
// Thread: the node's event loop; maintain() runs once per turn.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "node/replica.h"
#include "store/store.h"

namespace cairn::node {

class Ctl {
 public:
  using Clock = std::chrono::steady_clock;
  // `lone`: a node alone, which reports nothing (SELF says it all) and only clears what a former
  // cluster left in /ctl.
  Ctl(std::uint32_t self, std::map<std::uint32_t, std::string> members, Replica& replica,
      const store::Store& store, bool lone = false);
  void setEndpoints(std::string client, std::string events);

  void maintain(Clock::time_point now);

 private:
  void propose(const std::string& path, const std::string& value);
  void remove(const std::string& path);
  // Deletes what /ctl says of nodes that are not members.
  void removeStrangers();
  // The members now (id -> peer endpoint): the configuration chosen, endpoints from the
  // bootstrap list where it names none.
  std::map<std::uint32_t, std::string> current() const;

  std::uint32_t self_;
  std::map<std::uint32_t, std::string> members_;
  bool lone_;  // a cluster of one: it only clears what /ctl says of other nodes
  Replica& replica_;
  const store::Store& store_;
  std::string client_;
  std::string events_;
  bool wasLeader_ = false;
  std::uint64_t mirrored_ = UINT64_MAX;  // the configuration version /ctl/members was last set to
  bool staleRemoved_ = false;
  Clock::time_point nextReport_;
  Clock::time_point recheckAt_;  // when a leader checks again what /ctl says of it
};

}  // namespace cairn::node
