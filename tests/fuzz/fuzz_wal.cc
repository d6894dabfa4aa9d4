// libFuzzer target fuzz_wal: the bytes of one WAL segment as a node reads them when it starts
// (store::scanWalSegment, the pure part of Wal::open), then each record's payload as the replica
// reads it (node::readWalRecord: accepted slots, ballots, checkpoints). Torn or corrupt data must
// become a Status (CORRUPT) or a clean truncation, never a crash. What the scan accepts must be
// consecutive records that re-encode to exactly the bytes before the tail it dropped.
//
// Input: a mode byte, then either raw segment bytes (mode bit 0 clear), or (bit 0 set) a list of
// records this target writes with valid checksums — each [len u8][flags u8][payload], flags bit 0
// skips an index, bit 1 spoils the checksum — followed by whatever bytes are left as a raw tail.
// Mode bit 1: the segment is the last one (a torn tail may be dropped); bit 2: the first index is
// known; bit 3: zeros follow (a preallocated segment); bit 4: the records start near 2^64.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "node/wal_records.h"
#include "store/crc32c.h"
#include "store/wal.h"
#include "wire/peer.h"

using namespace cairn;

namespace {

// One record exactly as Wal::append writes it.
std::string record(std::uint64_t index, std::string_view payload, bool spoil = false) {
  char h[store::kWalHeaderBytes];
  const auto len = static_cast<std::uint32_t>(payload.size());
  std::memcpy(h + 4, &len, 4);
  std::memcpy(h + 8, &index, 8);
  std::uint32_t crc = store::crc32c(payload, store::crc32c(std::string_view(h + 4, 12)));
  if (spoil) crc ^= 1;
  std::memcpy(h, &crc, 4);
  return std::string(h, sizeof h) + std::string(payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool last = mode & 2;
  const std::uint64_t base = (mode & 16) ? UINT64_MAX - 3 : 7;
  std::string seg;
  bool clean = true;  // every record valid, no tail: the scan must return them all
  std::vector<store::WalRecord> written;
  if (mode & 1) {
    std::uint64_t index = base;
    while (in.size() >= 2 && in.size() - 2 >= static_cast<std::uint8_t>(in[0])) {
      const std::size_t len = static_cast<std::uint8_t>(in[0]);
      const auto flags = static_cast<std::uint8_t>(in[1]);
      if (flags & 1) {
        ++index;
        clean = false;
      }
      if (flags & 2) clean = false;
      std::string_view payload = in.substr(2, len);
      seg += record(index, payload, flags & 2);
      written.push_back(store::WalRecord{index, std::string(payload)});
      ++index;
      in.remove_prefix(2 + len);
    }
  }
  if (!in.empty()) clean = false;
  seg.append(in);
  if (mode & 8) seg.append(64, '\0');

  std::uint64_t expect = (mode & 4) ? base : 0;
  const std::uint64_t first = expect;
  std::vector<store::WalRecord> out;
  std::size_t tailOff = 0;
  std::string repaired;
  wire::Status s =
      store::scanWalSegment(seg, "wal-fuzz.log", last, &expect, &out, &tailOff, &repaired);
  if (!s.isOk()) {
    if (s.code() != wire::Err::kCorrupt) std::abort();
    // Valid records that follow one another are never refused.
    if (clean && !(mode & 16)) std::abort();
    return 0;
  }
  // Accepted: consecutive records, from the index expected, that re-encode to the bytes read.
  if (tailOff > seg.size()) std::abort();
  std::string again;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i == 0 && first != 0 && out[0].index != first) std::abort();
    if (i > 0 && out[i].index != out[i - 1].index + 1) std::abort();
    again += record(out[i].index, out[i].payload);
  }
  if (again != std::string_view(seg).substr(0, tailOff)) std::abort();
  if (!out.empty() && expect != out.back().index + 1) std::abort();
  // Nothing dropped unless it says so, and only from the last segment.
  bool zeros = true;
  for (std::size_t i = tailOff; i < seg.size(); ++i)
    zeros = zeros && seg[i] == 0;
  if (repaired.empty() != zeros) std::abort();
  if (!repaired.empty() && !last) std::abort();
  if (clean && (out.size() != written.size() || !repaired.empty())) std::abort();
  // The replica's reading of each payload: a record that does not decode is CORRUPT.
  node::WalScan scan;
  for (const auto& r : out) {
    wire::Status read = node::readWalRecord(r, &scan);
    if (!read.isOk() && read.code() != wire::Err::kCorrupt) std::abort();
  }
  return 0;
}
