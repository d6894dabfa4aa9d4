#pragma once
// Chosen: one command the log has chosen, as the Replica hands it to the Applier.

#include <cstdint>

#include "wire/command.h"

namespace cairn::node {

struct Chosen {
  std::uint64_t slot = 0;  // its log position (the commands of one batch share their slot)
  wire::Command cmd;
  std::uint64_t proposal = 0;  // the id given to propose() when this node proposed it, else 0
  // A configuration chosen at this slot that took effect (wire::encodeMembership; `cmd` is then a
  // no-op), for the store to keep with its snapshots.
  std::string members;
};

}  // namespace cairn::node
