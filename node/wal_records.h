#pragma once
// WalRecords: what the replica writes in its WAL, one record per fact, and how a start reads it
// back. A record's payload is a type byte and then:
//   'A'  an accepted slot (wire::encodeSlot: the peer protocol's codec)
//   'P'  a promised ballot, [round, node]
//   'L'  the chosen prefix reached: a slot
//   'C'  a checkpoint: [slot, first record of its segment] (a bare slot in logs written before)
//   'I'  a snapshot installed from the leader at a slot: what was accepted up to it is void
// The WAL's framing (checksums, torn tails) is store::Wal's; this is what is inside.
//
// Pure: no files. The bytes come from disk, so a record that does not decode is CORRUPT, never a
// crash (fuzzed: tests/fuzz/fuzz_wal.cc). Thread: any.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "store/wal.h"
#include "wire/peer.h"
#include "wire/status.h"

namespace cairn::node {

std::string packBallot(const wire::Ballot& b);
std::string packU64(std::uint64_t v);
std::string packCheckpoint(std::uint64_t slot, std::uint64_t first);

// What a pass over the WAL gathers, record after record. Accepted values are sorted out by the
// replica at the end, once the chosen prefix the log recorded and the snapshot are both known.
struct WalScan {
  wire::Ballot promised;           // the highest 'P'
  std::vector<wire::Slot> values;  // every 'A', in log order (less those an 'I' voids)
  std::uint64_t maxLearned = 0;    // the highest 'L'
  std::uint64_t checkpoint = 0;    // the highest 'C' slot
  std::vector<std::pair<std::uint64_t, std::uint64_t>> kept;  // 'C' records: (slot, first)
};

// Applies one WAL record to the scan; CORRUPT (naming the record) if it does not decode.
wire::Status readWalRecord(const store::WalRecord& rec, WalScan* scan);

}  // namespace cairn::node
