#include "wire/command.h"

#include <msgpack.hpp>

namespace cairn::wire {

std::string encodeCommand(const Command& c) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> p(buf);
  p.pack_array(4);
  p.pack_uint8(static_cast<std::uint8_t>(c.op));
  p.pack_str(static_cast<std::uint32_t>(c.path.size()));
  p.pack_str_body(c.path.data(), static_cast<std::uint32_t>(c.path.size()));
  p.pack_int64(c.rev);
  p.pack_bin(static_cast<std::uint32_t>(c.value.size()));
  p.pack_bin_body(c.value.data(), static_cast<std::uint32_t>(c.value.size()));
  return std::string(buf.data(), buf.size());
}

Result<Command> decodeCommand(std::string_view bytes) {
  try {
    std::size_t off = 0;
    msgpack::object_handle oh =
        msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr,
                        msgpack::unpack_limit(4, 0, 1 << 26, 1 << 26, 0, 2));
    const msgpack::object& o = oh.get();
    if (off != bytes.size() || o.type != msgpack::type::ARRAY || o.via.array.size != 4) {
      return Status(Err::kCorrupt, "command is not a 4-element array");
    }
    const msgpack::object* a = o.via.array.ptr;
    Command c;
    auto op = a[0].as<std::uint8_t>();
    if (op > 2) return Status(Err::kCorrupt, "unknown command op");
    c.op = static_cast<Command::Op>(op);
    if (a[1].type != msgpack::type::STR || a[3].type != msgpack::type::BIN) {
      return Status(Err::kCorrupt, "command field of the wrong type");
    }
    c.path.assign(a[1].via.str.ptr, a[1].via.str.size);
    c.rev = a[2].as<std::int64_t>();
    c.value.assign(a[3].via.bin.ptr, a[3].via.bin.size);
    return c;
  } catch (const std::exception& e) {
    return Status(Err::kCorrupt, std::string("undecodable command: ") + e.what());
  }
}

std::string encodeBatch(const Batch& b) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> p(buf);
  p.pack_array(3);
  p.pack_uint32(b.origin);
  p.pack_uint64(b.incarnation);
  p.pack_array(static_cast<std::uint32_t>(b.items.size()));
  for (const auto& it : b.items) {
    p.pack_array(5);
    p.pack_uint64(it.id);
    p.pack_uint8(static_cast<std::uint8_t>(it.cmd.op));
    p.pack_str(static_cast<std::uint32_t>(it.cmd.path.size()));
    p.pack_str_body(it.cmd.path.data(), static_cast<std::uint32_t>(it.cmd.path.size()));
    p.pack_int64(it.cmd.rev);
    p.pack_bin(static_cast<std::uint32_t>(it.cmd.value.size()));
    p.pack_bin_body(it.cmd.value.data(), static_cast<std::uint32_t>(it.cmd.value.size()));
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
    if (off != bytes.size() || o.type != msgpack::type::ARRAY || o.via.array.size != 3 ||
        o.via.array.ptr[2].type != msgpack::type::ARRAY) {
      return Status(Err::kCorrupt, "batch is not [origin, incarnation, items]");
    }
    Batch b;
    b.origin = o.via.array.ptr[0].as<std::uint32_t>();
    b.incarnation = o.via.array.ptr[1].as<std::uint64_t>();
    const msgpack::object_array& items = o.via.array.ptr[2].via.array;
    b.items.resize(items.size);
    for (std::uint32_t i = 0; i < items.size; ++i) {
      const msgpack::object& e = items.ptr[i];
      if (e.type != msgpack::type::ARRAY || e.via.array.size != 5 ||
          e.via.array.ptr[2].type != msgpack::type::STR ||
          e.via.array.ptr[4].type != msgpack::type::BIN) {
        return Status(Err::kCorrupt, "batch item is not [id, op, path, rev, value]");
      }
      const msgpack::object* a = e.via.array.ptr;
      auto op = a[1].as<std::uint8_t>();
      if (op > 2) return Status(Err::kCorrupt, "unknown command op");
      Batch::Item& it = b.items[i];
      it.id = a[0].as<std::uint64_t>();
      it.cmd.op = static_cast<Command::Op>(op);
      it.cmd.path.assign(a[2].via.str.ptr, a[2].via.str.size);
      it.cmd.rev = a[3].as<std::int64_t>();
      it.cmd.value.assign(a[4].via.bin.ptr, a[4].via.bin.size);
    }
    return b;
  } catch (const std::exception& e) {
    return Status(Err::kCorrupt, std::string("undecodable batch: ") + e.what());
  }
}

}  // namespace cairn::wire
