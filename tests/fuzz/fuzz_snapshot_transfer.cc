// libFuzzer target fuzz_snapshot_transfer: a snapshot arriving from a leader in chunks, as a
// follower receives it (node/snapshot_transfer.h, ChunkReceiver: the same rules cairnd's
// SnapshotReceiver and the simulation run), each chunk a peer frame through wire::decodePeer, then
// the whole file through store::decodeSnapshot. Whatever arrives, in whatever order, the receiver
// must never report a snapshot complete unless it holds exactly the file, must never acknowledge
// bytes it does not hold, and must not crash.
//
// Input: [mode][seed][file bytes after the magic]. The file is the magic, those bytes and their
// checksum. Mode bit 0 clear: each chunk's bytes are taken from the input as raw peer frames
// ([len u8][frame], then the file bytes are unused; mode bit 1 puts the right checksum on each
// chunk); set: a schedule drawn from `seed` sends the
// file's chunks in order, out of order, twice, damaged, and chunks of another snapshot.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "node/snapshot_transfer.h"
#include "store/crc32c.h"
#include "store/snapshot.h"
#include "wire/peer.h"

using namespace cairn;

namespace {

class MemorySink : public node::ChunkSink {
 public:
  wire::Status begin(const node::SnapshotId& id) override {
    id_ = id;
    bytes_.clear();
    finished_ = false;
    return wire::Status::ok();
  }
  wire::Status append(std::string_view b) override {
    if (bytes_.size() + b.size() > id_.size) std::abort();  // more than the snapshot's size
    bytes_.append(b);
    return wire::Status::ok();
  }
  wire::Status finish(const node::SnapshotId& id) override {
    if (!(id == id_) || bytes_.size() != id.size) std::abort();
    finished_ = true;
    return wire::Status::ok();
  }
  std::string bytes_;
  node::SnapshotId id_;
  bool finished_ = false;
};

struct Rx {
  node::ChunkReceiver rx;
  MemorySink sink;
  // A chunk as the transport hands it over: encoded, decoded, checked.
  // `fixCrc`: the chunk's checksum is made right (raw frames from the fuzzer rarely have one).
  void deliver(const std::string& frame, const std::string* file, bool fixCrc = false) {
    auto f = wire::decodePeer(frame);
    if (!f) return;
    auto* m = std::get_if<wire::NodeMessage>(&*f);
    if (m == nullptr || m->type != wire::NodeMessage::Type::kSnapshotChunk) return;
    if (fixCrc) m->crc = store::crc32c(m->value);
    const node::SnapshotId id = node::idOf(*m);
    auto o = rx.receive(id, m->commit, m->value, m->crc, sink);
    if (o.ack && *o.ack > id.size) std::abort();
    if (o.complete) {
      // Complete: the sink holds the file that checksums to id.crc, whole.
      if (!sink.finished_ || sink.bytes_.size() != id.size) std::abort();
      if (file != nullptr && id.crc == fileCrc(*file) && id.size == file->size() &&
          sink.bytes_ != *file) {
        std::abort();
      }
      (void)store::decodeSnapshot(sink.bytes_, store::Store::Options());
    }
  }
  static std::uint32_t fileCrc(const std::string& f) {
    std::uint32_t c = 0;
    std::memcpy(&c, f.data() + f.size() - 4, 4);
    return c;
  }
};

std::string chunk(const node::SnapshotId& id, std::uint64_t offset, std::string_view bytes,
                  bool spoil) {
  wire::NodeMessage m = node::transferMessage(wire::NodeMessage::Type::kSnapshotChunk,
                                              wire::PeerHeader{7, 1, 2}, 2, id);
  m.commit = offset;
  m.value = std::string(bytes);
  m.crc = store::crc32c(m.value) ^ (spoil ? 1u : 0u);
  return wire::encodePeer(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t mode = data[0];
  std::uint32_t rng = 0x9e3779b9u ^ (data[1] * 0x01000193u);
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  Rx r;
  if (!(mode & 1)) {
    while (!rest.empty()) {
      const std::size_t n =
          std::min<std::size_t>(static_cast<std::uint8_t>(rest[0]), rest.size() - 1);
      r.deliver(std::string(rest.substr(1, n)), nullptr, mode & 2);
      rest.remove_prefix(1 + n);
    }
    return 0;
  }
  std::string file = "CAIRNSNP";
  file.append(rest);
  const std::uint32_t crc = store::crc32c(file);
  file.append(reinterpret_cast<const char*>(&crc), 4);
  const node::SnapshotId id{40, file.size(), crc};
  const node::SnapshotId other{41, file.size(), crc ^ 1};
  const std::uint64_t c = 1 + (mode >> 3);  // chunk size, 1..32 bytes
  auto next = [&] {
    if (rng == 0) rng = 1;
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
  };
  r.deliver(chunk(id, 0, "", false), &file);  // the hello
  for (int step = 0; step < 400 && !r.sink.finished_; ++step) {
    const std::uint32_t x = next();
    std::uint64_t off = r.rx.held();
    switch (x % 8) {
      case 0:  // anywhere
        off = (x >> 8) % (file.size() + 1);
        break;
      case 1:  // a duplicate from before
        off = off == 0 ? 0 : (x >> 8) % off;
        break;
      default:  // the next one
        break;
    }
    if (off > file.size()) off = file.size();
    std::string_view bytes = std::string_view(file).substr(off, c);
    const bool spoil = (mode & 2) && x % 13 == 0;
    const bool elsewhere = (mode & 4) && x % 11 == 0;
    r.deliver(chunk(elsewhere ? other : id, off, bytes, spoil), &file);
  }
  // With no damage and no other snapshot, 400 steps carry any file of up to this size whole.
  if (!(mode & 6) && c >= 16 && file.size() <= 1024 && !r.sink.finished_) std::abort();
  return 0;
}
