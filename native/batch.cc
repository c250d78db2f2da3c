#include "batch.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>

namespace rt {

bool ReadFrame(Args& args,
               size_t bytes_at,
               size_t transfers_at,
               Frame* frame,
               Moved* moved) {
  if (!args.Check(args.Length() > bytes_at, "payload buffer expected")) return false;
  Napi::Value transfers = args.Length() > transfers_at ? args[transfers_at] : args.env().Undefined();
  return ReadFrameFrom(args, args[bytes_at], transfers, frame, moved);
}

bool ReadFrameFrom(Args& args, Napi::Value bytes, Napi::Value transfers, Frame* frame, Moved* moved) {
  if (!args.Check(bytes.IsBuffer(), "payload buffer expected")) return false;
  auto buf = bytes.As<Napi::Buffer<uint8_t>>();
  // (The batches that carry it on give its length 32 bits: DrainBatch,
  // WriteTaskBatch. Node 22 and later make larger typed arrays.)
  if (!args.Check(buf.Length() <= UINT32_MAX,
                  "payload under 4 GiB expected (move large data with transfer(), or share it)"))
    return false;
  frame->bytes.assign(buf.Data(), buf.Data() + buf.Length());
  if (!transfers.IsArray()) return true;
  auto list = transfers.As<Napi::Array>();
  frame->transfers.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    // Raw: napi_get_element may run JS, which a terminating Worker refuses
    // (node-addon-api's error for that can end the process). Refused, the
    // call is dropped, as the thread is going away.
    napi_value raw = nullptr;
    if (napi_get_element(args.env(), list, i, &raw) != napi_ok) return args.Abandon();
    Napi::Value v(args.env(), raw);
    if (!args.Check(v.IsArrayBuffer(), "transfer list holds ArrayBuffers"))
      return false;
    auto ab = v.As<Napi::ArrayBuffer>();
    frame->transfers.emplace_back(ab.Data(), ab.ByteLength());
    moved->push_back(ab);
  }
  return true;
}

void Detach(napi_env env, const Moved& moved) {
  for (auto& ab : moved) napi_detach_arraybuffer(env, ab);
}

namespace {

// The byte layouts shared with JavaScript (src/base/wire.ts) are little
// endian, and are copied here in the host's order.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "reactor-threads: the native core needs a little-endian host (its byte layouts shared with JavaScript are little endian)"
#endif

// The finalizer of the external ArrayBuffers ToArrayBuffer() makes: the
// JS thread whose V8 released the buffer.
void FreeBlock(napi_env, void* data, void*) {
  std::free(data);
}

void PutU32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}
void PutF64(uint8_t* p, double v) {
  std::memcpy(p, &v, 8);
}

// Inbox batch layout, per message (little endian; src/base/wire.ts reads it):
//   f64 id | u32 kind | u32 status | u32 ref | u32 byte length |
//   u32 transfer count | u32 sender | payload bytes
constexpr size_t kMessageHeader = 32;
// Task batch layout, per task:
//   f64 task id | u32 function id | u32 byte length | u32 transfer count |
//   u32 flags (1: its buffers were sent ahead to this thread) | payload bytes
constexpr size_t kTaskHeader = 24;

// Writes `items` as one Batch: `frame_of(item)` gives an item's Frame;
// `write_header(item, p)` writes its `header_size` bytes of header at p.
// Raw N-API: false on failure.
template <typename Items, typename FrameOf, typename WriteHeader>
bool WriteBatch(napi_env env,
                Items& items,
                size_t header_size,
                FrameOf frame_of,
                WriteHeader write_header,
                const Scratch& scratch,
                Batch* out) {
  size_t total = 0, ntransfers = 0;
  for (auto& item : items) {
    Frame& f = frame_of(item);
    total += header_size + f.bytes.size();
    ntransfers += f.transfers.size();
  }
  void* data = nullptr;
  if (scratch.data && total <= scratch.size) {
    data = scratch.data;
    if (napi_create_typedarray(env, napi_uint8_array, total, scratch.arraybuffer,
                               scratch.offset, &out->buffer) != napi_ok)
      return false;
    out->in_scratch = true;
  } else if (napi_create_buffer(env, total, &data, &out->buffer) != napi_ok) {
    return false;
  }
  if (napi_get_undefined(env, &out->transfers) != napi_ok) return false;
  if (ntransfers && napi_create_array_with_length(
                        env, ntransfers, &out->transfers) != napi_ok)
    return false;
  uint8_t* p = static_cast<uint8_t*>(data);
  uint32_t ai = 0;
  for (auto& item : items) {
    Frame& f = frame_of(item);
    write_header(item, p);
    p += header_size;
    if (!f.bytes.empty()) std::memcpy(p, f.bytes.data(), f.bytes.size());
    p += f.bytes.size();
    for (auto& block : f.transfers) {
      napi_value ab;
      if (!ToArrayBuffer(env, block, &ab) ||
          napi_set_element(env, out->transfers, ai++, ab) != napi_ok)
        return false;
    }
  }
  return true;
}

}  // namespace

bool ToArrayBuffer(napi_env env, OwnedBlock& block, napi_value* out) {
  size_t len = block.size();
  uint8_t* data = block.Release();
  if (napi_create_external_arraybuffer(
          env, data, len, FreeBlock, nullptr, out) == napi_ok)
    return true;
  // Runtimes that forbid external buffers: one more copy.
  void* copy = nullptr;
  bool ok = napi_create_arraybuffer(env, len, &copy, out) == napi_ok;
  if (ok && len) std::memcpy(copy, data, len);
  std::free(data);
  return ok;
}

bool DrainBatch(napi_env env, Reactor* reactor, const Scratch& scratch, bool* work, Batch* out) {
  std::deque<Message> batch;
  reactor->Drain(&batch, work);
  if (napi_get_undefined(env, &out->buffer) != napi_ok) return false;
  out->transfers = out->buffer;
  if (!batch.empty()) {
    return WriteBatch(
        env,
        batch,
        kMessageHeader,
        [](Message& m) -> Frame& { return m.frame; },
        [](Message& m, uint8_t* p) {
          PutF64(p, m.id);
          PutU32(p + 8, static_cast<uint32_t>(m.kind));
          PutU32(p + 12, m.status);
          PutU32(p + 16, m.ref);
          PutU32(p + 20, static_cast<uint32_t>(m.frame.bytes.size()));
          PutU32(p + 24, static_cast<uint32_t>(m.frame.transfers.size()));
          PutU32(p + 28, m.sender);
        },
        scratch,
        out);
  }
  return true;
}

bool WriteTaskBatch(napi_env env, std::vector<Task>& tasks, const Scratch& scratch, Batch* out) {
  return WriteBatch(
      env,
      tasks,
      kTaskHeader,
      [](Task& t) -> Frame& { return t.frame; },
      [](Task& t, uint8_t* p) {
        PutF64(p, t.id);
        PutU32(p + 8, t.fn_id);
        PutU32(p + 12, static_cast<uint32_t>(t.frame.bytes.size()));
        PutU32(p + 16, static_cast<uint32_t>(t.frame.transfers.size()));
        PutU32(p + 20, t.sent_to_taker ? 1 : 0);
      },
      scratch,
      out);
}

}  // namespace rt
