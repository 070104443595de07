// In-page probe of bench/browser.py: installed before the app's own scripts (add_init_script).
//
// It timestamps, with the page's own clock (performance.now(), 0 = navigation start):
//  - every trusted input event (pointer, mouse, key): the person's action;
//  - every rerun request the app sends over its WebSocket (BackMsg.rerun_script), with its fragment
//    id and whether it is an automatic `run_every` rerun;
//  - every script run start (ForwardMsg.new_session) and end (ForwardMsg.script_finished) it
//    receives, with the run id and fragment ids, and the first paint after each end;
//  - when stale elements (data-stale="true") last disappeared, when the running indicator
//    (stStatusWidget) came and went, and the last DOM change outside that indicator.
// Timestamps are taken in the page, so how late Python notices does not bias a figure.
// Protobuf field numbers are filled in by the bench from streamlit.proto (see FIELDS below).
(() => {
  if (window.__kb) return;
  const F = __KB_FIELDS__;
  const now = () => performance.now();
  const kb = {
    events: [], lastInput: -1, staleNow: false, staleClearAt: 0, widgetNow: false,
    widget: [], lastMutation: 0, errors: [], cost: 0, armCost: 0,
  };
  window.__kb = kb;

  for (const type of ["pointerdown", "pointerup", "mousedown", "mouseup", "click", "keydown", "keyup"]) {
    window.addEventListener(type, (e) => { if (e.isTrusted) kb.lastInput = now(); }, true);
  }

  // --- a minimal protobuf reader: top-level fields of a message, nested on demand -----------------
  const varint = (b, i) => {
    let r = 0, s = 0, x;
    do { x = b[i++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80 && i < b.length);
    return [r, i];
  };
  const fields = (b, start = 0, end = b.length) => {
    const out = [];
    let i = start;
    while (i < end) {
      const [tag, j] = varint(b, i);
      i = j;
      const num = Math.floor(tag / 8), wt = tag & 7;
      if (wt === 0) { const [v, k] = varint(b, i); out.push({ num, v }); i = k; }
      else if (wt === 2) { const [len, k] = varint(b, i); out.push({ num, s: k, e: k + len }); i = k + len; }
      else if (wt === 1) i += 8;
      else if (wt === 5) i += 4;
      else break; // groups: never used by Streamlit's protocol
    }
    return out;
  };
  const text = (b, f) => new TextDecoder().decode(b.subarray(f.s, f.e));
  const bytesOf = (data) => {
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return null;
  };
  const runIdentity = (b, top) => {
    const meta = top.find((f) => f.num === F.fwd_metadata && f.e !== undefined);
    if (!meta) return { run: "", fragments: [] };
    const run = fields(b, meta.s, meta.e).find((f) => f.num === F.meta_run && f.e !== undefined);
    if (!run) return { run: "", fragments: [] };
    const inner = fields(b, run.s, run.e);
    const id = inner.find((f) => f.num === F.run_script_run_id);
    return {
      run: id ? text(b, id) : "",
      fragments: inner.filter((f) => f.num === F.run_fragment_ids).map((f) => text(b, f)),
    };
  };

  const onReceive = (data) => {
    const b = bytesOf(data);
    if (!b) return;
    const t = now();
    try { receive(b, t); } finally { kb.cost += now() - t; }
  };
  const receive = (b, t) => {
    const top = fields(b);
    const started = top.some((f) => f.num === F.fwd_new_session);
    const finished = top.find((f) => f.num === F.fwd_script_finished && f.v !== undefined);
    if (!started && !finished) return;
    const ev = { t, kind: started ? "start" : "finish", ...runIdentity(b, top) };
    if (finished) {
      ev.status = finished.v;
      // the first frame after the app handled this message (our listener runs before the app's)
      requestAnimationFrame(() => setTimeout(() => { ev.paint = now(); }, 0));
    }
    kb.events.push(ev);
  };
  const onSend = (data) => {
    const b = bytesOf(data);
    if (!b) return;
    const t = now();
    try { send(b); } finally { kb.cost += now() - t; }
  };
  const send = (b) => {
    const rerun = fields(b).find((f) => f.num === F.back_rerun_script && f.e !== undefined);
    if (!rerun) return;
    const inner = fields(b, rerun.s, rerun.e);
    const frag = inner.find((f) => f.num === F.client_fragment_id && f.e !== undefined);
    const auto = inner.find((f) => f.num === F.client_is_auto_rerun && f.v !== undefined);
    kb.events.push({
      t: now(), kind: "rerun", input: kb.lastInput, fragment: frag ? text(b, frag) : "",
      auto: Boolean(auto && auto.v),
    });
  };

  const Native = window.WebSocket;
  class ProbedWebSocket extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => { try { onReceive(e.data); } catch (err) { kb.errors.push(String(err)); } });
      this.addEventListener("close", () => kb.events.push({ t: now(), kind: "close" }));
    }
    send(data) {
      try { onSend(data); } catch (err) { kb.errors.push(String(err)); }
      return super.send(data);
    }
  }
  window.WebSocket = ProbedWebSocket;

  // --- the DOM: stale elements, the running indicator, the last change --------------------------
  const observe = () => {
    const watch = new MutationObserver((records) => {
      const t = now();
      try { mutated(records, t); } finally { kb.cost += now() - t; }
    });
    watch.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  };
  const mutated = (records, t) => {
    const stale = document.querySelector('[data-stale="true"]') !== null;
    if (kb.staleNow && !stale) kb.staleClearAt = t;
    kb.staleNow = stale;
    const widget = document.querySelector('[data-testid="stStatusWidget"]') !== null;
    if (widget !== kb.widgetNow) { kb.widget.push([t, widget]); kb.widgetNow = widget; }
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (el && !el.closest('[data-testid="stStatusWidget"]')) { kb.lastMutation = t; break; }
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", observe);
  else observe();

  // --- what the bench asks ----------------------------------------------------------------------
  kb.arm = () => { kb.armCost = kb.cost; return kb.events.length; };
  const fragmentMatch = (start, fragment) =>
    fragment === "" ? start.fragments.length === 0 : start.fragments.includes(fragment);

  // The step that began at event index `from` is done when: the person's rerun request was sent, a
  // run answering it started, that run (or the run it handed over to: st.switch_page, st.rerun)
  // finished, the frame after it painted, and nothing on the page is stale. Returns the timings or
  // false. `firstLoad`: the step is the page load itself (time 0 = navigation start).
  kb.done = ({ from, firstLoad }) => {
    const ev = kb.events;
    let k = from;
    while (k < ev.length && !(ev[k].kind === "rerun" && !ev[k].auto)) k++;
    if (k >= ev.length) return false;
    const send = ev[k];
    let want = send.fragment, start = null, end = null, runs = 0;
    for (let j = k + 1; j < ev.length; j++) {
      const e = ev[j];
      if (e.kind === "close") return { closed: true };
      if (!start) {
        if (e.kind === "start" && fragmentMatch(e, want)) { start = e; runs++; }
      } else if (e.kind === "start" && e.fragments.length === 0) {
        start = e; // a whole-app run replaced ours before its finish reached the browser
        runs++;
      } else if (e.kind === "finish" && e.run === start.run) {
        if (e.status !== F.finished_early_for_rerun) { end = e; break; }
        start = null; // handed over (st.switch_page, st.rerun): the next full run continues it
        want = "";
      }
    }
    if (!end || end.paint === undefined || kb.staleNow) return false;
    const t0 = firstLoad ? 0 : send.input >= 0 ? Math.min(send.input, send.t) : send.t;
    const idle = Math.max(end.paint, kb.staleClearAt > end.t ? kb.staleClearAt : 0);
    // What "wait 0.15 s, then until no stStatusWidget" would have reported: the indicator shows only
    // after a run has lasted a while, so this can end before the run does, or long after it.
    const probe = t0 + 150;
    let present = false, naive = probe;
    for (const [t, shown] of kb.widget) { if (t <= probe) present = shown; }
    if (present) {
      const off = kb.widget.find(([t, shown]) => t > probe && !shown);
      naive = off ? off[0] : idle;
    }
    return {
      t0, send: send.t, start: ev.find((e) => e.kind === "start" && e.t >= send.t)?.t ?? null,
      finish: end.t, paint: end.paint, idle, naive, status: end.status, runs,
      probe: kb.cost - (firstLoad ? 0 : kb.armCost),
    };
  };
  kb.quiet = (ms) => now() - kb.lastMutation >= ms;

  // After «Синхронизировать»: the sync runs in a background thread and, when it ends, the page's
  // fragment reruns the whole app (st.rerun). The paint after the last whole-app run since event
  // `from`, once no run is in progress and nothing is stale; false until then.
  kb.lastFullRun = (from) => {
    const open = new Set();
    let last = null;
    for (let j = from; j < kb.events.length; j++) {
      const e = kb.events[j];
      if (e.kind === "start") open.add(e.run);
      else if (e.kind === "finish" && open.delete(e.run) && e.fragments.length === 0
               && e.status !== F.finished_early_for_rerun) last = e;
    }
    if (!last || last.paint === undefined || open.size || kb.staleNow) return false;
    return { finish: last.t, paint: last.paint };
  };

  // What the page was doing, for a step that timed out.
  kb.explain = (from) => ({
    events: kb.events.slice(from).slice(-12).map((e) =>
      `${e.kind}${e.fragments && e.fragments.length ? "(fragment)" : ""}${e.auto ? "(auto)" : ""}` +
      `${e.status !== undefined ? ":" + e.status : ""}@${Math.round(e.t)}`),
    stale: [...document.querySelectorAll('[data-stale="true"]')].slice(0, 5).map((el) =>
      (el.querySelector("[data-testid]") || el).getAttribute("data-testid")),
    now: Math.round(now()),
  });
})();
