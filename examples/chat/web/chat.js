// The tao chat page: one WebSocket to the chat server on the page's own
// host and port. Tao frames travel as WebSocket messages: chat lines (type
// 1) as text; other types as binary messages, int32 little-endian type
// followed by the payload. Type 2 is a history line (tao-chat-node sends the
// room's last lines when we join), type 3 carries our nick (we send the one
// we want, the server answers with the one we got), type 4 the roster (one
// member per line); a server without nicks never answers type 3 and shows
// lines as they are. No build step, no libraries.
"use strict";

const LINE = 1, HISTORY = 2, NICK = 3, ROSTER = 4;
const $ = (id) => document.getElementById(id);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let socket = null;
let wanted = "";
let myNick = "";
let attempts = 0;
let retryTimer = null;

function frame(type, text) {
  const payload = encoder.encode(text);
  const bytes = new Uint8Array(4 + payload.length);
  new DataView(bytes.buffer).setInt32(0, type, true);
  bytes.set(payload, 4);
  return bytes.buffer;
}

function setStatus(text, online) {
  const s = $("status");
  s.textContent = text;
  s.className = "status " + (online ? "online" : "offline");
  $("line").disabled = !online;
  $("send").disabled = !online;
}

function addLine(text, kind) {
  const li = document.createElement("li");
  li.textContent = text.replace(/\n$/, "");
  if (kind) li.className = kind;
  else if (text.startsWith("*** ")) li.className = "gap"; // lines a node could not replay
  else if (text.startsWith("* ")) li.className = "system";
  else if (myNick && text.startsWith(myNick + ": ")) li.className = "mine";
  const log = $("log");
  log.appendChild(li);
  while (log.children.length > 500) log.removeChild(log.firstChild);
  log.scrollTop = log.scrollHeight;
}

function showRoster(text) {
  const roster = $("roster");
  roster.replaceChildren();
  for (const nick of text.split("\n").filter((x) => x)) {
    const li = document.createElement("li");
    li.textContent = nick;
    if (nick === myNick) li.className = "me";
    roster.appendChild(li);
  }
}

function onMessage(event) {
  if (typeof event.data === "string") {
    addLine(event.data);
    return;
  }
  const view = new DataView(event.data);
  if (view.byteLength < 4) return;
  const type = view.getInt32(0, true);
  const text = decoder.decode(new Uint8Array(event.data, 4));
  if (type === NICK) {
    myNick = text;
    document.title = "tao chat: " + myNick;
  } else if (type === ROSTER) {
    showRoster(text);
  } else if (type === LINE) {
    addLine(text);
  } else if (type === HISTORY) {
    // Sent again after each reconnect: skip what the log already shows.
    const shown = text.replace(/\n$/, "");
    if (!Array.from($("log").children).some((li) => li.textContent === shown))
      addLine(text, "history");
  }
}

function connect() {
  retryTimer = null;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  setStatus("connecting", false);
  socket = new WebSocket(scheme + "://" + location.host + "/chat", "tao-chat");
  socket.binaryType = "arraybuffer";
  socket.onopen = () => {
    attempts = 0;
    setStatus("online", true);
    socket.send(frame(NICK, myNick || wanted));
    $("line").focus();
  };
  socket.onmessage = onMessage;
  socket.onclose = () => {
    socket = null;
    // Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... at most 15 s.
    const delay = Math.min(15000, 500 * 2 ** attempts) * (0.5 + Math.random() / 2);
    if (attempts === 0) addLine("* connection lost; reconnecting", "system");
    attempts += 1;
    setStatus("offline, retrying in " + (delay / 1000).toFixed(1) + " s", false);
    retryTimer = setTimeout(connect, delay);
  };
}

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  wanted = $("nick").value.trim();
  if (!wanted) return;
  $("join-form").hidden = true;
  $("chat").hidden = false;
  connect();
});

$("say-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("line").value;
  if (!text.trim() || !socket || socket.readyState !== WebSocket.OPEN) return;
  // A server that assigned a nick (type 2) prefixes lines itself; one that
  // does not know nicks (a plain Tao chat room) gets the prefix from here.
  socket.send((myNick ? "" : wanted + ": ") + text + "\n");
  $("line").value = "";
});
