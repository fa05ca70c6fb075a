// WebSocket Workbook: the book's live widgets. Plain JavaScript, no build step.
//
// A chapter asks for a widget with an empty element:
//   <div class="wsw-widget" data-widget="echo"></div>       (chapter 01)
//   <div class="wsw-widget" data-widget="reconnect"></div>  (chapter 04)
//
// The widgets talk to the testkit server. Served by `cargo grade serve`, the
// page and the server share one address, so the widget uses the page's own
// host. Opened from a file, it tries the course's address,
// ws://127.0.0.1:8000, and says how to start the server when nobody answers.
// `?wsw-server=ws://host:port` overrides the address (the browser test uses it).
(function () {
  "use strict";

  const DEFAULT_SERVER = "ws://127.0.0.1:8000";
  const START_HINT =
    "Start it in the repository with `cargo grade serve`, then open http://127.0.0.1:8000 (this page is there too).";

  function serverBase() {
    const override = new URLSearchParams(window.location.search).get("wsw-server");
    if (override) return override.replace(/\/+$/, "");
    if (window.location.protocol === "http:") return "ws://" + window.location.host;
    if (window.location.protocol === "https:") return "wss://" + window.location.host;
    return DEFAULT_SERVER;
  }

  // What a close code means (RFC 6455, section 7.4.1, and the codes the testkit uses).
  const CLOSE_CODES = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no code in the Close frame",
    1006: "the connection ended without a Close frame",
    1007: "invalid payload data",
    1008: "policy violation",
    1009: "message too big",
    1011: "internal server error",
    1012: "service restart",
    4401: "unauthorized (testkit)",
  };

  function describeClose(code) {
    return code + (CLOSE_CODES[code] ? " (" + CLOSE_CODES[code] + ")" : "");
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  function clock() {
    const now = new Date();
    const pad = (n, w) => String(n).padStart(w || 2, "0");
    return pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds()) + "." + pad(now.getMilliseconds(), 3);
  }

  function makeLog() {
    const log = el("ol", { class: "wsw-log", "data-role": "log", "aria-live": "polite" });
    log.add = function (kind, text) {
      const line = el("li", { class: "wsw-" + kind, text: "[" + clock() + "] " + text });
      log.appendChild(line);
      log.scrollTop = log.scrollHeight;
    };
    return log;
  }

  function notRunning(notice, url) {
    notice.textContent = "The testkit server isn't running at " + url + ". " + START_HINT;
    notice.hidden = false;
  }

  // Chapter 01: open a real WebSocket, show the frames both ways and the close code.
  function echoWidget(root) {
    const url = serverBase() + "/ws";
    const status = el("span", { class: "wsw-status", "data-role": "status", text: "disconnected" });
    const closeCode = el("span", { class: "wsw-close-code", "data-role": "close-code", text: "—" });
    const notice = el("p", { class: "wsw-notice", "data-role": "notice" });
    notice.hidden = true;
    const input = el("input", { type: "text", "data-role": "input", value: "hello", "aria-label": "message" });
    const connect = el("button", { "data-role": "connect", text: "Connect" });
    const send = el("button", { "data-role": "send", text: "Send text" });
    const sendBinary = el("button", { "data-role": "send-binary", text: "Send as binary" });
    const close = el("button", { "data-role": "close", text: "Close (1000)" });
    const log = makeLog();
    let socket = null;

    function setStatus(text) {
      status.textContent = text;
      const open = text === "connected";
      connect.disabled = text !== "disconnected";
      send.disabled = !open;
      sendBinary.disabled = !open;
      close.disabled = !open;
    }

    function open() {
      setStatus("connecting");
      notice.hidden = true;
      let opened = false;
      socket = new WebSocket(url);
      socket.binaryType = "arraybuffer";
      log.add("info", "connecting to " + url);
      socket.onopen = function () {
        opened = true;
        setStatus("connected");
        log.add("info", "open: the handshake succeeded (101 Switching Protocols)");
      };
      socket.onmessage = function (event) {
        if (typeof event.data === "string") {
          log.add("in", "← text: " + event.data);
        } else {
          const bytes = Array.from(new Uint8Array(event.data), (b) => b.toString(16).padStart(2, "0"));
          log.add("in", "← binary: " + bytes.join(" "));
        }
      };
      socket.onerror = function () {
        // The browser hides the cause on purpose (chapter 01, "What the original course asked").
        log.add("error", "error (the browser does not say why)");
      };
      socket.onclose = function (event) {
        closeCode.textContent = describeClose(event.code) + (event.reason ? ' "' + event.reason + '"' : "");
        log.add("info", "closed: " + describeClose(event.code) + (event.wasClean ? ", clean" : ", not clean"));
        if (!opened) notRunning(notice, url);
        socket = null;
        setStatus("disconnected");
      };
    }

    connect.addEventListener("click", open);
    send.addEventListener("click", function () {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      socket.send(input.value);
      log.add("out", "→ text: " + input.value);
    });
    sendBinary.addEventListener("click", function () {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      const bytes = new TextEncoder().encode(input.value);
      socket.send(bytes);
      log.add("out", "→ binary: " + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" "));
    });
    close.addEventListener("click", function () {
      if (!socket) return;
      setStatus("closing");
      log.add("out", "→ Close 1000 \"bye\"");
      socket.close(1000, "bye");
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") send.click();
    });

    root.appendChild(el("div", { class: "wsw-row" }, [
      el("strong", { text: "Live: " }), status,
      el("span", { text: " · " + url + " · last close code: " }), closeCode,
    ]));
    root.appendChild(notice);
    root.appendChild(el("div", { class: "wsw-row" }, [connect, input, send, sendBinary, close]));
    root.appendChild(log);
    setStatus("disconnected");
    open();
  }

  // Chapter 04: the state machine of the chapter, live. The server is told to
  // drop the connection (it closes with 1012 after echoing one message); the
  // widget reconnects with capped, jittered exponential backoff and gives up
  // after 15 attempts. "Server refuses" makes the attempts fail on purpose.
  const MAX_RECONNECT_ATTEMPTS = 15;
  const INITIAL_DELAY_MS = 500;
  const BACKOFF_FACTOR = 2;
  const MAX_DELAY_MS = 30000;
  const JITTER = 0.2;
  const INDICATOR = {
    connected: "🟢 connected",
    connecting: "🟡 connecting…",
    reconnecting: "🟠 reconnecting…",
    disconnected: "🔴 disconnected",
    error: "❌ connection error",
  };

  function backoff(attempt) {
    const base = Math.min(INITIAL_DELAY_MS * Math.pow(BACKOFF_FACTOR, attempt - 1), MAX_DELAY_MS);
    return Math.round(base * (1 - JITTER * Math.random()));
  }

  function reconnectWidget(root) {
    const base = serverBase();
    const goodUrl = base + "/ws?close_after=1&code=1012&reason=told%20to%20drop";
    // An option the server does not know: it answers 400, so the handshake fails.
    const refusedUrl = base + "/ws?refuse=1";
    const indicator = el("span", { class: "wsw-status", "data-role": "status" });
    const closeCode = el("span", { class: "wsw-close-code", "data-role": "close-code", text: "—" });
    const notice = el("p", { class: "wsw-notice", "data-role": "notice" });
    notice.hidden = true;
    const states = el("ol", { class: "wsw-log", "data-role": "states" });
    const connectButton = el("button", { "data-role": "connect", text: "Connect" });
    const drop = el("button", { "data-role": "drop", text: "Tell the server to drop the connection" });
    const disconnect = el("button", { "data-role": "disconnect", text: "Disconnect" });
    const reconnect = el("button", { "data-role": "reconnect", text: "Reconnect now" });
    const refuse = el("input", { type: "checkbox", "data-role": "refuse" });
    let state = { status: "disconnected", attempts: 0 };
    let socket = null;
    let timer = null;
    let everOpened = false;

    function show(next, note) {
      state = next;
      let text = INDICATOR[state.status] || "❓ unknown state";
      if (state.status === "reconnecting") text += " (" + state.attempts + "/" + MAX_RECONNECT_ATTEMPTS + ")";
      indicator.textContent = text;
      const line = el("li", { text: "[" + clock() + "] " + text + (note ? " — " + note : "") });
      states.appendChild(line);
      states.scrollTop = states.scrollHeight;
      connectButton.disabled = state.status !== "disconnected";
      drop.disabled = state.status !== "connected";
      disconnect.disabled = state.status === "disconnected" || state.status === "error";
      reconnect.disabled = !(state.status === "disconnected" || state.status === "error" || state.status === "reconnecting");
    }

    function openSocket() {
      const url = refuse.checked ? refusedUrl : goodUrl;
      let opened = false;
      const ws = new WebSocket(url);
      socket = ws;
      ws.onopen = function () {
        if (socket !== ws) return;
        opened = true;
        everOpened = true;
        notice.hidden = true;
        show({ status: "connected", attempts: 0 }, "Opened");
      };
      ws.onclose = function (event) {
        if (socket !== ws) return;
        socket = null;
        closeCode.textContent = describeClose(event.code) + (event.reason ? ' "' + event.reason + '"' : "");
        if (!opened && !everOpened && !refuse.checked) notRunning(notice, base + "/ws");
        failed(opened ? "Lost: " + describeClose(event.code) : "ConnectFailed");
      };
    }

    function failed(why) {
      if (state.status === "connected" || state.status === "connecting" || state.status === "reconnecting") {
        if (state.attempts >= MAX_RECONNECT_ATTEMPTS) {
          show({ status: "error", attempts: state.attempts }, "gave up after " + MAX_RECONNECT_ATTEMPTS + " attempts: " + why);
          return;
        }
        const attempt = state.status === "connected" ? 1 : state.attempts + 1;
        const delay = backoff(attempt);
        show({ status: "reconnecting", attempts: attempt }, why + "; next attempt in " + (delay / 1000).toFixed(2) + " s");
        timer = setTimeout(function () {
          timer = null;
          openSocket();
        }, delay);
      }
    }

    function start() {
      clearTimeout(timer);
      timer = null;
      show({ status: "connecting", attempts: 0 }, "");
      openSocket();
    }

    connectButton.addEventListener("click", start);
    reconnect.addEventListener("click", start);
    drop.addEventListener("click", function () {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send("drop me");
    });
    disconnect.addEventListener("click", function () {
      clearTimeout(timer);
      timer = null;
      const ws = socket;
      socket = null;
      if (ws) ws.close(1000, "bye");
      show({ status: "disconnected", attempts: 0 }, "Disconnect");
    });

    root.appendChild(el("div", { class: "wsw-row" }, [
      el("strong", { text: "Live: " }), indicator,
      el("span", { text: " · last close code: " }), closeCode,
    ]));
    root.appendChild(notice);
    root.appendChild(el("div", { class: "wsw-row" }, [
      connectButton, drop, disconnect, reconnect,
      el("label", {}, [refuse, document.createTextNode(" server refuses new connections")]),
    ]));
    root.appendChild(states);
    show(state, "");
    start();
  }

  const WIDGETS = { echo: echoWidget, reconnect: reconnectWidget };

  function init() {
    for (const root of document.querySelectorAll(".wsw-widget[data-widget]")) {
      const make = WIDGETS[root.getAttribute("data-widget")];
      if (make && !root.hasAttribute("data-ready")) {
        root.setAttribute("data-ready", "");
        make(root);
      }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
