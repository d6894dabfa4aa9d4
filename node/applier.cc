#include "node/applier.h"

namespace cairn::node {

Applier::Applied Applier::apply(const Chosen* begin, const Chosen* end) {
  Applied out;
  for (const Chosen* it = begin; it != end; ++it) {
    const Chosen& c = *it;
    if (!c.members.empty()) {  // a configuration that took effect (the core decided)
      store_->setMembers(c.slot, c.members);
      continue;
    }
    store::ApplyResult res = store_->apply(c.slot, c.cmd);
    if (res.sessionUsed) out.sessions.push_back(c.cmd.session);
    for (store::Change& ch : res.changes)
      out.changes.push_back(std::move(ch));
    if (c.proposal != 0)
      out.outcomes.push_back(Outcome{c.proposal, res.status, res.rev, res.lease, res.succeeded,
                                     std::move(res.results), res.replayed});
  }
  return out;
}

}  // namespace cairn::node
