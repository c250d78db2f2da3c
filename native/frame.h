// Bytes that cross threads: a serialized value plus the ArrayBuffers moved
// with it out of band. A Frame is owned by exactly one queue or thread at a
// time and is moved, never shared; whoever holds it when it dies frees it.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

namespace rt {

// A malloc'd block. Ownership passes to an external ArrayBuffer on the
// receiving thread (Release()), else the destructor frees it.
class OwnedBlock {
 public:
  OwnedBlock() = default;
  OwnedBlock(const void* src, size_t len)
      : data_(static_cast<uint8_t*>(std::malloc(len == 0 ? 1 : len))),
        len_(len) {
    if (len != 0) std::memcpy(data_, src, len);
  }
  OwnedBlock(OwnedBlock&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), len_(std::exchange(o.len_, 0)) {}
  OwnedBlock& operator=(OwnedBlock&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = std::exchange(o.data_, nullptr);
      len_ = std::exchange(o.len_, 0);
    }
    return *this;
  }
  OwnedBlock(const OwnedBlock&) = delete;
  OwnedBlock& operator=(const OwnedBlock&) = delete;
  ~OwnedBlock() { std::free(data_); }

  uint8_t* data() const { return data_; }
  size_t size() const { return len_; }
  // The caller now owns the memory and must free() it.
  uint8_t* Release() {
    len_ = 0;
    return std::exchange(data_, nullptr);
  }

 private:
  uint8_t* data_ = nullptr;
  size_t len_ = 0;
};

// A serialized value's bytes. Short ones (most arguments of small tasks)
// live inside the object, longer ones in one malloc'd block whose pointer
// is kept in the same bytes: a queued task then costs no allocation of its
// own beside its slot in the queue, and the object is 32 bytes (a
// std::vector is 24, plus a heap block of at least 32).
class Bytes {
 public:
  static constexpr uint32_t kInline = 28;

  Bytes() = default;
  Bytes(const Bytes& o) { assign(o.data(), o.data() + o.size_); }
  Bytes(Bytes&& o) noexcept : size_(std::exchange(o.size_, 0)) {
    std::memcpy(buf_, o.buf_, sizeof buf_);
  }
  Bytes& operator=(const Bytes& o) {
    if (this != &o) assign(o.data(), o.data() + o.size_);
    return *this;
  }
  Bytes& operator=(Bytes&& o) noexcept {
    if (this != &o) {
      Free();
      std::memcpy(buf_, o.buf_, sizeof buf_);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~Bytes() { Free(); }

  const uint8_t* data() const { return size_ > kInline ? Heap() : buf_; }
  uint8_t* data() { return size_ > kInline ? Heap() : buf_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The bytes of [first, last), replacing these (never overlapping them).
  void assign(const uint8_t* first, const uint8_t* last) {
    resize(static_cast<size_t>(last - first));
    if (size_ != 0) std::memcpy(data(), first, size_);
  }
  // `n` bytes, their values unspecified.
  void resize(size_t n) {
    Free();
    if (n > UINT32_MAX) throw std::bad_alloc();  // no serialized value is
    if (n > kInline) {
      void* block = std::malloc(n);
      if (!block) throw std::bad_alloc();  // as std::vector's would
      std::memcpy(buf_, &block, sizeof block);
    }
    size_ = static_cast<uint32_t>(n);
  }

 private:
  uint8_t* Heap() const {
    uint8_t* p;
    std::memcpy(&p, buf_, sizeof p);
    return p;
  }
  void Free() {
    if (size_ > kInline) std::free(Heap());
    size_ = 0;
  }

  uint8_t buf_[kInline];  // the bytes, or (longer ones) their block's address
  uint32_t size_ = 0;
};
static_assert(sizeof(Bytes) == 32, "Bytes is meant to be 32 bytes");

struct Frame {
  Bytes bytes;                          // the serialized value
  std::vector<OwnedBlock> transfers;    // moved ArrayBuffers, in id order
};

}  // namespace rt
