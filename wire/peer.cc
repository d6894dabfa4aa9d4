#include "wire/peer.h"

#include <msgpack.hpp>

namespace cairn::wire {

const char* peerTypeName(PeerMessage::Type t) {
  switch (t) {
    case PeerMessage::Type::kPrepare:
      return "prepare";
    case PeerMessage::Type::kPromise:
      return "promise";
    case PeerMessage::Type::kNack:
      return "nack";
    case PeerMessage::Type::kAccept:
      return "accept";
    case PeerMessage::Type::kAccepted:
      return "accepted";
    case PeerMessage::Type::kLearn:
      return "learn";
    case PeerMessage::Type::kProbe:
      return "probe";
    case PeerMessage::Type::kProbeOk:
      return "probe-ok";
    case PeerMessage::Type::kTakeOver:
      return "take-over";
  }
  return "?";
}

const char* peerTypeName(NodeMessage::Type t) {
  switch (t) {
    case NodeMessage::Type::kForward:
      return "forward";
    case NodeMessage::Type::kReadIndex:
      return "read-index";
    case NodeMessage::Type::kReadIndexOk:
      return "read-index-ok";
    case NodeMessage::Type::kSnapshotChunk:
      return "snapshot-chunk";
    case NodeMessage::Type::kSnapshotAck:
      return "snapshot-ack";
  }
  return "?";
}

namespace {

void packSlot(msgpack::packer<msgpack::sbuffer>& p, const Slot& e) {
  p.pack_array(4);
  p.pack_uint64(e.slot);
  p.pack_uint64(e.ballot.round);
  p.pack_uint32(e.ballot.node);
  p.pack_bin(static_cast<std::uint32_t>(e.value.size()));
  p.pack_bin_body(e.value.data(), static_cast<std::uint32_t>(e.value.size()));
}

// Reads [slot, round, node, value]; false when the shape is wrong (throws on wrong types).
bool unpackSlot(const msgpack::object& e, Slot* s) {
  if (e.type != msgpack::type::ARRAY || e.via.array.size != 4 ||
      e.via.array.ptr[3].type != msgpack::type::BIN) {
    return false;
  }
  s->slot = e.via.array.ptr[0].as<std::uint64_t>();
  s->ballot.round = e.via.array.ptr[1].as<std::uint64_t>();
  s->ballot.node = e.via.array.ptr[2].as<std::uint32_t>();
  s->value.assign(e.via.array.ptr[3].via.bin.ptr, e.via.array.ptr[3].via.bin.size);
  return true;
}

}  // namespace

std::string encodeSlot(const Slot& s) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> p(buf);
  packSlot(p, s);
  return std::string(buf.data(), buf.size());
}

Result<Slot> decodeSlot(std::string_view bytes) {
  try {
    std::size_t off = 0;
    msgpack::object_handle oh = msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr,
                                                msgpack::unpack_limit(4, 0, 0, 1 << 28, 0, 2));
    Slot s;
    if (off != bytes.size() || !unpackSlot(oh.get(), &s)) {
      return Status(Err::kCorrupt, "not a [slot, round, node, value] array");
    }
    return s;
  } catch (const std::exception& e) {
    return Status(Err::kCorrupt, std::string("undecodable slot: ") + e.what());
  }
}

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

// [version, type, cluster, from, to, [round, node], slot, commit, learned, then the entries.
void packFrame(Packer& p, std::uint8_t type, const PeerHeader& h, const Ballot& b,
               std::uint64_t slot, std::uint64_t commit, std::uint64_t learned) {
  p.pack_array(10);
  p.pack_int(kPeerVersion);
  p.pack_uint8(type);
  p.pack_uint64(h.cluster);
  p.pack_uint32(h.from);
  p.pack_uint32(h.to);
  p.pack_array(2);
  p.pack_uint64(b.round);
  p.pack_uint32(b.node);
  p.pack_uint64(slot);
  p.pack_uint64(commit);
  p.pack_uint64(learned);
}

}  // namespace

std::string encodePeer(const PeerMessage& m) {
  msgpack::sbuffer buf;
  Packer p(buf);
  packFrame(p, static_cast<std::uint8_t>(m.type), m, m.ballot, m.slot, m.commit, m.learned);
  p.pack_array(static_cast<std::uint32_t>(m.entries.size()));
  for (const Slot& e : m.entries)
    packSlot(p, e);
  return std::string(buf.data(), buf.size());
}

