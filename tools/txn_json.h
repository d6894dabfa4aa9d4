#pragma once
// `cairn txn`'s JSON: a transaction read from text in TXN's wire form (PROTOCOL.md §7), and the
// reply printed as one JSON object. Used by tools/cairn.cc; no state, any thread.
//
// The input is one JSON object:
//   {"if":   [{"path":P, "rev":N | "value":S | "value_b64":B | "exists":true|false,
//              "cmp":"=" | "!=" | "<" | ">"}, ...],
//    "then": [{"op":"get"|"set"|"del"|"deltree", "path":P, "rev":N, "value":S | "value_b64":B,
//              "lease":ID}, ...],
//    "else": [...]}
// "value" is UTF-8 text (a JSON string); "value_b64" standard base64, for any bytes. "cmp" is "="
// when absent ("==" is "=" too); "exists" compares only with "=". A set and a del need "rev" (-1
// clobbers, 0 creates only, R: only if the file is at rev <= R), as on the wire; a deltree may
// have one (its directory's rev), a get may not (it reads the head). A "verb":"TXN" member is
// allowed, so a request written for the wire reads as it is.
//
// Stricter than the node on purpose: an unknown key, a key given twice, or a member of the wrong
// type is an error that names where it is ("then[1].rev: must be an integer, not \"5\""), never
// silently ignored — a misspelt "cmp" would otherwise compare with "=". Paths, sizes and /ctl are
// the node's to check.

#include <string>
#include <string_view>

#include "bindings/cpp/client.h"
#include "wire/status.h"
#include "wire/txn.h"

namespace cairn::tools {

// The transaction in `text`, or BAD_REQUEST whose detail says where and what is wrong.
wire::Result<wire::Txn> parseTxnJson(std::string_view text);

// {"succeeded":B,"rev":R,"results":[{"op":O,"path":P,"rev":R, ...}, ...]}: a get's result has
// its "value" (or "value_b64") and "lease" when one keeps the file, and neither "value" nor
// "value_b64" when there is no such file (its rev is 0); a deltree's has "len", the files it
// deleted.
std::string txnReplyJson(const client::TxnReply& r);

}  // namespace cairn::tools
