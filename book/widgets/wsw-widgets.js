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
//
// The widgets speak the page's language (`<html lang>`): English, or Chinese
// in the Chinese edition (`zh-CN/`), through the table ZH below, keyed by the
// English text. The same file adds the link to the other edition to every
// page's menu bar (languageSwitch).
(function () {
  "use strict";

  const CHINESE = (document.documentElement.lang || "").toLowerCase().startsWith("zh");
  // The Chinese edition lives in the folder zh-CN/ of the English one.
  const EDITION_FOLDER = "/zh-CN/";

  const ZH = {
    "Start it in the repository with `cargo grade serve`, then open ": "在仓库中用 `cargo grade serve` 启动它，然后打开 ",
    " (this page is there too).": "（本页也在那里）。",
    "The testkit server isn't running at ": "testkit 服务器没有在此地址运行：",
    "normal closure": "正常关闭",
    "going away": "离开",
    "protocol error": "协议错误",
    "unsupported data": "不支持的数据",
    "no code in the Close frame": "关闭帧中没有状态码",
    "the connection ended without a Close frame": "连接在没有关闭帧的情况下结束",
    "invalid payload data": "无效的负载数据",
    "policy violation": "违反策略",
    "message too big": "消息过大",
    "internal server error": "服务器内部错误",
    "service restart": "服务重启",
    "unauthorized (testkit)": "未授权（testkit）",
    "disconnected": "未连接",
    "connecting": "连接中",
    "connected": "已连接",
    "closing": "关闭中",
    "message": "消息",
    "Connect": "连接",
    "Send text": "发送文本",
    "Send as binary": "以二进制发送",
    "Close (1000)": "关闭（1000）",
    "connecting to ": "正在连接 ",
    "open: the handshake succeeded (101 Switching Protocols)": "已打开：握手成功（101 Switching Protocols）",
    "← text: ": "← 文本：",
    "← binary: ": "← 二进制：",
    "→ text: ": "→ 文本：",
    "→ binary: ": "→ 二进制：",
    "error (the browser does not say why)": "错误（浏览器不告诉你原因）",
    "closed: ": "已关闭：",
    ", clean": "，干净关闭",
    ", not clean": "，非干净关闭",
    "Live: ": "实时：",
    " · last close code: ": " · 最后的关闭码：",
    "🟢 connected": "🟢 已连接",
    "🟡 connecting…": "🟡 连接中…",
    "🟠 reconnecting…": "🟠 重连中…",
    "🔴 disconnected": "🔴 未连接",
    "❌ connection error": "❌ 连接错误",
    "❓ unknown state": "❓ 未知状态",
    "Tell the server to drop the connection": "让服务器断开连接",
    "Disconnect": "断开",
    "Reconnect now": "立即重连",
    "Opened": "已打开",
    "Lost: ": "连接丢失：",
    "ConnectFailed": "连接失败（ConnectFailed）",
    "gave up after ": "放弃：已尝试 ",
    " attempts: ": " 次：",
    "; next attempt in ": "；下次尝试在 ",
    " server refuses new connections": " 服务器拒绝新连接",
  };

  // The page's text for an English text.
  function t(text) {
    return CHINESE && Object.prototype.hasOwnProperty.call(ZH, text) ? ZH[text] : text;
  }

  const DEFAULT_SERVER = "ws://127.0.0.1:8000";
  const BOOK_ADDRESS = "http://127.0.0.1:8000" + (CHINESE ? EDITION_FOLDER : "");
  const START_HINT =
    t("Start it in the repository with `cargo grade serve`, then open ") + BOOK_ADDRESS +
    t(" (this page is there too).");

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
    return code + (CLOSE_CODES[code] ? " (" + t(CLOSE_CODES[code]) + ")" : "");
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
    notice.textContent = t("The testkit server isn't running at ") + url + (CHINESE ? "。" : ". ") + START_HINT;
    notice.hidden = false;
  }

  // Chapter 01: open a real WebSocket, show the frames both ways and the close code.
  function echoWidget(root) {
    const url = serverBase() + "/ws";
    const status = el("span", { class: "wsw-status", "data-role": "status", text: t("disconnected") });
    const closeCode = el("span", { class: "wsw-close-code", "data-role": "close-code", text: "—" });
    const notice = el("p", { class: "wsw-notice", "data-role": "notice" });
    notice.hidden = true;
    const input = el("input", { type: "text", "data-role": "input", value: "hello", "aria-label": t("message") });
    const connect = el("button", { "data-role": "connect", text: t("Connect") });
    const send = el("button", { "data-role": "send", text: t("Send text") });
    const sendBinary = el("button", { "data-role": "send-binary", text: t("Send as binary") });
    const close = el("button", { "data-role": "close", text: t("Close (1000)") });
    const log = makeLog();
    let socket = null;

    // `state` is one of disconnected, connecting, connected, closing; the
    // element says it in the page's language and keeps it in `data-state`.
    function setStatus(state) {
      status.textContent = t(state);
      status.setAttribute("data-state", state);
      const open = state === "connected";
      connect.disabled = state !== "disconnected";
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
      log.add("info", t("connecting to ") + url);
      socket.onopen = function () {
        opened = true;
        setStatus("connected");
        log.add("info", t("open: the handshake succeeded (101 Switching Protocols)"));
      };
      socket.onmessage = function (event) {
        if (typeof event.data === "string") {
          log.add("in", t("← text: ") + event.data);
        } else {
          const bytes = Array.from(new Uint8Array(event.data), (b) => b.toString(16).padStart(2, "0"));
          log.add("in", t("← binary: ") + bytes.join(" "));
        }
      };
      socket.onerror = function () {
        // The browser hides the cause on purpose (chapter 01, "What the original course asked").
        log.add("error", t("error (the browser does not say why)"));
      };
      socket.onclose = function (event) {
        closeCode.textContent = describeClose(event.code) + (event.reason ? ' "' + event.reason + '"' : "");
        log.add("info", t("closed: ") + describeClose(event.code) + t(event.wasClean ? ", clean" : ", not clean"));
        if (!opened) notRunning(notice, url);
        socket = null;
        setStatus("disconnected");
      };
    }

    connect.addEventListener("click", open);
    send.addEventListener("click", function () {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      socket.send(input.value);
      log.add("out", t("→ text: ") + input.value);
    });
    sendBinary.addEventListener("click", function () {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      const bytes = new TextEncoder().encode(input.value);
      socket.send(bytes);
      log.add("out", t("→ binary: ") + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" "));
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
      el("strong", { text: t("Live: ") }), status,
      el("span", { text: " · " + url + t(" · last close code: ") }), closeCode,
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
    const connectButton = el("button", { "data-role": "connect", text: t("Connect") });
    const drop = el("button", { "data-role": "drop", text: t("Tell the server to drop the connection") });
    const disconnect = el("button", { "data-role": "disconnect", text: t("Disconnect") });
    const reconnect = el("button", { "data-role": "reconnect", text: t("Reconnect now") });
    const refuse = el("input", { type: "checkbox", "data-role": "refuse" });
    let state = { status: "disconnected", attempts: 0 };
    let socket = null;
    let timer = null;
    let everOpened = false;

    function show(next, note) {
      state = next;
      let text = t(INDICATOR[state.status] || "❓ unknown state");
      if (state.status === "reconnecting") text += " (" + state.attempts + "/" + MAX_RECONNECT_ATTEMPTS + ")";
      indicator.textContent = text;
      indicator.setAttribute("data-state", state.status);
      const line = el("li", { text: "[" + clock() + "] " + text + (note ? " — " + t(note) : "") });
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
        failed(opened ? t("Lost: ") + describeClose(event.code) : t("ConnectFailed"));
      };
    }

    function failed(why) {
      if (state.status === "connected" || state.status === "connecting" || state.status === "reconnecting") {
        if (state.attempts >= MAX_RECONNECT_ATTEMPTS) {
          show({ status: "error", attempts: state.attempts }, t("gave up after ") + MAX_RECONNECT_ATTEMPTS + t(" attempts: ") + why);
          return;
        }
        const attempt = state.status === "connected" ? 1 : state.attempts + 1;
        const delay = backoff(attempt);
        show({ status: "reconnecting", attempts: attempt }, why + t("; next attempt in ") + (delay / 1000).toFixed(2) + " s");
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
      el("strong", { text: t("Live: ") }), indicator,
      el("span", { text: t(" · last close code: ") }), closeCode,
    ]));
    root.appendChild(notice);
    root.appendChild(el("div", { class: "wsw-row" }, [
      connectButton, drop, disconnect, reconnect,
      el("label", {}, [refuse, document.createTextNode(t(" server refuses new connections"))]),
    ]));
    root.appendChild(states);
    show(state, "");
    start();
  }

  const WIDGETS = { echo: echoWidget, reconnect: reconnectWidget };

  // A link to the same page in the other edition, in the menu bar: the
  // Chinese pages are the English ones under zh-CN/, with the same
  // headings' ids, so the `#fragment` is kept. Pages opened from a file
  // have no other edition beside them: no link.
  function languageSwitch() {
    if (window.location.protocol === "file:") return;
    const bar = document.querySelector(".right-buttons");
    if (!bar || bar.querySelector(".wsw-language")) return;
    const path = window.location.pathname;
    const at = path.indexOf(EDITION_FOLDER);
    const target = CHINESE && at >= 0
      ? path.slice(0, at) + "/" + path.slice(at + EDITION_FOLDER.length)
      : path.replace(/\/[^/]*$/, "") + EDITION_FOLDER + path.replace(/^.*\//, "");
    const link = el("a", {
      class: "wsw-language",
      href: target + window.location.hash,
      hreflang: CHINESE ? "en" : "zh-CN",
      lang: CHINESE ? "en" : "zh-CN",
      title: CHINESE ? "Read this page in English" : "阅读本页的中文版",
      "data-role": "language",
      text: CHINESE ? "English" : "中文",
    });
    bar.insertBefore(link, bar.firstChild);
  }

  function init() {
    languageSwitch();
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
