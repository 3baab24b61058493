// Adamas: verify a lot's lineage (or a certificate) against the log, on this device.
//
// Trusts only the log key printed on the page (#log-key) and the witness keys the server lists; fetches
// the verification bundle and checks, one line per check, stopping loudly at the first that fails:
// the checkpoint's C2SP signed-note signature, each witness cosignature (tlog-cosignature v1.0.1), each
// signer key against its id, and for every envelope its RFC 8785 canonical bytes, its Ed25519 signature
// and its RFC 9162 inclusion proof against the checkpoint's root. Ed25519 runs in WebCrypto when the
// browser has it, else in the vendored @noble/ed25519.
import * as noble from "./vendor/noble-ed25519.js";

const enc = new TextEncoder();
const subtle = globalThis.crypto && globalThis.crypto.subtle;

class CheckFailed extends Error {}

function b64(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
function unhex(text) {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
  return out;
}
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

// RFC 8785: object members sorted by UTF-16 code units, ECMAScript number and string serialization.
function canonicalize(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
  return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + canonicalize(value[k])).join(",") + "}";
}

let engine = null;
async function ed25519Verify(publicKey, signature, message) {
  if (engine === null) {
    try {
      await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
      engine = "WebCrypto";
    } catch (e) {
      engine = "@noble/ed25519";
    }
    document.getElementById("verify-engine").textContent = "Ed25519 by " + engine;
  }
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  if (engine === "WebCrypto") {
    const key = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    return subtle.verify({ name: "Ed25519" }, key, signature, message);
  }
  return noble.verifyAsync(signature, message, publicKey, { zip215: false });
}

// C2SP signed-note keys: name+hash+base64(type || key), hash = SHA-256(name || "\n" || type || key)[:4].
async function parseVkey(vkey, type) {
  // The name holds no "+" but the base64 key may: split on the first two only.
  const first = vkey.indexOf("+");
  const name = vkey.slice(0, first), id = vkey.slice(first + 1, first + 9), raw = b64(vkey.slice(first + 10));
  if (raw[0] !== type || raw.length !== 33) throw new CheckFailed("not a type " + type + " Ed25519 key: " + vkey);
  const hash = (await sha256(concat(enc.encode(name + "\n"), raw))).slice(0, 4);
  if (hex(hash) !== id) throw new CheckFailed("the key hash of " + name + " is not " + id);
  return { name, hash, key: raw.slice(1) };
}
function parseNote(note) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new CheckFailed("the checkpoint is not a signed note");
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2).split("\n").filter((l) => l.length > 0);
  const sigs = lines.map((line) => {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new CheckFailed("a malformed signature line: " + line);
    const raw = b64(m[2]);
    return { name: m[1], hash: raw.slice(0, 4), payload: raw.slice(4) };
  });
  return { text, sigs };
}

