// Bindings of this environment's reactor: init(), drain(), awaitMessage(),
// hasMail(), ref(), unref(). Every one runs on, and is about, the JS thread
// that calls it: the main thread or any Worker that loaded the addon
// (src/reactor/core.ts).
// Argument checks: bindings.h. Tests: test/reactor-*.ts,
// test/natural-exit.ts.
#include "batch.h"
#include "bindings.h"
#include "env_state.h"

namespace rt {
namespace {

// init(onWake, isMainThread, inboxScratch?) -> reactor id. Once per
// environment. inboxScratch: a Uint8Array that inbox batches are written
// into when they fit (EnvState::inbox_scratch).
Napi::Value Init(const Napi::CallbackInfo& info) {
  Args args(info);
  EnvState* state = args.State();
  args.Check(state->reactor == nullptr, "init() called twice");
  napi_value on_wake = args.Function(0, "onWake");
  bool is_main = args.Flag(1);
  if (!args.ok()) return {};
  auto reactor = OpenReactor(args.env(), state, on_wake, is_main);
  if (!reactor) {
    Napi::Error::New(args.env(),
                     "reactor-threads: cannot create the reactor's waker")
        .ThrowAsJavaScriptException();
    return {};
  }
  // (Without it, or if Node refuses the reference, every batch gets a
  // buffer of its own.)
  if (args.Length() > 2 && ReadScratch(args.env(), args[2]).data != nullptr &&
      napi_create_reference(args.env(), args[2], 1, &state->inbox_scratch) != napi_ok)
    state->inbox_scratch = nullptr;
  return Napi::Number::New(args.env(), reactor->id());
}

// drain() -> [batch, transfers, work]: the inbox now, without waiting for
// the wake-up (a stopping pool collects results that are already here).
Napi::Value DrainNow(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  if (!args.ok()) return {};
  Napi::Env env = args.env();
  bool work = false;
  Batch out;
  Napi::Array r = Napi::Array::New(env, 3);
  EnvState* state = args.State();
  if (!DrainBatch(env, reactor.get(), InboxScratch(env, state), &work, &out)) return r;
  // (Free again at the delivery's end: the copy's endBatch().)
  if (out.in_scratch) state->inbox_scratch_busy = true;
  QuietSet(env, r, 0, out.buffer);
  QuietSet(env, r, 1, out.transfers);
  QuietSet(env, r, 2, Napi::Boolean::New(env, work));
  return r;
}

// awaitMessage(spinNs) -> whether a message arrived within the spin
// (false, at once, before init()).
Napi::Value AwaitMessage(const Napi::CallbackInfo& info) {
  Args args(info);
  EnvState* state = args.State();
  double spin_ns = args.F64(0, "spinNs");
  if (!args.ok()) return {};
  bool got = state->reactor &&
             state->reactor->AwaitMessage(static_cast<uint64_t>(spin_ns));
  return Napi::Boolean::New(args.env(), got);
}

// hasMail() -> whether messages wait in this thread's inbox, without
// draining them (Reactor::HasMail). Their wake-up is on its way (or, for a
// result whose buffers follow by port, the port's message): the loop
// delivers them once the caller returns to it.
Napi::Value HasMail(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  if (!args.ok()) return {};
  return Napi::Boolean::New(args.env(), reactor->HasMail());
}

// ref() / unref(): whether this reactor keeps its loop alive (while work
// is in flight).
Napi::Value Ref(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  if (!args.ok()) return {};
  reactor->Ref(args.env());
  return args.env().Undefined();
}

Napi::Value Unref(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  if (!args.ok()) return {};
  reactor->Unref(args.env());
  return args.env().Undefined();
}

// setHeld(sender, messages, bytes): how many messages (and bytes) of
// `sender` this thread holds back in JS behind a call of that sender's
// whose function loads (src/reactor/core.ts). They count toward the
// inbox's high-water mark for that sender only. The owning thread.
Napi::Value SetHeld(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  uint32_t sender = args.U32(0, "sender");
  uint32_t messages = args.U32(1, "messages");
  double bytes = args.F64(2, "bytes");
  if (!args.ok()) return {};
  reactor->SetHeld(sender, messages, static_cast<uint64_t>(bytes));
  return args.env().Undefined();
}

// endBatch(): this thread handled the batch it drained (reporting what it
// holds back first, and copying what it keeps of it); its calls no longer
// count toward their senders' high-water marks, and the inbox scratch is
// free. The owning thread, at the end of its outermost delivery.
Napi::Value EndBatch(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  if (!args.ok()) return {};
  reactor->EndBatch();
  args.State()->inbox_scratch_busy = false;
  return args.env().Undefined();
}

constexpr BindingEntry kReactorBindings[] = {
    {"setHeld", SetHeld},
    {"endBatch", EndBatch},
    {"init", Init},
    {"ref", Ref},
    {"drain", DrainNow},
    {"awaitMessage", AwaitMessage},
    {"hasMail", HasMail},
    {"unref", Unref},
};

}  // namespace

void RegisterReactorBindings(Napi::Env env, Napi::Object exports) {
  AddBindings(env, exports, kReactorBindings);
}

}  // namespace rt
