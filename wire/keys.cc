#include "wire/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <zmq.h>

namespace cairn::wire {
namespace {

constexpr std::size_t kZ85Key = 40;
constexpr std::size_t kMaxKeyFile = 64 * 1024;  // a key file is a few lines; refuse anything big

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r'))
    ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r'))
    --e;
  return std::string(s.substr(b, e - b));
}

Status readSmallFile(const std::string& path, std::string* text) {
  auto r = readRegularFile(path, kMaxKeyFile, "key file");
  if (!r) return r.status();
  *text = std::move(r.value());
  return Status::ok();
}

}  // namespace

Result<std::string> readRegularFile(const std::string& path, std::size_t maxBytes,
                                    const std::string& what) {
  // O_NONBLOCK: a FIFO put in a file's place must not block the reader (a node's event loop).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return Status(Err::kIo, "cannot read " + what + " " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  std::string out;
  Status s;
  if (::fstat(fd, &st) != 0) {
    s = Status(Err::kIo, "cannot read " + what + " " + path + ": " + std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    s = Status(Err::kBadRequest, what + " " + path + " is not a regular file");
  } else if (static_cast<std::uint64_t>(st.st_size) > maxBytes) {
    s = Status(Err::kTooLarge, what + " " + path + " is " + std::to_string(st.st_size) +
                                   " bytes; at most " + std::to_string(maxBytes) + " are read");
  } else {
    char buf[1 << 14];
    while (out.size() <= maxBytes) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s = Status(Err::kIo, "cannot read " + what + " " + path + ": " + std::strerror(errno));
        break;
      }
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    if (s.isOk() && out.size() > maxBytes) {
      s = Status(Err::kTooLarge, what + " " + path + " grew past " + std::to_string(maxBytes) +
                                     " bytes while it was read");
    }
  }
  ::close(fd);
  if (!s.isOk()) return s;
  return out;
}

bool isZ85Key(std::string_view s) {
  static const char* kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (s.size() != kZ85Key) return false;
  for (char c : s) {
    if (c == '\0' || std::strchr(kAlphabet, c) == nullptr) return false;
  }
  return true;
}

Result<KeyPair> generateKeyPair() {
  char pub[kZ85Key + 1], sec[kZ85Key + 1];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Status(Err::kIo, std::string("cannot make a CURVE key pair: ") + zmq_strerror(errno) +
                                " (libzmq built without CURVE?)");
  }
  return KeyPair{pub, sec};
}

std::string formatKeyFile(const KeyPair& k) {
  return "public: " + k.publicKey + "\nsecret: " + k.secretKey + "\n";
}

Result<KeyPair> parseKeyFile(std::string_view text, const std::string& name) {
  KeyPair k;
  int lineNo = 0;
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line = trim(text.substr(at, nl - at));
    at = nl + 1;
    ++lineNo;
    if (line.empty() || line[0] == '#') continue;
    auto where = [&] { return name + " line " + std::to_string(lineNo); };
    std::string* slot = nullptr;
    std::string value;
    if (line.rfind("public:", 0) == 0) {
      slot = &k.publicKey;
      value = trim(std::string_view(line).substr(7));
    } else if (line.rfind("secret:", 0) == 0) {
      slot = &k.secretKey;
      value = trim(std::string_view(line).substr(7));
    } else if (isZ85Key(line)) {
      slot = &k.publicKey;
      value = line;
    } else {
      return Status(Err::kBadRequest,
                    where() + ": want \"public: <key>\", \"secret: <key>\" or a bare public key " +
                        "(40 Z85 characters)");
    }
    if (!isZ85Key(value)) {
      return Status(Err::kBadRequest,
                    where() + ": a key is 40 Z85 characters, got " + std::to_string(value.size()));
    }
    if (!slot->empty()) return Status(Err::kBadRequest, where() + ": a second key of that kind");
    *slot = value;
  }
  if (!k.secretKey.empty()) {
    char derived[kZ85Key + 1];
    if (zmq_curve_public(derived, k.secretKey.c_str()) != 0) {
      return Status(Err::kBadRequest, name + ": the secret key does not decode");
    }
    if (k.publicKey.empty()) {
      k.publicKey = derived;
    } else if (k.publicKey != derived) {
      return Status(Err::kBadRequest, name + ": the public key is not the secret key's");
    }
  }
  if (k.publicKey.empty()) return Status(Err::kBadRequest, name + " holds no key");
  return k;
}

Result<KeyPair> readSecretKeyFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status(Err::kIo, "cannot read key file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status(Err::kBadRequest, path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status(Err::kPermission, "key file " + path + " is open to others (mode " + mode +
                                        "): a secret key must be its owner's alone; chmod 600 " +
                                        path);
  }
  std::string text;
  if (Status s = readSmallFile(path, &text); !s.isOk()) return s;
  auto k = parseKeyFile(text, path);
  if (!k.isOk()) return k.status();
  if (k.value().secretKey.empty()) {
    return Status(Err::kBadRequest,
                  path + " holds a public key only; this needs a key pair (cairn keygen)");
  }
  return k;
}

Result<std::string> readPublicKey(const std::string& spec) {
  if (isZ85Key(spec)) return spec;
  std::string text;
  if (Status s = readSmallFile(spec, &text); !s.isOk()) {
    return Status(s.code(), s.detail() + " (want a key file or a 40-character Z85 key)");
  }
  auto k = parseKeyFile(text, spec);
  if (!k.isOk()) return k.status();
  return k.value().publicKey;
}

}  // namespace cairn::wire

namespace cairn::wire {

KeyedEndpoint splitKeyedEndpoint(std::string_view s) {
  const std::size_t scheme = s.find("://");
  if (scheme != std::string_view::npos) {
    const std::size_t at = scheme + 3;
    if (s.size() > at + kZ85Key && s[at + kZ85Key] == '@' && isZ85Key(s.substr(at, kZ85Key))) {
      return {std::string(s.substr(0, at)) + std::string(s.substr(at + kZ85Key + 1)),
              std::string(s.substr(at, kZ85Key))};
    }
  }
  return {std::string(s), ""};
}

bool sameEndpoint(std::string_view a, std::string_view b) {
  return splitKeyedEndpoint(a).endpoint == splitKeyedEndpoint(b).endpoint;
}

std::string keyedEndpoint(std::string_view endpoint, std::string_view key) {
  const std::size_t scheme = endpoint.find("://");
  if (key.empty() || scheme == std::string_view::npos) return std::string(endpoint);
  return std::string(endpoint.substr(0, scheme + 3)) + std::string(key) + "@" +
         std::string(endpoint.substr(scheme + 3));
}

}  // namespace cairn::wire
