#pragma once
// CRC-32C (Castagnoli), the checksum of WAL records and snapshots.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cairn::store {

std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

}  // namespace cairn::store
