#pragma once
// CurveZMQ keys as Cairn keeps them (PROTOCOL.md §12): 40-character Z85 strings, in a key file of
// two lines, "public: <Z85>" and "secret: <Z85>" (cairn keygen writes one), or a public key alone
// as a bare Z85 line. A file that holds a secret key must be readable and writable by its owner
// only (like ssh's private keys): a key others can read is refused, never used.

#include <string>
#include <string_view>

#include "wire/status.h"

namespace cairn::wire {

struct KeyPair {
  std::string publicKey;  // Z85, 40 characters
  std::string secretKey;  // Z85, 40 characters; empty when only the public key is known
};

// The contents of a regular file of at most `maxBytes` (a key file, a client list): anything else
// (a directory, a FIFO, a device, a larger file) is refused without reading it whole, and a FIFO
// never blocks. `what` names the file in errors.
Result<std::string> readRegularFile(const std::string& path, std::size_t maxBytes,
                                    const std::string& what);
// Whether `s` is a Z85-encoded 32-byte key: 40 characters of the Z85 alphabet.
bool isZ85Key(std::string_view s);
// A new key pair from libzmq's random source. IO if libzmq was built without CURVE.
Result<KeyPair> generateKeyPair();
// The key file's text for `k`: "public: ...\nsecret: ...\n".
std::string formatKeyFile(const KeyPair& k);
// Parses a key file's text (`name` names it in errors). Lines "public: Z85" and "secret: Z85",
// blank lines and #-comments; the public key must be the secret key's. BAD_REQUEST says what is
// wrong. A bare Z85 line is a public key alone.
Result<KeyPair> parseKeyFile(std::string_view text, const std::string& name);
// Reads a key file that must hold a secret key (a node's --key, a client's --key): refused when
// the file is missing, is not a regular file, or is readable or writable by its group or others.
Result<KeyPair> readSecretKeyFile(const std::string& path);
// A public key: `spec` itself when it is a Z85 key, else the public key of the key file it names
// (a full key file or a bare Z85 line; the file's mode does not matter).
Result<std::string> readPublicKey(const std::string& spec);

}  // namespace cairn::wire

namespace cairn::wire {

// An endpoint may name the CURVE public key of the node behind it as its "user info":
// "tcp://<key>@10.0.0.1:7101". Members' peer endpoints carry their keys this way (so every
// configuration and every change names each member's key), nodes advertise their client and feed
// endpoints so, and clients take them as they are.
struct KeyedEndpoint {
  std::string endpoint;  // without the key: what ZeroMQ connects to or binds
  std::string key;       // Z85, or empty when the endpoint names none
};
KeyedEndpoint splitKeyedEndpoint(std::string_view s);
// Whether two endpoints reach the same place, whether or not either names a key.
bool sameEndpoint(std::string_view a, std::string_view b);
// `endpoint` with `key` put in (the endpoint as it is when key is empty).
std::string keyedEndpoint(std::string_view endpoint, std::string_view key);

}  // namespace cairn::wire
