import {
  ATOM_ATOM,
  ATOM_NONE,
  ATOM_STRING,
  CURRENT_TIME,
  EVENT_SELECTION_CLEAR,
  EVENT_SELECTION_REQUEST,
  changePropertyRequest,
  connectX11,
  createInputOnlyWindowRequest,
  decodeSelectionClear,
  decodeSelectionRequest,
  getSelectionOwner,
  internAtom,
  selectionNotifyEvent,
  sendEventRequest,
  setSelectionOwnerRequest,
  type SelectionRequest,
  type X11Connection,
} from './x11.ts';

/**
 * The X11 CLIPBOARD, owned by the tray process itself. clipboardy's xsel
 * forks a daemon that serves the text until someone else copies, so it
 * outlived Quit (issue #19). Here the tray's own connection owns the
 * selection and answers paste requests (ICCCM 2.2, TARGETS / UTF8_STRING /
 * STRING / TEXT); when the tray quits the connection closes and the X server
 * drops the ownership: no process is left, and like any X client that quits,
 * what it copied goes with it unless a clipboard manager kept a copy.
 */

export interface ClipboardOwner {
  /** Resolves once the X server says this connection owns CLIPBOARD. */
  copy(text: string): Promise<void>;
  /** Give the selection up and close the connection (idempotent). */
  close(): void;
}

interface Atoms {
  clipboard: number;
  targets: number;
  utf8: number;
  text: number;
}

/** What an owner with `text` answers to a request: the property to write (or null: refuse). Pure. */
export function answerSelectionRequest(
  req: SelectionRequest,
  own: { window: number; atoms: Atoms; text: string | null; maxBytes: number },
): { property: number; type: number; format: 8 | 32; data: Buffer } | null {
  const { atoms, text } = own;
  if (text === null || req.owner !== own.window || req.selection !== atoms.clipboard) return null;
  const property = req.property === ATOM_NONE ? req.target : req.property;
  let answer: { type: number; format: 8 | 32; data: Buffer } | null = null;
  if (req.target === atoms.targets) {
    const list = [atoms.targets, atoms.utf8, ATOM_STRING, atoms.text];
    const data = Buffer.alloc(4 * list.length);
    list.forEach((a, i) => data.writeUInt32LE(a, i * 4));
    answer = { type: ATOM_ATOM, format: 32, data };
  } else if (req.target === atoms.utf8 || req.target === atoms.text) {
    answer = { type: atoms.utf8, format: 8, data: Buffer.from(text, 'utf8') };
  } else if (req.target === ATOM_STRING) {
    // STRING is Latin-1 (ICCCM); anything beyond it has no byte there.
    answer = { type: ATOM_STRING, format: 8, data: Buffer.from(text.replace(/[^\u0000-\u00ff]/g, '?'), 'latin1') };
  }
  // Bigger answers need the INCR protocol; the tray copies URLs, ids and codes.
  if (!answer || answer.data.length > own.maxBytes) return null;
  return { property, ...answer };
}

export interface X11ClipboardOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  onError?: (message: string) => void;
  connect?: typeof connectX11;
}

export function createX11Clipboard(o: X11ClipboardOptions): ClipboardOwner {
  const connect = o.connect ?? connectX11;
  let state: Promise<{ c: X11Connection; window: number; atoms: Atoms }> | null = null;
  let text: string | null = null;
  let closed = false;

  const open = (): Promise<{ c: X11Connection; window: number; atoms: Atoms }> => {
    if (state) return state;
    let ready: { c: X11Connection; window: number; atoms: Atoms } | null = null;
    const onEvent = (code: number, data: Buffer): void => {
      if (!ready) return;
      const { c, window, atoms } = ready;
      if (code === EVENT_SELECTION_CLEAR) {
        if (decodeSelectionClear(data).selection === atoms.clipboard) text = null; // someone else copied
        return;
      }
      if (code !== EVENT_SELECTION_REQUEST) return;
      const req = decodeSelectionRequest(data);
      const answer = answerSelectionRequest(req, { window, atoms, text, maxBytes: c.setup.maxRequestLength * 4 - 24 });
      if (answer) c.send(changePropertyRequest(req.requestor, answer.property, answer.type, answer.format, answer.data));
      c.send(sendEventRequest(req.requestor, selectionNotifyEvent({ ...req, property: answer ? answer.property : ATOM_NONE })));
    };
    const p = (async () => {
      const c = await connect({
        env: o.env,
        timeoutMs: o.timeoutMs ?? 2000,
        onEvent,
        // A requestor that went away before we answered (BadWindow) is its loss, not ours.
        onError: (m) => o.onError?.(m),
        onClose: () => {
          if (state === p) state = null;
          text = null;
        },
      });
      try {
        const [clipboard, targets, utf8, textAtom] = await Promise.all(['CLIPBOARD', 'TARGETS', 'UTF8_STRING', 'TEXT'].map((n) => internAtom(c, n, false)));
        const root = c.setup.roots[0];
        if (root === undefined || !clipboard || !targets || !utf8 || !textAtom) throw new Error('the X server has no screen or atoms');
        const window = c.newId();
        c.send(createInputOnlyWindowRequest(window, root));
        ready = { c, window, atoms: { clipboard, targets, utf8, text: textAtom } };
        return ready;
      } catch (err) {
        c.close();
        throw err;
      }
    })();
    state = p;
    p.catch(() => {
      if (state === p) state = null;
    });
    return p;
  };

  return {
    async copy(value) {
      if (closed) throw new Error('the clipboard is closed');
      const { c, window, atoms } = await open();
      text = value;
      c.send(setSelectionOwnerRequest(window, atoms.clipboard, CURRENT_TIME));
      if ((await getSelectionOwner(c, atoms.clipboard)) !== window) {
        throw new Error('the X server did not give the clipboard to the tray');
      }
    },
    close() {
      closed = true;
      text = null;
      const s = state;
      state = null;
      // Closing the connection destroys the window, and with it the ownership.
      void s?.then(({ c }) => c.close(), () => undefined);
    },
  };
}

/** Where the tray owns the clipboard itself: an X11 session (Wayland sessions and other systems keep clipboardy). */
export function useX11Clipboard(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): boolean {
  return platform === 'linux' && !!env.DISPLAY && !env.WAYLAND_DISPLAY && env.XDG_SESSION_TYPE !== 'wayland';
}
