#pragma once
// An immutable ordered map from string to V: a treap whose updates copy only the O(log n) nodes on
// the path they change and share the rest. Copying a PMap is O(1), so a directory with 100k
// entries is never copied when one entry changes, and every old version stays readable for as long
// as someone holds it (this is what makes reads at past revisions cheap).
//
// Priorities are a hash of the key, so the shape depends only on the set of keys: two maps with
// the same contents have the same structure. Not thread-safe to mutate, but there is nothing to
// mutate: a PMap value may be read from any thread while someone else builds a new version.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn::store {

// Counts treap nodes ever created; tests use it to show that updates copy O(log n) nodes.
inline std::atomic<std::uint64_t>& pmapNodesCreated() {
  static std::atomic<std::uint64_t> n{0};
  return n;
}

// A per-thread free list of equal-sized blocks. Every update of a PMap allocates O(log n) nodes
// and the oldest retained version frees as many, thousands of times a second; recycling them here
// keeps them off malloc's slower paths (measured: see the commit that added it). Blocks freed on
// another thread go to that thread's list; each list keeps at most kMaxCached blocks. Under
// AddressSanitizer every block goes to the system allocator, so use-after-free stays visible.
template <std::size_t Size, std::size_t Align>
class BlockCache {
 public:
  static void* get() {
#if !defined(__SANITIZE_ADDRESS__)
    Cache& c = cache();
    if (c.head) {
      Link* l = c.head;
      c.head = l->next;
      --c.n;
      return l;
    }
#endif
    return ::operator new(Size, std::align_val_t(Align));
  }
  static void put(void* p) {
#if !defined(__SANITIZE_ADDRESS__)
    Cache& c = cache();
    if (!c.dead && c.n < kMaxCached) {
      Link* l = static_cast<Link*>(p);
      l->next = c.head;
      c.head = l;
      ++c.n;
      return;
    }
#endif
    ::operator delete(p, std::align_val_t(Align));
  }

 private:
  static constexpr std::size_t kMaxCached = 1 << 16;
  struct Link {
    Link* next;
  };
  static_assert(Size >= sizeof(Link), "blocks hold a link while cached");
  struct Cache {
    Link* head = nullptr;
    std::size_t n = 0;
    bool dead = false;  // set at thread exit: later frees go straight to the system
    ~Cache() {
      while (head) {
        Link* l = head;
        head = l->next;
        ::operator delete(l, std::align_val_t(Align));
      }
      n = 0;
      dead = true;
    }
  };
  static Cache& cache() {
    static thread_local Cache c;
    return c;
  }
};

// A std::allocator that serves single objects from a BlockCache.
template <class T>
struct CachedAlloc {
  using value_type = T;
  CachedAlloc() = default;
  template <class U>
  CachedAlloc(const CachedAlloc<U>&) {}
  T* allocate(std::size_t n) {
    if (n != 1) return std::allocator<T>().allocate(n);
    return static_cast<T*>(BlockCache<sizeof(T), alignof(T)>::get());
  }
  void deallocate(T* p, std::size_t n) {
    if (n != 1) return std::allocator<T>().deallocate(p, n);
    BlockCache<sizeof(T), alignof(T)>::put(p);
  }
  template <class U>
  bool operator==(const CachedAlloc<U>&) const {
    return true;
  }
  template <class U>
  bool operator!=(const CachedAlloc<U>&) const {
    return false;
  }
};

template <class V>
class PMap {
  struct TNode;
  using TP = std::shared_ptr<const TNode>;
  struct TNode {
    std::string key;
    V val;
    std::uint32_t prio;
    std::size_t size;
    TP l, r;
  };

 public:
  PMap() = default;

  std::size_t size() const { return root_ ? root_->size : 0; }
  bool empty() const { return !root_; }

  const V* find(std::string_view key) const {
    const TNode* t = root_.get();
    while (t) {
      int c = key.compare(t->key);
      if (c == 0) return &t->val;
      t = c < 0 ? t->l.get() : t->r.get();
    }
    return nullptr;
  }

