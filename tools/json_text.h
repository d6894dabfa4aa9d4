#pragma once
// JSON text as cairn prints it: strings escaped, and a value as "value" when it is UTF-8 text or
// "value_b64" (standard base64, padded) when it is not. Every command's --json output, and txn's,
// is built from these, so a value reads the same everywhere. No state; any thread.

#include <string>

namespace cairn::tools {

bool validUtf8(const std::string& s);
// `s` as a JSON string literal, quotes included (control characters escaped; `s` is UTF-8).
std::string jsonStr(const std::string& s);
std::string base64(const std::string& s);
// Standard base64 (padding optional, no whitespace) into *out; false if `s` is not base64.
bool unbase64(const std::string& s, std::string* out);
// A value as a JSON member: "value":"text" when it is UTF-8, else "value_b64":"...".
std::string jsonValue(const std::string& v);

}  // namespace cairn::tools
