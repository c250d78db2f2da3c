// Frames in and out of JavaScript: reading a call's payload and moved
// ArrayBuffers into a Frame (frame.h), detaching the moved buffers once
// the core accepted the frame, and writing batches of frames for JS: a
// reactor's inbox (the TSFN's CallJs and drain()) and a pool thread's
// tasks (poolTake). The byte layouts are read by src/base/wire.ts.
// Tests: test/wire*.ts, test/transfer*.ts, and every test through them.
//
// Threads: owning JS thread only (the environment whose napi_env is
// passed); napi_value and Napi handles are valid only in the call (or
// handle scope) that made them. Ownership: a Frame read here owns copies
// of the caller's bytes; a batch written here hands each moved block to an
// external ArrayBuffer, whose finalizer (FreeBlock) frees it once V8
// releases the buffer; whatever a batch did not hand over stays with the
// Frame that held it, freed with it.
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

#include "bindings.h"
#include "frame.h"
#include "pool.h"
#include "reactor.h"
#include "scratch.h"

namespace rt {

// The ArrayBuffers whose contents a Frame took (see ReadFrame). Handles
// of the current call: valid until the binding returns.
using Moved = std::vector<Napi::ArrayBuffer>;

// Copies the Buffer argument `bytes_at` into a Frame, and the
// ArrayBuffers listed in the array argument `transfers_at` (absent or
// undefined: none) into its transfers: each is copied once into native
// memory and listed in *moved. Nothing is detached yet: the binding calls
// Detach(moved) once the core accepted the frame (queued or posted it),
// so that a call refused before that (a full queue, a stopped pool, a call
// that would deadlock, a reactor gone) leaves the sender's buffers whole.
// False (a TypeError pending, see Args) on a wrong argument.
bool ReadFrame(Args& args,
               size_t bytes_at,
               size_t transfers_at,
               Frame* frame,
               Moved* moved);
// The same, from values rather than arguments (an element of an array
// argument: poolRequeue's tasks).
bool ReadFrameFrom(Args& args, Napi::Value bytes, Napi::Value transfers, Frame* frame, Moved* moved);

// The frame was accepted: the sender can no longer touch what the
// receiver now owns. A buffer that cannot be detached (WebAssembly
// memory, say) was copied and is left to its owner: moving is a request,
// not a promise.
void Detach(napi_env env, const Moved& moved);

// Hands a moved block to JS as an ArrayBuffer without copying it again
// (the block is empty afterwards, whatever the outcome). Raw N-API, like
// everything on the wake-up path: false on failure (the environment is
// going away), never a throw, which node-addon-api would turn into an
// abort there.
bool ToArrayBuffer(napi_env env, OwnedBlock& block, napi_value* out);

// A batch for JS: one Buffer of [header | payload] records, plus the
// moved ArrayBuffers of all records in order (undefined when there are
// none).
struct Batch {
  napi_value buffer;
  napi_value transfers;
  // The buffer is a view of the Scratch it was given.
  bool in_scratch = false;
};

// Drains `reactor`'s inbox (the environment's own) into one batch for JS:
// (buffer, transfers), with *work set when work was signalled; in
// `scratch` when it is not empty and the batch fits. An empty inbox gives
// buffer = transfers = undefined. False when N-API refuses (the messages
// are dropped then: nobody is left to deliver them to). Raw N-API, never
// throws.
bool DrainBatch(napi_env env, Reactor* reactor, const Scratch& scratch, bool* work, Batch* out);

// Writes the tasks a pool thread took (Pool::Take) as one batch, in
// `scratch` when it is not empty and the batch fits. False when N-API refuses
// (the thread is going away). The tasks' moved blocks are handed to JS
// (or freed); their bytes are copied; the vector still owns what is left.
// Raw N-API, never throws.
bool WriteTaskBatch(napi_env env, std::vector<Task>& tasks, const Scratch& scratch, Batch* out);

}  // namespace rt