std::string encodePeer(const NodeMessage& m) {
  msgpack::sbuffer buf;
  Packer p(buf);
  const bool chunk =
      m.type == NodeMessage::Type::kSnapshotChunk || m.type == NodeMessage::Type::kSnapshotAck;
  packFrame(p, static_cast<std::uint8_t>(m.type), m, m.ballot, m.slot, m.commit,
            chunk ? m.size : 0);
  if (chunk) {
    p.pack_array(1);
    packSlot(p, Slot{m.slot, Ballot{m.fileCrc, m.crc}, m.value});
  } else if (m.type == NodeMessage::Type::kForward) {
    p.pack_array(1);
    packSlot(p, Slot{m.slot, Ballot{}, m.value});
  } else {
    p.pack_array(0);
  }
  return std::string(buf.data(), buf.size());
}

Result<PeerFrame> decodePeer(std::string_view bytes) {
  try {
    std::size_t off = 0;
    msgpack::object_handle oh = msgpack::unpack(
        bytes.data(), bytes.size(), off, nullptr, nullptr,
        msgpack::unpack_limit(/*array=*/1 << 16, /*map=*/0, /*str=*/0, /*bin=*/64 << 20,
                              /*ext=*/0, /*depth=*/4));
    const msgpack::object& o = oh.get();
    if (off != bytes.size() || o.type != msgpack::type::ARRAY || o.via.array.size != 10) {
      return Status(Err::kBadRequest, "peer message is not a 10-element array");
    }
    const msgpack::object* a = o.via.array.ptr;
    if (a[0].as<int>() != kPeerVersion) {
      return Status(Err::kBadRequest, "peer protocol version " + std::to_string(a[0].as<int>()));
    }
    auto type = a[1].as<std::uint8_t>();
    if (type < 1 || type > 15 || type == 12) {
      return Status(Err::kBadRequest, "unknown peer message type " + std::to_string(type));
    }
    PeerHeader h;
    h.cluster = a[2].as<std::uint64_t>();
    h.from = a[3].as<std::uint32_t>();
    h.to = a[4].as<std::uint32_t>();
    if (a[5].type != msgpack::type::ARRAY || a[5].via.array.size != 2) {
      return Status(Err::kBadRequest, "ballot is not [round, node]");
    }
    Ballot b{a[5].via.array.ptr[0].as<std::uint64_t>(), a[5].via.array.ptr[1].as<std::uint32_t>()};
    if (a[9].type != msgpack::type::ARRAY) return Status(Err::kBadRequest, "entries not an array");
    std::vector<Slot> entries;
    entries.reserve(a[9].via.array.size);
    for (std::uint32_t i = 0; i < a[9].via.array.size; ++i) {
      Slot s;
      if (!unpackSlot(a[9].via.array.ptr[i], &s)) {
        return Status(Err::kBadRequest, "entry is not [slot, round, node, value]");
      }
      entries.push_back(std::move(s));
    }
    if (type >= static_cast<std::uint8_t>(NodeMessage::Type::kForward) &&
        type <= static_cast<std::uint8_t>(NodeMessage::Type::kSnapshotAck)) {
      NodeMessage m;
      static_cast<PeerHeader&>(m) = h;
      m.type = static_cast<NodeMessage::Type>(type);
      m.ballot = b;
      m.slot = a[6].as<std::uint64_t>();
      m.commit = a[7].as<std::uint64_t>();
      if (m.type == NodeMessage::Type::kSnapshotChunk ||
          m.type == NodeMessage::Type::kSnapshotAck) {
        if (entries.size() != 1 || entries[0].slot != m.slot ||
            entries[0].ballot.round > 0xffffffffu) {
          return Status(Err::kBadRequest, "snapshot chunk without its [slot, fileCrc, crc, bytes]");
        }
        m.size = a[8].as<std::uint64_t>();
        m.fileCrc = static_cast<std::uint32_t>(entries[0].ballot.round);
        m.crc = entries[0].ballot.node;
      }
      if (!entries.empty()) m.value = std::move(entries[0].value);
      return PeerFrame(std::move(m));
    }
    PeerMessage m;
    static_cast<PeerHeader&>(m) = h;
    m.type = static_cast<PeerMessage::Type>(type);
    m.ballot = b;
    m.slot = a[6].as<std::uint64_t>();
    m.commit = a[7].as<std::uint64_t>();
    m.learned = a[8].as<std::uint64_t>();
    m.entries = std::move(entries);
    return PeerFrame(std::move(m));
  } catch (const std::exception& e) {
    return Status(Err::kBadRequest, std::string("malformed peer message: ") + e.what());
  }
}

}  // namespace cairn::wire
