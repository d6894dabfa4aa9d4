#include "node/applier.h"

#include "wire/membership.h"

namespace cairn::node {

Applier::Applied Applier::apply(const Chosen* begin, const Chosen* end) {
  Applied out;
  for (const Chosen* it = begin; it != end; ++it) {
    const Chosen& c = *it;
    if (!c.members.empty()) {
      // Kept only if it takes effect: it follows the configuration the store holds (none, or one
      // of the cluster this data belonged to before a force or restore: the bootstrap one).
      auto next = wire::decodeMembership(c.members);
      wire::Membership cur;
      if (next) cur.cluster = next->cluster;
      if (!store_->members().empty()) {
        auto held = wire::decodeMembership(store_->members());
        if (held && next && held->cluster == next->cluster) cur = std::move(held.value());
      }
      store_->setMembers(c.slot, next && wire::follows(cur, *next) ? c.members : store_->members());
      continue;
    }
    store::ApplyResult res = store_->apply(c.slot, c.cmd);
    if (res.change) out.changes.push_back(std::move(*res.change));
    if (c.proposal != 0) out.outcomes.push_back(Outcome{c.proposal, res.status, res.rev});
  }
  return out;
}

}  // namespace cairn::node
