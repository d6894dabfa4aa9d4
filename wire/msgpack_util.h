#pragma once
// Small msgpack helpers the wire codecs share (codec.cc, command.cc, txn.cc): one definition each,
// so the files can also be compiled together (CMake's unity build).

#include <msgpack.hpp>

#include <cstdint>
#include <string_view>

namespace cairn::wire::mp {

using Packer = msgpack::packer<msgpack::sbuffer>;

inline void packStr(Packer& p, std::string_view s) {
  p.pack_str(static_cast<std::uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

inline void packBin(Packer& p, std::string_view s) {
  p.pack_bin(static_cast<std::uint32_t>(s.size()));
  p.pack_bin_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

inline bool isArray(const msgpack::object& o, std::uint32_t n) {
  return o.type == msgpack::type::ARRAY && o.via.array.size == n;
}

}  // namespace cairn::wire::mp
