// The library's own frames at the foot of a failure's stack: the task
// runner, the bridge's call server and the Promise machinery beneath them,
// which called the user's function. A failure that crosses threads shows
// the user's frames above its boundary line, not these (a user trial read
// `#run`, `#runInOrder` and `processTicksAndRejections` there as part of
// its own failure). Only the foot is cut: library frames between the
// user's (a library function the user's code called, which threw) stay, and
// so does a stack with no frame of the user's at all (a failure of the
// library's own, whose frames are its only clue). Likewise the caller's
// frames added below a boundary (errors.ts withCallerFrames) start at the
// user's code, not in the public function's wrapper. Any thread.
// Tests: test/error-stacks.ts.
import { fileURLToPath } from 'node:url';
import { isOwnFile } from '../base/own-files.js';

/** Where a frame line (`    at f (/a/b.js:1:2)`) ran; undefined for a line that is no frame. */
function locationOf(line: string): string | undefined {
  const at = /^\s+at (.*)$/.exec(line);
  if (!at) return undefined;
  const text = at[1]!;
  const paren = text.endsWith(')') ? text.lastIndexOf('(') : -1;
  return paren >= 0 ? text.slice(paren + 1, -1) : text;
}

/**
 * Whether a frame is the user's: one in a file outside the library, and
 * not Node's own (`node:internal/…`) nor one with no file (`<anonymous>`,
 * `index 0` of a `Promise.all`).
 */
function isUsers(location: string): boolean {
  if (location.startsWith('node:') || location === '<anonymous>' || location === 'native' || /^index \d+$/.test(location)) return false;
  return !isOwn(location);
}

/**
 * The most lines the foot of a stack can hold that withoutRunnerFrames()
 * cuts: the runner's frames and Node's beneath them are a handful. A
 * longer run of the library's and Node's frames at the foot is no
 * runner's, and is left whole; so the cost is the foot's, not the
 * stack's (a stack of a million lines took 0.7 s to split and join).
 */
const MAX_FOOT_LINES = 256;

/**
 * A frame line anywhere in a text of lines split at `\n` alone, as
 * locationOf() reads one: whitespace, `at `, and no other line break
 * (which `.` does not match) before the line's end.
 */
const FRAME_LINE = /(?:^|\n)[^\S\n]+at [^\n\r\u2028\u2029]*(?=\n|$)/;

/**
 * `stack` without the frames that follow its last line of the user's
 * (a frame of the user's, or any line that is no frame: a message, an
 * earlier boundary), when every one of them is the library's or Node's.
 * Unchanged when it holds no frame of the user's. `header`: the error's
 * `name: message` as V8 began the stack with it, whose lines are never
 * frames, however they read (a child process's stack, in the message of
 * its failure).
 */
export function withoutRunnerFrames(stack: string, header?: string): string {
  // Past the header's lines: every line it reaches into, the one it ends in too.
  let framesFrom = 0;
  if (header !== undefined && stack.startsWith(header)) {
    framesFrom = stack.indexOf('\n', header.length) + 1;
    if (framesFrom === 0) return stack;
  }
  // Lines are read from the foot up: `end` is where the line being read ends.
  let end = stack.length;
  for (let lines = 0; lines <= MAX_FOOT_LINES; lines++) {
    const start = stack.lastIndexOf('\n', end - 1) + 1;
    // (The header's lines are never frames: reaching them, no line of the user's was found.)
    if (start < framesFrom) return stack;
    const location = locationOf(stack.slice(start, end));
    if (location === undefined || isUsers(location)) {
      if (end === stack.length) return stack;
      // (No frame of the user's above either: the library's own failure, left whole.)
      if (location === undefined && (start === 0 || !FRAME_LINE.test(stack.slice(framesFrom, start - 1)))) return stack;
      return stack.slice(0, end);
    }
    if (start === 0) return stack;
    end = start - 1;
  }
  return stack;
}

/**
 * `frames` (frame lines only) without the library's frames on top of
 * them: those of the public function the user's code called. Unchanged
 * when every frame is the library's.
 */
export function withoutOwnFramesOnTop(frames: string): string {
  const lines = frames.split('\n');
  let first = 0;
  while (first < lines.length && isOwn(locationOf(lines[first]!))) first++;
  return first === 0 || first === lines.length ? frames : lines.slice(first).join('\n');
}

/** Whether a frame ran in the library's code; a location that is no path, or a URL that is none, is not. */
function isOwn(location: string | undefined): boolean {
  if (location === undefined) return false;
  let file = location;
  if (location.startsWith('file:')) {
    // (A URL as a stack gives it, with its :line:column; one the URL parser refuses is the user's.)
    try { file = fileURLToPath(location.replace(/(:\d+){1,2}$/, '')); } catch { return false; }
  }
  return isOwnFile(file);
}
