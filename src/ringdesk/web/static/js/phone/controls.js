// The browser phone's controls in the call widget: Mute, the microphone and speaker choice,
// the input level meter and the DTMF keypad while a browser call is in progress, and the
// microphone check (permission asked once, at CTI Login, with the reason beside the button).
// A broken browser phone keeps the agent out of Ready: readyBlocker() says why in words.
//
// The controls live in their own element below the phone's line (not inside the call card,
// which the widget redraws on every state change): the meter and the menus keep running.

import { h, render } from "../dom.js";
import * as state from "../state.js";
import { currentCall, speakerElement } from "./media.js";
import { chosenPhone, phoneStatus } from "./sip.js";

const MIC_KEY = "ringdesk.phone.microphone";
const SPEAKER_KEY = "ringdesk.phone.speaker";
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** Why the microphone cannot be used ("" when it can, or has not been tried). */
let micError = "";
let micChecked = false;
let muted = false;
/** @type {HTMLElement | null} */
let box = null;
/** @type {HTMLMeterElement | null} */
let meter = null;
/** @type {AudioContext | null} */
let audio = null;
/** @type {number | undefined} */
let meterFrame;
/** @type {MediaStreamTrack | null} */
let meteredTrack = null;
/** @type {Array<() => void>} */
let offs = [];

/** The controls' element for the widget; call once per session (the widget mounts it). */
export function mountControls() {
  box = h("div", { class: "phone-controls", "data-phone-controls": "", hidden: true });
  const onChange = () => draw();
  const onStatus = () => {
    const s = phoneStatus();
    if (s.state === "off") {
      micChecked = false;
      micError = "";
    } else if (!micChecked) void checkMicrophone();
    draw();
  };
  document.addEventListener("ringdesk:browser-media", onChange);
  document.addEventListener("ringdesk:phone-status", onStatus);
  // The browser takes an offer before Answer (its media set up early): the controls show
  // once the agent is in the call, not while it is only offered.
  let inCall = false;
  const onState = (/** @type {any} */ s) => {
    if (Boolean(s?.call) !== inCall) {
      inCall = Boolean(s?.call);
      draw();
    }
  };
  offs = [
    () => document.removeEventListener("ringdesk:browser-media", onChange),
    () => document.removeEventListener("ringdesk:phone-status", onStatus),
    state.subscribe("cti", onState),
  ];
  draw();
  return box;
}

export function unmountControls() {
  for (const off of offs) off();
  offs = [];
  stopMeter();
  box = null;
  micChecked = false;
  micError = "";
}

/** The microphone the agent chose in this browser (media.js answers with it). */
export function chosenMicrophone() {
  return localStorage.getItem(MIC_KEY) || "";
}

/**
 * Ask for the microphone now (at CTI Login: the browser shows its prompt after a click) when
 * the browser phone is the phone; the stream is closed again at once. Remembers why it failed.
 */
export async function checkMicrophone() {
  if (chosenPhone() !== "browser") return;
  micChecked = true;
  if (!navigator.mediaDevices?.getUserMedia) {
    micError = "This browser cannot use a microphone here (it needs https).";
    draw();
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia(constraints());
    for (const track of stream.getTracks()) track.stop();
    micError = "";
  } catch (error) {
    micError = microphoneWords(error);
  }
  draw();
}

/** Why Ready must wait for the browser phone ("" when it need not). */
export function readyBlocker() {
  if (chosenPhone() !== "browser") return "";
  if (micError) return `You cannot go Ready: ${micError}`;
  const s = phoneStatus();
  if (s.state !== "registered") {
    const why = s.reason ? ` (${s.reason})` : "";
    return `You cannot go Ready: your browser phone is not registered yet${why}.`;
  }
  return "";
}

/** @param {unknown} error */
function microphoneWords(error) {
  const name = error instanceof DOMException || error instanceof Error ? error.name : "";
  if (name === "NotAllowedError" || name === "SecurityError")
    return "the microphone permission was refused. Allow the microphone for this site (the icon in the address bar), then reload the page.";
  if (name === "NotFoundError" || name === "OverconstrainedError")
    return "no microphone was found. Plug in a headset or choose SIP phone.";
  if (name === "NotReadableError")
    return "the microphone is in use by another program or cannot be opened.";
  return `the microphone cannot be used (${error instanceof Error ? error.message : String(error)}).`;
}

/** @returns {MediaStreamConstraints} */
function constraints() {
  const id = chosenMicrophone();
  return { audio: id ? { deviceId: { ideal: id } } : true, video: false };
}

function sender() {
  const pc = currentCall()?.connection;
  if (!pc) return null;
  return pc.getSenders().find((s) => s.track?.kind === "audio" || s.dtmf) || null;
}

/** @param {boolean} value */
function setMuted(value) {
  muted = value;
  const track = sender()?.track;
  if (track) track.enabled = !muted;
  draw();
}

/** @param {string} key */
function sendDigit(key) {
  const call = currentCall();
  if (!call || call.isEnded()) return;
  // RFC 4733 telephone-events in the media (payload type 101 of our offer), not SIP INFO.
  call.sendDTMF(key, { transportType: "RFC2833", duration: 160, interToneGap: 70 });
  const sent = box?.querySelector(".dtmf-sent");
  if (sent) sent.textContent = `${sent.textContent || ""}${key}`;
}

