// The win32 prebuild's (scripts/win32.sh, MinGW) counterpart of node-gyp's
// src/win_delay_load_hook.cc, which node-gyp adds to an MSVC build by
// itself (so binding.gyp does not list this file). The addon's imports of
// N-API from node.exe are delay-loaded (an import library made with
// dlltool -y), and this hook binds them to the process's own executable,
// whatever its name: Electron, a renamed node.exe, another runtime with
// N-API. Without it Windows looks for a file named node.exe, finds none
// (the addon does not load) or another Node's (two Nodes in one process).
#if defined(_WIN32) && defined(__MINGW32__)

#include <windows.h>
#include <delayimp.h>
#include <string.h>

static FARPROC WINAPI LoadExeHook(unsigned int event, DelayLoadInfo* info) {
  if (event != dliNotePreLoadLibrary) return nullptr;
  if (_stricmp(info->szDll, "node.exe") != 0) return nullptr;
  return reinterpret_cast<FARPROC>(GetModuleHandleW(nullptr));
}

PfnDliHook __pfnDliNotifyHook2 = LoadExeHook;

#endif
