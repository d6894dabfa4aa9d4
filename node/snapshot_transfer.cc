#include "node/snapshot_transfer.h"

#include <algorithm>
#include <cstring>

#include "store/crc32c.h"

namespace cairn::node {

using wire::Err;
using wire::Status;

std::string SnapshotId::describe() const {
  return "snapshot at slot " + std::to_string(slot) + " (" + std::to_string(size) + " bytes)";
}

wire::NodeMessage transferMessage(wire::NodeMessage::Type type, const wire::PeerHeader& from,
                                  std::uint32_t to, const SnapshotId& id) {
  wire::NodeMessage m;
  m.cluster = from.cluster;
  m.from = from.from;
  m.to = to;
  m.type = type;
  m.slot = id.slot;
  m.size = id.size;
  m.fileCrc = id.crc;
  return m;
}

ChunkSender::ChunkSender(SnapshotId id, Options o, std::uint64_t now)
    : id_(id),
      opts_(o),
      budget_(static_cast<std::int64_t>(o.bytesPerTick)),
      progress_(now),
      heard_(now) {}

std::vector<ChunkSender::Chunk> ChunkSender::due() {
  std::vector<Chunk> out;
  if (!greeted_) {
    if (helloDue_) out.push_back(Chunk{0, 0});
    helloDue_ = false;
    return out;
  }
  const std::uint64_t limit = std::min(id_.size, acked_ + opts_.window * opts_.chunk);
  while (sent_ < limit) {
    const std::uint64_t n = std::min(opts_.chunk, id_.size - sent_);
    if (opts_.bytesPerTick != 0) {
      // A token bucket: a chunk goes while the budget is positive and may overdraw it, so over
      // time no more than bytesPerTick go per tick, whatever the chunk size.
      if (budget_ <= 0) break;
      budget_ -= static_cast<std::int64_t>(n);
    }
    out.push_back(Chunk{sent_, n});
    sent_ += n;
  }
  return out;
}

void ChunkSender::acked(const SnapshotId& id, std::uint64_t next, std::uint64_t now) {
  if (id != id_ || next > id_.size) return;
  heard_ = now;
  last_ = next;
  if (!greeted_) {
    greeted_ = true;
    resumedAt_ = next;
    acked_ = sent_ = next;
    progress_ = now;
    return;
  }
  if (next > acked_) {
    acked_ = next;
    sent_ = std::max(sent_, next);
    progress_ = now;
  } else if (next == 0 && acked_ > 0) {
    // The receiver lost what it held (it restarted, or began another snapshot): start over.
    acked_ = sent_ = 0;
    progress_ = now;
  }
  // Any other ack below acked_ may be a late copy of an older one, or the receiver may have lost
  // what it held (it restarted and began again from a chunk at offset 0): tick() tells them apart
  // by silence.
}

void ChunkSender::tick(std::uint64_t now) {
  if (opts_.bytesPerTick != 0) {
    const auto cap = static_cast<std::int64_t>(std::max(opts_.bytesPerTick, opts_.chunk));
    budget_ = std::min(cap, budget_ + static_cast<std::int64_t>(opts_.bytesPerTick));
  }
  if (now - progress_ < opts_.retryAfter) return;
  progress_ = now;
  if (!greeted_) {
    helloDue_ = true;
  } else {
    // Go back N: resend the window from what the receiver last said it holds.
    acked_ = sent_ = last_;
  }
}

ChunkReceiver::Outcome ChunkReceiver::receive(const SnapshotId& id, std::uint64_t offset,
                                              std::string_view bytes, std::uint32_t crc,
                                              ChunkSink& sink) {
  Outcome out;
  if (id.size < 4 || offset > id.size || bytes.size() > id.size - offset) {
    out.error = Status(Err::kBadRequest, "a chunk outside its " + id.describe());
    return out;
  }
  if (store::crc32c(bytes) != crc) {
    out.error = Status(Err::kCorrupt, "a chunk at offset " + std::to_string(offset) + " of " +
                                          id.describe() + " fails its checksum");
    return out;
  }
  if (id == done_) {
    out.ack = id.size;
    return out;
  }
  if (id != id_) {
    if (offset != 0) {
      out.ack = 0;  // from the start, please
      return out;
    }
    if (Status s = sink.begin(id); !s.isOk()) {
      id_ = SnapshotId();
      out.error = s;
      return out;
    }
    id_ = id;
    next_ = 0;
    bodyCrc_ = 0;
    trailer_.clear();
  }
  if (offset != next_ || bytes.empty()) {  // a hello, a duplicate or a gap: say where we stand
    out.ack = next_;
    return out;
  }
  if (Status s = sink.append(bytes); !s.isOk()) {
    id_ = SnapshotId();  // what the sink holds is unknown now: begin again
    out.error = s;
    return out;
  }
  const std::uint64_t bodyEnd = id.size - 4;
  if (next_ < bodyEnd) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), bodyEnd - next_));
    bodyCrc_ = store::crc32c(bytes.substr(0, n), bodyCrc_);
    trailer_.append(bytes.substr(n));
  } else {
    trailer_.append(bytes);
  }
  next_ += bytes.size();
  out.ack = next_;
  if (next_ < id.size) return out;

  std::uint32_t stated = 0;
  std::memcpy(&stated, trailer_.data(), 4);
  id_ = SnapshotId();
  if (bodyCrc_ != id.crc || stated != id.crc) {
    out.ack = 0;
    out.error = Status(Err::kCorrupt, id.describe() + " arrived whole but fails its checksum");
    return out;
  }
  if (Status s = sink.finish(id); !s.isOk()) {
    out.ack.reset();
    out.error = s;
    return out;
  }
  done_ = id;
  out.complete = true;
  return out;
}

}  // namespace cairn::node
