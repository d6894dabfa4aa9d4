#include "node/ctl.h"

#include <exception>
#include <optional>

namespace cairn::node {

namespace {
constexpr auto kReportEvery = std::chrono::seconds(2);
}  // namespace

Ctl::Ctl(std::uint32_t self, std::map<std::uint32_t, std::string> members, Replica& replica,
         const store::Store& store, bool lone)
    : self_(self), members_(std::move(members)), lone_(lone), replica_(replica), store_(store) {}

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

void Ctl::remove(const std::string& path) {
  wire::Command del;
  del.op = wire::Command::Op::kDel;
  del.path = path;
  del.rev = -1;
  replica_.propose(std::move(del), 0);  // nobody waits for the reply
}

std::map<std::uint32_t, std::string> Ctl::current() const {
  std::map<std::uint32_t, std::string> out;
  for (const wire::Member& m : replica_.core().membership().members) {
    auto boot = members_.find(m.id);
    out[m.id] = !m.peer.empty() || boot == members_.end() ? m.peer : boot->second;
  }
  return out;
}

void Ctl::removeStrangers() {
  // What /ctl says of nodes that are not members (a cluster restored from a backup, or forced
  // down to one node) would send `cairn status` and the client looking for them.
  auto glob = wire::Glob::compile("/ctl/**");
  if (!glob) return;
  std::optional<std::string> after;
  do {
    auto page = store_.walk(*glob, store_.rev(), after, 10000, 16 << 20);
    if (!page) return;
    after = page->next;
    for (const std::string& path : page->names) {
      std::string_view p = path;
      std::string_view rest;
      for (std::string_view dir : {"/ctl/members/", "/ctl/nodes/"}) {
        if (p.substr(0, dir.size()) == dir) rest = p.substr(dir.size());
      }
      if (rest.empty()) continue;
      const std::string id(rest.substr(0, rest.find('/')));
      std::int64_t n = 0;
      try {
        n = std::stoll(id);
      } catch (const std::exception&) {
        continue;
      }
      if (n <= 0 || replica_.core().membership().has(static_cast<std::uint32_t>(n))) continue;
      remove(path);
    }
  } while (after);
}

void Ctl::maintain(Clock::time_point now) {
  const bool leading = replica_.core().role() == paxos::Core::Role::kLeader;
  if (lone_) {
    // Nothing new is written for a node alone; what a former cluster left must not mislead.
    if (leading && !wasLeader_) {
      removeStrangers();
      if (store_.stat("/ctl/leader", store_.rev()).exists)
        propose("/ctl/leader", std::to_string(self_));
    }
    wasLeader_ = leading;
    return;
  }
  const std::string self = std::to_string(self_);
  // At once on a change of leader, and then every report period: what a leader wrote of itself
  // and the members can be lost (its slot refused, or not chosen before a change of leader), and
  // is written only where /ctl differs.
  const bool recheck = leading && wasLeader_ && now >= recheckAt_;
  if (leading && (!wasLeader_ || recheck)) {
    recheckAt_ = now + kReportEvery;
    propose("/ctl/leader", self);
  }
  const std::uint64_t version = replica_.core().membership().version;
  if (leading && (!wasLeader_ || recheck || version != mirrored_)) {
    mirrored_ = version;
    removeStrangers();
    for (const auto& [id, ep] : current())
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
    remove(stale);
  }
}

}  // namespace cairn::node
