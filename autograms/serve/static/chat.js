// The chat page of `autograms serve`. Talks to the native session API next to it (relative
// URLs, so the page works wherever the app is mounted), streams replies as server-sent
// events, and keeps the session id -- and a message still on its way -- in localStorage, so a
// reload shows the conversation and finishes what was being sent, with the same idempotency
// key: the server never applies a message twice. Each message names the session version it
// answers, so a message typed in a tab that did not show another tab's latest turn is refused
// (the tab then shows the conversation as it is) instead of answered on turns never shown.
"use strict";

// Saved per bot: two apps mounted on one origin (/a/, /b/) keep their own conversation.
const SCOPE = new URL(".", window.location.href).pathname;
const SESSION = `autograms.session@${SCOPE}`;
const PENDING = `autograms.pending@${SCOPE}`;
const API_KEY = `autograms.apiKey@${SCOPE}`;
const RETRY_LIMIT = 30;

const $ = (id) => document.getElementById(id);
const botName = document.title;
let sessionId = null;
let version = 0;  // the session's version the page shows
let busy = false;
let userMessages = 0;

function storageGet(name) {
  try { return window.localStorage.getItem(name); } catch (e) { return null; }
}
function storageSet(name, value) {
  try {
    if (value === null) window.localStorage.removeItem(name);
    else window.localStorage.setItem(name, value);
  } catch (e) { /* private mode: the page works, a reload forgets */ }
}

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
}

function headers(extra) {
  const all = { "Content-Type": "application/json", ...extra };
  const key = storageGet(API_KEY);
  if (key) all.Authorization = "Bearer " + key;
  return all;
}

class ApiError extends Error {
  constructor(message, status, code, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function failure(response) {
  let message = `the server answered ${response.status} ${response.statusText}`;
  let code = null;
  try {
    const body = await response.json();
    if (body && body.error) {
      message = body.error.message || message;
      code = body.error.code || null;
    }
  } catch (e) { /* not JSON */ }
  if (response.status === 401) askForKey();
  const retryAfter = Number(response.headers.get("Retry-After") || 0);
  return new ApiError(message, response.status, code, retryAfter);
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: headers({}),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

// -- the conversation on screen ---------------------------------------------------------

function addMessage(role, text) {
  const item = document.createElement("li");
  item.className = role;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "user" ? "You" : botName;
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  item.append(who, body);
  $("log").append(item);
  $("empty").hidden = true;
  item.scrollIntoView({ block: "end" });
  if (role === "user") userMessages += 1;
  return item;
}

function showHistory(history) {
  $("log").replaceChildren();
  userMessages = 0;
  for (const message of history) addMessage(message.role, message.content);
  $("empty").hidden = history.length > 0;
}

function setStatus(text) { $("status").textContent = text; }

function setBusy(value) {
  busy = value;
  $("send").disabled = value;
  $("new").disabled = value;
  setStatus(value ? `${botName} is replying…` : "");
}

function showError(message, retry, what = "The message could not be completed") {
  $("error-text").textContent = `${what}: ${message}`;
  $("error").hidden = false;
  $("retry").hidden = !retry;
  $("retry").onclick = retry;
  if (retry) $("retry").focus();
}

function clearError() { $("error").hidden = true; }

function askForKey() {
  $("key-form").hidden = false;
  $("key").focus();
}

// -- sessions -----------------------------------------------------------------------------

async function openSession() {
  const saved = storageGet(SESSION);
  if (saved) {
    try {
      const session = await api("GET", `v1/sessions/${encodeURIComponent(saved)}`);
      sessionId = saved;
      version = session.version;
      showHistory(session.history);
      return;
    } catch (e) {
      if (e.status !== 404) throw e;  // 404: expired or deleted; start a new one
    }
  }
  await startSession();
}

// Show the conversation as the server has it now (another tab may have added turns).
async function refreshHistory() {
  const session = await api("GET", `v1/sessions/${encodeURIComponent(sessionId)}`);
  version = session.version;
  showHistory(session.history);
}

async function startSession() {
  const session = await api("POST", "v1/sessions", {});
  sessionId = session.id;
  version = session.version;
  storageSet(SESSION, sessionId);
  storageSet(PENDING, null);
  showHistory([]);
}

// -- sending ------------------------------------------------------------------------------

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
}

// Send one message (a new one, or one saved as pending) and stream its reply.
async function deliver(pending) {
  const response = await fetch(`v1/sessions/${encodeURIComponent(sessionId)}/messages`, {
    method: "POST",
    headers: headers({ "Idempotency-Key": pending.key, Accept: "text/event-stream" }),
    body: JSON.stringify({ content: pending.text, stream: true, version: pending.version }),
  });
  if (!response.ok) throw await failure(response);
  addMessage("user", pending.text);
  const item = addMessage("assistant", "");
  item.classList.add("streaming");
  const text = item.querySelector(".text");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (!event) continue;
        if (event.name === "delta") {
          text.textContent += event.data.text;
          item.scrollIntoView({ block: "end" });
        } else if (event.name === "done") {
          text.textContent = event.data.reply === null ? "(no reply)" : event.data.reply;
          item.classList.remove("streaming");
          version = event.data.version;
          return;
        } else if (event.name === "error") {
          const error = event.data.error;
          throw new ApiError(error.message, event.data.status, error.code, 0);
        }
      }
    }
    throw new ApiError("the connection closed before the reply was complete", 0, null, 0);
  } catch (e) {
    item.classList.remove("streaming");
    item.classList.add("failed");
    throw e;
  }
}