/** @param {string} deviceId */
async function changeMicrophone(deviceId) {
  localStorage.setItem(MIC_KEY, deviceId);
  const s = sender();
  if (!s) return;
  try {
    const stream = await navigator.mediaDevices.getUserMedia(constraints());
    const [track] = stream.getAudioTracks();
    const old = s.track;
    track.enabled = !muted;
    await s.replaceTrack(track); // no renegotiation: same codec, same SSRC
    if (old) old.stop();
    micError = "";
    startMeter(track);
  } catch (error) {
    micError = microphoneWords(error);
  }
  draw();
}

/** @param {string} deviceId */
async function changeSpeaker(deviceId) {
  localStorage.setItem(SPEAKER_KEY, deviceId);
  const el = /** @type {any} */ (speakerElement());
  if (el && typeof el.setSinkId === "function") await el.setSinkId(deviceId);
}

/** @param {MediaStreamTrack} track */
function startMeter(track) {
  if (meteredTrack === track) return;
  stopMeter();
  meteredTrack = track;
  audio = new AudioContext();
  const analyser = audio.createAnalyser();
  analyser.fftSize = 512;
  audio.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const tick = () => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const x of samples) sum += x * x;
    const rms = Math.sqrt(sum / samples.length);
    if (meter) meter.value = track.enabled ? Math.min(1, rms * 3) : 0;
    meterFrame = window.setTimeout(tick, 100);
  };
  tick();
}

function stopMeter() {
  if (meterFrame !== undefined) window.clearTimeout(meterFrame);
  meterFrame = undefined;
  meteredTrack = null;
  if (audio) void audio.close();
  audio = null;
}

async function deviceOptions() {
  if (!navigator.mediaDevices?.enumerateDevices) return { inputs: [], outputs: [] };
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    inputs: devices.filter((d) => d.kind === "audioinput"),
    outputs: devices.filter((d) => d.kind === "audiooutput"),
  };
}

/**
 * @param {string} label
 * @param {MediaDeviceInfo[]} devices
 * @param {string} chosen
 * @param {(id: string) => void} onPick
 */
function devicePicker(label, devices, chosen, onPick) {
  return h(
    "label",
    { class: "device-choice" },
    `${label} `,
    h(
      "select",
      {
        "aria-label": label,
        onchange: (/** @type {Event} */ e) => onPick(/** @type {HTMLSelectElement} */ (e.target).value),
      },
      devices.map((d, i) =>
        h(
          "option",
          { value: d.deviceId, selected: d.deviceId === chosen },
          d.label || `${label} ${i + 1}`,
        ),
      ),
    ),
  );
}

function draw() {
  if (!box) return;
  const browser = chosenPhone() === "browser" && phoneStatus().state !== "off";
  const call = currentCall();
  const live = Boolean(call && !call.isEnded() && call.connection && state.get("cti")?.call);
  if (!live) {
    stopMeter();
    muted = false;
  }
  box.hidden = !browser || (!micError && !live);
  box.dataset.muted = String(muted);
  const error = micError
    ? h(
        "div",
        { class: "callout callout-error mic-error", role: "alert" },
        h("strong", null, "Microphone unavailable: "),
        h("span", null, micError),
      )
    : null;
  if (!live) {
    render(box, error);
    return;
  }
  meter = /** @type {HTMLMeterElement} */ (
    h("meter", { class: "mic-level", min: "0", max: "1", value: "0", "aria-label": "Microphone level" })
  );
  const track = sender()?.track;
  if (track) {
    track.enabled = !muted;
    meteredTrack = null; // a new meter element: restart on it
    startMeter(track);
  }
  const pickers = h("div", { class: "device-choices" });
  void deviceOptions().then(({ inputs, outputs }) => {
    const speakerOk = typeof (/** @type {any} */ (HTMLMediaElement.prototype).setSinkId) === "function";
    render(
      pickers,
      inputs.length
        ? devicePicker("Microphone", inputs, chosenMicrophone(), (id) => void changeMicrophone(id))
        : null,
      outputs.length && speakerOk
        ? devicePicker("Speaker", outputs, localStorage.getItem(SPEAKER_KEY) || "", (id) => void changeSpeaker(id))
        : null,
    );
  });
  render(
    box,
    error,
    h(
      "div",
      { class: "phone-control-row" },
      h(
        "button",
        {
          type: "button",
          class: `btn ${muted ? "btn-primary" : ""}`,
          "aria-pressed": String(muted),
          dataset: { key: "mute" },
          onclick: () => setMuted(!muted),
        },
        muted ? "Unmute" : "Mute",
      ),
      meter,
    ),
    pickers,
    h(
      "details",
      { class: "dtmf" },
      h("summary", null, "Keypad"),
      h(
        "div",
        { class: "dtmf-keys", role: "group", "aria-label": "Keypad" },
        KEYS.map((key) =>
          h(
            "button",
            { type: "button", class: "btn dtmf-key", dataset: { dtmf: key }, onclick: () => sendDigit(key) },
            key,
          ),
        ),
      ),
      h("p", { class: "muted small" }, "Sent: ", h("span", { class: "dtmf-sent" })),
    ),
  );
}