// RFC 9162 section 2.1.3.2.
async function rootFromInclusion(leafHash, index, size, proof) {
  if (index >= size) throw new CheckFailed("leaf " + index + " is beyond the tree of " + size);
  let fn = index, sn = size - 1, r = leafHash;
  const one = new Uint8Array([1]);
  for (const p of proof) {
    if (sn === 0) throw new CheckFailed("the inclusion proof is too long");
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(concat(one, p, r));
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await sha256(concat(one, r, p));
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new CheckFailed("the inclusion proof is too short");
  return r;
}

function line(list, label) {
  const li = document.createElement("li");
  li.textContent = label;
  li.setAttribute("data-check", "running");
  list.appendChild(li);
  return li;
}

async function run(main, button) {
  const list = document.getElementById("verify-checks");
  const verdict = document.getElementById("verify-verdict");
  list.replaceChildren();
  button.disabled = true;
  main.setAttribute("data-verification", "running");
  verdict.textContent = "Verifying on this device…";
  let current = null;
  const check = async (label, fn) => {
    current = line(list, label);
    const detail = await fn();
    current.setAttribute("data-check", "passed");
    current.textContent = "✓ " + label + (detail ? " — " + detail : "");
  };
  try {
    const printedKey = document.getElementById("log-key").textContent.trim();
    const response = await fetch(main.getAttribute("data-bundle"), { headers: { Accept: "application/json" } });
    if (!response.ok) throw new CheckFailed("the server answered " + response.status);
    const bundle = await response.json();
    const note = parseNote(bundle.checkpoint);
    const [origin, sizeText, rootText] = note.text.split("\n");
    const size = Number(sizeText);
    const root = b64(rootText);
    await check("Checkpoint signed by the log key printed on this page", async () => {
      const logKey = await parseVkey(printedKey, 0x01);
      const sig = note.sigs.find((s) => s.name === logKey.name && equal(s.hash, logKey.hash));
      if (!sig) throw new CheckFailed("no signature by the log key");
      if (origin !== logKey.name) throw new CheckFailed("the checkpoint is for another log: " + origin);
      if (!(await ed25519Verify(logKey.key, sig.payload, enc.encode(note.text)))) throw new CheckFailed("the signature does not verify");
      return logKey.name + ", tree of " + size + " leaves";
    });
    for (const w of bundle.witnesses) {
      await check("Cosignature of witness " + w.name, async () => {
        const key = await parseVkey(w.vkey, 0x04);
        const sig = note.sigs.find((s) => s.name === key.name && equal(s.hash, key.hash));
        if (!sig) throw new CheckFailed("this checkpoint carries no cosignature by " + w.name);
        if (sig.payload.length !== 72) throw new CheckFailed("a cosignature is 72 bytes");
        const time = new DataView(sig.payload.buffer, sig.payload.byteOffset, 8).getBigUint64(0);
        const message = enc.encode("cosignature/v1\ntime " + time + "\n" + note.text);
        if (!(await ed25519Verify(key.key, sig.payload.slice(8), message))) throw new CheckFailed("the cosignature does not verify");
        return "at " + new Date(Number(time) * 1000).toISOString();
      });
    }
    if (bundle.witnesses.length === 0) line(list, "No witness is configured for this log: nothing to cosign it").setAttribute("data-check", "skipped");
    const keys = new Map();
    const texts = bundle.events.map((e) => e.envelope);
    for (const k of bundle.keys) {
      await check("Key " + k.id + " of " + k.participant, async () => {
        const raw = b64(k.public_key);
        if (hex((await sha256(raw)).slice(0, 8)) !== k.id) throw new CheckFailed("the key id is not the hash of the public key");
        if (!texts.some((t) => t.includes(JSON.stringify(k.public_key)))) throw new CheckFailed("no logged event registers this key");
        keys.set(k.id, raw);
      });
    }
    for (const e of bundle.events) {
      let envelope = null;
      await check("Event " + e.id + " (" + e.type + "): canonical bytes", async () => {
        envelope = JSON.parse(e.envelope);
        if (canonicalize(envelope) !== e.envelope) throw new CheckFailed("the envelope is not in RFC 8785 canonical form");
      });
      await check("Event " + e.id + ": signature by " + envelope.body.actor, async () => {
        const key = keys.get(envelope.body.key);
        if (!key) throw new CheckFailed("signed by an unknown key " + envelope.body.key);
        if (!(await ed25519Verify(key, b64(envelope.sig), enc.encode(canonicalize(envelope.body))))) throw new CheckFailed("the signature does not verify");
      });
      await check("Event " + e.id + ": in the log at leaf " + e.index, async () => {
        const leaf = await sha256(concat(new Uint8Array([0]), enc.encode(e.envelope)));
        const computed = await rootFromInclusion(leaf, e.index, size, e.proof.map(unhex));
        if (!equal(computed, root)) throw new CheckFailed("the inclusion proof does not lead to the checkpoint's root");
      });
    }
    if (bundle.pending.length > 0) line(list, bundle.pending.length + " event(s) logged after this checkpoint are not checked yet: verify again in a moment").setAttribute("data-check", "skipped");
    if (bundle.truncated) line(list, "The lineage holds more events than a browser checks: only the first " + bundle.events.length + " were; audit the whole log with `adamas log audit`").setAttribute("data-check", "skipped");
    main.setAttribute("data-verification", "passed");
    verdict.textContent = "Verified on this device: " + list.querySelectorAll('[data-check="passed"]').length + " checks passed.";
  } catch (error) {
    if (current !== null && current.getAttribute("data-check") === "running") {
      current.setAttribute("data-check", "failed");
      current.textContent = "✗ " + current.textContent + " — FAILED: " + error.message;
    }
    main.setAttribute("data-verification", "failed");
    verdict.textContent = "VERIFICATION FAILED: " + error.message;
  } finally {
    button.disabled = false;
  }
}

const main = document.querySelector("main[data-bundle]");
const button = document.getElementById("verify-button");
if (main && button) {
  button.hidden = false;
  button.addEventListener("click", () => run(main, button));
}