async function send(pending) {
  setBusy(true);
  clearError();
  storageSet(PENDING, JSON.stringify(pending));
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await deliver(pending);
        break;
      } catch (e) {
        // the same key is being answered right now (a reload mid-turn): wait for it
        const running = e.code === "turn_in_progress" || e.code === "session_busy";
        if (!running || attempt >= RETRY_LIMIT) throw e;
        await new Promise((done) => setTimeout(done, 1000 * Math.max(e.retryAfter, 1)));
      }
    }
    storageSet(PENDING, null);
  } catch (e) {
    if (e.code === "conversation_changed") await showChanged(pending);
    else if (e.status === 401) showError(e.message, null);  // sent again once a key is given
    else showError(e.message, () => resend(pending));
  } finally {
    setBusy(false);
    if ($("error").hidden) $("message").focus();  // else the keyboard stays on "Send again"
  }
}

// The message answered a conversation that changed meanwhile (in another tab): nothing was
// applied; show the conversation as it is and let the user send the message again on it.
async function showChanged(pending) {
  storageSet(PENDING, null);
  try {
    await refreshHistory();
  } catch (e) {
    showError(e.message, () => { clearError(); start(); });
    return;
  }
  showError(
    "the conversation changed in another tab or window; it now shows the latest messages. " +
      "Send yours again if it still applies.",
    () => { clearError(); send({ ...pending, key: newKey(), before: userMessages, version }); },
  );
}

// Take a failed exchange (a message and its broken-off reply) off the page: the server kept
// none of it. Sending it again shows it again; a new message goes on without it.
function dropFailed() {
  for (const item of $("log").querySelectorAll("li.failed")) {
    const user = item.previousElementSibling;
    if (user && user.classList.contains("user")) { user.remove(); userMessages -= 1; }
    item.remove();
  }
  $("empty").hidden = $("log").childElementCount > 0;
}

async function resend(pending) {
  dropFailed();
  await send(pending);
}

async function submit() {
  await ready;  // a message typed while the page was still opening its session waits for it
  const text = $("message").value;
  if (busy || !text.trim() || !sessionId) return;
  $("message").value = "";
  dropFailed();
  await send({ text, key: newKey(), before: userMessages, version });
}

// A message sent before a reload: if the history shows it, it was applied; otherwise send it
// again with its key (applied once whatever happened before the reload).
async function finishPending() {
  const saved = storageGet(PENDING);
  if (!saved) return;
  const pending = JSON.parse(saved);
  if (userMessages > pending.before) {
    storageSet(PENDING, null);
    return;
  }
  await send(pending);
}

// -- start --------------------------------------------------------------------------------

async function start() {
  try {
    await openSession();
    await finishPending();
  } catch (e) {
    if (e.status !== 401) showError(e.message, () => { clearError(); start(); });
    // else the key form asks for a key (and has the keyboard); a key given and refused says so
    else if (storageGet(API_KEY)) showError(e.message, null, "The key was not accepted");
  }
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  submit();
});
$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submit();
  }
});
$("new").addEventListener("click", async () => {
  clearError();
  try { await startSession(); } catch (e) { showError(e.message, null); }
  $("message").focus();
});
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  storageSet(API_KEY, $("key").value.trim());
  $("key-form").hidden = true;
  clearError();  // the refusal of the earlier key, if any
  $("message").focus();
  ready = start();
});

// Another tab of this page finished a message: show the conversation with it.
window.addEventListener("storage", (event) => {
  if (event.key !== PENDING || event.newValue !== null || busy || !sessionId) return;
  if (storageGet(SESSION) !== sessionId) return;
  refreshHistory().catch(() => { /* shown stale; the next message is checked anyway */ });
});

let ready = start();
