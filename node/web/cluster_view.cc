#include "node/web/cluster_view.h"

#include "bindings/cpp/client.h"
#include "node/web/json.h"
#include "node/web/wire_io.h"

namespace cairn::node::web {

void ClusterView::members(const wire::Reply& r) {
  if (r.err != wire::Err::kOk || !r.members) return;
  config_ = r.config.value_or(0);
  std::map<std::int64_t, Member> next;
  for (const wire::MemberInfo& info : *r.members) {
    Member m;
    auto it = members_.find(info.id);
    const bool known = it != members_.end() && it->second.client == info.client;
    if (it != members_.end()) m = std::move(it->second);
    m.role = info.role;
    m.client = info.client;
    auto& slot = next.emplace(info.id, std::move(m)).first->second;
    if (!known && info.id != self_) ask(slot);  // new (or moved): asked now, not at next round
  }
  members_ = std::move(next);
}

void ClusterView::ask(Member& m) {
  m.unsent = false;
  if (m.client.empty()) {
    m.error = "its client endpoint is unknown";
    return;
  }
  if (!m.dealer || m.dealerTo != m.client) {
    try {
      m.dealer = std::make_unique<zmq::socket_t>(dealerTo(ctx_, m.client, key_));
      m.dealerTo = m.client;
    } catch (const std::exception& e) {
      m.dealer.reset();
      m.error = std::string("cannot connect to ") + m.client + ": " + e.what();
      return;
    }
  }
  wire::Request self;
  self.verb = wire::Verb::kSelf;
  self.tag = tagOf(round_);
  // A DEALER takes nothing while it has no connection (ZMQ_IMMEDIATE): a new one is still
  // connecting, a dead node refuses. retry() sends it once the connection is up.
  m.unsent = !sendRequest(*m.dealer, self);
}

void ClusterView::retry() {
  for (auto& [id, m] : members_) {
    if (m.unsent && m.dealer) ask(m);
  }
}

std::string ClusterView::round(Clock::time_point now, const Facts* facts) {
  for (auto& [id, m] : members_) {
    if (id == self_) continue;
    if (m.unsent) m.error = "not connected: " + m.client + " refuses connections (is it running?)";
  }
  std::string msg = message(now, facts);
  ++round_;
  for (auto& [id, m] : members_) {
    if (id != self_) ask(m);
  }
  return msg;
}

void ClusterView::pollItems(std::vector<zmq::pollitem_t>* items, std::vector<std::int64_t>* ids) {
  for (auto& [id, m] : members_) {
    if (!m.dealer) continue;
    items->push_back({m.dealer->handle(), 0, ZMQ_POLLIN, 0});
    ids->push_back(id);
  }
}

void ClusterView::onReadable(std::int64_t id, Clock::time_point now) {
  auto it = members_.find(id);
  if (it == members_.end() || !it->second.dealer) return;
  Member& m = it->second;
  while (auto r = takeReply(*m.dealer)) {
    // This round's answer or the last one's (sent late in a round, answered after its end).
    if (r->tag != tagOf(round_) && (round_ == 0 || r->tag != tagOf(round_ - 1))) continue;
    if (r->err != wire::Err::kOk) {
      m.error = std::string(wire::errName(r->err)) + ": " + r->detail;
      continue;
    }
    m.error.clear();
    m.answered = now;
    m.self = std::move(*r);
  }
}

std::string ClusterView::message(Clock::time_point now, const Facts* facts) const {
  json members = json::array();
  std::int64_t leader = 0;
  for (const auto& [id, m] : members_) {
    json j{{"id", id}, {"role", m.role}, {"client", m.client}, {"self", id == self_}};
    const wire::Reply* self = nullptr;
    std::string why;
    if (id == self_) {
      if (facts && now - facts->at <= kFactsStale) {
        self = &facts->self;
      } else {
        why =
            "this node's event loop has not reported for " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kFactsStale).count()) +
            " s";
      }
    } else if (m.answered != Clock::time_point{} && now - m.answered <= kRound + kGrace) {
      self = &m.self;
    } else {
      why = !m.error.empty()
                ? m.error
                : "no answer within " +
                      std::to_string(
                          std::chrono::duration_cast<std::chrono::milliseconds>(kRound + kGrace)
                              .count()) +
                      " ms";
    }
    const std::string state = client::nodeState(self);
    j["up"] = self != nullptr;
    j["state"] = state;
    if (!self) {
      j["error"] = why;
    } else {
      if (state == "leader") leader = id;
      if (self->rev) j["rev"] = *self->rev;
      if (self->slot) j["slot"] = *self->slot;
      if (self->lag) j["lag"] = *self->lag;
      if (self->fsyncUs) j["fsync_us"] = *self->fsyncUs;
      if (self->halted) j["error"] = *self->halted;
    }
    members.push_back(std::move(j));
  }
  if (leader == 0 && facts) leader = facts->self.leader.value_or(0);
  return dump(json{{"type", "cluster"},
                   {"at", epochMs()},
                   {"leader", leader},
                   {"config", config_},
                   {"members", std::move(members)}});
}

}  // namespace cairn::node::web
