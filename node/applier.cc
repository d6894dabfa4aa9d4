#include "node/applier.h"

namespace cairn::node {

Applier::Applied Applier::apply(const std::vector<Chosen>& chosen) {
  Applied out;
  for (const Chosen& c : chosen) {
    store::ApplyResult res = store_->apply(c.slot, c.cmd);
    if (res.change) out.changes.push_back(std::move(*res.change));
    if (c.proposal != 0) out.outcomes.push_back(Outcome{c.proposal, res.status, res.rev});
  }
  return out;
}

}  // namespace cairn::node
