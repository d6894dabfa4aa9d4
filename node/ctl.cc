#include "node/ctl.h"

namespace cairn::node {

namespace {
constexpr auto kReportEvery = std::chrono::seconds(2);
}  // namespace

Ctl::Ctl(std::uint32_t self, std::map<std::uint32_t, std::string> members, Replica& replica,
         const store::Store& store)
    : self_(self), members_(std::move(members)), replica_(replica), store_(store) {}

void Ctl::setEndpoints(std::string client, std::string events) {
  client_ = std::move(client);
  events_ = std::move(events);
}

void Ctl::propose(const std::string& path, const std::string& value) {
  const store::Store& st = store_;
  store::FileInfo fi = st.stat(path, st.rev());
  if (fi.exists && !fi.dir && *fi.value == value) return;
  wire::Command cmd;
  cmd.op = wire::Command::Op::kSet;
  cmd.path = path;
  cmd.rev = -1;
  cmd.value = value;
  replica_.propose(std::move(cmd), 0);  // nobody waits for the reply
}

void Ctl::maintain(Clock::time_point now) {
  const bool leading = replica_.core().role() == paxos::Core::Role::kLeader;
  const std::string self = std::to_string(self_);
  if (leading && !wasLeader_) {
    // One write per change of leader, not per heartbeat.
    propose("/ctl/leader", self);
    for (const auto& [id, ep] : members_)
      propose("/ctl/members/" + std::to_string(id), ep);
  }
  wasLeader_ = leading;
  if (now < nextReport_) return;
  nextReport_ = now + kReportEvery;
  // Only once this node has caught up with a leader: its view of /ctl is current then.
  if (replica_.core().leader() == 0) return;
  propose("/ctl/nodes/" + self + "/client", client_);
  propose("/ctl/nodes/" + self + "/events", events_);
  // Written by earlier versions on every user write; stale forever now: remove it once.
  const std::string stale = "/ctl/nodes/" + self + "/applied";
  if (store_.stat(stale, store_.rev()).exists && !staleRemoved_) {
    staleRemoved_ = true;
    wire::Command del;
    del.op = wire::Command::Op::kDel;
    del.path = stale;
    del.rev = -1;
    replica_.propose(std::move(del), 0);
  }
}

}  // namespace cairn::node
