#pragma once
// Backups: the consistent backups this node serves to clients, a file each, read in chunks (the
// SNAPSHOT verb, PROTOCOL.md §7).
//
// A backup is the store's image at one applied log slot, written in the snapshot format of
// store/FORMAT.md (trailing CRC-32C included) to an unnamed file in the snapshot directory: it
// has no name from the start (O_TMPFILE, or a hidden name unlinked at once), so a crash leaves
// nothing behind, and its bytes live while the backup holds the descriptor. A slot names a
// backup: the same slot always makes the same bytes, so a request at a slot already being written
// or served joins that backup. At most `max` backups at once; each is dropped (its descriptor
// closed) `idle` after its last request.
//
// Owns: the backups and a low-priority Worker that writes each file and reads each chunk, so the
// event loop never waits on the disk. Reads the store (an Image is immutable: cheap to take, safe
// to encode on the worker). Called by: the node's event loop only (serve, expire, halt, the
// worker's completions), with requests ClientService already checked (Action::Kind::kSnapshot).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/envelope.h"
#include "node/stats.h"
#include "node/worker.h"
#include "store/store.h"
#include "wire/message.h"
#include "wire/status.h"

namespace cairn::node {

// PROTOCOL.md §10: a chunk's bytes, backups at once, and how long an unused backup is kept.
inline constexpr std::uint64_t kBackupChunk = 1 << 20;
inline constexpr std::size_t kMaxBackups = 2;
inline constexpr std::chrono::milliseconds kBackupIdle{60000};
// Chunk requests a node holds at once (being read, or waiting for their backup to be written):
// a client that asks for chunks without reading the replies cannot make the node queue more.
inline constexpr std::size_t kMaxBackupReads = 16;

class Backups {
 public:
  using Clock = std::chrono::steady_clock;
  // Sends `r` (with the request's tag) to the client of `env`.
  using Send = std::function<void(const Envelope& env, wire::Reply& r, const std::string& tag)>;
  struct Options {
    std::string dir;  // where the unnamed files are made (the data directory's snap/)
    std::size_t max = kMaxBackups;
    Clock::duration idle = kBackupIdle;
    std::uint64_t chunk = kBackupChunk;
    std::size_t maxReads = kMaxBackupReads;
  };

  Backups(Options opts, const store::Store& store, Stats& stats, Send send);
  ~Backups();
  Backups(const Backups&) = delete;
  Backups& operator=(const Backups&) = delete;

  // A checked SNAPSHOT request: without `slot`, begins a backup of the store as it is now (or
  // joins the one at its slot) and answers once the file is written; with `slot` and `offset`,
  // answers with that chunk of the backup.
  void serve(Envelope env, const wire::Request& req, const std::string& tag, Clock::time_point now);
  // Drops the backups whose last request is `idle` old (none while its file is being written).
  void expire(Clock::time_point now);
  // The node halted: everyone waiting here, and every later completion, is answered `why`, and
  // every backup is dropped.
  void halt(const wire::Status& why);

  int fd() const { return worker_.fd(); }
  void runCompletions() { worker_.runCompletions(); }
  std::size_t size() const { return backups_.size(); }

  struct File;  // an open backup file (backups.cc)

 private:
  struct Waiting {
    Envelope env;
    std::string tag;
    std::optional<std::uint64_t> offset;  // a chunk read that arrived while the file was written
  };
  struct Backup {
    std::uint64_t generation = 0;
    std::int64_t rev = 0;
    std::shared_ptr<File> file;  // null while it is being written
    std::uint64_t len = 0;
    std::vector<Waiting> waiting;
    Clock::time_point lastUsed;
    bool readToEnd = false;  // its last chunk was served: a download of it finished
  };
  void begin(Envelope env, const std::string& tag, Clock::time_point now);
  void read(Envelope env, const std::string& tag, std::uint64_t slot, std::uint64_t offset,
            Clock::time_point now);
  // Posts the read of one chunk of a written backup; the completion answers the client.
  void readChunk(const Backup& b, std::uint64_t slot, Envelope env, std::string tag,
                 std::uint64_t offset);
  void written(std::uint64_t slot, std::uint64_t generation,
               wire::Result<std::shared_ptr<File>> file);
  wire::Reply describe(const Backup& b, std::uint64_t slot) const;
  // Requests held and not yet answered: the worker's jobs (chunk reads, backups being written)
  // and the requests waiting for a backup to be written.
  std::size_t held() const;
  void send(const Envelope& env, wire::Reply r, const std::string& tag);

  Options opts_;
  const store::Store& store_;
  Stats& stats_;
  Send send_;
  std::map<std::uint64_t, Backup> backups_;  // by slot
  std::uint64_t generation_ = 0;
  wire::Status halted_;
  Worker worker_;  // last: destroyed first, so no completion outlives the state it uses
};

}  // namespace cairn::node
