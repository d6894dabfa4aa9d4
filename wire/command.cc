#include "wire/command.h"

#include "wire/msgpack_util.h"

#include <msgpack.hpp>

namespace cairn::wire {
namespace {

using mp::isArray;
using mp::Packer;

// How many fields a command takes: 4, 6 with a lease or ttl, 7 with a term, 9 with a session, 10
// with a user.
std::uint32_t fieldsOf(const Command& c) {
  return !c.user.empty()                ? 10
         : c.session != 0               ? 9
         : c.term != 0                  ? 7
         : (c.lease != 0 || c.ttl != 0) ? 6
                                        : 4;
}

// The fields of a command, [op, path, rev, value (, lease, ttl)], as they appear alone and in a
// batch item (after the array header, which counts them).
void packFields(Packer& p, const Command& c) {
  p.pack_uint8(static_cast<std::uint8_t>(c.op));
  p.pack_str(static_cast<std::uint32_t>(c.path.size()));
  p.pack_str_body(c.path.data(), static_cast<std::uint32_t>(c.path.size()));
  p.pack_int64(c.rev);
  const std::string txn = c.op == Command::Op::kTxn && c.txn ? encodeTxn(*c.txn) : std::string();
  const std::string& value = c.op == Command::Op::kTxn ? txn : c.value;
  p.pack_bin(static_cast<std::uint32_t>(value.size()));
  p.pack_bin_body(value.data(), static_cast<std::uint32_t>(value.size()));
  if (fieldsOf(c) >= 6) {
    p.pack_uint64(c.lease);
    p.pack_int64(c.ttl);
  }
  if (fieldsOf(c) >= 7) p.pack_uint64(c.term);
  if (fieldsOf(c) >= 9) {
    p.pack_uint64(c.session);
    p.pack_uint64(c.seq);
  }
  if (fieldsOf(c) == 10) mp::packStr(p, c.user);
}

// Reads `n` fields (4, 6, 7, 9 or 10) starting at a[0]; an error names what is wrong (throws on bad
// ints).
Status readFields(const msgpack::object* a, std::uint32_t n, Command* c) {
  auto op = a[0].as<std::uint8_t>();
  if (op > 6) return Status(Err::kCorrupt, "unknown command op");
  if (a[1].type != msgpack::type::STR || a[3].type != msgpack::type::BIN) {
    return Status(Err::kCorrupt, "command field of the wrong type");
  }
  c->op = static_cast<Command::Op>(op);
  c->path.assign(a[1].via.str.ptr, a[1].via.str.size);
  c->rev = a[2].as<std::int64_t>();
  c->value.assign(a[3].via.bin.ptr, a[3].via.bin.size);
  if (n >= 6) {
    c->lease = a[4].as<std::uint64_t>();
    c->ttl = a[5].as<std::int64_t>();
  }
  if (n >= 7) c->term = a[6].as<std::uint64_t>();
  if (n >= 9) {
    c->session = a[7].as<std::uint64_t>();
    c->seq = a[8].as<std::uint64_t>();
    // The encoder writes a seq only with its session: a seq alone would not survive a re-encode.
    if (c->session == 0 && c->seq != 0) {
      return Status(Err::kCorrupt, "command has a seq without a session");
    }
    if (n == 9 && c->session == 0) return Status(Err::kCorrupt, "command has a session of 0");
  }
  if (n == 10) {
    // An empty user is written as no user at all: one command, one encoding.
    if (a[9].type != msgpack::type::STR || a[9].via.str.size == 0 || a[9].via.str.size > kMaxUser) {
      return Status(Err::kCorrupt,
                    "command's user is not a string of 1.." + std::to_string(kMaxUser) + " bytes");
    }
    c->user.assign(a[9].via.str.ptr, a[9].via.str.size);
  }
  if (c->op == Command::Op::kTxn) {
    auto t = decodeTxn(c->value);
    if (!t) return t.status();
    c->txn = std::make_shared<const Txn>(std::move(t.value()));
    c->value.clear();
  }
  return Status::ok();
}

}  // namespace

std::string encodeCommand(const Command& c) {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_array(fieldsOf(c));
  packFields(p, c);
  return std::string(buf.data(), buf.size());
}

Result<Command> decodeCommand(std::string_view bytes) {
  try {
    std::size_t off = 0;
    msgpack::object_handle oh =
        msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr,
                        msgpack::unpack_limit(10, 0, 1 << 26, 1 << 26, 0, 2));
    const msgpack::object& o = oh.get();
    if (off != bytes.size() ||
        !(isArray(o, 4) || isArray(o, 6) || isArray(o, 7) || isArray(o, 9) || isArray(o, 10))) {
      return Status(Err::kCorrupt, "command is not a 4-, 6-, 7-, 9- or 10-element array");
    }
    Command c;
    if (Status s = readFields(o.via.array.ptr, o.via.array.size, &c); !s.isOk()) return s;
    return c;
  } catch (const std::exception& e) {
    return Status(Err::kCorrupt, std::string("undecodable command: ") + e.what());
  }
}

std::string encodeBatch(const Batch& b) {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_array(3);
  p.pack_uint32(b.origin);
  p.pack_uint64(b.incarnation);
  p.pack_array(static_cast<std::uint32_t>(b.items.size()));
  for (const auto& it : b.items) {
    p.pack_array(1 + fieldsOf(it.cmd));
    p.pack_uint64(it.id);
    packFields(p, it.cmd);
  }
  return std::string(buf.data(), buf.size());
}

Result<Batch> decodeBatch(std::string_view bytes) {
  try {
    std::size_t off = 0;
    msgpack::object_handle oh =
        msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr,
                        msgpack::unpack_limit(1 << 20, 0, 1 << 26, 1 << 26, 0, 3));
    const msgpack::object& o = oh.get();
    if (off != bytes.size() || !isArray(o, 3) || o.via.array.ptr[2].type != msgpack::type::ARRAY) {
      return Status(Err::kCorrupt, "batch is not [origin, incarnation, items]");
    }
    Batch b;
    b.origin = o.via.array.ptr[0].as<std::uint32_t>();
    b.incarnation = o.via.array.ptr[1].as<std::uint64_t>();
    const msgpack::object_array& items = o.via.array.ptr[2].via.array;
    b.items.resize(items.size);
    for (std::uint32_t i = 0; i < items.size; ++i) {
      if (!isArray(items.ptr[i], 5) && !isArray(items.ptr[i], 7) && !isArray(items.ptr[i], 8) &&
          !isArray(items.ptr[i], 10) && !isArray(items.ptr[i], 11)) {
        return Status(Err::kCorrupt,
                      "batch item is not [id, op, path, rev, value (, lease, ttl (, term (, "
                      "session, seq (, user))))]");
      }
      const msgpack::object* a = items.ptr[i].via.array.ptr;
      b.items[i].id = a[0].as<std::uint64_t>();
      if (Status s = readFields(a + 1, items.ptr[i].via.array.size - 1, &b.items[i].cmd);
          !s.isOk()) {
        return s;
      }
    }
    return b;
  } catch (const std::exception& e) {
    return Status(Err::kCorrupt, std::string("undecodable batch: ") + e.what());
  }
}

}  // namespace cairn::wire