  // A new map with key set to val.
  PMap assign(std::string_view key, V val) const {
    return PMap(insert(root_, key, std::move(val), prio(key)));
  }

  // A new map without key (the same map when key is absent).
  PMap erase(std::string_view key) const { return PMap(remove(root_, key)); }

  // Calls f(key, val) in key order for keys > after (or >= after when inclusive), until f returns
  // false.
  template <class F>
  void forEachFrom(std::string_view after, bool inclusive, F&& f) const {
    std::vector<const TNode*> stack;
    const TNode* t = root_.get();
    // Descend to the first key in range, remembering the ancestors to visit after it.
    while (t) {
      int c = t->key.compare(after);
      if (c > 0 || (inclusive && c == 0)) {
        stack.push_back(t);
        t = t->l.get();
      } else {
        t = t->r.get();
      }
    }
    while (!stack.empty()) {
      const TNode* n = stack.back();
      stack.pop_back();
      if (!f(n->key, n->val)) return;
      for (const TNode* c = n->r.get(); c; c = c->l.get())
        stack.push_back(c);
    }
  }

  template <class F>
  void forEach(F&& f) const {
    forEachFrom("", true, std::forward<F>(f));
  }

 private:
  explicit PMap(TP root) : root_(std::move(root)) {}

  static std::uint32_t prio(std::string_view key) {
    std::uint32_t h = 2166136261u;  // FNV-1a, then a finalizer so near keys spread out
    for (char c : key)
      h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    return h;
  }

  static std::size_t sz(const TP& t) { return t ? t->size : 0; }

  static TP make(std::string key, V val, std::uint32_t p, TP l, TP r) {
    pmapNodesCreated().fetch_add(1, std::memory_order_relaxed);
    std::size_t s = 1 + sz(l) + sz(r);
    return std::allocate_shared<const TNode>(
        CachedAlloc<TNode>(),
        TNode{std::move(key), std::move(val), p, s, std::move(l), std::move(r)});
  }

  static TP insert(const TP& t, std::string_view key, V val, std::uint32_t p) {
    if (!t) return make(std::string(key), std::move(val), p, nullptr, nullptr);
    int c = key.compare(t->key);
    if (c == 0) return make(t->key, std::move(val), t->prio, t->l, t->r);
    if (c < 0) {
      TP nl = insert(t->l, key, std::move(val), p);
      if (nl->prio > t->prio) {  // rotate right
        return make(nl->key, nl->val, nl->prio, nl->l, make(t->key, t->val, t->prio, nl->r, t->r));
      }
      return make(t->key, t->val, t->prio, std::move(nl), t->r);
    }
    TP nr = insert(t->r, key, std::move(val), p);
    if (nr->prio > t->prio) {  // rotate left
      return make(nr->key, nr->val, nr->prio, make(t->key, t->val, t->prio, t->l, nr->l), nr->r);
    }
    return make(t->key, t->val, t->prio, t->l, std::move(nr));
  }

  static TP merge(const TP& a, const TP& b) {
    if (!a) return b;
    if (!b) return a;
    if (a->prio > b->prio) return make(a->key, a->val, a->prio, a->l, merge(a->r, b));
    return make(b->key, b->val, b->prio, merge(a, b->l), b->r);
  }

  static TP remove(const TP& t, std::string_view key) {
    if (!t) return t;
    int c = key.compare(t->key);
    if (c == 0) return merge(t->l, t->r);
    if (c < 0) {
      TP nl = remove(t->l, key);
      if (nl == t->l) return t;
      return make(t->key, t->val, t->prio, std::move(nl), t->r);
    }
    TP nr = remove(t->r, key);
    if (nr == t->r) return t;
    return make(t->key, t->val, t->prio, t->l, std::move(nr));
  }

  TP root_;
};

}  // namespace cairn::store
