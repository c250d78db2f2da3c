// Bytes that cross threads: a serialized value plus the ArrayBuffers moved
// with it out of band. A Frame is owned by exactly one queue or thread at a
// time and is moved, never shared; whoever holds it when it dies frees it.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
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

struct Frame {
  std::vector<uint8_t> bytes;           // the serialized value
  std::vector<OwnedBlock> transfers;    // moved ArrayBuffers, in id order
};

}  // namespace rt
